"""Results summed up over groups of classes (CIFAR-100's superclasses, COCO's supercategories).

A module's ``class_groups`` (group name -> labels) say which classes belong together, so a
reader can say "the model does poorly on insects" from numbers rather than by eye. Everything
here is derived from what a result already stores: the per-class counts and metrics
(:class:`store.types.ClassResult`) and, for classification, the confusion matrix. Labels in no
group belong to none: no "other" group is made up for them, so groups need not cover the
dataset.

Per group:
    * ``support``, and TP/FP/FN summed over its classes, with the micro precision, recall and F1
      derived from those sums (``None`` where undefined, as per class);
    * ``macro_f1``: the mean of its classes' F1 over those that occur in the references or the
      predictions, an undefined F1 counting as 0 (the dataset's own macro F1, see
      ``evaluators.metrics``); ``None`` when none occurs;
    * classification with a confusion matrix: ``fine_accuracy``, the share of the group's
      examples predicted as exactly their class, and ``coarse_accuracy``, the share predicted as
      any class of the group (a beetle taken for a bee is right at the coarse level);
    * object detection: ``ap`` and ``ap50``, the mean per-class AP of its classes that have one
      (a class without ground-truth boxes has none), as COCO's overall AP is the mean over
      classes.

Pure: no pymongo, so the results dataset's readers may use it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from store.types import ClassResult

#: The fewest examples (detection: ground-truth objects) a group needs to be named the weakest:
#: below it, one or two errors move its macro F1 or AP by more than the gaps worth reporting.
MIN_SUPPORT = 30


@dataclass(frozen=True)
class GroupResult:
    """One group of classes, summed up.

    Attributes:
        name: The group's name, as the module declares it.
        classes: Its labels found among the results, in the module's order.
        support: Examples (detection: ground-truth objects) of its classes.
        tp: True positives summed over its classes; ``fp`` and ``fn`` likewise.
        precision: Micro precision, ``tp / (tp + fp)``; ``None`` when its classes are never
            predicted.
        recall: Micro recall, ``tp / (tp + fn)``; ``None`` when it has no support.
        f1: Micro F1 from the two; ``None`` when recall is undefined, 0 when precision is.
        macro_f1: Mean per-class F1 (see the module docstring).
        fine_accuracy: Share of its examples predicted exactly (classification only).
        coarse_accuracy: Share of its examples predicted as any class of the group
            (classification only).
        ap: Mean per-class AP at IoU 0.50:0.95 (object detection only).
        ap50: Mean per-class AP at IoU 0.50 (object detection only).
    """

    name: str
    classes: tuple[str, ...]
    support: int
    tp: int
    fp: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None
    macro_f1: float | None
    fine_accuracy: float | None = None
    coarse_accuracy: float | None = None
    ap: float | None = None
    ap50: float | None = None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _mean(values: Sequence[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return sum(found) / len(found) if found else None


def _micro_f1(precision: float | None, recall: float | None) -> float | None:
    if recall is None:
        return None
    if precision is None or precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _accuracies(
    members: Sequence[ClassResult], confusion: Sequence[Sequence[int]]
) -> tuple[float | None, float | None]:
    """(fine, coarse) accuracy of a group's classes from the confusion matrix."""
    if not confusion:
        return None, None
    ids = [c.class_id for c in members]
    size = len(confusion)
    if any(len(row) != size for row in confusion) or any(i >= size for i in ids):
        raise ValueError(
            f"confusion must be square and cover every class id: it is {size} rows for class "
            f"ids up to {max(ids, default=0)}"
        )
    rows = [confusion[i] for i in ids]
    total = sum(sum(row) for row in rows)
    exact = sum(row[i] for row, i in zip(rows, ids, strict=True))
    within = sum(row[j] for row in rows for j in ids)
    return _ratio(exact, total), _ratio(within, total)


def _group(
    name: str, members: Sequence[ClassResult], confusion: Sequence[Sequence[int]]
) -> GroupResult:
    tp = sum(c.tp for c in members)
    fp = sum(c.fp for c in members)
    fn = sum(c.fn for c in members)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    counted = [c for c in members if c.support > 0 or c.tp + c.fp > 0]
    macro_f1 = sum(c.f1 or 0.0 for c in counted) / len(counted) if counted else None
    fine, coarse = _accuracies(members, confusion)
    return GroupResult(
        name=name,
        classes=tuple(c.label for c in members),
        support=sum(c.support for c in members),
        tp=tp,
        fp=fp,
        fn=fn,
        precision=precision,
        recall=recall,
        f1=_micro_f1(precision, recall),
        macro_f1=macro_f1,
        fine_accuracy=fine,
        coarse_accuracy=coarse,
        ap=_mean([c.metrics.get("ap") for c in members]),
        ap50=_mean([c.metrics.get("ap50") for c in members]),
    )


def group_results(
    classes: Sequence[ClassResult],
    groups: Mapping[str, Sequence[str]],
    *,
    confusion: Sequence[Sequence[int]] = (),
) -> tuple[GroupResult, ...]:
    """Each group of ``groups`` summed up over its classes in ``classes``.

    Args:
        classes: The per-class results of one evaluation.
        groups: Group name -> labels (a module's ``class_groups``); a label not among
            ``classes`` is skipped.
        confusion: The evaluation's confusion matrix (rows true class, columns predicted, by
            class id), for the fine and coarse accuracies; empty: none are computed.

    Returns:
        One result per group, in the order of ``groups``.

    Raises:
        ValueError: ``confusion`` is not square or lacks a class id of a group.

    Example:
        >>> from store.types import ClassResult
        >>> bee = ClassResult(0, "bee", 3, 1, 1, 4, precision=0.75, recall=0.75, f1=0.75)
        >>> ant = ClassResult(1, "ant", 1, 1, 1, 2, precision=0.5, recall=0.5, f1=0.5)
        >>> [g] = group_results([bee, ant], {"insects": ["bee", "ant"]},
        ...                     confusion=[[3, 1], [1, 1]])
        >>> g.support, g.macro_f1, g.fine_accuracy, g.coarse_accuracy
        (6, 0.625, 0.6666666666666666, 1.0)
    """
    by_label = {c.label: c for c in classes}
    return tuple(
        _group(name, [by_label[label] for label in labels if label in by_label], confusion)
        for name, labels in groups.items()
    )


def weakest_group(
    groups: Sequence[GroupResult], *, min_support: int = MIN_SUPPORT
) -> GroupResult | None:
    """The group the model does worst on, among those with at least ``min_support`` examples.

    Groups are ranked by mean per-class AP where any group has one (object detection), else by
    macro F1; a group without that value is not ranked, and a tie goes to the first name in
    alphabetical order.

    Returns:
        The lowest ranked group, or ``None`` when no group qualifies.

    Example:
        >>> from store.types import ClassResult
        >>> a = ClassResult(0, "a", 40, 0, 0, 40, precision=1.0, recall=1.0, f1=1.0)
        >>> b = ClassResult(1, "b", 20, 0, 20, 40, precision=1.0, recall=0.5, f1=2 / 3)
        >>> weakest_group(group_results([a, b], {"first": ["a"], "second": ["b"]})).name
        'second'
    """
    detection = any(g.ap is not None for g in groups)
    ranked = [
        (score, g.name, g)
        for g in groups
        if g.support >= min_support and (score := g.ap if detection else g.macro_f1) is not None
    ]
    return min(ranked, key=lambda item: (item[0], item[1]))[2] if ranked else None
