"""Pairs of texts (NLI) predicted in Ray shards: the unsharded predictions, in order."""

from __future__ import annotations

import numpy as np
import pytest
from huggingface_hub import HfApi

from bot.discovery import to_record
from evaluators.executor import Executor
from evaluators.predictions import Options
from evaluators.sharding import ShardedClassifier
from sandbox.world import World
from sandbox.world_pairs import PAIR_MODEL_ID, pair_splits


@pytest.mark.slow  # Ray: a local instance
def test_the_sharded_classifier_predicts_pairs_as_the_model_does(
    local_ray: None, world: World
) -> None:
    executor = Executor([], api=HfApi(), device="cpu")
    model = to_record(HfApi().model_info(PAIR_MODEL_ID))
    inner = executor.load(model, world.model(PAIR_MODEL_ID).path)
    pairs = [(r["sentence1"], r["sentence2"]) for r in pair_splits()["validation"][:90]]
    options = Options(batch_size=8, max_length=64)
    whole = inner.predict(pairs, options)  # type: ignore[union-attr]
    sharded = ShardedClassifier(inner, shards=4).predict(pairs, options)  # type: ignore[arg-type]
    np.testing.assert_array_equal(sharded.labels, whole.labels)
    np.testing.assert_array_equal(sharded.confidences, whole.confidences)
