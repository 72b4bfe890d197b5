"""The detection part of the demo world, built into a temporary folder and seeded into the
session's sandbox Hub (a few seconds)."""

from __future__ import annotations

import pytest

from sandbox.seed import seed_world
from sandbox.server import RunningSandbox
from sandbox.world import World
from sandbox.world_detection import build_detection_world


@pytest.fixture(scope="session")
def world(
    sandbox: RunningSandbox, demo_token: str, tmp_path_factory: pytest.TempPathFactory
) -> World:
    built = build_detection_world(tmp_path_factory.mktemp("detection-world"))
    seed_world(built, endpoint=sandbox.url, token=demo_token)
    return built
