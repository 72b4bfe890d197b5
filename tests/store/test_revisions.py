"""Model revisions and their content: which heads are new content, which share an evaluation.

``Store.upsert_model`` decides from the revision's content fingerprint (``evaluators.hub``): a
head whose content the store has seen keeps that evaluation (``eval_sha``), its status and the
tasks counted for it; new content starts over, pending, under its own sha.
"""

from __future__ import annotations

from dataclasses import replace

from store.db import Store
from store.types import FailureReason, ModelRecord, ModelStatus, task_key
from tests.store.test_store import make_record

REPO = "org/model"
SHA_A, SHA_B, SHA_C, SHA_D = ("a" * 40, "b" * 40, "c" * 40, "d" * 40)
FP_1, FP_2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
TASKS = ("emotion/original/v1/0.1.0", "emotion/lowercase/v1/0.1.0")


def model(sha: str, fingerprint: str = FP_1, **over: object) -> ModelRecord:
    base = ModelRecord(
        REPO,
        sha,
        pipeline_tag="text-classification",
        datasets=("dair-ai/emotion",),
        tags=("emotion",),
        fingerprint=fingerprint,
    )
    return replace(base, **over)  # type: ignore[arg-type]


def stored(store: Store) -> ModelRecord:
    found = store.get_model(REPO)
    assert found is not None
    return found


def raw(store: Store) -> dict[str, object]:
    doc = store.models.find_one({"_id": REPO})
    assert doc is not None
    return doc


def test_a_new_repo_is_new_content_under_its_own_sha(store: Store) -> None:
    assert store.upsert_model(model(SHA_A)) is True
    got = stored(store)
    assert (got.sha, got.eval_sha, got.evaluated_sha) == (SHA_A, SHA_A, SHA_A)
    assert got.status is ModelStatus.PENDING
    assert got.fingerprint == FP_1
    assert raw(store)["evaluated_tasks"] == []
    # seeing the same head again is nothing new
    assert store.upsert_model(model(SHA_A)) is False
    assert stored(store).eval_sha == SHA_A


def test_a_head_with_the_same_content_keeps_the_evaluation(store: Store) -> None:
    store.upsert_model(model(SHA_A))
    store.mark_evaluated(REPO, SHA_A, TASKS)
    # a README-only commit: new sha, same fingerprint; the card's tags changed
    assert store.upsert_model(model(SHA_B, tags=("emotion", "new-tag"))) is False
    got = stored(store)
    assert got.sha == SHA_B  # the head moves...
    assert got.eval_sha == SHA_A and got.evaluated_sha == SHA_A  # ...its evaluation stays
    assert got.status is ModelStatus.EVALUATED
    assert got.tags == ("emotion", "new-tag")  # discovery metadata is refreshed
    assert sorted(raw(store)["evaluated_tasks"]) == sorted(TASKS)  # type: ignore[arg-type]


def test_a_head_with_the_same_content_keeps_a_failure(store: Store) -> None:
    store.upsert_model(model(SHA_A))
    store.set_model_status(
        REPO,
        SHA_A,
        ModelStatus.FAILED,
        reason=FailureReason.UNKNOWN_LABELS,
        detail="LABEL_0 ...",
        modules=["emotion"],
        digest="d1",
    )
    assert store.upsert_model(model(SHA_B)) is False
    got = stored(store)
    assert (got.sha, got.eval_sha) == (SHA_B, SHA_A)
    assert got.status is ModelStatus.FAILED
    assert got.failure_reason is FailureReason.UNKNOWN_LABELS
    assert got.failure_detail == "LABEL_0 ..."
    doc = raw(store)
    assert doc["failure_modules"] == ["emotion"] and doc["failure_digest"] == "d1"


def test_new_content_starts_over(store: Store) -> None:
    store.upsert_model(model(SHA_A))
    store.set_model_status(REPO, SHA_A, ModelStatus.FAILED, reason=FailureReason.UNKNOWN_LABELS)
    store.mark_evaluated(REPO, SHA_A, TASKS)  # (any state: it is reset)
    assert store.upsert_model(model(SHA_B, FP_2)) is True
    got = stored(store)
    assert (got.sha, got.eval_sha, got.fingerprint) == (SHA_B, SHA_B, FP_2)
    assert got.status is ModelStatus.PENDING
    assert got.failure_reason is None and got.failure_detail is None
    doc = raw(store)
    assert doc["evaluated_tasks"] == [] and doc["failure_digest"] is None
    assert doc["failure_modules"] == []


def test_a_revert_to_evaluated_content_reuses_its_results(store: Store) -> None:
    store.upsert_model(model(SHA_A, FP_1))
    for variant in ("original", "lowercase"):
        store.save_result(
            make_record(model_id=REPO, model_sha=SHA_A, variant=variant, fingerprint=FP_1)
        )
    store.mark_evaluated(REPO, SHA_A, TASKS)
    assert store.upsert_model(model(SHA_B, FP_2)) is True  # new weights: pending
    # the author reverts to the first weights: nothing to evaluate
    assert store.upsert_model(model(SHA_C, FP_1)) is False
    got = stored(store)
    assert (got.sha, got.eval_sha, got.fingerprint) == (SHA_C, SHA_A, FP_1)
    assert got.status is ModelStatus.EVALUATED and got.failure_reason is None
    expected = {task_key("emotion", v, 1, "0.1.0") for v in ("original", "lowercase")}
    assert set(raw(store)["evaluated_tasks"]) == expected  # type: ignore[arg-type]


