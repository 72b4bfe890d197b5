"""The store on a real mongod: idempotent results, job leases, PR records, watermarks."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.errors import DuplicateKeyError

from store.db import PullRequestRecord, Store
from store.errors import MongoUnavailableError
from store.types import (
    Calibration,
    CalibrationBin,
    ClassResult,
    EvaluationRecord,
    FailureReason,
    Interval,
    Misclassification,
    ModelRecord,
    ModelStatus,
    RuntimeStats,
)


def make_record(**over: object) -> EvaluationRecord:
    base = EvaluationRecord(
        model_id="demo/m",
        model_sha="a" * 40,
        task="text-classification",
        module_id="emotion",
        dataset_id="dair-ai/emotion",
        dataset_name="Emotion",
        dataset_config=None,
        dataset_revision="b" * 40,
        split="test",
        variant="original",
        config_version=1,
        code_version="0.1.0",
        num_examples=3,
        metrics={"accuracy": 2 / 3, "macro_f1": 0.5},
        classes=(
            ClassResult(0, "x", 2, 1, 0, 2, 2 / 3, 1.0, 0.8),
            ClassResult(1, "y", 0, 0, 1, 1, None, 0.0, 0.0),
            ClassResult(2, "z", 0, 0, 0, 0, None, None, None),
        ),
        runtime=RuntimeStats(1.5, 500.0, 2.0, "cpu (2 threads)", 32, {"torch": "2.14.1"}),
        label_mapping={"X": "x"},
        confusion=((2, 0, 0), (1, 0, 0), (0, 0, 0)),
        misclassifications=(
            Misclassification(2, "y", "x", 0.9),
            Misclassification(7, "y", "x", 0.6),
        ),
        calibration=Calibration(
            0.1,
            0.2,
            (CalibrationBin(0.0, 0.5, 0, None, None), CalibrationBin(0.5, 1.0, 3, 2 / 3, 0.8)),
        ),
        intervals={"accuracy": Interval(0.3, 1.0)},
    )
    return replace(base, **over)  # type: ignore[arg-type]


def test_result_round_trip_and_idempotence(store: Store) -> None:
    record = make_record()
    store.save_result(record)
    store.save_result(replace(record, metrics={"accuracy": 0.7, "macro_f1": 0.6}))
    results = store.results_for("demo/m")
    assert len(results) == 1
    got = results[0]
    assert got.metrics == {"accuracy": 0.7, "macro_f1": 0.6}
    assert got.classes == record.classes
    assert got.runtime == record.runtime
    assert got.label_mapping == {"X": "x"}
    assert got.confusion == record.confusion
    assert got.misclassifications == record.misclassifications
    assert got.calibration == record.calibration
    assert got.intervals == record.intervals
    assert store.class_results.count_documents({}) == 3
    # a re-run that finds fewer errors replaces the stored ones
    store.save_result(replace(record, misclassifications=record.misclassifications[:1]))
    assert store.results_for("demo/m")[0].misclassifications == record.misclassifications[:1]
    assert store.misclassifications.count_documents({}) == 1
    assert got.created_at.tzinfo is not None
    assert store.runtimes.count_documents({}) == 1
    assert store.has_result(record.key())
    store.save_result(replace(record, variant="greyscale"))
    assert len(store.results_for("demo/m", "a" * 40)) == 2
    assert store.results_for("demo/m", "c" * 40) == []


def test_unique_key_is_enforced_by_the_database(store: Store) -> None:
    from store.codec import result_to_doc

    store.results.insert_one(result_to_doc(make_record()))
    with pytest.raises(DuplicateKeyError):
        store.results.insert_one(result_to_doc(make_record()))


def test_model_upsert_and_failure(store: Store) -> None:
    model = ModelRecord(
        "demo/m", "a" * 40, pipeline_tag="text-classification", datasets=("dair-ai/emotion",)
    )
    assert store.upsert_model(model) is True
    assert store.upsert_model(model) is False
    store.set_model_status(
        "demo/m", "a" * 40, ModelStatus.FAILED, reason=FailureReason.UNKNOWN_LABELS, detail="x"
    )
    # rediscovering the same sha keeps the failure; a new sha resets it
    store.upsert_model(model)
    got = store.get_model("demo/m")
    assert got is not None and got.failure_reason is FailureReason.UNKNOWN_LABELS
    assert store.failures_by_reason() == {"unknown labels": 1}
    assert store.upsert_model(replace(model, sha="c" * 40)) is True
    got = store.get_model("demo/m")
    assert got is not None and got.status is ModelStatus.PENDING and got.failure_reason is None


def test_jobs_claim_once_and_release_expired_leases(store: Store) -> None:
    assert store.enqueue("demo/m", "a" * 40) is True
    assert store.enqueue("demo/m", "a" * 40) is False
    claims = []

    def claim() -> None:
        claims.append(store.claim_job("w", lease_s=60))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([c for c in claims if c is not None]) == 1
    # an expired lease is re-claimed, attempts counted
    store.jobs.update_one({}, {"$set": {"lease_until": datetime.now(UTC) - timedelta(seconds=1)}})
    job = store.claim_job("w2")
    assert job is not None and job.attempts == 2
    store.finish_job(job, status="done")
    assert store.claim_job("w3") is None
    assert store.job_counts() == {"done": 1}


def test_prs_and_watermarks(store: Store) -> None:
    now = datetime.now(UTC)
    pr = PullRequestRecord("demo/m", 1, "a" * 40, "h", "http://x/1", "open", now)
    store.record_pr(pr)
    store.record_pr(replace(pr, status="closed"))
    assert [p.status for p in store.prs_for("demo/m")] == ["closed"]
    assert store.pr_counts() == {"closed": 1}
    assert store.get_watermark("k") is None
    store.set_watermark("k", now)
    got = store.get_watermark("k")
    assert got is not None and abs((got - now).total_seconds()) < 0.01


def test_unreachable_server_names_the_setting() -> None:
    with pytest.raises(MongoUnavailableError, match="MONGODB_URI") as err:
        Store.open("mongodb://user:secret@127.0.0.1:9/", timeout_ms=300)
    assert "secret" not in str(err.value)


def test_thesis_entities(store: Store) -> None:
    from store.types import DatasetRecord, DatasetSplitRecord, ReferenceRecord, VariantRecord

    assert store.metrics.count_documents({}) >= 8 and store.tasks.find_one(
        {"_id": "image-classification"}
    )
    store.upsert_dataset(
        DatasetRecord(
            "org/ds", "DS", "text", "text-classification", ("neg", "pos"), reference="arxiv:1"
        )
    )
    store.upsert_dataset(
        DatasetRecord("org/ds", "DS", "text", "text-classification", ("neg", "pos"))
    )
    got = store.get_dataset("org/ds")
    assert got is not None and got["labels"] == ["neg", "pos"] and got["num_classes"] == 2
    assert store.dataset_classes.count_documents({"dataset_id": "org/ds"}) == 2
    store.upsert_split(DatasetSplitRecord("org/ds", "r" * 40, "test", 5, (2, 3)))
    store.upsert_split(DatasetSplitRecord("org/ds", "r" * 40, "test", 5, (2, 3)))
    assert store.dataset_splits.count_documents({}) == 1
    store.upsert_variant(
        VariantRecord("typos(rate=0.05)", "typos", "text", "Typos.", "swaps", {"rate": 0.05})
    )
    assert store.variants.find_one({"_id": "typos(rate=0.05)"})["params"] == {"rate": 0.05}  # type: ignore[index]
    store.upsert_model(ModelRecord("demo/m", "a" * 40, tags=("arxiv:1810.04805",)))
    store.update_model_metadata(
        "demo/m",
        file_sizes={"model.safetensors": 10},
        hyperparameters={"hidden_size": 8},
        num_parameters=100,
        reference=ReferenceRecord("arxiv:1810.04805", arxiv="1810.04805"),
    )
    store.upsert_model(ModelRecord("demo/m", "a" * 40))  # rediscovery keeps the metadata
    model = store.get_model("demo/m")
    assert (
        model is not None
        and model.file_sizes == {"model.safetensors": 10}
        and model.num_parameters == 100
    )
    assert model.reference == "arxiv:1810.04805" and store.references.count_documents({}) == 1


def test_failures_by_module(store: Store) -> None:
    for name, modules in (("a", ["emotion"]), ("b", ["emotion", "imdb"]), ("c", [])):
        store.upsert_model(ModelRecord(f"o/{name}", "a" * 40))
        store.set_model_status(
            f"o/{name}",
            "a" * 40,
            ModelStatus.FAILED,
            reason=FailureReason.UNKNOWN_LABELS,
            modules=modules,
        )
    assert store.failures_by_module() == {
        "emotion": {"unknown labels": 2},
        "imdb": {"unknown labels": 1},
        "(none)": {"unknown labels": 1},
    }
