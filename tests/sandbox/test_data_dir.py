"""One data dir, one server: `server.json`, seeding through the running server, the refusal.

The CLI runs in subprocesses, as `make demo` runs it; the world they seed is a tiny one put in a
world cache of its own (`EVALBOT_WORLD_CACHE`), so nothing is trained here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi

from sandbox import cli
from sandbox.errors import DataDirInUse
from sandbox.server import run_in_thread
from sandbox.server_record import RECORD_NAME, live_server, read_record
from sandbox.world import RECIPE
from tests.sandbox.helpers import CARD, CONFIG, free_port

TINY_MODEL = "tiny/classifier"


@pytest.fixture
def tiny_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A world cache holding one small model repo; returns the environment that selects it."""
    root = tmp_path / "world-cache" / RECIPE.digest()
    model = root / "models" / "classifier"
    model.mkdir(parents=True)
    (model / "README.md").write_text(CARD.format(dataset="dair-ai/emotion"))
    (model / "config.json").write_bytes(CONFIG)
    manifest = {
        "datasets": [],
        "models": [
            {
                "repo_id": TINY_MODEL,
                "path": "models/classifier",
                "kind": "tiny",
                "test_accuracy": None,
            }
        ],
    }
    (root / "world.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("EVALBOT_WORLD_CACHE", str(tmp_path / "world-cache"))
    return {**os.environ, "EVALBOT_WORLD_CACHE": str(tmp_path / "world-cache")}


def _sandbox(*args: str) -> list[str]:
    return [sys.executable, "-m", "sandbox", *args]


def _wait_for(url: str, process: subprocess.Popen[str], data_dir: Path) -> None:
    """Until the server answers and has recorded itself (it publishes its record once it
    answers, so a client can see the one a moment before the other)."""
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, "the sandbox stopped while starting"
        try:
            httpx.get(f"{url}/_sandbox/health").raise_for_status()
            if read_record(data_dir) is not None:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the sandbox did not start"
        time.sleep(0.1)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str, subprocess.Popen[str]]]:
    """`python -m sandbox serve` on a fresh data dir, in its own process."""
    data_dir, port = tmp_path / "hub", free_port()
    command = _sandbox("serve", "--data-dir", str(data_dir), "--port", str(port))
    process = subprocess.Popen(command, text=True, stdout=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process, data_dir)
        yield data_dir, url, process
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_serve_records_itself_and_removes_the_record_on_stop(
    served: tuple[Path, str, subprocess.Popen[str]],
) -> None:
    data_dir, url, process = served
    record = read_record(data_dir)
    assert record is not None and (record.url, record.pid) == (url, process.pid)
    assert live_server(data_dir) == record
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert not (data_dir / RECORD_NAME).exists()
    assert process.stdout is not None and url in process.stdout.read()


def test_seed_goes_through_the_running_server(
    served: tuple[Path, str, subprocess.Popen[str]], tiny_world: dict[str, str]
) -> None:
    data_dir, url, process = served
    assert list(HfApi(endpoint=url).list_models()) == []
    seeded = subprocess.run(
        _sandbox("seed", "--data-dir", str(data_dir)),
        env=tiny_world,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.strip() == f"seeded: {TINY_MODEL}"
    assert [m.id for m in HfApi(endpoint=url).list_models()] == [TINY_MODEL]
    assert HfApi(endpoint=url).model_info(TINY_MODEL).pipeline_tag == "text-classification"
    record = read_record(data_dir)
    assert record is not None and record.pid == process.pid  # no second server took over


def test_a_second_server_on_the_same_dir_is_refused(
    served: tuple[Path, str, subprocess.Popen[str]],
) -> None:
    data_dir, url, process = served
    second = subprocess.run(
        _sandbox("serve", "--data-dir", str(data_dir), "--port", str(free_port())),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 2
    (line,) = second.stderr.strip().splitlines()
    assert str(data_dir) in line and url in line and str(process.pid) in line

    with pytest.raises(DataDirInUse) as in_thread:
        run_in_thread(data_dir=data_dir)
    assert (in_thread.value.url, in_thread.value.pid) == (url, process.pid)
    assert str(in_thread.value) in line
    assert read_record(data_dir) == live_server(data_dir)  # the running server is untouched


def test_seed_without_a_server_starts_its_own(tmp_path: Path, tiny_world: dict[str, str]) -> None:
    data_dir = tmp_path / "hub"
    assert cli.main(["seed", "--data-dir", str(data_dir)]) == 0
    assert not (data_dir / RECORD_NAME).exists()  # its server stopped and cleaned up
    with run_in_thread(data_dir=data_dir) as hub:
        assert [m.id for m in HfApi(endpoint=hub.url).list_models()] == [TINY_MODEL]


def test_stale_records_are_replaced(tmp_path: Path) -> None:
    data_dir = tmp_path / "hub"
    data_dir.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    silent = f"http://127.0.0.1:{free_port()}"
    for url, pid in [(silent, dead.pid), (silent, os.getpid())]:  # dead process; no answer
        (data_dir / RECORD_NAME).write_text(json.dumps({"url": url, "pid": pid}))
        assert live_server(data_dir) is None
        with run_in_thread(data_dir=data_dir) as hub:
            record = read_record(data_dir)
            assert record is not None and (record.url, record.pid) == (hub.url, os.getpid())
        assert not (data_dir / RECORD_NAME).exists()


def test_a_record_of_another_data_dir_is_stale(tmp_path: Path) -> None:
    with run_in_thread(data_dir=tmp_path / "one") as one:
        (tmp_path / "two").mkdir()
        (tmp_path / "two" / RECORD_NAME).write_text(
            json.dumps({"url": one.url, "pid": os.getpid()})
        )
        assert live_server(tmp_path / "two") is None  # it answers, but for another dir
        with pytest.raises(DataDirInUse):
            run_in_thread(data_dir=tmp_path / "one")
