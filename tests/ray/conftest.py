"""A local Ray instance per test module (2 CPUs, loopback, no dashboard) and bot configs that
run the evaluation as Ray tasks on it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bot.conftest import FastConfig, cli_env, world, write_config

__all__ = ["cli_env", "world"]  # fixtures shared with the bot tests


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    import ray

    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp)
    try:
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


def ray_config(root: Path, *, tag: str | None = None, **ray: Any) -> FastConfig:
    """The fast bot config with ``executor: ray`` sized for this machine; ``ray``: overrides."""
    settings = {
        "address": None,
        "gpus_per_job": 0,
        "cpus_per_job": 1,
        "memory_gib": None,
        "max_retries": 2,
        "shards_per_job": 1,
        **ray,
    }
    return write_config(root, tag=tag, executor="ray", ray=settings)
