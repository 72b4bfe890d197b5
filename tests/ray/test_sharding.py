"""One evaluation in 4 shards (parallel Ray tasks) stores exactly what the unsharded one does."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from huggingface_hub import HfApi

from bot.config import BotConfig
from bot.discovery import to_record
from bot.worker import make_executor, save_report
from evaluators.executor import Executor
from evaluators.predictions import Options
from evaluators.sharding import ShardedClassifier, shard_bounds
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
    world: World,
    demo_api: HfApi,
    store: Store,
    other_store: Store,
    tmp_path: Path,
) -> None:
    unsharded = write_config(tmp_path / "local", isolation={"enabled": False})
    sharded = ray_config(tmp_path / "ray", tag=unsharded.tag, shards_per_job=4)
    repo_id = f"shard{uuid.uuid4().hex[:6]}/tiny"
    make_model(demo_api, world, repo_id, unsharded.tag)
    api = HfApi()
    model = to_record(api.model_info(repo_id))
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


@pytest.mark.slow  # Ray: a local instance
def test_the_sharded_classifier_predicts_what_the_model_does_in_order(
    local_ray: None, world: World, tmp_path: Path
) -> None:
    executor = Executor([], api=HfApi(), device="cpu")
    model = to_record(HfApi().model_info("demo/tiny-emotion"))
    inner = executor.load(model, world.model("demo/tiny-emotion").path)
    texts = [f"i feel {w} today number {i}" for i, w in enumerate(["sad", "happy", "angry"] * 30)]
    options = Options(batch_size=8, max_length=32)
    whole = inner.predict(texts, options)  # type: ignore[union-attr]
    sharded = ShardedClassifier(inner, shards=4).predict(texts, options)  # type: ignore[arg-type]
    np.testing.assert_array_equal(sharded.labels, whole.labels)
    np.testing.assert_array_equal(sharded.confidences, whole.confidences)
