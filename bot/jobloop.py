"""The job loop: claim a job under a lease, keep the lease alive while working, repeat.

Any number of workers, on any number of machines, share one MongoDB queue:

- ``claim_job`` leases the oldest due job atomically (``queue.lease_seconds``) and counts an
  attempt; a :func:`heartbeat` thread extends the lease every third of it while the job runs.
  When MongoDB does not answer, the heartbeat retries; when another worker holds the job (the
  lease ran out meanwhile), the evaluation is cancelled and nothing it produces is written.
- A worker that dies (kill -9, out of memory, lost machine) stops beating: its lease runs out and
  the next claim by any worker takes the job over.
- After ``queue.max_attempts`` claims a job is not claimed again: ``Worker.reap`` ends it with a
  typed reason, so no job is lost silently.
- Trouble that is nobody's fault (MongoDB restarting, the Hub down) never ends the loop: each
  iteration catches it, logs it and backs off.
- On SIGTERM (``evalbot worker``) the current job is finished, then the loop ends.
- Each turn of the loop, and each beat while a job runs, records the worker alive in the store
  (fresh for three lease periods) for ``evalbot status --health``; a loop that ends cleanly
  removes the record, one that dies leaves it to go stale.

Example:
    >>> report = CycleReport()
    >>> drain(Worker(config, api=api, store=store), report, once=True)  # empty the queue
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from bot.failures import Fault, backoff, classify, describe
from store.db import Job, Store

if TYPE_CHECKING:
    from bot.worker import Worker

log = logging.getLogger(__name__)
T = TypeVar("T")
FRESH_LEASES = 3  # a worker's heartbeat stays fresh this many lease periods (status --health)


@dataclass(frozen=True)
class JobResult:
    """What became of one job: the status it was left in and what a report counts."""

    # done | failed | error | superseded | blocked | gone | queued (handed back) | lease lost
    status: str
    evaluated: bool = False
    failure: str | None = None
    pr: str | None = None


@dataclass
class CycleReport:
    listed: int = 0
    queued: int = 0
    replanned: int = 0
    evaluated: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    prs: Counter[str] = field(default_factory=Counter)
    retry_later: int = 0  # jobs handed back to the queue (Hub busy, PR cap): done next cycles
    blocked: int = 0  # jobs waiting for a module's dataset to be fixed

    def add(self, result: JobResult) -> None:
        self.evaluated += result.evaluated
        if result.failure:
            self.failed[result.failure] += 1
        if result.pr:
            self.prs[result.pr] += 1
        self.retry_later += result.status == "queued"
        self.blocked += result.status == "blocked"

    def summary(self) -> str:
        failed = ", ".join(f"{k}: {v}" for k, v in sorted(self.failed.items())) or "none"
        prs = ", ".join(f"{k}: {v}" for k, v in sorted(self.prs.items())) or "none"
        later = f"; {self.retry_later} jobs retry later" if self.retry_later else ""
        blocked = f"; {self.blocked} jobs wait for a module fix" if self.blocked else ""
        replanned = f", re-planned {self.replanned}" if self.replanned else ""
        return (
            f"listed {self.listed} models, queued {self.queued} new revisions{replanned}, "
            f"evaluated {self.evaluated}; failures: {failed}; pull requests: {prs}"
            f"{later}{blocked}"
        )


def persist(fn: Callable[[], T], *, within_s: float, what: str) -> T:
    """``fn()``, retried while MongoDB (or the disk) is in trouble, for up to ``within_s``.

    Raises:
        the last error once ``within_s`` has passed, or any error that is not such trouble.
    """
    deadline = time.monotonic() + within_s
    failures = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            failures += 1
            if classify(exc) is not Fault.INFRASTRUCTURE or time.monotonic() > deadline:
                raise
            wait = min(backoff(failures, base_s=0.5, cap_s=5).total_seconds(), within_s)
            log.warning("%s: %s; retrying in %.1f s", what, describe(exc), wait)
            time.sleep(wait)


@contextmanager
def heartbeat(store: Store, job: Job, *, lease_s: float) -> Iterator[threading.Event]:
    """Extend ``job``'s lease every ``lease_s / 3`` seconds until the block ends.

    Yields an event that is set when the lease was lost (another worker holds the job now):
    the caller cancels its work and writes nothing. A store that does not answer is retried
    every few seconds; the lease is only lost when another worker took the job meanwhile.
    """
    done, lost = threading.Event(), threading.Event()
    interval = lease_s / 3

    def beat() -> None:
        wait, failures = interval, 0
        while not done.wait(wait):
            try:
                held = store.extend_lease(job, lease_s=lease_s)
                store.record_heartbeat(job.worker, fresh_s=FRESH_LEASES * lease_s)
            except Exception as exc:  # the beat must go on: MongoDB may be restarting
                failures += 1
                wait = min(interval, backoff(failures, base_s=1, cap_s=5).total_seconds())
                log.warning("%s: heartbeat failed (%s); retrying", job.repo_id, describe(exc))
                continue
            if not held:
                log.warning("%s: the lease is no longer this worker's", job.repo_id)
                lost.set()
                return
            wait, failures = interval, 0

    thread = threading.Thread(target=beat, name=f"heartbeat-{job.repo_id}", daemon=True)
    thread.start()
    try:
        yield lost
    finally:
        done.set()
        thread.join()


def drain(
    worker: Worker,
    report: CycleReport,
    *,
    once: bool,
    stop: threading.Event | None = None,
) -> CycleReport:
    """Claim and process jobs until ``stop`` is set, or (``once``) until none is due.

    Store trouble (MongoDB down or restarting) is logged and waited out with a growing pause;
    with ``once`` it is given up after about ``queue.lease_seconds`` (the error propagates).
    """
    stop = stop or threading.Event()
    queue = worker.queue
    troubled_since: float | None = None
    failures = 0
    fresh_s = FRESH_LEASES * max(queue.lease_seconds, queue.poll_seconds)
    while not stop.is_set():
        try:
            worker.store.record_heartbeat(worker.name, fresh_s=fresh_s)
            for result in worker.reap():
                report.add(result)
            job = worker.store.claim_job(
                worker.name, lease_s=queue.lease_seconds, max_attempts=queue.max_attempts
            )
        except Exception as exc:  # the loop stays up: log, back off, try again
            failures += 1
            troubled_since = troubled_since or time.monotonic()
            if once and time.monotonic() - troubled_since > queue.lease_seconds:
                raise
            wait = backoff(failures, base_s=1, cap_s=max(queue.poll_seconds, 30)).total_seconds()
            log.warning(
                "worker %s: cannot claim jobs (%s); retrying in %.0f s",
                worker.name,
                describe(exc),
                wait,
                exc_info=classify(exc) is not Fault.INFRASTRUCTURE,
            )
            stop.wait(wait)
            continue
        troubled_since, failures = None, 0
        if job is None:
            if once:
                break
            stop.wait(queue.poll_seconds)
            continue
        log.info(
            "job %s@%s claimed (attempt %d, %s)",
            job.repo_id,
            job.sha[:8],
            job.attempts,
            job.reason,
            extra={"repo_id": job.repo_id, "sha": job.sha, "job": str(job.id)},
        )
        with heartbeat(worker.store, job, lease_s=queue.lease_seconds) as lost:
            report.add(_run(worker, job, lost))
    worker.store.forget_worker(worker.name)
    return report


def _run(worker: Worker, job: Job, lost: threading.Event) -> JobResult:
    """``worker.process(job)``; an unexpected error costs the attempt and queues the job again,
    trouble that is nobody's fault only delays it."""
    try:
        return worker.process(job, cancel=lost)
    except Exception as exc:  # the job runner: nothing escapes it, nothing is lost
        if classify(exc) is Fault.INFRASTRUCTURE:
            return worker.back_off(job, exc, evaluated=False)
        log.exception(
            "%s: job failed unexpectedly (attempt %d)",
            job.repo_id,
            job.attempts,
            extra={"repo_id": job.repo_id, "sha": job.sha, "job": str(job.id)},
        )
        return worker.retry_spent(job, f"{type(exc).__name__}: {exc}"[:500])
