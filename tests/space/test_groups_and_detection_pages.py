"""Class groups on the Result and Compare pages, the leaderboard's groups of models not separable
from their neighbour, and an object detector's parts of the Result and Variants pages, over
results snapshots written as the bot publishes its Parquet tables."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from space.data import Snapshot
from space.pages.compare import compare_view
from space.pages.leaderboard import leaderboard_view
from space.pages.result import result_view
from space.pages.variants import variants_view
from store import tables as t
from store.outcomes import pack
from tests.space import test_detection as det_data

DATASET = "demo/animals"
LABELS = ("bee", "ant", "cat", "dog")
GROUPS = {"insects": ["bee", "ant"], "mammals": ["cat", "dog"]}
PER_CLASS = 50
TRUTH = np.repeat(np.arange(len(LABELS)), PER_CLASS)
# the weak model takes every second bee for an ant and every second ant for a bee
SWAPPED = np.where((TRUTH < 2) & (np.arange(len(TRUTH)) % 2 == 0), 1 - TRUTH, TRUTH)
PREDICTIONS = {"demo/strong": TRUTH, "demo/strong-twin": TRUTH.copy(), "demo/weak": SWAPPED}
ACCURACY_ONLY = {
    "w_accuracy": "1",
    **{f"w_{d}": "0" for d in ("robustness", "calibration", "balance", "speed", "size")},
}


def _identity(model: str) -> dict[str, Any]:
    identity = {
        "model_id": model,
        "model_sha": "s" * 40,
        "dataset_id": DATASET,
        "dataset_config": None,
        "dataset_revision": "r" * 40,
        "split": "test",
        "variant": "original",
        "config_version": 1,
        "code_version": "0.1",
    }
    return {"evaluation_id": t.evaluation_id(identity), **identity}


def _f1(tp: int, fp: int, fn: int) -> tuple[float | None, float | None, float | None]:
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    if precision is None or recall is None:
        return precision, recall, None
    return precision, recall, 2 * precision * recall / (precision + recall) if tp else 0.0


def _classification_rows(model: str, predicted: np.ndarray, n: int) -> dict[str, list[Any]]:
    ident = _identity(model)
    classes, f1s = [], []
    for class_id, label in enumerate(LABELS):
        tp = int(((class_id == TRUTH) & (predicted == class_id)).sum())
        fp = int(((class_id != TRUTH) & (predicted == class_id)).sum())
        fn = int(((class_id == TRUTH) & (predicted != class_id)).sum())
        precision, recall, f1 = _f1(tp, fp, fn)
        f1s.append(f1 or 0.0)
        classes.append(
            {
                **ident,
                "class_id": class_id,
                "label": label,
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "support": tp + fn,
                "precision": precision,
                "recall": recall,
                "f1": f1,
            }
        )
    cells = np.zeros((len(LABELS), len(LABELS)), dtype=int)
    np.add.at(cells, (TRUTH, predicted), 1)
    confusion = [[i, j, int(cells[i, j])] for i, j in zip(*np.nonzero(cells), strict=True)]
    outcome = pack(truth=TRUTH, predicted=predicted)
    accuracy = float((predicted == TRUTH).mean())
    return {
        "models": [
            {"repo_id": model, "sha": "s" * 40, "eval_sha": "s" * 40, "status": "evaluated"}
        ],
        "evaluations": [
            {
                **ident,
                "task": "text-classification",
                "module_id": "animals",
                "dataset_name": "Animals",
                "num_examples": len(TRUTH),
                "created_at": datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=n),
                "confusion": confusion,
            }
        ],
        "scores": [
            {**ident, "metric": "accuracy", "value": accuracy},
            {**ident, "metric": "macro_f1", "value": sum(f1s) / len(f1s)},
        ],
        "runtimes": [
            {
                "evaluation_id": ident["evaluation_id"],
                "model_id": model,
                "dataset_id": DATASET,
                "variant": "original",
                "instances_per_s": 100.0,
            }
        ],
        "class_results": classes,
        "outcomes": [
            {
                **ident,
                "task": "text-classification",
                "count": outcome.count,
                "correct": outcome.correct,
                "truth": outcome.truth,
                "predicted": outcome.predicted,
            }
        ],
    }


def _animals(*, groups: bool = True) -> dict[str, Any]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for n, (model, predicted) in enumerate(PREDICTIONS.items()):
        for name, found in _classification_rows(model, predicted, n).items():
            rows.setdefault(name, []).extend(found)
    rows["datasets"] = [
        {
            "dataset_id": DATASET,
            "name": "Animals",
            "modality": "text",
            "task": "text-classification",
            "labels": list(LABELS),
            "variants": ["original"],
            "class_groups": t.dumps(GROUPS) if groups else None,
        }
    ]
    return {table.name: t.to_table(table, rows.get(table.name, [])) for table in t.TABLES}


@pytest.fixture
def animals(tmp_path: Path) -> Snapshot:
    t.write_tables(_animals(), tmp_path)
    return Snapshot.open(tmp_path, revision="r")


@pytest.fixture
def ungrouped(tmp_path: Path) -> Snapshot:
    t.write_tables(_animals(groups=False), tmp_path)
    return Snapshot.open(tmp_path, revision="r")


SHAPE_GROUPS = {"angular": ["square", "star"], "round": ["circle", "triangle"]}


@pytest.fixture
def shapes(tmp_path: Path) -> Snapshot:
    """The detector of ``tests/space/test_detection.py``, its dataset declaring two groups."""
    tables = det_data._tables()
    datasets = tables["datasets"].to_pylist()
    datasets[0]["class_groups"] = t.dumps(SHAPE_GROUPS)
    tables["datasets"] = t.to_table(t.DATASETS, datasets)
    t.write_tables(tables, tmp_path)
    return Snapshot.open(tmp_path, revision="r")


def _cells(html: str, elem_id: str) -> list[list[str]]:
    return det_data._cells(html, elem_id)


# -- class groups ----------------------------------------------------------------------------


def test_the_result_page_sums_up_each_group_weakest_first(animals: Snapshot) -> None:
    view = result_view(animals, {"model": "demo/weak", "dataset": DATASET})
    rows = _cells(view.groups, "result-groups-table")
    # insects: 25 of 50 bees and 25 of 50 ants right, every one taken for the other insect
    assert rows == [
        ["insects", "bee, ant", "100", "0.500", "0.500", "0.500", "0.500", "0.500", "1.000"],
        ["mammals", "cat, dog", "100", "1.000", "1.000", "1.000", "1.000", "1.000", "1.000"],
    ]
    assert (
        "Weakest class group: insects (macro F1 0.5000 vs 0.7500 overall, 2 classes, "
        "100 examples)." in view.groups
    )


def test_no_group_table_for_a_dataset_without_groups(ungrouped: Snapshot) -> None:
    assert result_view(ungrouped, {"model": "demo/weak", "dataset": DATASET}).groups == ""
    view = compare_view(ungrouped, {"dataset": DATASET, "models": "demo/strong,demo/weak"})
    assert view.groups == ""


def test_the_compare_page_shows_each_models_group_macro_f1(animals: Snapshot) -> None:
    view = compare_view(animals, {"dataset": DATASET, "models": "demo/strong,demo/weak"})
    assert 'id="compare-groups-table"' in view.groups
    assert _cells(view.groups, "compare-groups-table") == [
        ["insects", "bee, ant", "1.000", "0.500"],
        ["mammals", "cat, dog", "1.000", "1.000"],
    ]
    assert "demo/strong: Weakest class group: insects (macro F1 1.0000" in view.groups
    assert "demo/weak: Weakest class group: insects (macro F1 0.5000" in view.groups


def test_a_detectors_groups_rank_by_mean_ap(shapes: Snapshot) -> None:
    view = result_view(shapes, {"model": det_data.MODEL, "dataset": det_data.DATASET})
    # angular: square's AP only (star has no ground truth); round: circle and triangle
    assert _cells(view.groups, "result-groups-table") == [
        ["angular", "square, star", "5", "0.300", "0.500"],
        ["round", "circle, triangle", "30", "0.525", "0.850"],
    ]
    # angular has too few objects to be named the weakest
    assert (
        "Weakest class group: round (mean AP 0.5250 vs 0.5000 overall, 2 classes, 30 objects)."
        in view.groups
    )


# -- the leaderboard's groups ----------------------------------------------------------------


def test_the_leaderboard_groups_models_not_separable_from_the_one_above(
    animals: Snapshot,
) -> None:
    view = leaderboard_view(animals, {"dataset": DATASET, **ACCURACY_ONLY})
    assert view.headers[:3] == ["rank", "group", "model"]
    ranked = [(row[1], re.sub(r"\]\(.*", "", row[2]).lstrip("[")) for row in view.rows]
    # the twins predict alike (McNemar p = 1); the weak model's 50 errors are all its own
    assert ranked == [(1, "demo/strong"), (1, "demo/strong-twin"), (2, "demo/weak")]
    assert 'id="leaderboard-groups-note"' in view.info
    assert "not separable from the one above them at p &lt; 0.05 on this data" in view.info


def test_no_groups_without_per_example_outcomes(tmp_path: Path) -> None:
    tables = _animals()
    tables["outcomes"] = t.to_table(t.OUTCOMES, [])
    t.write_tables(tables, tmp_path)
    view = leaderboard_view(Snapshot.open(tmp_path, revision="r"), {"dataset": DATASET})
    assert "group" not in view.headers
    assert "leaderboard-groups-note" not in view.info


def test_a_detectors_leaderboard_has_no_groups(shapes: Snapshot) -> None:
    view = leaderboard_view(shapes, {"dataset": det_data.DATASET})
    assert view.rows and "group" not in view.headers


# -- an object detector on the Result and Variants pages ---------------------------------------


def test_a_detectors_result_shows_its_coco_numbers_classes_and_errors(shapes: Snapshot) -> None:
    view = result_view(shapes, {"model": det_data.MODEL, "dataset": det_data.DATASET})
    assert view.detection is not None
    assert 'id="detection-overall"' in view.header and 'id="detection-sizes"' in view.header
    assert 'id="result-summary"' not in view.header  # the COCO tables replace the generic one
    assert [row[0] for row in _cells(view.detection.classes, "detection-classes")] == [
        "circle",
        "triangle",
        "square",
        "star",
    ]
    assert det_data._shown(view.detection.gallery) == [0, 4, 3, 1, 2]
    assert view.detection.kinds == ["false positive", "missed"]
    assert set(view.detection.labels) == {"circle", "square", "triangle", "star"}


def test_a_detectors_result_follows_its_sort_filters_and_page(shapes: Snapshot) -> None:
    base = {"model": det_data.MODEL, "dataset": det_data.DATASET}
    by_name = result_view(shapes, {**base, "det_sort": "name"}).detection
    assert by_name is not None and by_name.sort == "name"
    assert [r[0] for r in _cells(by_name.classes, "detection-classes")][:3] == [
        "circle",
        "square",
        "triangle",
    ]
    missed = result_view(shapes, {**base, "kind": "missed"}).detection
    assert missed is not None and missed.kind == "missed"
    assert det_data._shown(missed.gallery) == [0, 2]
    confident = result_view(shapes, {**base, "kind": "false positive", "min_conf": "0.7"})
    assert confident.detection is not None
    assert det_data._shown(confident.detection.gallery) == [0, 4]
    unknown = result_view(shapes, {**base, "kind": "boxes", "det_sort": "x", "page": "-3"})
    assert unknown.detection is not None
    assert (unknown.detection.kind, unknown.detection.sort, unknown.detection.page) == (
        "",
        "ap",
        1,
    )


def test_a_classifiers_result_has_no_detection_parts(animals: Snapshot) -> None:
    view = result_view(animals, {"model": "demo/weak", "dataset": DATASET})
    assert view.detection is None and view.rows


def test_the_variants_page_shows_a_detectors_ap_under_each_variant(shapes: Snapshot) -> None:
    view = variants_view(shapes, {"model": det_data.MODEL, "dataset": det_data.DATASET})
    rows = _cells(view.robustness, "detection-robustness")
    assert [row[0] for row in rows] == ["original", "greyscale", "mirrored"]
    assert rows[2][1] == "0.400"  # AP 0.5 falls by a fifth under mirroring


def test_a_classifiers_variants_page_has_no_detection_table(animals: Snapshot) -> None:
    assert variants_view(animals, {"model": "demo/weak", "dataset": DATASET}).robustness == ""
