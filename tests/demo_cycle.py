"""One bot cycle over the demo world, shared by the tests that read what it leaves behind.

`evalbot run --once` over the shipped config takes most of a minute; the end-to-end tests
(`tests/e2e/test_cycle.py`) and the Space's browser tests (`tests/space/test_browser.py`) read
the same cycle: its PRs on the Hub, its database. The Hub is one of its own that holds exactly the
demo world (the session's sandbox also holds other tests' repos, which the shipped config's
modules would discover too). A test that changes the database works on a copy
(`copy_database`), so no test sees another's changes, whatever the order.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pymongo import MongoClient

from sandbox.seed import seed_world
from sandbox.server import RunningSandbox, run_in_thread
from sandbox.world import build_world
from store.embedded import EmbeddedMongo

ROOT = Path(__file__).resolve().parents[1]
SPACE = "http://127.0.0.1:7860"  # the Space URL the PRs link to (nothing is served there)


@dataclass(frozen=True)
class DemoCycle:
    """What one `evalbot run --once` over the demo world left behind.

    Attributes:
        hub: The sandbox Hub holding the demo world and the cycle's PRs.
        env: The environment of an `evalbot` process on that Hub and the cycle's database.
        db_name: The database the cycle wrote (on the session's mongod).
        output: The finished `evalbot run --once`.
    """

    hub: RunningSandbox
    env: dict[str, str]
    db_name: str
    output: subprocess.CompletedProcess[str]


def evalbot(
    env: dict[str, str], *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``evalbot ARGS`` as a process in ``env``; finished, with its output."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def copy_database(uri: str, source: str, target: str) -> None:
    """Every document of database ``source`` into the empty database ``target`` (indexes are
    made by `Store.open`)."""
    client: MongoClient[dict[str, object]] = MongoClient(uri)
    try:
        for name in client[source].list_collection_names():
            docs = list(client[source][name].find())
            if docs:
                client[target][name].insert_many(docs)
    finally:
        client.close()


@pytest.fixture(scope="session")
def demo_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A sandbox Hub of its own, holding exactly the demo world, pushed with the real client."""
    with run_in_thread(data_dir=tmp_path_factory.mktemp("demo-hub")) as hub:
        seed_world(build_world(), endpoint=hub.url, token=hub.tokens["demo"])
        yield hub


@pytest.fixture(scope="session")
def demo_env(
    demo_hub: RunningSandbox, mongo: EmbeddedMongo, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """An `evalbot` process as the user ``evalbot`` on the demo Hub, with the shipped config and
    a database of its own."""
    return {
        **os.environ,
        "HF_ENDPOINT": demo_hub.url,
        "HF_TOKEN": demo_hub.tokens["evalbot"],
        "HF_HOME": str(tmp_path_factory.mktemp("demo-hf-home")),
        "HF_HUB_DISABLE_XET": "1",
        "MONGODB_URI": mongo.uri,
        "EVALBOT_DB": f"demo_{uuid.uuid4().hex[:10]}",
        "EVALBOT_SPACE_URL": SPACE,
        "EVALBOT_CONFIG": str(ROOT / "config"),
    }


@pytest.fixture(scope="session")
def demo_cycle(demo_hub: RunningSandbox, demo_env: dict[str, str]) -> DemoCycle:
    """`evalbot run --once` over the demo world, run once for the session."""
    done = evalbot(demo_env, "run", "--once")
    assert done.returncode == 0, done.stderr[-3000:]
    return DemoCycle(demo_hub, demo_env, demo_env["EVALBOT_DB"], done)
