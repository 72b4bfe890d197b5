"""``evalbot serve``: the timer. Runs discovery every ``schedule.interval_minutes`` and queues a
job per new model revision; it evaluates nothing (``evalbot worker`` processes do, anywhere).

One APScheduler per process (its job store is in memory, never shared between processes); a run
that is still going when the next is due is not started twice (``max_instances=1``) and missed
runs collapse into one (``coalesce=True``). Several ``serve`` processes are harmless: enqueueing
is idempotent per (repo, sha).
"""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from huggingface_hub import HfApi

from bot.config import BotConfig
from bot.discovery import DiscoveryReport, discover
from store.db import Store

log = logging.getLogger(__name__)


def discover_once(config: BotConfig, *, api: HfApi, store: Store) -> DiscoveryReport:
    found = discover(
        api,
        [m.module for m in config.modules],
        store,
        limit=config.settings.discovery.limit_per_query,
        hub="huggingface" in config.settings.discovery.sources,
        zoo=config.settings.discovery.zoo_patterns(),
    )
    log.info(
        "discovery: listed %d models, queued %d new revisions (%d queries skipped); queue: %s",
        found.seen,
        len(found.queued),
        found.skipped_queries,
        dict(sorted(store.job_counts().items())),
    )
    return found


def serve(config: BotConfig, *, api: HfApi, store: Store) -> None:
    """Discover now and then every interval, until SIGTERM or Ctrl-C."""
    scheduler = BlockingScheduler(timezone=UTC)
    scheduler.add_job(
        discover_once,
        "interval",
        kwargs={"config": config, "api": api, "store": store},
        minutes=config.settings.schedule.interval_minutes,
        id="discover",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("stopping the scheduler (signal %d)", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    log.info("serving: discovery every %g min", config.settings.schedule.interval_minutes)
    try:
        scheduler.start()
    except KeyboardInterrupt:
        scheduler.shutdown(wait=False)
