"""The job loop: claim a job under a lease, keep the lease alive while working, repeat.

Any number of workers, on any number of machines, share one MongoDB queue:

- ``claim_job`` leases the oldest due job atomically (``queue.lease_seconds``) and counts an
  attempt; a :class:`Heartbeat` thread extends the lease every third of it while the job runs.
- A worker that dies (kill -9, out of memory, lost machine) stops beating: its lease runs out and
  the next claim by any worker takes the job over.
- After ``queue.max_attempts`` claims a job is not claimed again: ``Worker.reap`` records it as
  a typed failure on the model ("crashed N times"), so no job is lost silently.
- On SIGTERM (``evalbot worker``) the current job is finished, then the loop ends.

Example:
    >>> report = CycleReport()
    >>> drain(Worker(config, api=api, store=store), report, once=True)  # empty the queue
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from store.db import Job, Store
from store.types import utcnow

if TYPE_CHECKING:
    from bot.cycle import CycleReport, Worker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobResult:
    """What became of one job: the status it was left in and what a report counts."""

    status: str  # done | failed | error | superseded | queued (handed back) | lease lost
    evaluated: bool = False
    failure: str | None = None
    pr: str | None = None


@contextmanager
def heartbeat(store: Store, job: Job, *, lease_s: float) -> Iterator[threading.Event]:
    """Extend ``job``'s lease every ``lease_s / 3`` seconds until the block ends.

    Yields an event that is set when the lease was lost (another worker holds the job now).
    """
    done, lost = threading.Event(), threading.Event()

    def beat() -> None:
        while not done.wait(lease_s / 3):
            if not store.extend_lease(job, lease_s=lease_s):
                log.warning("%s: lease lost to another worker", job.repo_id)
                lost.set()
                return

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
    """Claim and process jobs until ``stop`` is set, or (``once``) until none is due."""
    stop = stop or threading.Event()
    queue = worker.queue
    while not stop.is_set():
        for result in worker.reap():
            report.add(result)
        job = worker.store.claim_job(
            worker.name, lease_s=queue.lease_seconds, max_attempts=queue.max_attempts
        )
        if job is None:
            if once:
                break
            stop.wait(queue.poll_seconds)
            continue
        log.info(
            "job %s@%s claimed (attempt %d)",
            job.repo_id,
            job.sha[:8],
            job.attempts,
            extra={"repo_id": job.repo_id, "sha": job.sha, "job": str(job.id)},
        )
        with heartbeat(worker.store, job, lease_s=queue.lease_seconds):
            report.add(_run(worker, job))
    return report


def _run(worker: Worker, job: Job) -> JobResult:
    """``worker.process(job)``; an unexpected error costs the attempt and queues the job again."""
    try:
        return worker.process(job)
    except Exception as exc:  # the job runner: nothing escapes it, nothing is lost
        log.exception(
            "%s: job failed unexpectedly (attempt %d)",
            job.repo_id,
            job.attempts,
            extra={"repo_id": job.repo_id, "sha": job.sha, "job": str(job.id)},
        )
        delay = timedelta(seconds=worker.queue.retry_delay_seconds)
        worker.store.release_job(
            job, not_before=utcnow() + delay, error=f"{type(exc).__name__}: {exc}"[:500]
        )
        return JobResult("queued")
