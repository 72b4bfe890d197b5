"""Dataset averages against scikit-learn's defaults on many random and adversarial cases.

scikit-learn averages over the labels in ``y_true`` or ``y_pred`` and counts an undefined value
as 0 (its default ``zero_division="warn"`` warns and uses 0); evalbot's averages must be equal,
for the whole split and for every bootstrap resample.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import f1_score, precision_recall_fscore_support

from evaluators.metrics import classification_metrics
from evaluators.processing import _bootstrap_statistics, resample_indices

Case = tuple[np.ndarray, np.ndarray, int]  # y_true, y_pred, number of dataset labels

pytestmark = pytest.mark.filterwarnings(
    f"ignore::{UndefinedMetricWarning.__module__}.UndefinedMetricWarning"
)


def _random(rng: np.random.Generator) -> Case:
    k, n = int(rng.integers(1, 9)), int(rng.integers(1, 41))
    return rng.integers(0, k, n), rng.integers(0, k, n), k


def _mostly_right(rng: np.random.Generator) -> Case:
    k, n = int(rng.integers(2, 9)), int(rng.integers(5, 60))
    y_true = rng.integers(0, k, n)
    return y_true, np.where(rng.random(n) < 0.2, rng.integers(0, k, n), y_true), k


def _classes_missing_from_split(rng: np.random.Generator) -> Case:
    # The dataset has more labels than the split holds; the model predicts some of the absent ones.
    k, n = int(rng.integers(3, 12)), int(rng.integers(2, 30))
    kept = rng.choice(k, size=int(rng.integers(1, k)), replace=False)
    y_true = rng.choice(kept, n)
    y_pred = np.where(rng.random(n) < 0.5, y_true, rng.integers(0, k, n))
    return y_true, y_pred, k


def _predicts_absent_class(rng: np.random.Generator) -> Case:
    k, n = int(rng.integers(1, 6)), int(rng.integers(1, 25))
    extra = int(rng.integers(1, 4))
    y_true = rng.integers(0, k, n)
    y_pred = y_true.copy()
    y_pred[rng.random(n) < 0.3] = k + rng.integers(0, extra)
    return y_true, y_pred, k + extra


def _single_class(rng: np.random.Generator) -> Case:
    k, n = int(rng.integers(1, 5)), int(rng.integers(1, 20))
    y_true = np.full(n, int(rng.integers(0, k)))
    y_pred = y_true.copy() if rng.random() < 0.3 else rng.integers(0, k, n)
    return y_true, y_pred, k


def _all_wrong(rng: np.random.Generator) -> Case:
    k, n = int(rng.integers(2, 8)), int(rng.integers(1, 30))
    y_true = rng.integers(0, k, n)
    return y_true, (y_true + rng.integers(1, k, n)) % k, k


def _constant_prediction(rng: np.random.Generator) -> Case:
    k, n = int(rng.integers(2, 8)), int(rng.integers(1, 30))
    return rng.integers(0, k, n), np.full(n, int(rng.integers(0, k))), k


def _tiny(rng: np.random.Generator) -> Case:
    k, n = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    return rng.integers(0, k, n), rng.integers(0, k, n), k


def _many_classes_few_examples(rng: np.random.Generator) -> Case:
    k, n = int(rng.integers(30, 80)), int(rng.integers(3, 25))
    return rng.integers(0, k, n), rng.integers(0, k, n), k


KINDS: list[Callable[[np.random.Generator], Case]] = [
    _random,
    _mostly_right,
    _classes_missing_from_split,
    _predicts_absent_class,
    _single_class,
    _all_wrong,
    _constant_prediction,
    _tiny,
    _many_classes_few_examples,
]
CHUNKS, PER_CHUNK = 8, 135  # 1,080 cases, each kind 120 times


def _cases(chunk: int) -> list[Case]:
    rng = np.random.default_rng(chunk)
    return [KINDS[i % len(KINDS)](rng) for i in range(PER_CHUNK)]


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_averages_equal_sklearn_defaults(chunk: int) -> None:
    for y_true, y_pred, k in _cases(chunk):
        metrics, _ = classification_metrics(y_true, y_pred, [f"c{i}" for i in range(k)])
        for average in ("macro", "weighted"):
            precision, recall, f1, _ = precision_recall_fscore_support(
                y_true, y_pred, average=average
            )
            got = (metrics[f"{average}_{m}"] for m in ("precision", "recall", "f1"))
            assert tuple(got) == pytest.approx((precision, recall, f1), abs=1e-12), (
                average,
                y_true.tolist(),
                y_pred.tolist(),
            )
        assert metrics["accuracy"] == pytest.approx(np.mean(y_true == y_pred), abs=1e-12)


def test_per_class_values_na_where_sklearn_is_undefined() -> None:
    rng = np.random.default_rng(99)
    for i in range(90):
        y_true, y_pred, k = KINDS[i % len(KINDS)](rng)
        _, classes = classification_metrics(y_true, y_pred, [f"c{i}" for i in range(k)])
        precision, recall, _, support = precision_recall_fscore_support(
            y_true, y_pred, labels=list(range(k)), average=None, zero_division=np.nan
        )
        for c in classes:
            assert c.support == support[c.class_id]
            for ours, theirs in (
                (c.precision, precision[c.class_id]),
                (c.recall, recall[c.class_id]),
            ):
                assert (ours is None) == bool(np.isnan(theirs))
                assert ours is None or ours == pytest.approx(theirs, abs=1e-12)
            # F1 is shown only where the class has examples; the averages count the rest as 0.
            assert (c.f1 is None) == (c.support == 0)


def test_a_predicted_class_missing_from_the_split_counts_as_zero() -> None:
    y_true = np.array([0, 0, 1, 1, 1])
    y_pred = np.array([0, 0, 1, 1, 2])  # "c" is in the dataset's labels, not in this split
    metrics, classes = classification_metrics(y_true, y_pred, ["a", "b", "c", "d"])
    # F1: a 1, b 0.8, c 0 (predicted once, never true); d is neither true nor predicted.
    assert metrics["macro_f1"] == pytest.approx(1.8 / 3)
    assert metrics["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert metrics["macro_precision"] == pytest.approx(2 / 3)  # c's precision is 0 / 1
    assert metrics["macro_recall"] == pytest.approx((1 + 2 / 3) / 3)  # c's recall counts 0
    assert metrics["weighted_f1"] == pytest.approx((2 * 1 + 3 * 0.8) / 5)
    c = classes[2]
    assert (c.precision, c.recall, c.f1) == (0.0, None, None)  # shown as n/a where undefined


def test_an_empty_split_has_no_metrics() -> None:
    empty = np.array([], dtype=np.int64)
    metrics, classes = classification_metrics(empty, empty, ["a", "b"])
    assert set(metrics.values()) == {None}
    assert {"accuracy", "macro_f1", "weighted_f1"} <= metrics.keys()
    assert all(c.support == 0 and c.f1 is None for c in classes)


@pytest.mark.parametrize("seed", range(3))
def test_every_bootstrap_resample_equals_sklearn(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    resamples = 12
    for i in range(len(KINDS)):
        y_true, y_pred, k = KINDS[i](rng)
        accuracy, macro_f1 = _bootstrap_statistics(y_true, y_pred, k, resamples, seed)
        for r, idx in enumerate(resample_indices(y_true.size, resamples, seed)):
            t, p = y_true[idx], y_pred[idx]
            assert accuracy[r] == pytest.approx(np.mean(t == p), abs=1e-12)
            assert macro_f1[r] == pytest.approx(f1_score(t, p, average="macro"), abs=1e-12), (
                t.tolist(),
                p.tolist(),
            )
