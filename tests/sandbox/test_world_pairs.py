"""The pair part of the demo world: `nyu-mll/glue` (config `rte`) in the real repo's layout, and
`demo/tiny-rte`, its labels in another order, its card declaring GLUE and a self-reported
validation accuracy."""

from __future__ import annotations

import datasets
from huggingface_hub import HfApi, ModelCard

from sandbox.seed import pinned_revisions
from sandbox.world import World
from sandbox.world_pairs import (
    PAIR_CONFIG,
    PAIR_DATASET_ID,
    PAIR_LABELS,
    PAIR_MODEL_ID,
    PAIR_RECIPE,
    pair_splits,
)


def test_splits_are_deterministic_and_balanced() -> None:
    splits = pair_splits()
    assert splits == pair_splits()
    assert [len(splits[s]) for s in ("train", "validation", "test")] == list(PAIR_RECIPE.sizes)
    validation = [r["label"] for r in splits["validation"]]
    assert 0.35 < validation.count(0) / len(validation) < 0.65
    assert {r["label"] for r in splits["test"]} == {-1}  # hidden, as GLUE's are
    assert all(r["sentence1"] and r["sentence2"] for r in splits["validation"])


def test_the_glue_config_loads_from_the_hub(demo_world: World, bot_api: HfApi) -> None:
    revision = pinned_revisions()[PAIR_DATASET_ID]
    files = bot_api.list_repo_files(PAIR_DATASET_ID, repo_type="dataset", revision=revision)
    assert sorted(f for f in files if f.endswith(".parquet")) == [
        f"{PAIR_CONFIG}/{s}-00000-of-00001.parquet" for s in ("test", "train", "validation")
    ]
    ds = datasets.load_dataset(PAIR_DATASET_ID, PAIR_CONFIG, split="validation", revision=revision)
    assert isinstance(ds, datasets.Dataset)
    assert ds.column_names == ["sentence1", "sentence2", "label", "idx"]
    assert ds.features["label"].names == list(PAIR_LABELS)
    assert len(ds) == 277


def test_the_pair_model_card_declares_glue(demo_world: World, bot_api: HfApi) -> None:
    info = bot_api.model_info(PAIR_MODEL_ID)
    assert info.pipeline_tag == "text-classification"
    card = ModelCard.load(PAIR_MODEL_ID)
    assert card.data.datasets == ["glue"]
    (result,) = card.data.eval_results
    assert (result.dataset_type, result.dataset_config, result.dataset_split) == (
        "glue",
        "rte",
        "validation",
    )
    assert result.metric_type == "accuracy" and 0.6 < result.metric_value < 1.0
    config = demo_world.model(PAIR_MODEL_ID).path / "config.json"
    text = config.read_text()
    # the reverse of the dataset's order, upper case
    assert text.index('"NOT_ENTAILMENT"') < text.index('"ENTAILMENT"')
