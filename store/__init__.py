"""The data model and the only code that talks to MongoDB."""

from store.db import ExhaustedJob, Job, PullRequestRecord, Store
from store.errors import MongoUnavailableError, StoreError
from store.types import (
    ClassResult,
    EvaluationRecord,
    FailureReason,
    ModelRecord,
    ModelStatus,
    RuntimeStats,
)

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
