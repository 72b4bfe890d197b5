"""Progress of long evaluations: a bar on a terminal, a log line every 10% otherwise.

The executor names what is being evaluated (:func:`labelled`); the task modules' batch loops
iterate over :func:`batches`. Log lines start with ``progress:`` so the isolated executor can
relay its child's progress to the worker's log.

Example:
    >>> with labelled("org/model on dair-ai/emotion [original]"):  # doctest: +SKIP
    ...     for lo in batches(len(texts), 32):
    ...         predict(texts[lo : lo + 32])
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tqdm.auto import tqdm

log = logging.getLogger("evalbot.progress")

PREFIX = "progress:"
MIN_ENV = "EVALBOT_PROGRESS_MIN_EXAMPLES"  # evaluations shorter than this log no lines (1000)
_LABEL: ContextVar[str] = ContextVar("evalbot_progress_label", default="evaluating")


@contextmanager
def labelled(label: str) -> Iterator[None]:
    """Name the evaluation that the batch loops inside this block report on."""
    token = _LABEL.set(label)
    try:
        yield
    finally:
        _LABEL.reset(token)


def batches(total: int, size: int) -> Iterator[int]:
    """The start offsets of the batches over ``total`` examples, reporting progress.

    Args:
        total: Number of examples.
        size: Batch size.
    """
    with tracked(total) as advance:
        for lo in range(0, total, size):
            yield lo
            advance(min(lo + size, total) - lo)


@contextmanager
def tracked(total: int) -> Iterator[Callable[[int], None]]:
    """Progress over ``total`` examples: call the function it gives with each count done."""
    label = _LABEL.get()
    bar = tqdm(total=total, desc=label, unit="ex", disable=not _interactive(), leave=False, delay=2)
    start = time.perf_counter()
    logged = total >= int(os.environ.get(MIN_ENV) or 1000)
    state = {"done": 0, "next_tenth": 1}

    def advance(n: int) -> None:
        bar.update(n)
        done = state["done"] = state["done"] + n
        if logged and done * 10 >= state["next_tenth"] * total:
            state["next_tenth"] = done * 10 // total + 1
            _log(label, done, total, time.perf_counter() - start)

    try:
        yield advance
    finally:
        bar.close()


def _interactive() -> bool:
    return sys.stderr.isatty()


def _log(label: str, done: int, total: int, seconds: float) -> None:
    rate = done / seconds if seconds > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else 0.0
    log.info(
        "%s %s %d%% (%d/%d examples, %.1f/s, %.0f s left)",
        PREFIX,
        label,
        done * 100 // total,
        done,
        total,
        rate,
        eta,
    )
