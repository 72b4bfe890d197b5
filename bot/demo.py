"""``evalbot demo``: the main job on embedded defaults, start to finish.

Starts an embedded MongoDB and the sandbox Hub (seeded with the demo world), runs one bot cycle
as the ``evalbot`` user (which publishes the results dataset), deploys the Space to a Space repo
of the sandbox (``evalbot space deploy``), serves a checkout of that repo reading the results
dataset from the sandbox (never MongoDB), prints the URLs and waits; Ctrl-C stops everything it
started. MongoDB asks for a password (``store.embedded``): the bot's commands get its read-write
user's URI in ``MONGODB_URI``, ``status`` the read-only user's in ``MONGODB_READ_URI``, and the
Space neither. State lives under ``~/.cache/evalbot/demo``, so a second run opens no new PRs.
The demo signs with its own key there (made as ``evalbot keys create`` makes one), never with
``EVALBOT_SIGNING_KEY``: a sandbox's results must not carry the real bot's signature.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.config import load_config
from bot.errors import SigningKeyExistsError
from bot.keys import create_signer
from bot.settings import Settings
from bot.space_deploy import serve_checkout, space_repo_id
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


def _space_repo(settings: Settings) -> str:
    """The demo's Space repo: the name of bot.yaml's ``space_url``, in the bot's namespace (the
    sandbox's ``evalbot`` user writes only there)."""
    url = load_config(settings.config_dir).settings.space_url
    repo_id = space_repo_id(url) or "evalbot/explorer"
    return f"evalbot/{repo_id.split('/')[1]}"


def run_demo(*, root: Path | None, space_port: int, hub_port: int, serve: bool) -> int:
    settings = Settings.from_env()
    root = Path(root or settings.demo_dir)
    root.mkdir(parents=True, exist_ok=True)
    hub_dir = root / "hub"
    key = root / "signing-key.pem"
    with contextlib.suppress(SigningKeyExistsError):  # the key of an earlier run
        create_signer(key)
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
            **{k: v for k, v in os.environ.items() if k != "MONGODB_READ_URI"},  # not the demo's
            "HF_ENDPOINT": hub_url,
            "HF_HOME": str(root / "hf-home"),
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "MONGODB_URI": mongo.uri,
            "EVALBOT_SPACE_URL": space_url,
            "EVALBOT_SIGNING_KEY": str(key),
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
        subprocess.run(  # it only reads: as the read-only user
            _evalbot("status"), env={**env, "MONGODB_READ_URI": mongo.reader_uri}, check=True
        )
        space_repo = _space_repo(settings)
        print(f"Deploying the Space to the sandbox Hub as {space_repo} ...", flush=True)
        subprocess.run(
            _evalbot("space", "deploy", "--repo", space_repo),
            env={**env, "HF_TOKEN": tokens["evalbot"]},
            check=True,
        )
        if not serve:
            return 0
        checkout = root / "space"
        shutil.rmtree(checkout, ignore_errors=True)
        served = serve_checkout(space_repo, checkout, port=space_port, env=env)
        children.append(served.process)
        print(
            "\nevalbot demo is up (Ctrl-C stops everything):\n"
            f"  Space (results explorer): {space_url}  (a checkout of the Space repo: {checkout})\n"
            f"  Space repo:               {hub_url}/spaces/{space_repo}\n"
            f"  Sandbox Hub:              {hub_url}  (PRs: {hub_url}/<org>/<model>/discussions)\n"
            f"  MongoDB:                  mongodb://127.0.0.1:{mongo.port}/  (users evalbot and "
            f"evalbot-reader; passwords in {mongo.credentials_path})\n",
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
        deadline = time.monotonic() + 15  # all servers together, however busy the machine
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        mongo.stop(timeout=10)
