"""The job lifecycle on a real mongod: re-queueing, hand-backs, lost leases, the reaper, and
jobs blocked on a module's dataset."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from store.db import Job, Store
from store.types import utcnow

SHA = "a" * 40


def job_doc(store: Store, repo_id: str = "org/m", sha: str = SHA) -> dict[str, Any]:
    doc = store.get_job(repo_id, sha)
    assert doc is not None
    return doc


def claimed(store: Store, worker: str = "w1", **kwargs: Any) -> Job:
    job = store.claim_job(worker, **kwargs)
    assert job is not None
    return job


def finished(store: Store, repo_id: str, status: str, **kwargs: Any) -> None:
    """A job for ``repo_id`` that ran and ended with ``status``."""
    store.enqueue(repo_id, SHA)
    job = store.claim_job("w-setup")
    assert job is not None and job.repo_id == repo_id
    assert store.finish_job(job, status=status, **kwargs)


def test_requeue_queues_a_new_job(store: Store) -> None:
    assert store.requeue("org/m", SHA, reason="config: 1 tasks missing") is True
    doc = job_doc(store)
    assert doc["status"] == "queued" and doc["attempts"] == 0 and doc["transient"] == 0
    assert doc["reason"] == "config: 1 tasks missing"
    job = claimed(store)
    assert job.reason == "config: 1 tasks missing" and job.attempts == 1


def test_requeue_resets_a_finished_job(store: Store) -> None:
    store.enqueue("org/m", SHA)
    job = claimed(store, max_attempts=5)
    store.release_job(job, not_before=utcnow(), error="boom")  # an attempt spent
    job = claimed(store, max_attempts=5)
    assert job.attempts == 2
    assert store.finish_job(job, status="blocked", error="no such column", module="emotion")
    assert store.requeue("org/m", SHA, reason="module emotion changed") is True
    doc = job_doc(store)
    assert doc["status"] == "queued" and doc["attempts"] == 0
    assert doc["reason"] == "module emotion changed"
    assert doc["error"] is None and doc["module"] is None and doc["lease_until"] is None
    assert store.jobs.count_documents({}) == 1  # the same job, not a second one
    assert claimed(store).attempts == 1  # fresh attempts


def test_requeue_leaves_queued_and_running_jobs_alone(store: Store) -> None:
    store.enqueue("org/queued", SHA, reason="new revision")
    store.enqueue("org/running", SHA)
    running = store.claim_job("w1")  # the oldest: org/queued
    assert running is not None
    # whichever was claimed, the other one is queued
    queued_repo = "org/running" if running.repo_id == "org/queued" else "org/queued"
    before = job_doc(store, running.repo_id)
    assert store.requeue(running.repo_id, SHA, reason="operator") is False
    assert store.requeue(queued_repo, SHA, reason="operator") is False
    after = job_doc(store, running.repo_id)
    assert after["status"] == "running" and after["worker"] == "w1"
    assert after["attempts"] == before["attempts"] == 1
    assert after["lease_until"] == before["lease_until"]
    assert store.holds_lease(running)
    assert job_doc(store, queued_repo)["reason"] == "new revision"
    assert store.jobs.count_documents({}) == 2


def test_requeue_many_in_one_bulk_write(store: Store) -> None:
    finished(store, "org/done", "done")
    finished(store, "org/failed", "failed", error="unknown labels")
    finished(store, "org/error", "error", error="failed 3 times: KeyError")
    store.enqueue("org/queued", SHA)
    store.enqueue("org/running", SHA)
    running = store.claim_job("w1")
    assert running is not None
    busy = running.repo_id
    idle = "org/queued" if busy == "org/running" else "org/running"
    wanted = [
        ("org/done", SHA, "config: 2 tasks missing"),
        ("org/failed", SHA, "config changed since it failed (unknown labels)"),
        ("org/error", SHA, "requeued by an operator"),
        ("org/new", SHA, "pending without a job"),
        (busy, SHA, "requeued by an operator"),
        (idle, SHA, "requeued by an operator"),
    ]
    assert store.requeue_many(wanted) == 4
    for repo_id, _, reason in wanted[:4]:
        doc = job_doc(store, repo_id)
        assert (doc["status"], doc["attempts"], doc["reason"]) == ("queued", 0, reason)
        assert doc["error"] is None
    assert job_doc(store, busy)["status"] == "running"
    assert job_doc(store, idle)["reason"] == "new revision"
    assert store.jobs.count_documents({}) == 6
    assert store.requeue_many([]) == 0
    # only untouchable jobs: nothing queued, nothing raised
    assert store.requeue_many([(busy, SHA, "again"), (idle, SHA, "again")]) == 0


def test_a_transient_hand_back_keeps_attempts_and_counts_troubles(store: Store) -> None:
    store.enqueue("org/m", SHA)
    for trouble in (1, 2, 3, 4):  # more outages in a row than max_attempts
        job = claimed(store, max_attempts=3)
        assert job.attempts == 1 and job.transient == trouble - 1
        assert store.release_job(
            job, not_before=utcnow(), error="HTTP 503 from the Hub", refund=True, transient=True
        )
        doc = job_doc(store)
        assert doc["attempts"] == 0 and doc["transient"] == trouble
        assert doc["status"] == "queued" and doc["error"] == "HTTP 503 from the Hub"
    # a hand-back for another cause (an error of ours) spends the attempt and ends the streak
    job = claimed(store, max_attempts=3)
    assert store.release_job(job, not_before=utcnow(), error="KeyError: 'x'")
    doc = job_doc(store)
    assert doc["attempts"] == 1 and doc["transient"] == 0
    # a policy deferral gives the attempt back but is no trouble either
    job = claimed(store, max_attempts=3)
    assert job.attempts == 2
    assert store.release_job(job, not_before=utcnow(), error="deferred", refund=True)
    doc = job_doc(store)
    assert doc["attempts"] == 1 and doc["transient"] == 0


def test_a_hand_back_is_due_at_not_before(store: Store) -> None:
    store.enqueue("org/m", SHA)
    job = claimed(store)
    later = utcnow() + timedelta(seconds=0.4)
    assert store.release_job(job, not_before=later, refund=True, transient=True)
    assert store.claim_job("w2") is None
    time.sleep(0.5)
    again = claimed(store, "w2")
    assert again.transient == 1 and again.attempts == 1


def test_finish_and_release_are_refused_without_the_lease(store: Store) -> None:
    store.enqueue("org/m", SHA)
    first = claimed(store, "w1", lease_s=0.05)
    time.sleep(0.1)  # w1 stalls past its lease
    second = claimed(store, "w2")
    assert not store.finish_job(first, status="done")
    assert not store.release_job(first, not_before=utcnow(), refund=True)
    doc = job_doc(store)
    assert doc["status"] == "running" and doc["worker"] == "w2"
    # a job that is not running (handed back) cannot be finished by its last holder either
    assert store.release_job(second, not_before=utcnow())
    assert not store.finish_job(second, status="done")
    assert job_doc(store)["status"] == "queued"
    third = claimed(store, "w2")
    assert store.finish_job(third, status="done")
    assert not store.finish_job(third, status="failed")  # finished is final
    assert job_doc(store)["status"] == "done"


def test_the_reaper_tells_a_crash_from_errors(store: Store) -> None:
    # crashed: every attempt's lease expired while running
    store.enqueue("org/crashy", SHA)
    for n in range(2):
        job = claimed(store, f"w{n}", lease_s=0.01, max_attempts=2)
        assert job.attempts == n + 1
        time.sleep(0.03)
    # failed with errors: handed back after each unexpected error
    store.enqueue("org/buggy", SHA)
    for n in range(2):
        job = claimed(store, f"w{n}", max_attempts=2)
        assert job.repo_id == "org/buggy"
        store.release_job(job, not_before=utcnow(), error=f"KeyError {n}")
    assert store.claim_job("w9", max_attempts=2) is None  # neither is claimed again
    taken = {}
    for _ in range(2):
        gone = store.take_exhausted_job(2, worker="reaper", lease_s=30)
        assert gone is not None
        taken[gone.job.repo_id] = gone
    assert store.take_exhausted_job(2, worker="reaper2") is None  # both are leased
    crashy, buggy = taken["org/crashy"], taken["org/buggy"]
    assert crashy.crashed and crashy.last_error is None
    assert not buggy.crashed and buggy.last_error == "KeyError 1"
    assert crashy.job.worker == "reaper" and crashy.job.attempts == 2
    doc = job_doc(store, "org/crashy")
    assert doc["status"] == "running" and doc["worker"] == "reaper"
    assert store.finish_job(crashy.job, status="failed", error="crashed 2 times")
    assert store.finish_job(buggy.job, status="error", error="failed 2 times")
    assert store.take_exhausted_job(2) is None  # ended for good
    # a job with attempts left is not the reaper's
    store.enqueue("org/fine", SHA)
    assert store.take_exhausted_job(2) is None


def test_a_dead_reapers_job_is_taken_again_with_the_same_verdict(store: Store) -> None:
    store.enqueue("org/crashy", SHA)
    job = claimed(store, lease_s=0.01, max_attempts=1)
    time.sleep(0.03)
    first = store.take_exhausted_job(1, worker="reaper1", lease_s=0.05)
    assert first is not None and first.crashed
    assert store.take_exhausted_job(1, worker="reaper2") is None  # reaper1 holds it
    time.sleep(0.1)  # reaper1 died before ending the job
    second = store.take_exhausted_job(1, worker="reaper2", lease_s=30)
    assert second is not None and second.job.id == job.id and second.job.worker == "reaper2"
    assert second.crashed, "the job crashed its workers: a dead reaper does not change that"
    assert not store.finish_job(first.job, status="failed")  # reaper1's lease is gone
    assert store.finish_job(second.job, status="failed")


def test_module_problems_round_trip(store: Store) -> None:
    assert store.module_problems_by_id() == {}
    store.record_module_problem("emotion", "digest-1", "column 'txt' not found " * 100)
    problem = store.module_problems_by_id()["emotion"]
    assert problem["digest"] == "digest-1" and len(problem["error"]) == 1000
    since = problem["since"]
    store.record_module_problem("emotion", "digest-2", "label 'joyful' not found")
    store.record_module_problem("imdb", "digest-9", "gone")
    problems = store.module_problems_by_id()
    assert set(problems) == {"emotion", "imdb"}
    assert problems["emotion"]["digest"] == "digest-2"
    assert problems["emotion"]["error"] == "label 'joyful' not found"
    assert problems["emotion"]["since"] == since  # the first time it was seen
    store.clear_module_problem("emotion")
    store.clear_module_problem("never-had-one")
    assert set(store.module_problems_by_id()) == {"imdb"}


def test_blocked_jobs_by_module(store: Store) -> None:
    finished(store, "org/a", "blocked", error="column missing", module="emotion")
    finished(store, "org/b", "blocked", error="column missing", module="emotion")
    finished(store, "org/c", "blocked", error="gone", module="imdb")
    finished(store, "org/d", "failed", error="unknown labels", module=None)
    assert sorted(store.blocked_jobs("emotion")) == [("org/a", SHA), ("org/b", SHA)]
    assert store.blocked_jobs("imdb") == [("org/c", SHA)]
    assert store.blocked_jobs("ag_news") == []
    # blocked jobs are active (re-planning leaves them); finished ones are not
    assert store.active_jobs() == {("org/a", SHA), ("org/b", SHA), ("org/c", SHA)}
    assert store.job_keys() == {(f"org/{x}", SHA) for x in "abcd"}
    assert (
        store.requeue_many(
            [(r, s, "module emotion changed") for r, s in store.blocked_jobs("emotion")]
        )
        == 2
    )
    assert store.blocked_jobs("emotion") == []
    assert job_doc(store, "org/a")["module"] is None
    assert [j["repo_id"] for j in store.jobs_with_status("blocked")] == ["org/c"]
