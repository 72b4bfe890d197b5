"""Typed records that flow between the evaluators, the store, cardgen and the Space.

These are plain dataclasses: the store converts them to and from MongoDB documents, so no other
package needs to know how they are laid out in the database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime


class FailureReason(enum.StrEnum):
    """Why a model could not be evaluated. Stored on the model and counted per module."""

    UNSUPPORTED = "unsupported"  # no evaluation module matches task + training datasets
    INCOMPATIBLE_LIBRARY = "incompatible library"
    INSUFFICIENT_METADATA = "insufficient metadata"  # no config / no labels
    UNKNOWN_LABELS = "unknown labels"  # labels that cannot be mapped to the dataset's
    UNSAFE_WEIGHTS = "unsafe weights format"  # pickle-only repo
    NOT_FOUND = "not found"  # repo or revision missing
    GATED = "gated"  # gated or private repo the bot cannot read
    LOAD_ERROR = "load error"
    OUT_OF_MEMORY = "out of memory"
    TIMEOUT = "timeout"


class ModelStatus(enum.StrEnum):
    PENDING = "pending"
    EVALUATED = "evaluated"
    FAILED = "failed"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ModelRecord:
    """One model revision as discovered on the Hub (thesis table 3.1)."""

    repo_id: str
    sha: str
    pipeline_tag: str | None = None
    library_name: str | None = None
    datasets: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    last_modified: datetime | None = None
    origin: str = "huggingface"
    status: ModelStatus = ModelStatus.PENDING
    failure_reason: FailureReason | None = None
    failure_detail: str | None = None


@dataclass(frozen=True)
class ClassResult:
    """Sufficient statistics and derived metrics for one dataset class.

    Precision/recall/F1 are ``None`` ("n/a") when undefined (zero denominator).
    """

    class_id: int
    label: str
    tp: int
    fp: int
    fn: int
    support: int
    precision: float | None
    recall: float | None
    f1: float | None


@dataclass(frozen=True)
class RuntimeStats:
    total_s: float
    per_instance_ms: float
    instances_per_s: float
    device: str
    batch_size: int


@dataclass(frozen=True)
class EvaluationRecord:
    """One model revision evaluated on one dataset split and variant (thesis table 3.3a).

    The identity of a result is :meth:`key`: re-running the same evaluation replaces nothing and
    adds nothing.
    """

    model_id: str
    model_sha: str
    task: str  # e.g. "text-classification"
    module_id: str  # the evaluation module (YAML) id, e.g. "emotion"
    dataset_id: str  # Hub id, e.g. "dair-ai/emotion"
    dataset_name: str  # human name, e.g. "Emotion"
    dataset_config: str | None
    dataset_revision: str  # resolved commit sha of the dataset
    split: str
    variant: str  # "original" or a perturbation name
    config_version: int
    code_version: str
    num_examples: int
    metrics: dict[
        str, float | None
    ]  # accuracy, macro_precision, macro_recall, macro_f1, weighted_f1 ...
    classes: tuple[ClassResult, ...]
    runtime: RuntimeStats
    label_mapping: dict[str, str] = field(default_factory=dict)  # model label -> dataset label
    created_at: datetime = field(default_factory=utcnow)

    def key(self) -> dict[str, object]:
        return {
            "model_id": self.model_id,
            "model_sha": self.model_sha,
            "dataset_id": self.dataset_id,
            "dataset_config": self.dataset_config,
            "dataset_revision": self.dataset_revision,
            "split": self.split,
            "variant": self.variant,
            "config_version": self.config_version,
            "code_version": self.code_version,
        }
