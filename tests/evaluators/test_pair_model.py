"""The sandbox's GLUE RTE stand-in and its tiny NLI model, evaluated in process: pairs read from
the Hub's parquet layout, the model's labels (another order, another spelling) mapped by name,
accuracy equal to transformers' own pipeline on the same pairs."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest
from huggingface_hub import HfApi
from transformers import pipeline

from bot.discovery import to_record
from evaluators.config import EvaluationModule, load_module, load_modules
from evaluators.executor import Executor
from sandbox.world import World
from sandbox.world_pairs import PAIR_LABELS, PAIR_MODEL_ID

ROOT = Path(__file__).resolve().parents[2]


def rte(**changes: object) -> EvaluationModule:
    module = load_module(ROOT / "config" / "tasks" / "text-classification" / "glue-rte.yaml")
    return module.model_copy(update=changes)


def test_the_pair_model_is_evaluated_as_its_pipeline_predicts(
    demo_world: World, bot_api: HfApi
) -> None:
    module = rte(perturbations=["uppercase"])
    report = Executor([module], api=bot_api).evaluate(to_record(bot_api.model_info(PAIR_MODEL_ID)))
    by_variant = {r.variant: r for r in report.records}
    assert sorted(by_variant) == ["original", "uppercase"]
    result = by_variant["original"]
    assert result.module_id == "glue-rte" and result.split == "validation"
    # NOT_ENTAILMENT, ENTAILMENT: the reverse of the dataset's order, mapped by name
    assert result.label_mapping == {
        "NOT_ENTAILMENT": "not_entailment",
        "ENTAILMENT": "entailment",
    }

    # the same pairs through transformers' pipeline, straight from the saved model
    rows = datasets.load_dataset(
        str(demo_world.dataset("nyu-mll/glue").path), "rte", split="validation"
    )
    classifier = pipeline("text-classification", model=str(demo_world.model(PAIR_MODEL_ID).path))
    outputs = classifier(
        [
            {"text": a, "text_pair": b}
            for a, b in zip(rows["sentence1"], rows["sentence2"], strict=True)
        ],
        batch_size=64,
    )
    predicted = np.array([PAIR_LABELS.index(o["label"].lower()) for o in outputs])
    expected = float(np.mean(predicted == np.array(rows["label"])))
    assert result.num_examples == len(rows) == 277
    assert result.metrics["accuracy"] == pytest.approx(expected, abs=1e-9)
    assert 0.6 < expected < 1.0  # the model learnt something, and not everything
    # an uncased vocabulary: upper case changes nothing, on both texts of each pair
    assert by_variant["uppercase"].metrics == result.metrics

    # the examples shown and those behind the stored errors carry both texts
    assert report.examples and all(e.text and e.text_pair for e in report.examples)
    first = rows[0]
    shown = {e.example_id: e for e in report.examples}
    assert (shown[0].text, shown[0].text_pair) == (first["sentence1"], first["sentence2"])


def test_among_the_shipped_modules_the_pair_model_gets_glue_rte(
    demo_world: World, bot_api: HfApi
) -> None:
    # its card declares `glue` (a family of configs) and a model-index entry for config rte
    modules = [f.module for f in load_modules(ROOT / "config" / "tasks")]
    todo, _ = Executor(modules, api=bot_api).plan(to_record(bot_api.model_info(PAIR_MODEL_ID)))
    assert {t.module.id for t in todo} == {"glue-rte"}
