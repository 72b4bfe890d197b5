"""Whose fault is an error? Only the model's own become a model's failure reason.

- the model's: :class:`~evaluators.errors.EvaluationError` (its files, labels, size, memory,
  time): stored on the model and shown publicly;
- the module's: :class:`~evaluators.datasets_io.DatasetError` (a dataset that does not match
  its YAML or cannot be loaded): shown per module in ``evalbot status``, the jobs wait for the
  module to change;
- nobody's (infrastructure): the Hub's 429 and 5xx, timeouts, dropped connections, MongoDB
  errors, a full disk. The job backs off without spending an attempt, the model stays pending.

Example:
    >>> classify(HfHubHTTPError("503", response=resp_503))  # doctest: +SKIP
    <Fault.INFRASTRUCTURE: 'infrastructure'>
"""

from __future__ import annotations

import enum
import errno
import random
from datetime import timedelta

import httpx2
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from bot.ratelimit import is_transient, retry_after, status_of
from evaluators.datasets_io import DatasetError
from evaluators.errors import EvaluationError

# MongoDB codes of a server that is stepping down, shutting down or restarting.
_MONGO_TRANSIENT_CODES = frozenset({91, 189, 10107, 11600, 11602, 13435, 13436})
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


class Fault(enum.StrEnum):
    MODEL = "model"
    MODULE = "module"
    INFRASTRUCTURE = "infrastructure"
    UNKNOWN = "unknown"  # a bug of ours, or something nobody foresaw: attempts count


def classify(exc: BaseException) -> Fault:
    """Whose fault ``exc`` is; the chain of causes counts (a wrapped outage is an outage)."""
    if isinstance(exc, EvaluationError):
        return Fault.MODEL
    seen: BaseException | None = exc
    for _ in range(20):
        if seen is None:
            break
        if is_infrastructure(seen):
            return Fault.INFRASTRUCTURE
        seen = _cause(seen)
    if isinstance(exc, DatasetError):
        return Fault.MODULE
    return Fault.UNKNOWN


def is_infrastructure(exc: BaseException) -> bool:
    """One error, not its causes: an outage, a rate limit, a dead server, a full disk."""
    if is_transient(exc) or isinstance(exc, httpx2.TransportError | TimeoutError):
        return True
    if isinstance(exc, ConnectionFailure):  # includes AutoReconnect, server selection timeouts
        return True
    if isinstance(exc, OperationFailure):  # a write-concern or maxTimeMS timeout included
        return exc.code in _MONGO_TRANSIENT_CODES or exc.timeout
    if isinstance(exc, PyMongoError):
        return bool(getattr(exc, "timeout", False))
    if isinstance(exc, ConnectionError):  # requests' and the builtin's (datasets uses both)
        return True
    return isinstance(exc, OSError) and exc.errno in _DISK_FULL


def describe(exc: BaseException) -> str:
    """One line about an infrastructure error, for the job's record and the log."""
    status = status_of(exc)
    if status is not None:
        return f"HTTP {status} from the Hub"
    if isinstance(exc, PyMongoError):
        return f"MongoDB: {type(exc).__name__}"
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        return f"disk full: {exc}"
    return f"{type(exc).__name__}: {exc}"[:300]


def backoff(
    failures: int,
    *,
    base_s: float,
    cap_s: float,
    hint_s: float | None = None,
    rng: random.Random | None = None,
) -> timedelta:
    """The wait before retrying after ``failures`` troubles in a row (1 for the first).

    Exponential (``base_s`` doubling) with full jitter over its upper half, capped at
    ``cap_s``; never shorter than what the server asked for (``hint_s``, e.g. Retry-After).

    Example:
        >>> backoff(1, base_s=60, cap_s=3600).total_seconds() <= 60
        True
    """
    rng = rng or random.Random()
    doublings = min(max(failures - 1, 0), 64)  # a float of 2**1024 would overflow
    ceiling = min(cap_s, base_s * 2**doublings)
    wait = rng.uniform(ceiling / 2, ceiling) if ceiling > 0 else 0.0
    return timedelta(seconds=max(wait, hint_s or 0.0))


def hint(exc: BaseException) -> float | None:
    """Seconds the Hub asked to wait, anywhere in the chain of causes."""
    seen: BaseException | None = exc
    for _ in range(20):
        if seen is None:
            return None
        if (found := retry_after(seen)) is not None:
            return found
        seen = _cause(seen)
    return None


def _cause(exc: BaseException) -> BaseException | None:
    """The exception ``exc`` was raised from, or while handling (unless ``from None``)."""
    if exc.__cause__ is not None:
        return exc.__cause__
    return None if exc.__suppress_context__ else exc.__context__
