"""Log lines: JSON when asked, tokens never (configured ones and anything shaped like one)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import setup

CANARY = "canary-7f3a9c-not-a-real-token"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_tokens_are_redacted_everywhere_in_a_record(restore_logging: None) -> None:
    out = io.StringIO()
    setup(verbose=True, json_format=False, secrets=[CANARY], stream=out, force=True)
    log = logging.getLogger("bot.test")
    log.info("configured %s", CANARY)
    log.info("shaped like a token: hf_abcdefghijKLMNOP123 in %s", "text")
    log.debug("in an extra field", extra={"repo_id": f"org/{CANARY}"})
    try:
        raise RuntimeError(f"Authorization: Bearer {CANARY}")
    except RuntimeError:
        log.exception("failed")
    logging.getLogger("huggingface_hub.test").warning("third party: hf_ZZZZZZZZZZZZZZ")
    text = out.getvalue()
    assert CANARY not in text and "hf_abcdefghij" not in text and "hf_ZZZZ" not in text
    assert text.count("hf_***") >= 4
    assert "RuntimeError" in text  # the traceback stays, minus the secret


def test_json_lines_carry_the_job_context(restore_logging: None) -> None:
    out = io.StringIO()
    setup(verbose=False, json_format=True, secrets=[CANARY], stream=out, force=True)
    log = logging.getLogger("bot.worker")
    log.info("job claimed", extra={"repo_id": "org/m", "sha": "a" * 40, "job": "1", "attempt": 2})
    log.debug("not shown at INFO")
    try:
        raise ValueError(CANARY)
    except ValueError:
        log.exception("boom")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["message"] == "job claimed" and first["level"] == "INFO"
    assert first["logger"] == "bot.worker" and first["timestamp"].endswith("Z")
    assert (first["repo_id"], first["job"], first["attempt"]) == ("org/m", "1", 2)
    assert "ValueError" in second["exception"] and CANARY not in second["exception"]
