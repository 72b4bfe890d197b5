"""One evaluation in shards (parallel Ray tasks, each a sandboxed child evaluating its share of the
job's tasks) stores exactly what the unsharded one does."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from huggingface_hub import HfApi

from bot.config import BotConfig
from bot.discovery import to_record
from bot.worker import make_executor, save_report
from evaluators.sharding import shard_bounds, split_tasks
from sandbox.world import World
from store.db import Store
from tests.bot.conftest import FastConfig, make_model, write_config
from tests.mongo_fixtures import EmbeddedMongo
from tests.ray.conftest import ray_config
from tests.ray.test_cycle import comparable


@pytest.mark.parametrize(
    ("n", "shards", "batch"), [(360, 4, 32), (10, 4, 2), (5, 4, 8), (0, 4, 8), (96, 4, 32)]
)
def test_shards_are_contiguous_and_cut_on_batch_boundaries(n: int, shards: int, batch: int) -> None:
    bounds = shard_bounds(n, shards, batch)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a == b for (_, a), (b, _) in itertools.pairwise(bounds))
    assert all(start % batch == 0 for start, _ in bounds)
    assert len(bounds) == max(1, min(shards, -(-n // batch)))


@pytest.mark.parametrize(("n", "shards"), [(1, 4), (2, 4), (5, 2), (8, 3), (3, 1)])
def test_a_job_s_tasks_are_cut_in_contiguous_non_empty_shares(n: int, shards: int) -> None:
    tasks = [f"task{i}" for i in range(n)]
    shares = split_tasks(tasks, shards)
    assert [t for share in shares for t in share] == tasks
    assert len(shares) == min(n, shards) and all(shares)
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


def _whole_split(config: FastConfig) -> BotConfig:
    """The emotion module on its whole test split (360 tweets, 12 batches) and one variant."""
    path = config.path / "tasks" / "text-classification" / "emotion.yaml"
    module = yaml.safe_load(path.read_text())
    module.update(limit=None, perturbations=[{"name": "typos", "rate": 0.05}])
    path.write_text(yaml.safe_dump(module))
    return config.load()


@pytest.fixture
def other_store(mongo: EmbeddedMongo) -> Iterator[Store]:
    db = Store.open(mongo.uri, db_name=f"test_{uuid.uuid4().hex[:12]}")
    try:
        yield db
    finally:
        db.client.drop_database(db.db.name)
        db.client.close()


@pytest.mark.slow  # Ray: a local instance
def test_a_4_shard_evaluation_stores_the_unsharded_result_exactly(
    local_ray: None,
    probe_file: Path,
    world: World,
    demo_api: HfApi,
    store: Store,
    other_store: Store,
    tmp_path: Path,
) -> None:
    """The job's two tasks (the original split and a variant) in two shards, each evaluated by
    a sandboxed child on a Ray worker; the unsharded run evaluates in process."""
    unsharded = write_config(tmp_path / "local", isolation={"enabled": False})
    sharded = ray_config(tmp_path / "ray", tag=unsharded.tag, shards_per_job=4)
    repo_id = f"shard{uuid.uuid4().hex[:6]}/tiny"
    make_model(demo_api, world, repo_id, unsharded.tag)
    api = HfApi()
    model = to_record(api.model_info(repo_id))
    probe_file.unlink(missing_ok=True)
    for config, into in ((unsharded, store), (sharded, other_store)):
        store_model = into.upsert_model
        store_model(model)
        executor = make_executor(_whole_split(config), api=api, store=None, device="cpu")
        save_report(into, executor.evaluate(model))

    expected = store.results_for(repo_id, model.sha)
    got = other_store.results_for(repo_id, model.sha)
    assert [(r.variant, r.num_examples) for r in got] == [
        (r.variant, r.num_examples) for r in expected
    ]
    assert [r.num_examples for r in got] == [360, 360]
    for a, b in zip(got, expected, strict=True):
        assert comparable(a) == comparable(b)  # counts, confusion, calibration, CIs, errors
        assert a.intervals and a.calibration is not None and a.misclassifications
    split = (expected[0].dataset_id, expected[0].split)
    assert other_store.stored_example_ids(*split) == store.stored_example_ids(*split)
    # The shards' children were sandboxed (the probe that each writes: no token, seccomp on).
    probe = json.loads(probe_file.read_text())
    assert (probe["model"], probe["token_found"], probe["seccomp"]) == (repo_id, False, "2")
