"""Hand-built EvaluationRecord fixtures for the cardgen tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from store.types import ClassResult, EvaluationRecord, RuntimeStats

MakeRecords = Callable[..., list[EvaluationRecord]]


def emotion_record(**changes: object) -> EvaluationRecord:
    """A 3-class result on dair-ai/emotion; class "surprise" has zero support (n/a)."""
    record = EvaluationRecord(
        model_id="acme/distilbert-emotion",
        model_sha="0123456789abcdef0123456789abcdef01234567",
        task="text-classification",
        module_id="emotion",
        dataset_id="dair-ai/emotion",
        dataset_name="Emotion",
        dataset_config="split",
        dataset_revision="cab853a1dbdf4c42c2b3ef2173804746df8825fe",
        split="test",
        variant="original",
        config_version=2,
        code_version="0.1.0",
        num_examples=5,
        metrics={
            "accuracy": 0.8,
            "macro_precision": 0.875,
            "macro_recall": 0.75,
            "macro_f1": 0.76190476,
            "weighted_f1": 0.78095238,
        },
        classes=(
            ClassResult(0, "sadness", 3, 1, 0, 3, precision=0.75, recall=1.0, f1=0.857142857),
            ClassResult(1, "joy", 1, 0, 1, 2, precision=1.0, recall=0.5, f1=0.666666667),
            ClassResult(2, "surprise", 0, 0, 0, 0, precision=None, recall=None, f1=None),
        ),
        runtime=RuntimeStats(
            total_s=0.05, per_instance_ms=10.0, instances_per_s=100.0, device="cpu", batch_size=8
        ),
        label_mapping={"LABEL_0": "sadness", "LABEL_1": "joy", "LABEL_2": "surprise"},
        created_at=datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
    )
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


def make_records(**changes: object) -> list[EvaluationRecord]:
    """The original result (with ``changes``) plus a perturbed variant that stays off the card."""
    original = emotion_record(**changes)
    perturbed = dataclasses.replace(original, variant="typos", metrics={"accuracy": 0.6})
    return [original, perturbed]


@pytest.fixture
def records() -> list[EvaluationRecord]:
    return make_records()


@pytest.fixture(name="make_records")
def make_records_fixture() -> MakeRecords:
    return make_records
