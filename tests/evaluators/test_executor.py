"""The Executor's plan and splits on the sandbox Hub: DG6 (add a variant, only it runs),
version bumps re-evaluate, perturbed variants are views of the one clean split."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import HfApi

from bot.discovery import to_record
from bot.worker import save_report
from evaluators.config import EvaluationModule, load_module
from evaluators.errors import UnsupportedModelError
from evaluators.executor import Executor
from evaluators.streaming import Perturbed
from sandbox.world import World
from store.db import Store
from store.types import ModelRecord

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def seeded(demo_world: World) -> None:
    """The demo world on the session's sandbox Hub."""


def emotion(**changes: object) -> EvaluationModule:
    base = load_module(ROOT / "config" / "tasks" / "text-classification" / "emotion.yaml")
    return base.model_copy(update={"limit": 120, **changes})


def model(api: HfApi, repo_id: str) -> ModelRecord:
    return to_record(api.model_info(repo_id))


def test_adding_a_variant_runs_only_that_variant(seeded, bot_api: HfApi, store: Store) -> None:  # type: ignore[no-untyped-def]
    tiny = model(bot_api, "demo/tiny-emotion")
    first = Executor([emotion(perturbations=["lowercase"])], api=bot_api, store=store).evaluate(
        tiny
    )
    save_report(store, first)
    assert sorted(r.variant for r in first.records) == ["lowercase", "original"]

    second = Executor(
        [emotion(perturbations=["lowercase", {"name": "typos", "rate": 0.1}])],
        api=bot_api,
        store=store,
    )
    todo, skipped = second.plan(tiny)
    assert [t.variant for t in todo] == ["typos(rate=0.1)"]
    assert sorted(t.variant for t in skipped) == ["lowercase", "original"]
    report = second.evaluate(tiny)
    assert [r.variant for r in report.records] == ["typos(rate=0.1)"]
    save_report(store, report)
    assert len(store.results_for(tiny.repo_id, tiny.sha)) == 3

    bumped = Executor([emotion(version=2, perturbations=["lowercase"])], api=bot_api, store=store)
    todo, skipped = bumped.plan(tiny)
    assert sorted(t.variant for t in todo) == ["lowercase", "original"] and skipped == []


def test_variants_are_read_through_the_one_clean_split(seeded, bot_api: HfApi) -> None:  # type: ignore[no-untyped-def]
    module = emotion(perturbations=["uppercase", "no_punctuation"])
    executor = Executor([module], api=bot_api)
    first = executor.evaluate(model(bot_api, "demo/tiny-emotion"))
    second = executor.evaluate(model(bot_api, "demo/minilm-emotion"))
    # one clean split is held (its labels; its texts stay in the datasets cache) and a variant
    # is a view of it, perturbed as it is read: no perturbed copy of the split exists
    assert len(executor._splits) == 1
    clean = next(iter(executor._splits.values()))
    todo, _ = executor.plan(model(bot_api, "demo/tiny-emotion"))
    variant = executor.split(next(t for t in todo if t.variant == "uppercase"))
    assert isinstance(variant.inputs, Perturbed) and variant.inputs.base is clean.inputs
    assert variant.inputs[3] == clean.inputs[3].upper()
    assert len(first.records) == len(second.records) == 3
    by_variant = {r.variant: r for r in second.records}
    # the uppercase variant changes nothing for an uncased tokenizer: identical predictions
    assert by_variant["uppercase"].metrics == by_variant["original"].metrics
    assert (
        by_variant["original"].intervals["accuracy"].low
        <= by_variant["original"].metrics["accuracy"]
    )  # type: ignore[operator]
    assert by_variant["original"].calibration is not None
    assert sum(c.support for c in by_variant["original"].classes) == 120
    # metadata met on the way: the dataset, its split's class counts, examples per class, variants
    (dataset,) = second.datasets
    assert dataset.dataset_id == "dair-ai/emotion" and dataset.variants[0] == "original"
    (split,) = second.splits
    assert sum(split.class_counts) == 120
    assert {e.label for e in second.examples} == set(dataset.labels)
    assert {v.variant_id for v in second.variants} == {"uppercase", "no_punctuation"}
    assert second.model_metadata is not None and second.model_metadata.num_parameters
    assert second.model_metadata.file_sizes["model.safetensors"] > 1_000_000


def test_unsupported_model(bot_api: HfApi) -> None:
    record = ModelRecord("x/y", "a" * 40, pipeline_tag="text-classification", datasets=("imdb",))
    with pytest.raises(UnsupportedModelError):
        Executor([emotion()], api=bot_api).plan(record)


def test_every_stored_error_has_its_example(seeded, bot_api: HfApi, store: Store) -> None:  # type: ignore[no-untyped-def]
    """The Space's gallery shows each misclassified example: its text is stored, for each model,
    also when the split's class examples were stored by an earlier model."""
    for repo_id in ("demo/minilm-emotion", "demo/tiny-emotion"):
        module = emotion(perturbations=[])
        report = Executor([module], api=bot_api, store=store).evaluate(model(bot_api, repo_id))
        save_report(store, report)
        (record,) = report.records
        assert record.misclassifications, repo_id
        wanted = {m.example_id for m in record.misclassifications}
        assert wanted <= store.stored_example_ids("dair-ai/emotion", "test"), repo_id
    docs = store.dataset_examples.find({"dataset_id": "dair-ai/emotion", "split": "test"})
    texts = {d["example_id"]: d["text"] for d in docs}
    assert all(texts[m.example_id] for m in record.misclassifications)
