"""The job queue on a real mongod: leases, heartbeats, attempts, hand-backs, locks, the PR clock."""

from __future__ import annotations

import time
from datetime import timedelta

from huggingface_hub import HfApi

from bot.jobloop import heartbeat
from store.db import Store
from store.types import FailureReason, ModelRecord, ModelStatus, utcnow
from tests.bot.conftest import FastConfig

SHA = "a" * 40


def test_a_lease_keeps_others_out_until_it_expires(store: Store) -> None:
    store.enqueue("org/m", SHA)
    first = store.claim_job("w1", lease_s=0.5)
    assert first is not None and first.attempts == 1 and first.worker == "w1"
    assert store.claim_job("w2", lease_s=0.5) is None
    assert store.extend_lease(first, lease_s=0.5)
    time.sleep(0.6)  # w1 died: no heartbeat
    second = store.claim_job("w2", lease_s=5)
    assert second is not None and second.id == first.id and second.attempts == 2
    assert not store.extend_lease(first, lease_s=5)  # w1's late heartbeat finds it gone
    assert not store.holds_lease(first) and store.holds_lease(second)
    assert not store.finish_job(first, status="done")  # a zombie cannot close it
    assert store.finish_job(second, status="done")
    assert store.get_job("org/m", SHA)["status"] == "done"  # type: ignore[index]


def test_the_heartbeat_holds_the_lease_while_working(store: Store) -> None:
    store.enqueue("org/m", SHA)
    job = store.claim_job("w1", lease_s=0.3)
    assert job is not None
    with heartbeat(store, job, lease_s=0.3) as lost:
        time.sleep(1.0)  # three leases long
        assert store.claim_job("w2", lease_s=0.3) is None
    assert not lost.is_set()


def test_a_hand_back_waits_for_its_time_and_a_deferral_costs_no_attempt(store: Store) -> None:
    store.enqueue("org/m", SHA)
    job = store.claim_job("w1")
    assert job is not None
    later = utcnow() + timedelta(seconds=0.5)
    assert store.release_job(job, not_before=later, error="deferred", refund=True)
    assert store.claim_job("w2") is None
    time.sleep(0.6)
    again = store.claim_job("w2")
    assert again is not None and again.attempts == 1


def test_exhausted_jobs_become_typed_failures(store: Store, fast_config: FastConfig) -> None:
    from bot.worker import Worker

    model = ModelRecord("org/crashy", SHA, pipeline_tag="text-classification")
    store.upsert_model(model)
    store.enqueue(model.repo_id, SHA)
    for attempt in range(3):  # three workers killed mid-evaluation
        job = store.claim_job(f"w{attempt}", lease_s=0.01, max_attempts=3)
        assert job is not None and job.attempts == attempt + 1
        time.sleep(0.02)
    assert store.claim_job("w9", max_attempts=3) is None  # never claimed again...
    worker = Worker(fast_config.load(), api=HfApi(), store=store)
    (result,) = worker.reap()  # ...and never lost: a failure on the model
    assert result.failure == FailureReason.LOAD_ERROR.value
    stored = store.get_model(model.repo_id)
    assert stored is not None and stored.status is ModelStatus.FAILED
    assert stored.failure_reason is FailureReason.LOAD_ERROR
    assert "crashed 3 times" in (stored.failure_detail or "")
    assert store.get_job(model.repo_id, SHA)["status"] == "failed"  # type: ignore[index]
    assert worker.reap() == []


def test_publishing_that_keeps_failing_is_recorded_on_the_job(
    store: Store, fast_config: FastConfig
) -> None:
    from bot.worker import Worker

    store.upsert_model(ModelRecord("org/evaluated", SHA, pipeline_tag="text-classification"))
    store.set_model_status("org/evaluated", SHA, ModelStatus.EVALUATED)
    store.enqueue("org/evaluated", SHA)
    for _ in range(3):
        job = store.claim_job("w", max_attempts=3)
        assert job is not None
        store.release_job(job, not_before=utcnow(), error="HTTP 429 from the Hub")
    (result,) = Worker(fast_config.load(), api=HfApi(), store=store).reap()
    assert result.pr == "publish failed"
    job_doc = store.get_job("org/evaluated", SHA)
    assert job_doc is not None and job_doc["status"] == "publish failed"
    assert "HTTP 429" in job_doc["error"]
    model = store.get_model("org/evaluated")
    assert model is not None and model.status is ModelStatus.EVALUATED


def test_a_lock_has_one_owner_until_released_or_expired(store: Store) -> None:
    assert store.acquire_lock("publish:org/m", "w1", ttl_s=0.3)
    assert store.acquire_lock("publish:org/m", "w1", ttl_s=0.3)  # renewal
    assert not store.acquire_lock("publish:org/m", "w2", ttl_s=0.3)
    store.release_lock("publish:org/m", "w2")  # not the owner: no effect
    assert not store.acquire_lock("publish:org/m", "w2", ttl_s=0.3)
    time.sleep(0.35)
    assert store.acquire_lock("publish:org/m", "w2", ttl_s=5)  # w1 died holding it
    store.release_lock("publish:org/m", "w2")
    assert store.acquire_lock("publish:org/m", "w3", ttl_s=5)


def test_the_hourly_pr_cap_is_one_atomic_reservation_across_workers(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def reserve(i: int) -> str | None:
        return store.reserve_pr_slot(3, holder=f"w{i}")[0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = [slot for slot in pool.map(reserve, range(16)) if slot is not None]
    assert len(taken) == 3 and len(set(taken)) == 3  # never more than the cap, whatever the race
    slot, frees = store.reserve_pr_slot(3, holder="late")
    assert slot is None and timedelta(minutes=59) < frees - utcnow() <= timedelta(hours=1)
    store.release_pr_slot(taken[0], holder="someone else")  # not the holder: no effect
    assert store.reserve_pr_slot(3, holder="late")[0] is None
    doc = store.pr_slots.find_one({"_id": taken[0]})
    assert doc is not None
    store.release_pr_slot(taken[0], holder=doc["holder"])  # a commit that opened no PR
    assert store.reserve_pr_slot(3, holder="late")[0] == taken[0]
    assert store.reserve_pr_slot(0, holder="x")[0] is None  # a cap of 0 opens nothing
