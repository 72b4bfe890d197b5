"""Likely label errors of a dataset split, from the predictions of many models evaluated on it.

Confident learning (Northcutt, Jiang and Chuang, 2021, "Confident Learning: Estimating
Uncertainty in Dataset Labels") counts an example whose given label is ``i`` in the off-diagonal
cell ``(i, j)`` of the *confident joint* when a model's probability of class ``j`` reaches that
model's threshold ``t_j``, its average self-confidence on class ``j``. The store keeps only each
model's top-1 class and its confidence, so the thresholds here are averages over what is known:

- ``t_j`` of a model is its mean probability of class ``j`` over the examples labelled ``j``,
  as confident learning defines it; where the model predicts ``j`` that probability is its
  confidence, and where it predicts another class it is at most ``1 - confidence`` (the
  predicted class holds the rest), which stands in for it. A class no example is labelled with
  falls back to the model's mean confidence over all its predictions;
- model ``m`` casts a *confident vote* for class ``j`` on an example labelled ``i != j`` when it
  predicts ``j`` with confidence ``>= t_j``.

One model's confident votes are its own guesses; many models' agreement is evidence. An example
is listed when at least ``min_models`` models predicted it and the class with the most confident
votes gets them from *more than* ``min_share`` of those models (strictly: with the default 0.5
that is a majority, and two classes can never both qualify).

Everything is vectorised over the examples; the only Python loop runs once per model, so memory
stays at a few arrays of the split's length however many models there are (stacking 100 models ×
100,000 examples would cost hundreds of MB for no gain in speed).

Example:
    >>> import numpy as np
    >>> given = np.array([0, 0, 1, 1])
    >>> votes = [
    ...     ModelVotes(f"m{k}", np.array([0, 0, 1, 0]), np.array([0.9, 0.8, 0.9, 0.95]))
    ...     for k in range(5)
    ... ]
    >>> report = find_label_errors(given, votes, num_classes=2)
    >>> [(i.example_id, i.given, i.suggested, i.agree) for i in report.issues]
    [(3, 1, 0, 5)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

CITATION = "Northcutt et al., 2021"


@dataclass(frozen=True, eq=False)  # arrays have no single truth value: compare by identity
class ModelVotes:
    """One model's top-1 predictions on a split, in split order.

    Attributes:
        model_id: the model's Hub id (one entry per model: a duplicate is refused).
        predicted: the dataset class id each example was predicted as; -1 = no prediction.
        confidence: the probability of the predicted class, in [0, 1] (ignored where -1).
    """

    model_id: str
    predicted: np.ndarray
    confidence: np.ndarray


@dataclass(frozen=True)
class LabelIssue:
    """An example whose given label most models contradict, confidently and alike.

    Attributes:
        example_id: the example's index in the split.
        given: the dataset's label (class id).
        suggested: the class the confident models agree on.
        agree: models that predicted ``suggested`` confidently (a confident vote).
        models: models that predicted this example at all.
        share: ``agree / models``.
        confidence: mean confidence of the agreeing models.
        score: the ranking score, ``share * confidence``: the agreeing models' confidences
            summed over all the models that predicted the example, in (0, 1]. It grows with
            both how many models agree and how sure they are.
    """

    example_id: int
    given: int
    suggested: int
    agree: int
    models: int
    share: float
    confidence: float
    score: float


@dataclass(frozen=True)
class LabelErrorReport:
    """The likely label errors of one split, most likely first, and how they were found.

    Attributes:
        issues: sorted by ``score``, then ``agree`` (both descending), then ``example_id``.
        models: models whose votes were given.
        examples: examples in the split.
        min_models: models that must have predicted an example before it can be listed.
        min_share: the share of those models a suggested class must exceed.
        method: the method and its thresholds in words, for a dataset's maintainers; when too
            few models were evaluated it says so, and ``issues`` is empty.
    """

    issues: tuple[LabelIssue, ...]
    models: int
    examples: int
    min_models: int
    min_share: float
    method: str


def describe(*, min_models: int, min_share: float) -> str:
    """The method in one or two sentences a dataset's maintainer can read."""
    return (
        f"An example is listed when at least {min_models} models predicted it and more than "
        f"{min_share * 100:g}% of them predict the same other class confidently. A model is confident "
        "in a class when its confidence reaches its own average confidence on the examples of "
        f"that class it labels as the dataset does (confident learning, {CITATION})."
    )


