"""The card's sentence naming the weakest class group, where a module declares groups."""

from __future__ import annotations

import dataclasses

import numpy as np

from cardgen.card import propose_card
from cardgen.section import render_section
from evaluators.metrics import class_results, confusion_matrix, dataset_metrics
from store.types import ClassResult, EvaluationRecord
from tests.cardgen.conftest import emotion_record, make_records

REPO = "acme/distilbert-emotion"
SPACE = "https://huggingface.co/spaces/evalbot/results"
LABELS = ("sadness", "joy", "love", "anger")
GROUPS = {"low": ["sadness", "anger"], "high": ["joy", "love"]}


def _records() -> list[EvaluationRecord]:
    """40 examples per class; the "high" group's classes are confused with each other."""
    y_true = np.repeat(np.arange(4), 40)
    y_pred = y_true.copy()
    y_pred[40:60] = 2  # joy taken for love
    y_pred[80:85] = 0  # love taken for sadness
    y_pred[120:122] = 0  # anger taken for sadness
    matrix = confusion_matrix(y_true, y_pred, 4)
    classes = class_results(matrix, LABELS)
    return make_records(
        classes=classes,
        metrics=dataset_metrics(classes),
        confusion=tuple(tuple(int(v) for v in row) for row in matrix),
        num_examples=160,
        label_mapping={},
    )


def _render(records: list[EvaluationRecord], groups: object = None) -> str:
    return render_section(
        records,
        repo_id=REPO,
        space_url=SPACE,
        class_groups=groups,  # type: ignore[arg-type]
    )


def test_the_weakest_group_is_named_against_the_overall_macro_f1() -> None:
    records = _records()
    lines = _render(records, {"emotion": GROUPS}).split("\n")
    overall = records[0].metrics["macro_f1"]
    assert overall is not None
    # joy: P 1, R 20/40 (F1 2/3); love: P 35/55, R 35/40 (F1 0.7368); mean 0.7018
    sentence = (
        f"Weakest class group: `high` (macro F1 0.7018 vs {overall:.4f} overall, 2 classes, "
        f"80 examples)."
    )
    assert sentence in lines
    # right after the per-class table, before the runtime line
    at = lines.index(sentence)
    assert lines[at - 2].startswith("| `anger` |") and lines[at + 2].startswith("Runtime:")


def test_no_groups_no_sentence_and_the_card_is_unchanged() -> None:
    records = _records()
    plain = _render(records)
    assert "Weakest class group" not in plain
    assert _render(records, {"other-module": GROUPS}) == plain  # groups of another module
    # the conftest's record has 5 examples: no group reaches the minimum support to be named
    small = [emotion_record()]
    assert _render(small, {"emotion": {"all": ["sadness", "joy"]}}) == _render(small)


def test_detection_names_the_group_of_lowest_mean_ap_through_propose_card() -> None:
    box: dict[str, float | None] = {"ap": 0.6, "ap50": 0.9, "ar100": 0.7}
    classes = (
        ClassResult(0, "car", 30, 5, 10, 40, 0.86, 0.75, 0.8, metrics=box),
        ClassResult(1, "bus", 30, 5, 10, 40, 0.86, 0.75, 0.8, metrics={**box, "ap": 0.2}),
        ClassResult(2, "cup", 30, 5, 10, 40, 0.86, 0.75, 0.8, metrics={**box, "ap": 0.5}),
    )
    record = dataclasses.replace(
        emotion_record(),
        task="object-detection",
        module_id="coco",
        metrics={"ap": 0.4333, "ap50": 0.9, "ap75": 0.5, "ar100": 0.7},
        classes=classes,
        label_mapping={},
    )
    groups = {"coco": {"vehicle": ["car", "bus"], "kitchen": ["cup"]}}
    change = propose_card(None, [record], repo_id=REPO, space_url=SPACE, class_groups=groups)
    assert change.text.count("Weakest class group") == 1  # kitchen's one class has AP 0.5
    assert (
        "Weakest class group: `vehicle` (mean AP 0.4000 vs 0.4333 overall, 2 classes, "
        "80 objects)." in change.text.splitlines()
    )
