"""``evalbot demo``: the main job on embedded defaults, start to finish.

Starts an embedded MongoDB and the sandbox Hub (seeded with the demo world), runs one bot cycle
as the ``evalbot`` user, serves the Space, prints the URLs and waits; Ctrl-C stops everything it
started. State lives under ``~/.cache/evalbot/demo``, so a second run opens no new PRs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.settings import Settings
from store.embedded import start_embedded


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def _evalbot(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_demo(*, root: Path | None, space_port: int, hub_port: int, serve: bool) -> int:
    settings = Settings.from_env()
    root = Path(root or settings.demo_dir)
    root.mkdir(parents=True, exist_ok=True)
    hub_dir = root / "hub"
    children: list[subprocess.Popen[bytes]] = []
    mongo = start_embedded(root / "mongo")
    try:
        if not _port_free(hub_port):
            print(f"evalbot demo: port {hub_port} is busy; pass --hub-port", file=sys.stderr)
            return 2
        hub_url = f"http://127.0.0.1:{hub_port}"
        hub = subprocess.Popen(
            _evalbot("sandbox", "serve", "--port", str(hub_port), "--data-dir", str(hub_dir))
        )
        children.append(hub)
        _wait_http(f"{hub_url}/api/models?limit=1", 60, hub)
        tokens = json.loads((hub_dir / "tokens.json").read_text())
        space_url = f"http://127.0.0.1:{space_port}"
        env = {
            **os.environ,
            "HF_ENDPOINT": hub_url,
            "HF_HOME": str(root / "hf-home"),
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "MONGODB_URI": mongo.uri,
            "EVALBOT_SPACE_URL": space_url,
            "EVALBOT_SIGNING_KEY": str(settings.signing_key or root / "signing-key.pem"),
        }
        print(
            "Seeding the sandbox Hub with the demo world (cached after the first run) ...",
            flush=True,
        )
        subprocess.run(
            _evalbot("sandbox", "seed", "--data-dir", str(hub_dir), "--endpoint", hub_url),
            env={**env, "HF_TOKEN": tokens["demo"]},
            check=True,
        )
        print("Running one bot cycle as the user 'evalbot' ...", flush=True)
        subprocess.run(
            _evalbot("run", "--once"), env={**env, "HF_TOKEN": tokens["evalbot"]}, check=True
        )
        subprocess.run(_evalbot("status"), env=env, check=True)
        if not serve:
            return 0
        space = subprocess.Popen(_evalbot("space", "--port", str(space_port)), env=env)
        children.append(space)
        _wait_http(space_url, 120, space)
        print(
            "\nevalbot demo is up (Ctrl-C stops everything):\n"
            f"  Space (results explorer): {space_url}\n"
            f"  Sandbox Hub:              {hub_url}  (PRs: {hub_url}/<org>/<model>/discussions)\n"
            f"  MongoDB:                  {mongo.uri}\n",
            flush=True,
        )
        signal.signal(signal.SIGTERM, _interrupt)
        while all(child.poll() is None for child in children):
            time.sleep(1)
        print("evalbot demo: a server stopped unexpectedly; shutting down", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for child in reversed(children):
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        mongo.stop()
