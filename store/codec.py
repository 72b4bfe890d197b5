"""Conversion between the typed records of ``store.types`` and MongoDB documents."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from store.types import (
    Calibration,
    CalibrationBin,
    ClassResult,
    DatasetMention,
    DetectionError,
    EvaluationRecord,
    FailureReason,
    Interval,
    Misclassification,
    ModelRecord,
    ModelStatus,
    Outcomes,
    RuntimeStats,
    Selection,
)


def as_utc(value: datetime) -> datetime:
    """MongoDB returns UTC datetimes, naive or with bson's own tzinfo: make them plain UTC."""
    if value.tzinfo is not None:  # bson.tz_util.FixedOffset -> datetime.UTC (picklable anywhere)
        return value.astimezone(UTC)
    return value.replace(tzinfo=UTC)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def model_to_doc(model: ModelRecord) -> dict[str, Any]:
    doc = asdict(model)
    doc["_id"] = doc.pop("repo_id")
    doc["datasets"] = list(model.datasets)
    doc["tags"] = list(model.tags)
    doc["model_index"] = [asdict(m) for m in model.model_index]
    doc["labels"] = list(model.labels)
    doc["status"] = model.status.value
    doc["failure_reason"] = model.failure_reason.value if model.failure_reason else None
    doc.pop("declined_pr")  # kept by the store as ``declined`` (see Store.set_declined)
    return doc


def doc_to_model(doc: dict[str, Any]) -> ModelRecord:
    reason = doc.get("failure_reason")
    return ModelRecord(
        repo_id=doc["_id"],
        sha=doc["sha"],
        pipeline_tag=doc.get("pipeline_tag"),
        library_name=doc.get("library_name"),
        datasets=tuple(doc.get("datasets") or ()),
        tags=tuple(doc.get("tags") or ()),
        last_modified=_aware(doc.get("last_modified")),
        origin=doc.get("origin", "huggingface"),
        file_sizes=dict(doc.get("file_sizes") or {}),
        hyperparameters=dict(doc.get("hyperparameters") or {}),
        num_parameters=doc.get("num_parameters"),
        reference=doc.get("reference"),
        status=ModelStatus(doc.get("status", ModelStatus.PENDING.value)),
        failure_reason=FailureReason(reason) if reason else None,
        failure_detail=doc.get("failure_detail"),
        fingerprint=doc.get("fingerprint") or "",
        eval_sha=doc.get("eval_sha") or "",
        declined_pr=(doc.get("declined") or {}).get("num"),
        model_index=tuple(
            DatasetMention(**{k: str(v) for k, v in m.items() if k in _MENTION_FIELDS})
            for m in doc.get("model_index") or ()
        ),
        labels=tuple(doc.get("labels") or ()),
    )


_MENTION_FIELDS = DatasetMention.__dataclass_fields__


def result_to_doc(record: EvaluationRecord) -> dict[str, Any]:
    """The result document. Its runtime, class results and misclassifications are stored in
    their own collections (thesis tables 3.3b, 3.3c, 3.3e), keyed by the result's id."""
    doc = asdict(record)
    for key in ("runtime", "classes", "misclassifications", "detection_errors", "outcomes"):
        doc.pop(key)
    doc["confusion"] = [list(row) for row in record.confusion]
    return doc


def outcomes_to_doc(outcomes: Outcomes) -> dict[str, Any]:
    """The per-example outcomes as a document of binary fields (BSON stores bytes as is)."""
    return asdict(outcomes)


def doc_to_outcomes(doc: dict[str, Any]) -> Outcomes:
    return Outcomes(
        count=int(doc["count"]),
        correct=bytes(doc["correct"]),
        truth=bytes(doc.get("truth") or b""),
        predicted=bytes(doc.get("predicted") or b""),
        confidence=bytes(doc.get("confidence") or b""),
    )


def class_to_doc(result: ClassResult) -> dict[str, Any]:
    return asdict(result)


def misclassification_to_doc(item: Misclassification) -> dict[str, Any]:
    return asdict(item)


def detection_error_to_doc(item: DetectionError) -> dict[str, Any]:
    doc = asdict(item)
    doc["box"] = list(item.box)
    return doc


def doc_to_detection_error(doc: dict[str, Any]) -> DetectionError:
    x1, y1, x2, y2 = (float(v) for v in doc["box"])
    return DetectionError(
        example_id=doc["example_id"],
        kind=doc["kind"],
        label=doc["label"],
        confidence=doc.get("confidence"),
        box=(x1, y1, x2, y2),
    )


def runtime_to_doc(runtime: RuntimeStats) -> dict[str, Any]:
    return asdict(runtime)


def _calibration(doc: dict[str, Any] | None) -> Calibration | None:
    if not doc:
        return None
    return Calibration(
        ece=doc["ece"], mce=doc["mce"], bins=tuple(CalibrationBin(**b) for b in doc["bins"])
    )


def doc_to_result(
    doc: dict[str, Any],
    runtime: dict[str, Any] | None,
    classes: list[dict[str, Any]],
    misclassifications: list[dict[str, Any]],
    detection_errors: list[dict[str, Any]] | None = None,
) -> EvaluationRecord:
    rt = runtime or {}
    class_fields = ClassResult.__dataclass_fields__
    miss_fields = Misclassification.__dataclass_fields__
    return EvaluationRecord(
        model_id=doc["model_id"],
        model_sha=doc["model_sha"],
        task=doc["task"],
        module_id=doc["module_id"],
        dataset_id=doc["dataset_id"],
        dataset_name=doc["dataset_name"],
        dataset_config=doc.get("dataset_config"),
        dataset_revision=doc["dataset_revision"],
        split=doc["split"],
        variant=doc["variant"],
        config_version=doc["config_version"],
        code_version=doc["code_version"],
        num_examples=doc["num_examples"],
        metrics=dict(doc["metrics"]),
        classes=tuple(
            ClassResult(**{k: c[k] for k in class_fields if k in c})
            for c in sorted(classes, key=lambda c: c["class_id"])
        ),
        runtime=RuntimeStats(
            total_s=rt.get("total_s", 0.0),
            per_instance_ms=rt.get("per_instance_ms", 0.0),
            instances_per_s=rt.get("instances_per_s", 0.0),
            device=rt.get("device", "unknown"),
            batch_size=rt.get("batch_size", 0),
            versions=dict(rt.get("versions") or {}),
        ),
        label_mapping=dict(doc.get("label_mapping") or {}),
        confusion=tuple(tuple(row) for row in doc.get("confusion") or ()),
        misclassifications=tuple(
            Misclassification(**{k: m[k] for k in miss_fields})
            for m in sorted(misclassifications, key=lambda m: (-m["confidence"], m["example_id"]))
        ),
        calibration=_calibration(doc.get("calibration")),
        intervals={k: Interval(**v) for k, v in (doc.get("intervals") or {}).items()},
        created_at=_aware(doc["created_at"]) or datetime.now(UTC),
        fingerprint=doc.get("fingerprint") or "",
        selection=Selection(**doc["selection"]) if doc.get("selection") else Selection(),
        settings=dict(doc.get("settings") or {}),
        detection_errors=tuple(
            doc_to_detection_error(e)
            for e in sorted(
                detection_errors or (), key=lambda e: (e["kind"], -(e["confidence"] or 0.0))
            )
        ),
    )
