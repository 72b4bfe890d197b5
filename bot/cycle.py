"""One bot cycle: discover, then work through the queue (evaluate, store, publish)."""

from __future__ import annotations

import logging
import socket
from collections import Counter
from dataclasses import dataclass, field

from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from bot.config import BotConfig
from bot.discovery import discover
from bot.publisher import Outcome, Publisher
from evaluators.datasets_io import DatasetError
from evaluators.errors import EvaluationError
from evaluators.executor import ExecutionReport, Executor, select_modules
from store.db import Job, Store
from store.types import ModelStatus

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    listed: int = 0
    queued: int = 0
    evaluated: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    prs: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        failed = ", ".join(f"{k}: {v}" for k, v in sorted(self.failed.items())) or "none"
        prs = ", ".join(f"{k}: {v}" for k, v in sorted(self.prs.items())) or "none"
        return (
            f"listed {self.listed} models, queued {self.queued} new revisions, "
            f"evaluated {self.evaluated}; failures: {failed}; pull requests: {prs}"
        )


def save_report(store: Store, report: ExecutionReport) -> None:
    """Store results and the metadata met on the way; every write is an idempotent upsert."""
    meta = report.model_metadata
    if meta is not None:
        store.update_model_metadata(
            report.model.repo_id,
            file_sizes=meta.file_sizes,
            hyperparameters=meta.hyperparameters,
            num_parameters=meta.num_parameters,
            reference=meta.reference,
        )
    for reference in report.references:
        store.upsert_reference(reference)
    for dataset in report.datasets:
        store.upsert_dataset(dataset)
    for split in report.splits:
        store.upsert_split(split)
    store.add_examples(report.examples)
    for variant in report.variants:
        store.upsert_variant(variant)
    for record in report.records:
        store.save_result(record)


class Worker:
    """Processes queued jobs: the executor behind one small interface (``process``)."""

    def __init__(
        self, config: BotConfig, *, api: HfApi, store: Store, device: str | None = None
    ) -> None:
        self.store = store
        self.executor = Executor(
            [m.module for m in config.modules], api=api, store=store, device=device
        )
        self.publisher = Publisher(
            api, store, config.settings.pull_requests, space_url=config.settings.space_url
        )
        self.name = f"{socket.gethostname()}:{id(self)}"

    def process(self, job: Job, report: CycleReport) -> None:
        model = self.store.get_model(job.repo_id)
        if model is None or model.sha != job.sha:
            self.store.finish_job(job, status="superseded")
            return
        try:
            execution = self.executor.evaluate(model)
        except EvaluationError as exc:
            log.warning(
                "%s@%s failed: %s (%s)", model.repo_id, model.sha[:8], exc.reason.value, exc.detail
            )
            modules = [m.id for m in select_modules(model, self.executor.modules)]
            self.store.set_model_status(
                model.repo_id,
                model.sha,
                ModelStatus.FAILED,
                reason=exc.reason,
                detail=exc.detail,
                modules=modules,
            )
            self.store.finish_job(job, status="failed", error=exc.reason.value)
            report.failed[exc.reason.value] += 1
            return
        except DatasetError as exc:
            log.error("dataset problem while evaluating %s: %s", model.repo_id, exc)
            self.store.finish_job(job, status="error", error=str(exc))
            report.failed["dataset error"] += 1
            return
        save_report(self.store, execution)
        self.store.set_model_status(model.repo_id, model.sha, ModelStatus.EVALUATED)
        report.evaluated += 1
        try:
            result = self.publisher.publish(model, self.store.results_for(model.repo_id, model.sha))
        except HfHubHTTPError as exc:  # rate limit or server error: results are stored, retry later
            status = exc.response.status_code if exc.response is not None else "?"
            log.warning(
                "%s: publishing failed (HTTP %s), will retry next cycle", model.repo_id, status
            )
            self.store.finish_job(job, status="publish failed", error=f"HTTP {status}")
            report.prs["publish failed"] += 1
            return
        report.prs[result.outcome.value] += 1
        if result.outcome is Outcome.CARD_REFUSED:
            log.warning("%s: no PR, card refused: %s", model.repo_id, result.detail)
        self.store.finish_job(job, status="done")

    def drain(self, report: CycleReport) -> None:
        while (job := self.store.claim_job(self.name)) is not None:
            self.process(job, report)


def run_cycle(
    config: BotConfig, *, api: HfApi, store: Store, device: str | None = None
) -> CycleReport:
    """Discover new revisions, then evaluate and publish every queued job."""
    report = CycleReport()
    found = discover(
        api,
        [m.module for m in config.modules],
        store,
        limit=config.settings.discovery.limit_per_query,
    )
    report.listed, report.queued = found.seen, len(found.queued)
    Worker(config, api=api, store=store, device=device).drain(report)
    log.info("cycle done: %s", report.summary())
    return report
