"""`evalbot status --health` (the Docker HEALTHCHECK): MongoDB answers and this host's workers
beat; one line and exit 1 otherwise; fast, and without torch."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from bot.cli import main
from bot.health import check_health
from bot.jobloop import CycleReport, drain
from bot.settings import Settings
from store.db import Store
from store.embedded import EmbeddedMongo
from store.types import utcnow
from tests.bot.conftest import FastConfig, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def on_store(mongo: EmbeddedMongo, store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    """``evalbot`` run in this process talks to the test's database."""
    monkeypatch.setenv("MONGODB_URI", mongo.uri)
    monkeypatch.setenv("EVALBOT_DB", store.db.name)
    return store


def health(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["status", "--health"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_healthy_while_a_worker_beats_and_after_it_stops_cleanly(
    on_store: Store, fast_config: FastConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.worker import Worker

    code, out = health(capsys)
    assert (code, out) == (
        0,
        f"ok: MongoDB answers; no worker runs on host {socket.gethostname()}\n",
    )

    worker = Worker(fast_config.load(), api=HfApi(), store=on_store, name="health-w1")
    stop = threading.Event()
    loop = threading.Thread(
        target=drain, args=(worker, CycleReport()), kwargs={"once": False, "stop": stop}
    )
    loop.start()
    try:
        (beat,) = wait_for(on_store.worker_heartbeats, timeout=10, what="the worker's heartbeat")
        assert beat.worker == "health-w1" and beat.host == socket.gethostname()
        assert timedelta(seconds=14) < beat.fresh_until - beat.seen_at <= timedelta(seconds=15)
        code, out = health(capsys)
        assert code == 0 and out.startswith("ok: MongoDB answers; worker health-w1 beat 0 s ago")
    finally:
        stop.set()
        loop.join()
    assert on_store.worker_heartbeats() == []  # a clean stop: no heartbeat is due
    assert health(capsys)[0] == 0


def test_unhealthy_when_this_hosts_heartbeats_are_stale(
    on_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    on_store.record_heartbeat("dead-worker", fresh_s=15)
    on_store.record_heartbeat("live-elsewhere", fresh_s=15)
    long_ago = utcnow() - timedelta(minutes=2)  # the worker died two minutes ago
    on_store.workers.update_one(
        {"_id": "dead-worker"},
        {"$set": {"seen_at": long_ago, "fresh_until": long_ago + timedelta(seconds=15)}},
    )
    on_store.workers.update_one({"_id": "live-elsewhere"}, {"$set": {"host": "another-host"}})
    code, out = health(capsys)
    assert code == 1
    assert out == (
        f"no worker on host {socket.gethostname()} beats: the last heartbeat, of worker "
        "dead-worker, is 120 s old (stale after 15 s); the worker died, hangs or cannot reach "
        "MongoDB (see its log)\n"
    )

    on_store.record_heartbeat("restarted-worker", fresh_s=15)  # one live worker is enough
    assert health(capsys)[0] == 0


def test_unhealthy_when_mongodb_does_not_answer_or_is_not_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"mongodb://127.0.0.1:{sock.getsockname()[1]}/"  # nothing listens there
    settings = Settings(hf_endpoint="http://unused", mongodb_uri=dead, config_dir=Path("config"))
    result = check_health(settings, timeout_ms=200)
    assert not result.ok
    assert result.message.startswith(f"MongoDB at {dead} is unreachable")

    monkeypatch.delenv("MONGODB_URI", raising=False)
    assert health(capsys) == (
        1,
        "MONGODB_URI is unset: set it to the MongoDB server the bot uses\n",
    )


def test_the_health_check_imports_no_torch(mongo: EmbeddedMongo, store: Store) -> None:
    script = (
        "import sys\n"
        "from bot.cli import main\n"
        "code = main(['status', '--health'])\n"
        "assert 'torch' not in sys.modules and 'bot.config' not in sys.modules\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "MONGODB_URI": mongo.uri, "EVALBOT_DB": store.db.name}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: MongoDB answers") and done.stderr == ""
