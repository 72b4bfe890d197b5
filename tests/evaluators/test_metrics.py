"""The classification Processor against scikit-learn on the same predictions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import classification_report
from sklearn.metrics import confusion_matrix as sk_confusion

from evaluators.metrics import classification_metrics, confusion_matrix

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def _random_case(seed: int, n: int = 500, k: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k, n)
    noise = rng.random(n) < 0.3
    y_pred = np.where(noise, rng.integers(0, k, n), y_true)
    return y_true, y_pred


@pytest.mark.parametrize("seed", range(5))
def test_per_class_and_averages_equal_sklearn(seed: int) -> None:
    y_true, y_pred = _random_case(seed)
    metrics, classes = classification_metrics(y_true, y_pred, LABELS)
    report = classification_report(
        y_true,
        y_pred,
        labels=list(range(6)),
        target_names=LABELS,
        output_dict=True,
        zero_division=0,
    )
    for c in classes:
        ref = report[c.label]
        assert c.precision == pytest.approx(ref["precision"], abs=1e-12)
        assert c.recall == pytest.approx(ref["recall"], abs=1e-12)
        assert c.f1 == pytest.approx(ref["f1-score"], abs=1e-12)
        assert c.support == ref["support"]
    assert metrics["accuracy"] == pytest.approx(report["accuracy"], abs=1e-12)
    for avg in ("macro", "weighted"):
        assert metrics[f"{avg}_precision"] == pytest.approx(
            report[f"{avg} avg"]["precision"], abs=1e-12
        )
        assert metrics[f"{avg}_recall"] == pytest.approx(report[f"{avg} avg"]["recall"], abs=1e-12)
        assert metrics[f"{avg}_f1"] == pytest.approx(report[f"{avg} avg"]["f1-score"], abs=1e-12)


def test_confusion_matrix_and_counts() -> None:
    y_true, y_pred = _random_case(7)
    matrix = confusion_matrix(y_true, y_pred, 6)
    assert (matrix == sk_confusion(y_true, y_pred, labels=list(range(6)))).all()
    _, classes = classification_metrics(y_true, y_pred, LABELS)
    for c in classes:
        assert c.tp + c.fn == c.support
        assert c.tp + c.fp == int((y_pred == c.class_id).sum())


def test_zero_support_and_never_predicted_are_na() -> None:
    # class 2 ("love") never occurs and is never predicted; class 1 is never predicted.
    y_true = np.array([0, 0, 1, 1, 3])
    y_pred = np.array([0, 3, 0, 0, 3])
    metrics, classes = classification_metrics(y_true, y_pred, ["a", "b", "love", "d"])
    love = classes[2]
    assert (love.support, love.precision, love.recall, love.f1) == (0, None, None, None)
    b = classes[1]
    assert b.precision is None and b.recall == 0.0 and b.f1 == 0.0
    # averages run over the classes in the references or predictions (not "love"), as sklearn's
    report = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    assert metrics["macro_f1"] == pytest.approx(report["macro avg"]["f1-score"])
    assert metrics["accuracy"] == pytest.approx(2 / 5)
    assert metrics["correct"] == 2 and metrics["incorrect"] == 3
