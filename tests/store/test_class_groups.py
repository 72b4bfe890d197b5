"""Results over groups of classes: counts, micro and macro scores, accuracies, AP, the weakest."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_recall_fscore_support

from evaluators.metrics import class_results, confusion_matrix
from store.class_groups import MIN_SUPPORT, GroupResult, group_results, weakest_group
from store.db import Store
from store.export import export_tables
from store.types import ClassResult, DatasetRecord

LABELS = ("bee", "beetle", "ant", "oak", "pine", "rose")
GROUPS = {"insects": ["bee", "beetle", "ant"], "trees": ["oak", "pine"]}  # rose in no group


def _classes(y_true: list[int], y_pred: list[int]) -> tuple[tuple[ClassResult, ...], np.ndarray]:
    matrix = confusion_matrix(np.array(y_true), np.array(y_pred), len(LABELS))
    return class_results(matrix, LABELS), matrix


def test_hand_counted_group() -> None:
    # true bee x3, beetle x2, oak x2, rose x1; one bee taken for a beetle (right group), one
    # beetle for an oak (wrong group), the rose for a bee
    y_true = [0, 0, 0, 1, 1, 3, 3, 5]
    y_pred = [0, 0, 1, 1, 3, 3, 3, 0]
    classes, matrix = _classes(y_true, y_pred)
    insects, trees = group_results(classes, GROUPS, confusion=matrix.tolist())

    assert insects.name == "insects"
    assert insects.classes == ("bee", "beetle", "ant")
    assert insects.support == 5
    assert (insects.tp, insects.fp, insects.fn) == (3, 2, 2)  # fp: rose->bee, bee->beetle
    assert insects.precision == pytest.approx(3 / 5)
    assert insects.recall == pytest.approx(3 / 5)
    assert insects.f1 == pytest.approx(3 / 5)
    # bee: precision 2/3, recall 2/3; beetle: 1/2 and 1/2; ant never occurs (left out)
    bee_f1 = 2 * (2 / 3) * (2 / 3) / (4 / 3)
    beetle_f1 = 2 * 0.5 * 0.5 / 1.0
    assert insects.macro_f1 == pytest.approx((bee_f1 + beetle_f1) / 2)
    assert insects.fine_accuracy == pytest.approx(3 / 5)
    assert insects.coarse_accuracy == pytest.approx(4 / 5)  # the bee taken for a beetle counts
    assert insects.ap is None and insects.ap50 is None

    assert trees.support == 2
    assert (trees.tp, trees.fp, trees.fn) == (2, 1, 0)
    assert trees.fine_accuracy == 1.0 and trees.coarse_accuracy == 1.0
    # pine neither occurs nor is predicted: left out of the macro mean, as scikit-learn does
    assert trees.macro_f1 == pytest.approx(0.8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parity_with_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, len(LABELS), 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, len(LABELS), 300))
    classes, matrix = _classes(y_true.tolist(), y_pred.tolist())
    coarse = {LABELS.index(label): g for g, labels in GROUPS.items() for label in labels}

    for group in group_results(classes, GROUPS, confusion=matrix.tolist()):
        ids = [LABELS.index(label) for label in GROUPS[group.name]]
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=ids, average="micro", zero_division=0
        )
        assert (group.precision, group.recall, group.f1) == pytest.approx((p, r, f))
        occurring = [i for i in ids if i in set(y_true) | set(y_pred)]
        macro = f1_score(y_true, y_pred, labels=occurring, average="macro", zero_division=0)
        assert group.macro_f1 == pytest.approx(macro)
        mine = np.isin(y_true, ids)
        assert group.support == int(mine.sum())
        assert group.fine_accuracy == pytest.approx(float((y_pred[mine] == y_true[mine]).mean()))
        same_group = [coarse.get(int(p)) == group.name for p in y_pred[mine]]
        assert group.coarse_accuracy == pytest.approx(float(np.mean(same_group)))


def test_without_confusion_no_accuracies_and_unknown_labels_skipped() -> None:
    classes, _ = _classes([0, 1], [0, 1])
    [group] = group_results(classes, {"some": ["bee", "wasp"]})
    assert group.classes == ("bee",)
    assert group.fine_accuracy is None and group.coarse_accuracy is None
    [empty] = group_results(classes, {"none": ["wasp"]})
    assert empty.support == 0 and empty.recall is None and empty.f1 is None
    assert empty.macro_f1 is None


def test_confusion_that_misses_a_class_is_an_error() -> None:
    classes, _ = _classes([0, 4], [0, 4])
    with pytest.raises(ValueError, match="square"):
        group_results(classes, GROUPS, confusion=[[1, 0], [0, 1]])


def _box_class(class_id: int, label: str, support: int, ap: float | None) -> ClassResult:
    metrics = {"ap": ap, "ap50": None if ap is None else min(1.0, ap + 0.2), "ar100": 0.5}
    return ClassResult(class_id, label, support // 2, 1, support - support // 2, support,
                       precision=0.5, recall=0.5, f1=0.5, metrics=metrics)  # fmt: skip


def test_detection_means_per_class_ap() -> None:
    classes = [
        _box_class(0, "car", 100, 0.4),
        _box_class(1, "bus", 50, 0.2),
        _box_class(2, "fork", 40, 0.1),
        _box_class(3, "spoon", 0, None),  # no ground truth: no AP, not in the mean
        _box_class(4, "cup", 10, 0.9),
    ]
    groups = {"vehicle": ["car", "bus"], "kitchen": ["fork", "spoon"], "cup": ["cup"]}
    vehicle, kitchen, cup = group_results(classes, groups)
    assert vehicle.ap == pytest.approx(0.3) and vehicle.ap50 == pytest.approx(0.5)
    assert kitchen.ap == pytest.approx(0.1) and kitchen.ap50 == pytest.approx(0.3)
    assert kitchen.support == 40
    assert vehicle.fine_accuracy is None  # detection stores no confusion matrix
    # ranked by AP, not F1 (all F1s are equal); the 10-object group is below the minimum
    assert weakest_group((vehicle, kitchen, cup)).name == "kitchen"  # type: ignore[union-attr]
    assert weakest_group((vehicle, cup), min_support=11) is vehicle


def _group(name: str, macro_f1: float | None, support: int) -> GroupResult:
    return GroupResult(name, ("x",), support, 0, 0, 0, None, None, None, macro_f1)


def test_weakest_group_by_macro_f1_with_minimum_support() -> None:
    groups = (
        _group("people", 0.8, 500),
        _group("insects", 0.41, 500),
        _group("reptiles", 0.1, MIN_SUPPORT - 1),  # too few examples to single out
        _group("trees", None, 500),  # undefined: not ranked
    )
    assert weakest_group(groups).name == "insects"  # type: ignore[union-attr]
    assert weakest_group(groups, min_support=1).name == "reptiles"  # type: ignore[union-attr]
    tie = (_group("b", 0.5, 100), _group("a", 0.5, 100))
    assert weakest_group(tie).name == "a"  # type: ignore[union-attr]
    assert weakest_group(groups, min_support=10_000) is None
    assert weakest_group(()) is None


def test_groups_reach_the_results_dataset_and_old_documents_load(store: Store) -> None:
    store.upsert_dataset(
        DatasetRecord(
            "uoft-cs/cifar100",
            "CIFAR-100",
            "image",
            "image-classification",
            LABELS,
            class_groups={name: tuple(labels) for name, labels in GROUPS.items()},
        )
    )
    # a document stored before datasets had groups
    store.datasets.insert_one({"_id": "dair-ai/emotion", "name": "Emotion", "task": "x"})
    rows = {r["dataset_id"]: r for r in export_tables(store)["datasets"].to_pylist()}
    assert json.loads(rows["uoft-cs/cifar100"]["class_groups"]) == GROUPS
    assert rows["dair-ai/emotion"]["class_groups"] is None
    assert store.get_dataset("dair-ai/emotion") is not None
