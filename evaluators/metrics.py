"""The classification Processor: sufficient statistics first, metrics derived from them.

Per class we keep TP/FP/FN/support (from the confusion matrix); precision, recall and F1 are
derived and are ``None`` ("n/a") when undefined: precision when the class is never predicted,
recall when it has no support. Dataset averages are scikit-learn's defaults
(``f1_score(y_true, y_pred, average="macro")`` and ``average="weighted"``): they run over the
classes that occur in the references or the predictions, and a value that is undefined for one of
those classes counts as 0 (``zero_division=0``). A class the model predicts but the split lacks
thus pulls the macro averages down; a class absent from both is left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from store.types import ClassResult

IntArray = npt.NDArray[np.int64]

_METRIC_KEYS = (
    "accuracy",
    "correct",
    "incorrect",
    *(f"{avg}_{m}" for avg in ("macro", "weighted") for m in ("precision", "recall", "f1")),
)


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


def averaged_classes(classes: Sequence[ClassResult]) -> list[ClassResult]:
    """The classes the dataset averages run over: those in the references or the predictions.

    These are the labels scikit-learn averages over by default (``unique_labels(y_true, y_pred)``).

    Example:
        >>> from store.types import ClassResult
        >>> a = ClassResult(0, "a", 2, 0, 0, 2, precision=1.0, recall=1.0, f1=1.0)
        >>> b = ClassResult(1, "b", 0, 1, 0, 0, precision=0.0, recall=None, f1=None)  # predicted
        >>> c = ClassResult(2, "c", 0, 0, 0, 0, precision=None, recall=None, f1=None)  # neither
        >>> [x.label for x in averaged_classes([a, b, c])]
        ['a', 'b']
    """
    return [c for c in classes if c.support > 0 or c.tp + c.fp > 0]


def dataset_metrics(classes: Sequence[ClassResult]) -> dict[str, float | None]:
    """Accuracy and the macro and weighted averages of precision, recall and F1.

    Equal to scikit-learn's ``precision_recall_fscore_support(y_true, y_pred, average=...)``
    with its default labels and zero division (see the module docstring): macro averages are
    unweighted means over :func:`averaged_classes`, weighted averages weight each class by its
    support. Undefined per-class values (``None``) count as 0. An empty split has no metrics
    (every value ``None``).

    Example:
        >>> import numpy as np
        >>> metrics, _ = classification_metrics(np.array([0, 0, 1]), np.array([0, 2, 1]), "abc")
        >>> round(metrics["macro_f1"], 4)  # class "c" is predicted once, never true: F1 0
        0.5556
    """
    counted = averaged_classes(classes)
    total = sum(c.support for c in counted)
    if not total:
        return dict.fromkeys(_METRIC_KEYS)
    correct = sum(c.tp for c in counted)

    def macro(values: list[float | None]) -> float:
        return float(np.mean([v or 0.0 for v in values]))

    def weighted(values: list[float | None]) -> float:
        return float(
            sum((v or 0.0) * c.support for v, c in zip(values, counted, strict=True)) / total
        )

    return {
        "accuracy": correct / total,
        "correct": float(correct),
        "incorrect": float(total - correct),
        "macro_precision": macro([c.precision for c in counted]),
        "macro_recall": macro([c.recall for c in counted]),
        "macro_f1": macro([c.f1 for c in counted]),
        "weighted_precision": weighted([c.precision for c in counted]),
        "weighted_recall": weighted([c.recall for c in counted]),
        "weighted_f1": weighted([c.f1 for c in counted]),
    }


def classification_metrics(
    y_true: IntArray, y_pred: IntArray, labels: Sequence[str]
) -> tuple[dict[str, float | None], tuple[ClassResult, ...]]:
    """Dataset metrics and per-class results for integer predictions over ``labels``."""
    matrix = confusion_matrix(y_true, y_pred, len(labels))
    classes = class_results(matrix, labels)
    return dataset_metrics(classes), classes
