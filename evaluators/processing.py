"""Processing one classification run: errors, calibration and bootstrap intervals.

Everything is derived from the raw matches (``y_true``, ``y_pred`` and the confidence of each
prediction), numpy-vectorised, and bundled by :func:`process_classification` with the per-class
sufficient statistics of :mod:`evaluators.metrics`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evaluators.errors import EvaluationError
from evaluators.metrics import class_results, confusion_matrix, dataset_metrics
from store.catalogue import BOOTSTRAPPED
from store.types import (
    Calibration,
    CalibrationBin,
    ClassResult,
    FailureReason,
    Interval,
    Misclassification,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Bound on the resample indices drawn at once (whole resamples per chunk; ~80 MB of work arrays).
MAX_CHUNK_INDICES = 5_000_000


@dataclass(frozen=True)
class ClassificationResult:
    """Everything stored for one classification run, derived from the raw matches.

    Attributes:
        metrics: Dataset averages, as :func:`evaluators.metrics.dataset_metrics`.
        classes: Per-class sufficient statistics and derived metrics.
        confusion: Confusion counts; rows are true classes, columns predicted classes.
        misclassifications: The most confident errors, most confident first.
        calibration: Top-label calibration (ECE, MCE and the reliability bins).
        intervals: Bootstrap percentile intervals for ``"accuracy"`` and ``"macro_f1"``.
    """

    metrics: dict[str, float | None]
    classes: tuple[ClassResult, ...]
    confusion: tuple[tuple[int, ...], ...]
    misclassifications: tuple[Misclassification, ...]
    calibration: Calibration
    intervals: dict[str, Interval]


def _labels(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, num_classes: int | None
) -> tuple[IntArray, IntArray]:
    true = np.asarray(y_true, dtype=np.int64).ravel()
    pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if true.shape != pred.shape:
        raise ValueError(f"y_true has {true.size} examples but y_pred has {pred.size}")
    if true.size == 0:
        raise ValueError("cannot process an empty set of predictions")
    if num_classes is not None:
        for name, values in (("y_true", true), ("y_pred", pred)):
            if values.min() < 0 or values.max() >= num_classes:
                raise ValueError(f"{name} has class ids outside [0, {num_classes})")
    return true, pred


def _confidence(confidence: npt.ArrayLike, size: int) -> FloatArray:
    conf = np.asarray(confidence, dtype=np.float64).ravel()
    if conf.size != size:
        raise ValueError(f"confidence has {conf.size} values for {size} examples")
    if not ((conf >= 0.0) & (conf <= 1.0)).all():
        raise ValueError("confidence values must lie in [0, 1] (probabilities, no NaN)")
    return conf


def misclassifications(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    confidence: npt.ArrayLike,
    labels: Sequence[str],
    *,
    per_pair: int = 3,
    limit: int = 500,
) -> tuple[Misclassification, ...]:
    """The most confident errors, at most ``per_pair`` per (true, predicted) pair.

    Ties in confidence are broken by example id (lower first), so the result is deterministic.

    Args:
        y_true: True class ids, one per example.
        y_pred: Predicted class ids.
        confidence: The model's probability of the predicted class, in [0, 1].
        labels: Class names, indexed by class id.
        per_pair: Keep at most this many errors for each (true, predicted) pair.
        limit: Keep at most this many errors overall.

    Returns:
        The kept errors, most confident first; ``example_id`` is the position in the arrays.

    Example:
        >>> errors = misclassifications([0, 1, 1], [1, 1, 0], [0.9, 0.8, 0.6], ["cat", "dog"])
        >>> [(e.example_id, e.true_label, e.predicted_label) for e in errors]
        [(0, 'cat', 'dog'), (2, 'dog', 'cat')]
    """
    if per_pair < 0 or limit < 0:
        raise ValueError("per_pair and limit must be non-negative")
    num_classes = len(labels)
    true, pred = _labels(y_true, y_pred, num_classes)
    conf = _confidence(confidence, true.size)
    wrong = np.flatnonzero(true != pred)
    # Most confident first, ties by example id; a stable sort by pair keeps that order per pair.
    wrong = wrong[np.lexsort((wrong, -conf[wrong]))]
    pair = true[wrong] * num_classes + pred[wrong]
    by_pair = np.argsort(pair, kind="stable")
    sorted_pairs = pair[by_pair]
    starts = np.flatnonzero(np.r_[True, sorted_pairs[1:] != sorted_pairs[:-1]])
    first_of_group = np.repeat(starts, np.diff(np.r_[starts, sorted_pairs.size]))
    rank = np.empty_like(by_pair)
    rank[by_pair] = np.arange(by_pair.size) - first_of_group
    kept = wrong[rank < per_pair][:limit]
    return tuple(
        Misclassification(
            example_id=int(i),
            true_label=labels[true[i]],
            predicted_label=labels[pred[i]],
            confidence=float(conf[i]),
        )
        for i in kept
    )


def calibration(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    confidence: npt.ArrayLike,
    *,
    n_bins: int = 15,
) -> Calibration:
    """Top-label calibration over equal-width confidence bins.

    Bins split [0, 1] into ``n_bins`` intervals ``(lower, upper]``; the first also holds 0.
    ECE is ``sum(n_b / N * |accuracy_b - confidence_b|)``; MCE is the largest gap over the
    non-empty bins. Empty bins have ``None`` accuracy and confidence.

    Args:
        y_true: True class ids, one per example.
        y_pred: Predicted class ids.
        confidence: The model's probability of the predicted class, in [0, 1].
        n_bins: Number of equal-width bins.

    Returns:
        The ECE, the MCE and every bin (empty ones included).

    Example:
        >>> result = calibration([0, 1, 1, 0], [0, 1, 0, 0], [0.9, 0.8, 0.7, 1.0], n_bins=2)
        >>> round(result.ece, 3), [b.count for b in result.bins]
        (0.1, [0, 4])
    """
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    true, pred = _labels(y_true, y_pred, None)
    conf = _confidence(confidence, true.size)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # searchsorted(side="left") puts x in (edges[b], edges[b + 1]]; 0 goes to the first bin.
    bin_of = np.maximum(np.searchsorted(edges, conf, side="left") - 1, 0)
    counts = np.bincount(bin_of, minlength=n_bins)
    correct = np.bincount(bin_of, weights=(true == pred).astype(np.float64), minlength=n_bins)
    conf_sum = np.bincount(bin_of, weights=conf, minlength=n_bins)
    filled = counts > 0
    accuracy = np.divide(correct, counts, out=np.zeros(n_bins), where=filled)
    mean_conf = np.divide(conf_sum, counts, out=np.zeros(n_bins), where=filled)
    gaps = np.abs(accuracy - mean_conf)
    bins = tuple(
        CalibrationBin(
            lower=float(edges[b]),
            upper=float(edges[b + 1]),
            count=int(counts[b]),
            accuracy=float(accuracy[b]) if filled[b] else None,
            confidence=float(mean_conf[b]) if filled[b] else None,
        )
        for b in range(n_bins)
    )
    ece = float(np.sum(counts / true.size * gaps))
    return Calibration(ece=ece, mce=float(gaps[filled].max()), bins=bins)


def _index_chunks(n: int, resamples: int, seed: int) -> Iterator[npt.NDArray[np.integer]]:
    rng = np.random.default_rng(seed)
    dtype = np.int32 if n <= np.iinfo(np.int32).max else np.int64
    rows = max(1, MAX_CHUNK_INDICES // n)
    for start in range(0, resamples, rows):
        yield rng.integers(0, n, size=(min(rows, resamples - start), n), dtype=dtype)


def resample_indices(n: int, resamples: int, seed: int = 0) -> npt.NDArray[np.integer]:
    """The bootstrap draws of :func:`bootstrap_intervals`: one row of ``n`` indices per resample.

    Args:
        n: Number of examples.
        resamples: Number of bootstrap resamples.
        seed: Seed of the numpy ``Generator``.

    Returns:
        A ``(resamples, n)`` integer array of indices drawn with replacement.

    Example:
        >>> resample_indices(4, 2, seed=1).shape
        (2, 4)
    """
    return np.concatenate(list(_index_chunks(n, resamples, seed)))


def _group_sum(counts: FloatArray, group: IntArray, num_groups: int) -> FloatArray:
    """Sum the columns of ``counts`` by ``group`` (one group per column), row by row."""
    rows = counts.shape[0]
    index = (np.arange(rows)[:, None] * num_groups + group).ravel()
    summed = np.bincount(index, weights=counts.ravel(), minlength=rows * num_groups)
    return np.asarray(summed, dtype=np.float64).reshape(rows, num_groups)


def _bootstrap_statistics(
    true: IntArray, pred: IntArray, num_classes: int, resamples: int, seed: int
) -> tuple[FloatArray, FloatArray]:
    """Accuracy and macro-F1 of every resample, from per-resample confusion counts.

    Each resample's macro-F1 averages over the classes in its own references or predictions,
    as :func:`evaluators.metrics.dataset_metrics` does for the whole split.
    """
    n = true.size
    # Count the (true, predicted) pairs that occur, not all num_classes**2 of them.
    pairs, pair_of = np.unique(true * num_classes + pred, return_inverse=True)
    pair_true, pair_pred = np.divmod(pairs, num_classes)
    # Only classes in the split's references or predictions can occur in a resample.
    seen = np.union1d(pair_true, pair_pred)
    position = np.zeros(num_classes, dtype=np.int64)
    position[seen] = np.arange(seen.size)
    by_true = position[pair_true]
    by_pred = position[pair_pred]
    hit = pair_true == pair_pred
    pair_of = pair_of.astype(np.int32 if n <= np.iinfo(np.int32).max else np.int64)

    accuracy, macro_f1 = [], []
    for idx in _index_chunks(n, resamples, seed):
        rows = idx.shape[0]
        combined = pair_of[idx]
        combined += (np.arange(rows, dtype=combined.dtype) * pairs.size)[:, None]
        flat_counts = np.bincount(combined.ravel(), minlength=rows * pairs.size)
        counts = flat_counts.reshape(rows, pairs.size).astype(np.float64)
        tp = _group_sum(counts[:, hit], by_true[hit], seen.size)
        support = _group_sum(counts, by_true, seen.size)
        predicted = _group_sum(counts, by_pred, seen.size)
        denom = support + predicted  # 2tp + fp + fn: 0 exactly for a class absent from both
        f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
        accuracy.append(tp.sum(axis=1) / n)
        macro_f1.append(f1.sum(axis=1) / (denom > 0).sum(axis=1))
    return np.concatenate(accuracy), np.concatenate(macro_f1)


def bootstrap_intervals(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    num_classes: int,
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Percentile bootstrap intervals for accuracy and macro-F1.

    Each resample's macro-F1 is scikit-learn's ``f1_score(average="macro")`` on that resample,
    as :func:`evaluators.metrics.dataset_metrics`: the mean over the classes in the resample's
    references or predictions, a class without a true positive counting 0. The resamples are
    those of :func:`resample_indices`, so the same seed gives the same intervals.

    Args:
        y_true: True class ids, one per example.
        y_pred: Predicted class ids.
        num_classes: Number of classes; ids lie in ``[0, num_classes)``.
        resamples: Number of bootstrap resamples.
        level: Confidence level of the intervals, in (0, 1).
        seed: Seed of the numpy ``Generator``.

    Returns:
        ``{"accuracy": Interval, "macro_f1": Interval}``.

    Example:
        >>> ci = bootstrap_intervals([0, 1, 1, 0, 1], [0, 1, 0, 0, 1], 2, resamples=200)
        >>> ci["accuracy"].low <= 0.8 <= ci["accuracy"].high
        True
    """
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    if not 0.0 < level < 1.0:
        raise ValueError("level must lie in (0, 1)")
    true, pred = _labels(y_true, y_pred, num_classes)
    statistics = _bootstrap_statistics(true, pred, num_classes, resamples, seed)
    tails = [50 * (1 - level), 50 * (1 + level)]
    intervals = {}
    for name, stats in zip(BOOTSTRAPPED, statistics, strict=True):
        low, high = np.percentile(stats, tails)
        intervals[name] = Interval(
            low=float(low), high=float(high), level=level, resamples=resamples
        )
    return intervals


