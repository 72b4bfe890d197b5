"""The detection part of the demo world (built once per machine into the world cache, like the
demo world), seeded into the session's sandbox Hub."""

from __future__ import annotations

import pytest

from sandbox.world import World


@pytest.fixture(scope="session")
def world(detection_world: World) -> World:
    return detection_world
