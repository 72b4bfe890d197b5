"""A full cycle over the sandbox Hub with ``executor: ray`` gives the results and the pull
request that ``executor: local`` gives, on the same model."""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi

from bot.cycle import run_cycle
from evaluators.errors import ConfigError
from evaluators.ray_executor import RayExecutor
from sandbox.world import World
from store.db import Store
from store.types import EvaluationRecord
from tests.bot.conftest import bot_prs, make_model, retrying_api, write_config
from tests.ray.conftest import ray_config

RUNTIME_FIELDS = ("model_id", "model_sha", "runtime", "created_at", "id")


def comparable(record: EvaluationRecord) -> dict[str, Any]:
    """Everything of a stored result but which model it is and how long it took (and the
    evidence of its selection, which names each config's own tag)."""
    doc = asdict(record)
    doc["selection"] = doc["selection"]["rule"]
    return {k: v for k, v in doc.items() if k not in RUNTIME_FIELDS}


@pytest.mark.slow  # Ray: a local instance
def test_a_ray_cycle_stores_and_publishes_what_a_local_cycle_does(
    local_ray: None,
    world: World,
    demo_api: HfApi,
    bot_token: str,
    store: Store,
    tmp_path: Path,
) -> None:
    ns = f"ray{uuid.uuid4().hex[:6]}"
    local = write_config(tmp_path / "local")
    on_ray = ray_config(tmp_path / "ray")
    make_model(demo_api, world, f"{ns}/local", local.tag)
    make_model(demo_api, world, f"{ns}/on-ray", on_ray.tag)
    api = retrying_api(bot_token)

    first = run_cycle(local.load(), api=api, store=store, device="cpu")
    second = run_cycle(on_ray.load(), api=api, store=store, device="cpu")

    assert (first.evaluated, second.evaluated) == (1, 1)
    assert not first.failed and not second.failed, (first.summary(), second.summary())
    assert first.prs == second.prs == {"opened": 1}
    by_local = store.results_for(f"{ns}/local", store.get_model(f"{ns}/local").sha)  # type: ignore[union-attr]
    by_ray = store.results_for(f"{ns}/on-ray", store.get_model(f"{ns}/on-ray").sha)  # type: ignore[union-attr]
    assert len(by_local) == len(by_ray) == 1
    assert comparable(by_ray[0]) == comparable(by_local[0])
    assert by_ray[0].runtime.device.startswith("cpu (1 thread")  # the task's num_cpus
    prs = bot_prs(demo_api, f"{ns}/local"), bot_prs(demo_api, f"{ns}/on-ray")
    assert [len(p) for p in prs] == [1, 1]
    assert prs[0][0].title == prs[1][0].title
    jobs = {j["repo_id"]: (j["status"], j["attempts"]) for j in store.jobs.find()}
    assert jobs == {f"{ns}/local": ("done", 1), f"{ns}/on-ray": ("done", 1)}


@pytest.mark.slow  # Ray: a local instance
def test_a_second_ray_cycle_evaluates_nothing_again(
    local_ray: None,
    world: World,
    demo_api: HfApi,
    bot_token: str,
    store: Store,
    tmp_path: Path,
) -> None:
    """The driver filters against the store before submitting: nothing stored is re-run."""
    config = ray_config(tmp_path / "ray")
    repo_id = f"ray{uuid.uuid4().hex[:6]}/twice"
    make_model(demo_api, world, repo_id, config.tag)
    api = retrying_api(bot_token)
    run_cycle(config.load(), api=api, store=store, device="cpu")
    model = store.get_model(repo_id)
    assert model is not None
    executor = RayExecutor([m.module for m in config.load().modules], api=api, store=store)
    report = executor.evaluate(model)
    assert report.records == [] and len(report.skipped) == 1


@pytest.mark.slow  # a cycle in a fresh interpreter
def test_the_local_executor_never_imports_ray(tmp_path: Path) -> None:
    config = write_config(tmp_path / "local")
    code = (
        "import sys\n"
        "from huggingface_hub import HfApi\n"
        "from bot.config import load_config\n"
        "from bot.worker import make_executor\n"
        "import space.app\n"
        f"make_executor(load_config(__import__('pathlib').Path({str(config.path)!r})), "
        "api=HfApi(), store=None)\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_an_unknown_executor_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path / "bad", executor="raay")
    with pytest.raises(ConfigError, match="executor"):
        config.load()
