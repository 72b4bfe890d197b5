"""One bot cycle: discover, re-plan, refresh PR states, then work through the queue.

Discovery includes the modules datasets configure in their own cards, where bot.yaml's
``discovery.self_configuring`` is on (:mod:`bot.self_configuring`).

:func:`plan_cycle` is what the timer (``evalbot serve``) runs every interval; :func:`run_cycle`
adds a worker that empties the queue in this process (``evalbot run``). Both end by publishing
the results dataset (:func:`bot.results_dataset.publish_results`), which never fails a cycle.
"""

from __future__ import annotations

import logging

from huggingface_hub import HfApi

from bot.config import BotConfig
from bot.discovery import discover
from bot.jobloop import CycleReport, drain
from bot.publisher import Publisher
from bot.replan import replan
from bot.results_dataset import publish_results
from bot.self_configuring import self_configure, with_card_modules
from bot.undeclared import discover_undeclared
from bot.worker import Worker, planner_for
from store.db import Store

log = logging.getLogger(__name__)

PR_STATES_PER_CYCLE = 50  # open PRs whose state (merged, closed) is refreshed per cycle


def plan_cycle(config: BotConfig, *, api: HfApi, store: Store) -> CycleReport:
    """Discovery, then re-planning of every known model (MongoDB only), then the state of the
    PRs checked longest ago (so the Space shows merges and declines without waiting for a job).
    """
    report = CycleReport()
    discovery = config.settings.discovery
    found = discover(
        api,
        [m.module for m in config.modules],
        store,
        limit=discovery.limit_per_query,
        backfill_days=discovery.backfill_days,
        hub="huggingface" in discovery.sources,
        zoo=discovery.zoo_patterns(),
        census="huggingface" in discovery.sources,
    )
    report.listed, report.queued = found.seen, len(found.queued)
    if discovery.self_configuring and "huggingface" in discovery.sources:
        cards = self_configure(config, api=api, store=store)
        report.listed, report.queued = report.listed + cards.seen, report.queued + len(cards.queued)
    if discovery.infer_training_data and "huggingface" in discovery.sources:
        undeclared = discover_undeclared(config, api=api, store=store)
        report.listed += undeclared.seen
        report.queued += len(undeclared.queued)
    report.replanned = replan(store, planner_for(with_card_modules(config, store))).total
    if api.token and config.settings.pull_requests.enabled:
        publisher = Publisher(
            api, store, config.settings.pull_requests, space_url=config.settings.space_url
        )
        try:
            publisher.refresh_pr_states(limit=PR_STATES_PER_CYCLE)
        except Exception as exc:  # the Hub busy: the states are refreshed next cycle
            log.warning("PR states not refreshed this cycle: %s", exc)
    return report


def run_cycle(
    config: BotConfig, *, api: HfApi, store: Store, device: str | None = None
) -> CycleReport:
    """Discover new revisions, re-plan, then evaluate and publish every due job (one process)."""
    report = plan_cycle(config, api=api, store=store)
    drain(Worker(config, api=api, store=store, device=device), report, once=True)
    publish_results(config, api=api, store=store)
    log.info("cycle done: %s", report.summary())
    return report