def process_classification(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    confidence: npt.ArrayLike,
    labels: Sequence[str],
    *,
    n_bins: int = 15,
    resamples: int = 1000,
    seed: int = 0,
    per_pair: int = 3,
    limit: int = 500,
) -> ClassificationResult:
    """Everything stored for one classification run.

    Args:
        y_true: True class ids, one per example.
        y_pred: Predicted class ids.
        confidence: The model's probability of the predicted class, in [0, 1].
        labels: Class names, indexed by class id.
        n_bins: Calibration bins (see :func:`calibration`).
        resamples: Bootstrap resamples (see :func:`bootstrap_intervals`).
        seed: Bootstrap seed.
        per_pair: Errors kept per (true, predicted) pair (see :func:`misclassifications`).
        limit: Errors kept overall.

    Returns:
        The metrics, per-class results, confusion matrix, errors, calibration and intervals.

    Raises:
        ValueError: On empty input, mismatched lengths, class ids outside ``labels`` or
            confidences outside [0, 1].

    Example:
        >>> result = process_classification([0, 1, 1], [0, 1, 0], [0.9, 0.8, 0.6], ["cat", "dog"])
        >>> result.metrics["accuracy"], result.confusion
        (0.6666666666666666, ((1, 0), (1, 1)))
    """
    true, pred = _labels(y_true, y_pred, len(labels))
    conf = _confidence(confidence, true.size)
    matrix = confusion_matrix(true, pred, len(labels))
    classes = class_results(matrix, labels)
    return ClassificationResult(
        metrics=dataset_metrics(classes),
        classes=classes,
        confusion=tuple(tuple(int(v) for v in row) for row in matrix),
        misclassifications=misclassifications(
            true, pred, conf, labels, per_pair=per_pair, limit=limit
        ),
        calibration=calibration(true, pred, conf, n_bins=n_bins),
        intervals=bootstrap_intervals(true, pred, len(labels), resamples=resamples, seed=seed),
    )


def check_scores(repo_id: str, confidences: npt.ArrayLike) -> None:
    """Refuse a model whose class probabilities are not numbers (NaN: non-finite logits).

    Its predictions would be the first class wherever the scores are NaN, and NaN would reach
    the calibration and the card.

    Raises:
        EvaluationError: ``load error``, naming how many of the examples were hit.
    """
    conf = np.asarray(confidences, dtype=np.float64).ravel()
    bad = int(np.count_nonzero(~np.isfinite(conf)))
    if bad:
        raise EvaluationError(
            repo_id,
            f"the model's scores are NaN or infinite for {bad} of {conf.size} examples: its "
            "weights or config.json (e.g. layer_norm_eps) make the forward pass non-finite",
            reason=FailureReason.LOAD_ERROR,
        )
