"""Fixtures shared by every test package.

huggingface_hub and datasets read `HF_ENDPOINT` (and `HF_HOME`...) once, at import, and several of
their paths ignore `HfApi(endpoint=...)`. So the environment is set here, before any test module
imports them: the endpoint is a free port picked now, on which the session `sandbox` fixture then
serves the sandbox Hub.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


SANDBOX_PORT = _free_port()
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{SANDBOX_PORT}"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="evalbot-hf-home-")
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("HF_TOKEN", None)  # anonymous unless a test passes a token
# the bot's signing key for this session (subprocesses inherit it), made below as
# `evalbot keys create` makes it: `run`, `serve` and `worker` refuse to start without one
os.environ["EVALBOT_SIGNING_KEY"] = os.path.join(
    tempfile.mkdtemp(prefix="evalbot-key-"), "signing-key.pem"
)

import pytest  # noqa: E402
from huggingface_hub import HfApi  # noqa: E402

from bot.keys import create_signer  # noqa: E402
from sandbox.seed import seed_world  # noqa: E402
from sandbox.server import RunningSandbox, run_in_thread  # noqa: E402
from sandbox.world import World, build_world  # noqa: E402
from sandbox.world_detection import build_detection_world  # noqa: E402

create_signer()

pytest_plugins = ["tests.mongo_fixtures", "tests.demo_cycle"]


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """The sandbox Hub on `HF_ENDPOINT`, over a fresh data dir, for the whole session."""
    running = run_in_thread(data_dir=tmp_path_factory.mktemp("sandbox-hub"), port=SANDBOX_PORT)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def hf_endpoint(sandbox: RunningSandbox) -> str:
    return sandbox.url


@pytest.fixture(scope="session")
def demo_token(sandbox: RunningSandbox) -> str:
    """Token of `demo`, the owner of the demo world (writes any non-user namespace)."""
    return sandbox.tokens["demo"]


@pytest.fixture(scope="session")
def bot_token(sandbox: RunningSandbox) -> str:
    """Token of `evalbot`: writes `evalbot/*`, elsewhere only opens PRs."""
    return sandbox.tokens["evalbot"]


@pytest.fixture(scope="session")
def demo_api(demo_token: str) -> HfApi:
    return HfApi(token=demo_token)


@pytest.fixture(scope="session")
def bot_api(bot_token: str) -> HfApi:
    return HfApi(token=bot_token)


@pytest.fixture(scope="session")
def demo_world(sandbox: RunningSandbox, demo_token: str) -> World:
    """The demo world (built once per machine, `sandbox.world`), pushed once per session into the
    session's sandbox Hub. Tests add repos of their own beside it; none changes its repos."""
    built = build_world()
    seed_world(built, endpoint=sandbox.url, token=demo_token)
    return built


@pytest.fixture(scope="session")
def detection_world(sandbox: RunningSandbox, demo_token: str) -> World:
    """The detection part of the demo world (`sandbox.world_detection`), pushed once per session
    into the session's sandbox Hub."""
    built = build_detection_world()
    seed_world(built, endpoint=sandbox.url, token=demo_token)
    return built
