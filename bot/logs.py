"""Logging: plain text or one JSON object per line (``EVALBOT_LOG_FORMAT=json``), tokens redacted.

Every handler gets a :class:`RedactTokens` filter: configured secrets (the bot's ``HF_TOKEN``) and
anything shaped like a Hugging Face token (``hf_`` + 10 or more letters or digits) are replaced by
``hf_***`` in the message, its arguments, exception text and extra fields, whatever logger
(ours, huggingface_hub, httpx) emitted them. Job context goes in ``extra``:

Example:
    >>> log.info("evaluating", extra={"repo_id": "org/model", "sha": sha, "job": "42"})
    {"timestamp": "2026-11-25T10:00:00.123Z", "level": "INFO", "logger": "bot.worker",
     "message": "evaluating", "repo_id": "org/model", "sha": "...", "job": "42"}
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{10,}")
MASK = "hf_***"
CONTEXT_FIELDS = ("repo_id", "sha", "job", "worker", "attempt", "outcome")
NOISY = ("httpx", "httpx2", "httpcore", "huggingface_hub", "datasets", "filelock", "urllib3")


class RedactTokens(logging.Filter):
    """Replaces secrets in a record before any handler formats it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 6:  # too short to be a credential, too likely a word
            self.secrets.add(secret)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return TOKEN_PATTERN.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key in CONTEXT_FIELDS:
            value = record.__dict__.get(key)
            if isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, context fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, object] = {
            "timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_FIELDS:
            if (value := record.__dict__.get(key)) is not None:
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


def setup(
    *,
    verbose: bool,
    json_format: bool,
    secrets: Iterable[str] = (),
    stream: object = None,
    force: bool = False,
) -> RedactTokens:
    """Configure the root logger; returns the redaction filter (more secrets can be added).

    Like ``logging.basicConfig``: when the root logger already has handlers (an embedding
    program, pytest) only the redaction filter is added to them, unless ``force``.
    """
    redact = RedactTokens(secrets)
    root = logging.getLogger()
    if root.handlers and not force:
        for existing in root.handlers:
            existing.addFilter(redact)
        return redact
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.addFilter(redact)
    handler.setFormatter(
        JsonFormatter()
        if json_format
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return redact
