"""One local Ray instance for the Ray tests (2 CPUs, loopback, no dashboard) and bot configs that
run the evaluation as Ray tasks on it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evaluators.isolation import PROBE_ENV
from tests.bot.conftest import FastConfig, cli_env, world, write_config

__all__ = ["cli_env", "world"]  # fixtures shared with the bot tests


@pytest.fixture(scope="package")
def probe_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where an isolated child on a Ray worker describes itself (``PROBE_ENV``)."""
    return tmp_path_factory.mktemp("probe") / "child.json"


@pytest.fixture(scope="package")
def local_ray(probe_file: Path, bot_token: str) -> Iterator[None]:
    """Started once for every Ray test, as a cluster whose nodes hold a token of their own
    (``HF_TOKEN``, here the write token): its Ray workers, and the children they start, inherit
    that token and the isolation probe (``PROBE_ENV``), whatever this process's environment is
    later. (An evalbot worker's own local instance is started without its secrets:
    ``test_trust_boundary``.)
    """
    import ray

    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths
    with pytest.MonkeyPatch.context() as env:
        env.setenv(PROBE_ENV, str(probe_file))
        env.setenv("HF_TOKEN", bot_token)
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
