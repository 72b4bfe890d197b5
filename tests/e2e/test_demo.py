"""`evalbot demo`: deploys the Space to the sandbox and serves a checkout of it, prints the URLs,
Ctrl-C stops it all; a rerun opens no PR and commits nothing to the Space."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sandbox.world import build_world

pytestmark = pytest.mark.slow  # end to end: `evalbot demo` as a process

ROOT = Path(__file__).resolve().parents[2]
# every demo model but the one with Spanish labels, the fill-mask one (a task evalbot does not
# evaluate) and the one whose metadata says nothing of its training data
MAPPABLE = len(build_world().models) - 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _ctrl_c_as_in_a_terminal() -> None:
    """Ctrl-C's default in the demo, whatever this process inherited: a shell runs a background
    job (``pytest &``) with SIGINT ignored, and its children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_demo_serves_then_stops_on_ctrl_c_and_reruns_without_new_prs(tmp_path: Path) -> None:
    hub_port, space_port = _free_port(), _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HF_", "MONGODB_URI", "EVALBOT_DB"))
    }
    cmd = [
        sys.executable,
        "-m",
        "bot.cli",
        "demo",
        "--dir",
        str(tmp_path),
        "--hub-port",
        str(hub_port),
        "--port",
        str(space_port),
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_ctrl_c_as_in_a_terminal,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "MongoDB:" in line:
                break
        out = "".join(lines)
        assert "evalbot demo is up" in out, out[-3000:]
        assert f"http://127.0.0.1:{space_port}" in out and f"http://127.0.0.1:{hub_port}" in out
        assert f"pull requests: opened: {MAPPABLE}" in out
        assert "unknown labels: 1" in out
        assert "Space repo evalbot/explorer: created" in out
        assert "Space evalbot/explorer: committed" in out
        assert (
            f"Space repo:               http://127.0.0.1:{hub_port}/spaces/evalbot/explorer" in out
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{space_port}/", timeout=30) as page:
            assert page.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:  # a failed check: Ctrl-C stops the demo's Hub, Space and mongod
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    assert not _port_open(space_port) and not _port_open(hub_port)
    mongod = subprocess.run(
        ["pgrep", "-f", f"--dbpath {tmp_path}/mongo"], capture_output=True, text=True
    )
    assert mongod.stdout.strip() == "", "mongod still running"

    again = subprocess.run(
        [*cmd, "--no-serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "queued 0 new revisions" in again.stdout
    assert "Space evalbot/explorer: up to date, nothing committed" in again.stdout
    assert f"pull requests: {{'open': {MAPPABLE}}}" in again.stdout