def find_label_errors(
    given: np.ndarray | Sequence[int],
    votes: Sequence[ModelVotes],
    *,
    num_classes: int,
    min_models: int = 5,
    min_share: float = 0.5,
) -> LabelErrorReport:
    """The examples whose given label is contradicted by most models with high confidence.

    Args:
        given: the dataset's label of each example, class ids in split order; -1 = unlabelled
            (never listed).
        votes: one :class:`ModelVotes` per model, each as long as ``given``.
        num_classes: the dataset's number of classes.
        min_models: an example needs this many models' predictions to be judged; with fewer
            models given in all, the report is empty and its ``method`` says why.
        min_share: the share of an example's models that must vote for the same other class,
            strictly exceeded (0.5: a majority).

    Raises:
        ValueError: arguments out of range, arrays of the wrong length, class ids outside
            ``[-1, num_classes)``, confidences outside [0, 1], or a model given twice.

    Example:
        >>> report = find_label_errors([0, 1], [], num_classes=2)
        >>> report.method
        'Needs at least 5 models; 0 were evaluated on this split, so no examples are listed.'
    """
    labels = _checked_given(given, num_classes)
    if min_models < 1:
        raise ValueError(f"min_models must be at least 1, got {min_models}")
    if not 0.0 <= min_share < 1.0:
        raise ValueError(f"min_share must be in [0, 1), got {min_share}")
    _check_votes(votes, len(labels), num_classes)
    if len(votes) < min_models:
        return LabelErrorReport(
            (),
            len(votes),
            len(labels),
            min_models,
            min_share,
            f"Needs at least {min_models} models; {len(votes)} "
            f"{'was' if len(votes) == 1 else 'were'} evaluated on this split, so no examples "
            "are listed.",
        )
    issues = _issues(labels, votes, num_classes, min_models, min_share)
    return LabelErrorReport(
        issues,
        len(votes),
        len(labels),
        min_models,
        min_share,
        describe(min_models=min_models, min_share=min_share),
    )


def export_rows(report: LabelErrorReport, labels: Sequence[str]) -> list[dict[str, Any]]:
    """The report's issues as rows for a CSV or Parquet export, most likely first.

    ``labels`` names the dataset's classes by id.

    Example:
        >>> issue = LabelIssue(3, 1, 0, 5, 5, 1.0, 0.9, 0.9)
        >>> report = LabelErrorReport((issue,), 5, 4, 5, 0.5, "")
        >>> export_rows(report, ["cat", "dog"])[0]["suggested"]
        'cat'
    """
    rows = []
    for issue in report.issues:
        if max(issue.given, issue.suggested) >= len(labels):
            raise ValueError(
                f"class {max(issue.given, issue.suggested)} has no name: {len(labels)} labels"
            )
        rows.append(
            {
                "example_id": issue.example_id,
                "given": labels[issue.given],
                "suggested": labels[issue.suggested],
                "agree": issue.agree,
                "models": issue.models,
                "share": issue.share,
                "confidence": issue.confidence,
                "score": issue.score,
            }
        )
    return rows


def _checked_given(given: np.ndarray | Sequence[int], num_classes: int) -> np.ndarray:
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    labels = np.asarray(given)
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(
            f"given must be a 1-D array of class ids, got {labels.dtype} {labels.shape}"
        )
    labels = labels.astype(np.int64, copy=False)
    if labels.size and (labels.min() < -1 or labels.max() >= num_classes):
        raise ValueError(f"given labels must be in [-1, {num_classes})")
    return labels


