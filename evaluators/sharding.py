"""One large evaluation in shards: a job's tasks evaluated in parallel, each share as a whole job.

``ray.shards_per_job: K`` cuts the tasks one model's job runs (a module's original data and each
of its variants) into at most K contiguous shares; each share is one Ray task that evaluates it
exactly as an unsharded job is evaluated (in the sandboxed child unless ``isolation.enabled`` is
false: the model never runs in a Ray worker). :func:`merge_reports` joins the shares' reports
(plain data, decoded from the children's JSON): every result was computed by one child from its
whole split, so the merged report stores what the unsharded one does; only the runtime fields
differ. A job of one task is one shard.

Cutting one split's inputs (:func:`shard_bounds`, :func:`batch_order`,
:func:`merge_predictions`) keeps the unsharded predictions bit for bit (every shard runs exactly
the batches the unsharded run would); these are the pieces for predicting a split's slices in
separate children and processing the merged predictions once.

Example:
    >>> [len(share) for share in split_tasks(list("abcde"), 2)]
    [3, 2]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from evaluators.executor import ORIGINAL, ExecutionReport
from evaluators.predictions import Predictions
from evaluators.text_classification import length_order
from store.types import ModelRecord

T = TypeVar("T")


def shard_bounds(n: int, shards: int, batch_size: int) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` slices of ``n`` inputs, cut on multiples of ``batch_size``.

    Example:
        >>> shard_bounds(10, 4, 2)
        [(0, 4), (4, 6), (6, 8), (8, 10)]
    """
    batches = -(-n // batch_size)
    per, extra = divmod(batches, max(1, min(shards, batches)))
    bounds, start = [], 0
    for i in range(min(shards, batches)):
        stop = min(n, start + (per + (i < extra)) * batch_size)
        bounds.append((start, stop))
        start = stop
    return bounds or [(0, n)]


def batch_order(inputs: Sequence[Any]) -> npt.NDArray[np.intp]:
    """The order in which the classifiers batch ``inputs``: texts (and pairs of texts) by
    length (stable, as :meth:`TextClassifier.predict` sorts them), anything else as given.

    A slice of texts already in this order is batched by the classifier in the same order.
    """
    if len(inputs) and isinstance(inputs[0], str | tuple):  # a column holds one kind
        return length_order(inputs)
    return np.arange(len(inputs))


def merge_predictions(
    parts: Sequence[Predictions], order: npt.NDArray[np.intp], *, seconds: float
) -> Predictions:
    """The shards' predictions (of ``inputs[order]``, in order) back in input order;
    ``seconds``: the wall clock of them all."""
    labels = np.empty(len(order), dtype=np.int64)
    confidences = np.empty(len(order), dtype=np.float32)
    if parts:
        labels[order] = np.concatenate([p.labels for p in parts])
        confidences[order] = np.concatenate([p.confidences for p in parts])
    return Predictions(labels=labels, confidences=confidences, seconds=seconds)


def split_tasks(tasks: Sequence[T], shards: int) -> list[list[T]]:
    """``tasks`` in at most ``shards`` contiguous, non-empty shares of near-equal length.

    Example:
        >>> split_tasks(["original", "typos", "greyscale"], 4)
        [['original'], ['typos'], ['greyscale']]
    """
    return [list(tasks[a:b]) for a, b in shard_bounds(len(tasks), shards, 1) if b > a]


def merge_reports(model: ModelRecord, parts: Sequence[ExecutionReport]) -> ExecutionReport:
    """One report from the reports of a job's shares (in the order of the shares).

    Results are concatenated; dataset, split, reference and variant records kept once. The
    example records of a split come from the share that evaluated its original data (it made
    the thumbnails and names the examples behind the misclassifications, as the unsharded run
    does), or from the first share that has them.
    """
    merged = ExecutionReport(model=model)
    owner = {
        (r.dataset_id, r.split): i
        for i, part in enumerate(parts)
        for r in part.records
        if r.variant == ORIGINAL
    }
    seen: set[tuple[str, str, int]] = set()
    for i, part in enumerate(parts):
        merged.model_metadata = merged.model_metadata or part.model_metadata
        merged.records.extend(part.records)
        _add_new(merged.datasets, part.datasets)
        _add_new(merged.references, part.references)
        _add_new(merged.splits, part.splits)
        _add_new(merged.variants, part.variants)
        for example in part.examples:
            key = (example.dataset_id, example.split, example.example_id)
            if owner.get(key[:2], i) == i and key not in seen:
                seen.add(key)
                merged.examples.append(example)
    return merged


def _add_new(into: list[T], items: Sequence[T]) -> None:
    for item in items:
        if item not in into:
            into.append(item)
