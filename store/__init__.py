"""The data model and the only code that talks to MongoDB.

The names of :mod:`store.db` (pymongo) are imported on first use, so the pure modules
(``store.types``, ``store.tables``) can be imported without pymongo, as the Space does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from store.errors import MongoUnavailableError, StoreError
from store.types import (
    ClassResult,
    EvaluationRecord,
    FailureReason,
    ModelRecord,
    ModelStatus,
    RuntimeStats,
)

if TYPE_CHECKING:
    from store.db import ExhaustedJob, Job, PullRequestRecord, Store

_FROM_DB = ("ExhaustedJob", "Job", "PullRequestRecord", "Store")

__all__ = [
    "ClassResult",
    "EvaluationRecord",
    "ExhaustedJob",
    "FailureReason",
    "Job",
    "ModelRecord",
    "ModelStatus",
    "MongoUnavailableError",
    "PullRequestRecord",
    "RuntimeStats",
    "Store",
    "StoreError",
]


def __getattr__(name: str) -> Any:
    """``store.Store`` and the other names of :mod:`store.db`, imported when first asked for."""
    if name in _FROM_DB:
        return getattr(importlib.import_module("store.db"), name)
    raise AttributeError(f"module 'store' has no attribute {name!r}")
