"""``evalbot serve``: the timer. Every ``schedule.interval_minutes`` it discovers new revisions,
re-plans the known models against the current config, queues jobs, and publishes what the
workers stored since to the results dataset; it evaluates nothing (``evalbot worker`` processes
do, anywhere), unless ``--with-worker``.

The config folder is read again at each run when a file under it changed (an invalid change is
logged and the last valid config stays in force). One APScheduler per process (its job store is
in memory, never shared between processes); a run that is still going when the next is due is
not started twice (``max_instances=1``) and missed runs collapse into one (``coalesce=True``).
Several ``serve`` processes are harmless: enqueueing is idempotent per (repo, sha).
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from huggingface_hub import HfApi

from bot.config import ConfigWatcher
from bot.cycle import plan_cycle
from bot.jobloop import CycleReport
from bot.results_dataset import publish_results
from store.db import Store

log = logging.getLogger(__name__)


def cycle_once(watcher: ConfigWatcher, *, api: HfApi, store: Store) -> CycleReport:
    """One timer run: discovery and re-planning under the config as it is now, then the
    results dataset."""
    config = watcher.current()
    try:
        report = plan_cycle(config, api=api, store=store)
    except Exception:  # the timer keeps going: the next run tries again
        log.exception("cycle failed; the next one runs in %g min", _interval(watcher))
        return CycleReport()
    publish_results(config, api=api, store=store)
    try:
        queue = dict(sorted(store.job_counts().items()))
    except Exception:
        queue = {}
    log.info(
        "cycle: listed %d models, queued %d new revisions, re-planned %d; queue: %s",
        report.listed,
        report.queued,
        report.replanned,
        queue,
    )
    return report


def _interval(watcher: ConfigWatcher) -> float:
    return watcher.current().settings.schedule.interval_minutes


def serve(
    watcher: ConfigWatcher,
    *,
    api: HfApi,
    store: Store,
    stop: threading.Event | None = None,
) -> None:
    """Run a cycle now and then every interval, until SIGTERM, Ctrl-C or ``stop`` is set."""
    stop = stop or threading.Event()
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        cycle_once,
        "interval",
        args=(watcher,),
        kwargs={"api": api, "store": store},
        minutes=_interval(watcher),
        id="cycle",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
    )

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("stopping the scheduler (signal %d)", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
    log.info("serving: a cycle every %g min", _interval(watcher))
    scheduler.start()
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        stop.set()
    finally:
        scheduler.shutdown(wait=False)