def test_a_revert_to_content_without_results_is_new(store: Store) -> None:
    store.upsert_model(model(SHA_A, FP_1))  # never evaluated (no result stored)
    store.upsert_model(model(SHA_B, FP_2))
    assert store.upsert_model(model(SHA_C, FP_1)) is True
    assert stored(store).eval_sha == SHA_C


def test_results_of_another_repo_with_the_same_content_are_not_reused(store: Store) -> None:
    store.save_result(make_record(model_id="org/other", model_sha=SHA_A, fingerprint=FP_1))
    assert store.upsert_model(model(SHA_B, FP_1)) is True
    assert stored(store).status is ModelStatus.PENDING


def test_an_unknown_fingerprint_makes_every_revision_new_content(store: Store) -> None:
    assert store.upsert_model(model(SHA_A, "")) is True
    assert stored(store).fingerprint == f"rev:{SHA_A}"
    store.mark_evaluated(REPO, SHA_A, TASKS)
    assert store.upsert_model(model(SHA_A, "")) is False  # the same head
    assert stored(store).status is ModelStatus.EVALUATED
    assert store.upsert_model(model(SHA_B, "")) is True
    got = stored(store)
    assert (got.eval_sha, got.status, got.fingerprint) == (
        SHA_B,
        ModelStatus.PENDING,
        f"rev:{SHA_B}",
    )
    # results stored under a "rev:" fingerprint are never a revert target
    store.save_result(make_record(model_id=REPO, model_sha=SHA_C, fingerprint=f"rev:{SHA_C}"))
    assert store.upsert_model(model(SHA_C, "")) is True
    assert stored(store).eval_sha == SHA_C


def test_record_revision_never_moves_the_head(store: Store) -> None:
    store.upsert_model(model(SHA_B, FP_2))
    store.mark_evaluated(REPO, SHA_B, TASKS)
    store.record_revision(model(SHA_A, FP_1))  # `evalbot evaluate org/model@<old sha>`
    got = stored(store)
    assert (got.sha, got.eval_sha, got.fingerprint) == (SHA_B, SHA_B, FP_2)
    assert got.status is ModelStatus.EVALUATED
    # an unknown repo is recorded under the revision asked for
    store.record_revision(model(SHA_A, FP_1, repo_id="org/fresh"))
    fresh = store.get_model("org/fresh")
    assert fresh is not None and (fresh.sha, fresh.eval_sha) == (SHA_A, SHA_A)
    assert fresh.fingerprint == FP_1 and fresh.status is ModelStatus.PENDING


def test_status_and_results_apply_to_the_evaluated_revision(store: Store) -> None:
    store.upsert_model(model(SHA_A))
    store.upsert_model(model(SHA_B))  # same content: eval_sha stays SHA_A
    # a write for the head sha is not this model's evaluation: nothing changes
    store.set_model_status(REPO, SHA_B, ModelStatus.FAILED, reason=FailureReason.TIMEOUT)
    store.mark_evaluated(REPO, SHA_B, TASKS)
    got = stored(store)
    assert got.status is ModelStatus.PENDING and raw(store)["evaluated_tasks"] == []
    store.set_model_status(REPO, SHA_A, ModelStatus.FAILED, reason=FailureReason.TIMEOUT)
    got = stored(store)
    assert got.status is ModelStatus.FAILED and got.failure_reason is FailureReason.TIMEOUT
    store.mark_evaluated(REPO, SHA_A, TASKS[:1])
    store.mark_evaluated(REPO, SHA_A, TASKS)  # counted once each
    got = stored(store)
    assert got.status is ModelStatus.EVALUATED and got.failure_reason is None
    assert sorted(raw(store)["evaluated_tasks"]) == sorted(TASKS)  # type: ignore[arg-type]


def test_migrate_brings_old_documents_up_to_date(store: Store) -> None:
    store.models.insert_one(
        {"_id": REPO, "sha": SHA_D, "status": "evaluated", "pipeline_tag": "text-classification"}
    )
    store.models.insert_one({"_id": "org/never", "sha": SHA_A, "status": "pending"})
    for variant in ("original", "lowercase"):
        store.save_result(make_record(model_id=REPO, model_sha=SHA_D, variant=variant))
    store.save_result(make_record(model_id=REPO, model_sha=SHA_C, variant="uppercase"))  # older
    store._migrate()
    doc = raw(store)
    assert doc["eval_sha"] == SHA_D and doc["fingerprint"] == f"rev:{SHA_D}"
    assert sorted(doc["evaluated_tasks"]) == sorted(  # type: ignore[arg-type]
        task_key("emotion", v, 1, "0.1.0") for v in ("original", "lowercase")
    )
    never = store.models.find_one({"_id": "org/never"})
    assert never is not None and never["eval_sha"] == SHA_A and never["evaluated_tasks"] == []
    # idempotent: a second run changes nothing, and a migrated model plans as usual
    store.mark_evaluated(REPO, SHA_D, ["emotion/typos/v1/0.1.0"])
    store._migrate()
    assert len(raw(store)["evaluated_tasks"]) == 3  # type: ignore[arg-type]
    assert store.upsert_model(model(SHA_D, FP_1)) is False  # its head, now fingerprinted
    assert stored(store).status is ModelStatus.EVALUATED
