"""One large evaluation in shards: a split's inputs predicted in parallel as Ray tasks.

Only prediction is sharded. The inputs, in the order the classifier batches them (texts by
length, as :meth:`TextClassifier.predict` does: :func:`batch_order`), are cut into ``shards``
contiguous slices whose boundaries fall on batch boundaries, so every shard runs exactly the
batches the unsharded run would (same padding, so bit-identical outputs); each shard is a Ray
task predicting its slice with the loaded model (put in Ray's object store once). The driver concatenates the shards' labels and confidences in order and runs the
module's Processors once, on the whole split: per-class counts, confusion, misclassifications,
calibration (ECE) and the bootstrap intervals (same seed) are those of the unsharded run by
construction. Only the runtime fields differ.

Example:
    >>> executor = Executor(modules, api=HfApi(), wrap=sharded(4))  # doctest: +SKIP
    >>> report = executor.evaluate(model_record)  # Ray must be initialised  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from evaluators.predictions import Classifier, Options, Predictions
from evaluators.streaming import Loading, read
from evaluators.tasks import TaskType
from evaluators.tasks.classification import Classification
from evaluators.text_classification import length_order


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


def _predict_shard(classifier: Classifier, inputs: Sequence[Any], options: Options) -> Predictions:
    return classifier.predict(inputs, options)


class ShardedClassifier:
    """A loaded classifier whose ``predict`` runs in ``shards`` parallel Ray tasks."""

    def __init__(self, inner: Classifier, *, shards: int, num_cpus: float = 1) -> None:
        self.inner = inner
        self.repo_id = inner.repo_id
        self.id2label = inner.id2label
        self.model = getattr(inner, "model", None)  # for the parameter count
        self.shards = shards
        self.num_cpus = num_cpus
        self._ref: Any = None

    def predict(self, inputs: Sequence[Any], options: Options) -> Predictions:
        """Shards read in their Ray task, in-process (the shards are the parallelism); the
        thumbnails asked for are made afterwards by the executor."""
        import ray

        start = time.perf_counter()
        if self._ref is None:
            self._ref = ray.put(self.inner)  # once per model, shared by every shard and split
        remote = ray.remote(_predict_shard).options(num_cpus=self.num_cpus, max_retries=2)
        order = batch_order(inputs)
        shard_options = replace(options, loading=Loading(workers=0), thumbnails=frozenset())
        futures = [
            remote.remote(self._ref, read(inputs, order[a:b]), shard_options)
            for a, b in shard_bounds(len(inputs), self.shards, options.batch_size)
            if b > a
        ]
        parts = ray.get(futures)
        return merge_predictions(parts, order, seconds=time.perf_counter() - start)


def sharded(shards: int, num_cpus: float = 1) -> Callable[[Any, TaskType], Any]:
    """A wrapper for :class:`evaluators.executor.Executor`'s ``wrap``: each loaded classifier
    (text or image classification) predicts in ``shards`` Ray tasks; the models of other task
    types are unchanged. Ray must be initialised (``ray.init``)."""

    def wrap(predictor: Any, task_type: TaskType) -> Any:
        if shards <= 1 or not isinstance(task_type, Classification):
            return predictor
        return ShardedClassifier(predictor, shards=shards, num_cpus=num_cpus)

    return wrap
