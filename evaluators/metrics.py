"""The classification Processor: sufficient statistics first, metrics derived from them.

Per class we keep TP/FP/FN/support (from the confusion matrix); precision, recall and F1 are
derived and are ``None`` ("n/a") when undefined: precision when the class is never predicted,
recall when it has no support. Dataset averages follow scikit-learn's conventions with
``zero_division=0`` over the classes present in the split (support > 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from store.types import ClassResult

IntArray = npt.NDArray[np.int64]


def confusion_matrix(y_true: IntArray, y_pred: IntArray, num_classes: int) -> IntArray:
    """Rows are true classes, columns predicted classes."""
    flat = np.asarray(y_true, dtype=np.int64) * num_classes + np.asarray(y_pred, dtype=np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def class_results(matrix: IntArray, labels: Sequence[str]) -> tuple[ClassResult, ...]:
    tp = np.diag(matrix)
    predicted = matrix.sum(axis=0)
    support = matrix.sum(axis=1)
    results = []
    for i, label in enumerate(labels):
        precision = _ratio(int(tp[i]), int(predicted[i]))
        recall = _ratio(int(tp[i]), int(support[i]))
        if recall is None:
            f1 = None
        elif precision is None or precision + recall == 0:
            f1 = 0.0
        else:
            f1 = 2 * precision * recall / (precision + recall)
        results.append(
            ClassResult(
                class_id=i,
                label=label,
                tp=int(tp[i]),
                fp=int(predicted[i] - tp[i]),
                fn=int(support[i] - tp[i]),
                support=int(support[i]),
                precision=precision,
                recall=recall,
                f1=f1,
            )
        )
    return tuple(results)


def dataset_metrics(classes: Sequence[ClassResult]) -> dict[str, float | None]:
    present = [c for c in classes if c.support > 0]
    total = sum(c.support for c in present)
    correct = sum(c.tp for c in present)
    if not present:
        return {"accuracy": None, "macro_precision": None, "macro_recall": None, "macro_f1": None}

    def macro(values: list[float | None]) -> float:
        return float(np.mean([v or 0.0 for v in values]))

    def weighted(values: list[float | None]) -> float:
        return float(
            sum((v or 0.0) * c.support for v, c in zip(values, present, strict=True)) / total
        )

    return {
        "accuracy": correct / total,
        "correct": float(correct),
        "incorrect": float(total - correct),
        "macro_precision": macro([c.precision for c in present]),
        "macro_recall": macro([c.recall for c in present]),
        "macro_f1": macro([c.f1 for c in present]),
        "weighted_precision": weighted([c.precision for c in present]),
        "weighted_recall": weighted([c.recall for c in present]),
        "weighted_f1": weighted([c.f1 for c in present]),
    }


def classification_metrics(
    y_true: IntArray, y_pred: IntArray, labels: Sequence[str]
) -> tuple[dict[str, float | None], tuple[ClassResult, ...]]:
    """Dataset metrics and per-class results for integer predictions over ``labels``."""
    matrix = confusion_matrix(y_true, y_pred, len(labels))
    classes = class_results(matrix, labels)
    return dataset_metrics(classes), classes