def _check_votes(votes: Sequence[ModelVotes], examples: int, num_classes: int) -> None:
    seen: set[str] = set()
    for vote in votes:
        if vote.model_id in seen:
            raise ValueError(f"model {vote.model_id!r} is given twice")
        seen.add(vote.model_id)
        predicted, confidence = np.asarray(vote.predicted), np.asarray(vote.confidence)
        if predicted.shape != (examples,) or confidence.shape != (examples,):
            raise ValueError(
                f"{vote.model_id}: predicted {predicted.shape} and confidence "
                f"{confidence.shape} must both have shape ({examples},)"
            )
        if examples == 0:
            continue
        if predicted.dtype.kind not in "iu":
            raise ValueError(
                f"{vote.model_id}: predicted must hold class ids, not {predicted.dtype}"
            )
        if predicted.min() < -1 or predicted.max() >= num_classes:
            raise ValueError(f"{vote.model_id}: predicted classes must be in [-1, {num_classes})")
        made = confidence[predicted >= 0]
        if not np.all((made >= 0.0) & (made <= 1.0)):  # NaN fails too
            raise ValueError(f"{vote.model_id}: confidences must be in [0, 1]")


def _thresholds(
    given: np.ndarray, predicted: np.ndarray, confidence: np.ndarray, num_classes: int
) -> np.ndarray:
    """One model's ``t_j`` per class: its mean probability of ``j`` over the examples labelled
    ``j`` that it predicted (its confidence where it predicts ``j``, the bound ``1 - confidence``
    where it predicts another class); its mean confidence over all its predictions for a class
    no such example has."""
    made = predicted >= 0
    judged = made & (given >= 0)
    p_given = np.where(predicted == given, confidence, 1.0 - confidence)[judged]
    counts = np.bincount(given[judged], minlength=num_classes)
    sums = np.bincount(given[judged], weights=p_given, minlength=num_classes)
    fallback = confidence[made].mean() if made.any() else np.inf
    return np.where(counts > 0, sums / np.maximum(counts, 1), fallback)


def _confident_votes(
    given: np.ndarray, vote: ModelVotes, num_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One model's off-diagonal confident votes: example ids, voted classes, confidences."""
    predicted = np.asarray(vote.predicted).astype(np.int64, copy=False)
    confidence = np.asarray(vote.confidence, dtype=np.float64)
    thresholds = _thresholds(given, predicted, confidence, num_classes)
    # given >= 0 also skips unlabelled examples; predicted != given also skips -1 predictions
    rows = np.flatnonzero((predicted >= 0) & (given >= 0) & (predicted != given))
    rows = rows[confidence[rows] >= thresholds[predicted[rows]]]
    return rows, predicted[rows], confidence[rows]


def _issues(
    given: np.ndarray,
    votes: Sequence[ModelVotes],
    num_classes: int,
    min_models: int,
    min_share: float,
) -> tuple[LabelIssue, ...]:
    models = np.zeros(len(given), dtype=np.int64)  # models that predicted each example
    rows, classes, confidences = [], [], []
    # in model id order: the same models give the same sums, bit for bit, in any input order
    for vote in sorted(votes, key=lambda v: v.model_id):
        models += np.asarray(vote.predicted) >= 0
        r, c, p = _confident_votes(given, vote, num_classes)
        rows.append(r)
        classes.append(c)
        confidences.append(p)
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    if row.size == 0:
        return ()
    # one cell per (example, voted class): its vote count and summed confidence
    cells, inverse, agree = np.unique(
        row * num_classes + np.concatenate(classes), return_inverse=True, return_counts=True
    )
    mass = np.bincount(inverse, weights=np.concatenate(confidences), minlength=cells.size)
    example, suggested = cells // num_classes, cells % num_classes
    # per example, the cell with the most votes; a tie goes to the smaller class id
    order = np.lexsort((suggested, -agree, example))
    first = order[np.r_[True, example[order][1:] != example[order][:-1]]]
    example, suggested, agree, mass = example[first], suggested[first], agree[first], mass[first]
    judged = models[example]
    keep = (judged >= min_models) & (agree / judged > min_share)
    example, suggested, agree, mass, judged = (
        a[keep] for a in (example, suggested, agree, mass, judged)
    )
    score = mass / judged
    ranked = np.lexsort((example, -agree, -score))
    return tuple(
        LabelIssue(
            example_id=int(example[k]),
            given=int(given[example[k]]),
            suggested=int(suggested[k]),
            agree=int(agree[k]),
            models=int(judged[k]),
            share=float(agree[k] / judged[k]),
            confidence=float(mass[k] / agree[k]),
            score=float(score[k]),
        )
        for k in ranked
    )
