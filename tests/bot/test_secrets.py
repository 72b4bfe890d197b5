"""The bot's secrets. Its token never leaves the process: not in logs (even at DEBUG), MongoDB or
any PR. Its signing key is made only by `evalbot keys create`, and what signs or queues for
signing refuses to start without it (in production, without an external MongoDB too)."""

from __future__ import annotations

import io
import json
import logging
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download

from bot.cli import main
from bot.cycle import run_cycle
from bot.logs import NOISY, setup
from cardgen.signing import Signer
from sandbox.world import World
from store.db import Store
from tests.bot.conftest import FastConfig, bot_prs, make_model, retrying_api

CANARY = f"hf_canary{uuid.uuid4().hex}"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    yield out
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_no_token_in_logs_store_or_prs(
    world: World,
    demo_api: HfApi,
    bot_token: str,
    store: Store,
    fast_config: FastConfig,
    captured: io.StringIO,
) -> None:
    repo_id = f"secret{uuid.uuid4().hex[:6]}/model"
    make_model(demo_api, world, repo_id, fast_config.tag)
    filter_ = setup(
        verbose=True, json_format=True, secrets=[bot_token], stream=captured, force=True
    )
    filter_.add(CANARY)
    for name in NOISY:  # the chattiest setting there is
        logging.getLogger(name).setLevel(logging.DEBUG)

    report = run_cycle(fast_config.load(), api=retrying_api(bot_token), store=store)
    logging.getLogger("bot.test").debug("a careless line: %s and %s", bot_token, CANARY)

    assert report.prs == {"opened": 1}, report.summary()
    logs = captured.getvalue()
    lines = [json.loads(line) for line in logs.splitlines()]
    assert len(lines) > 20 and any(line["logger"].startswith("httpx") for line in lines)
    assert bot_token not in logs and CANARY not in logs
    assert lines[-1]["message"] == "a careless line: hf_*** and hf_***"

    for name in store.db.list_collection_names():
        for doc in store.db[name].find():
            text = json.dumps(doc, default=str)
            assert bot_token not in text, name

    (pr,) = bot_prs(demo_api, repo_id)
    details = demo_api.get_discussion_details(repo_id, pr.num)
    texts = [getattr(event, "content", "") or "" for event in details.events]
    readme = hf_hub_download(repo_id, "README.md", revision=f"refs/pr/{pr.num}", token=False)
    with open(readme, encoding="utf-8") as handle:
        texts.append(handle.read())
    texts.append(details.title)
    assert all(bot_token not in text for text in texts)


@pytest.fixture
def key_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``EVALBOT_SIGNING_KEY`` where no key is yet; no embedded mongod starts by accident."""
    path = tmp_path / "keys" / "signing-key.pem"
    monkeypatch.setenv("EVALBOT_SIGNING_KEY", str(path))
    monkeypatch.setenv("EVALBOT_MONGO_DIR", str(tmp_path / "mongo"))
    monkeypatch.delenv("MONGODB_URI", raising=False)
    return path


def test_keys_create_makes_the_key_once_and_show_prints_it(
    key_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "show"]) == 2
    assert f"no signing key at {key_path}. Make one once with `evalbot keys create`" in (
        capsys.readouterr().err
    )
    assert not key_path.exists()

    assert main(["keys", "create"]) == 0
    created = capsys.readouterr()
    signer = Signer.load(key_path)
    assert created.out == signer.public_key_pem()
    assert created.err == (
        f"key id {signer.key_id} ({key_path}: created with mode 0600; back it up)\n"
    )
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_path.parent.stat().st_mode) == 0o700
    pem = key_path.read_bytes()

    assert main(["keys", "create"]) == 2
    assert f"a signing key already exists at {key_path}; evalbot never replaces one" in (
        capsys.readouterr().err
    )
    assert key_path.read_bytes() == pem

    assert main(["keys", "show"]) == 0
    shown = capsys.readouterr()
    assert (shown.out, shown.err) == (created.out, f"key id {signer.key_id} ({key_path})\n")
    assert main(["verify", "--print-public-key"]) == 0
    assert capsys.readouterr().out == shown.out


@pytest.mark.parametrize("command", [["run", "--once"], ["serve", "--once"], ["worker", "--once"]])
def test_run_serve_and_worker_refuse_to_start_without_the_key(
    command: list[str],
    key_path: Path,
    fast_config: FastConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--config", str(fast_config.path), *command]) == 2
    assert capsys.readouterr().err == (
        f"evalbot: error: cannot start: no signing key at {key_path}. Make one once with "
        "`evalbot keys create` (it writes EVALBOT_SIGNING_KEY, default "
        "~/.cache/evalbot/signing-key.pem) and back it up; in a container, mount the key file "
        "read-only at that path.\n"
    )
    assert not key_path.exists() and not key_path.parent.exists()


def test_open_pr_refuses_before_evaluating_without_the_key(
    key_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", "nobody/no-such-model", "--open-pr"]) == 2
    assert f"no signing key at {key_path}" in capsys.readouterr().err  # not "repository not found"


def test_production_refuses_without_mongodb_uri_and_key_and_starts_no_embedded_mongod(
    key_path: Path,
    tmp_path: Path,
    fast_config: FastConfig,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EVALBOT_PRODUCTION", "1")
    serve = ["--config", str(fast_config.path), "serve", "--with-worker"]
    assert main(serve) == 2
    err = capsys.readouterr().err
    assert err.startswith("evalbot: error: cannot start: MONGODB_URI is unset: set it to the ")
    assert "EVALBOT_PRODUCTION=1 (the Docker image sets it) evalbot starts no embedded" in err
    assert f"no signing key at {key_path}" in err

    assert main(["keys", "create"]) == 0  # the one way to make the key, in production too
    capsys.readouterr()
    assert main(serve) == 2
    err = capsys.readouterr().err
    assert "MONGODB_URI is unset" in err and "signing key" not in err

    assert main(["status"]) == 2  # any command that needs the store: no throwaway database
    assert "MONGODB_URI is unset" in capsys.readouterr().err
    assert not (tmp_path / "mongo").exists()
