"""One bot cycle: discover, then work through the queue (evaluate, store, publish).

``Worker.process(job)`` is the one interface to the executor: it ends every leased job (done,
failed, superseded) or hands it back to the queue for later (Hub busy, PR cap reached); the
loop that claims jobs and keeps their leases alive is in :mod:`bot.worker`.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx2
from huggingface_hub import HfApi
from huggingface_hub.errors import DisabledRepoError, HfHubHTTPError

from bot.config import BotConfig
from bot.discovery import discover
from bot.keys import load_signer
from bot.publisher import Outcome, Publisher, opted_out
from bot.ratelimit import is_transient, retry_after, status_of
from bot.worker import JobResult, drain
from cardgen.eval_results import BenchmarkSpec
from evaluators.datasets_io import DatasetError
from evaluators.errors import EvaluationError
from evaluators.executor import ExecutionReport, Executor, select_modules
from evaluators.isolation import IsolatedExecutor
from store.db import ExhaustedJob, Job, Store
from store.types import FailureReason, ModelRecord, ModelStatus, SigningIdentity, utcnow

if TYPE_CHECKING:
    from evaluators.ray_executor import RayExecutor

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    listed: int = 0
    queued: int = 0
    evaluated: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    prs: Counter[str] = field(default_factory=Counter)
    retry_later: int = 0  # jobs handed back to the queue (Hub busy, PR cap): done next cycles

    def add(self, result: JobResult) -> None:
        self.evaluated += result.evaluated
        if result.failure:
            self.failed[result.failure] += 1
        if result.pr:
            self.prs[result.pr] += 1
        self.retry_later += result.status == "queued"

    def summary(self) -> str:
        failed = ", ".join(f"{k}: {v}" for k, v in sorted(self.failed.items())) or "none"
        prs = ", ".join(f"{k}: {v}" for k, v in sorted(self.prs.items())) or "none"
        later = f"; {self.retry_later} jobs retry later" if self.retry_later else ""
        return (
            f"listed {self.listed} models, queued {self.queued} new revisions, "
            f"evaluated {self.evaluated}; failures: {failed}; pull requests: {prs}{later}"
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


def benchmarks(config: BotConfig) -> dict[str, BenchmarkSpec]:
    """The modules' datasets registered as Hub Benchmarks (``benchmark:`` in their YAML)."""
    return {
        m.module.dataset.repo: BenchmarkSpec(
            dataset_id=m.module.dataset.repo,
            split=m.module.dataset.split,
            metric=m.module.benchmark.metric,
            task_id=m.module.benchmark.task_id,
            scale=m.module.benchmark.scale,
        )
        for m in config.modules
        if m.module.benchmark is not None
    }


def make_executor(
    config: BotConfig, *, api: HfApi, store: Store | None, device: str | None = None
) -> Executor | IsolatedExecutor | RayExecutor:
    """The executor ``config`` asks for: isolated in a child process unless switched off;
    with ``executor: ray``, as Ray tasks on a cluster (Ray is imported only then)."""
    modules = [m.module for m in config.modules]
    isolation = config.settings.isolation
    cap = int(config.settings.hub.max_model_gib * 2**30)
    if config.settings.executor == "ray":
        from evaluators.ray_executor import RayExecutor

        ray = config.settings.ray
        return RayExecutor(
            modules,
            api=api,
            store=store,
            device=device,
            max_model_bytes=cap,
            address=ray.address,
            gpus=ray.gpus_per_job,
            cpus=ray.cpus_per_job,
            memory=int(ray.memory_gib * 2**30) if ray.memory_gib else None,
            max_retries=ray.max_retries,
            shards=ray.shards_per_job,
            isolation=isolation.enabled,
            memory_limit=int(isolation.memory_gib * 2**30),
            timeout=isolation.timeout_minutes * 60,
        )
    if not isolation.enabled:
        return Executor(modules, api=api, store=store, device=device, max_model_bytes=cap)
    return IsolatedExecutor(
        modules,
        api=api,
        store=store,
        device=device,
        max_model_bytes=cap,
        memory_limit=int(isolation.memory_gib * 2**30),
        timeout=isolation.timeout_minutes * 60,
    )


class Worker:
    """Processes leased jobs: the executor behind one small interface (``process``)."""

    def __init__(
        self,
        config: BotConfig,
        *,
        api: HfApi,
        store: Store,
        device: str | None = None,
        name: str | None = None,
    ) -> None:
        self.store = store
        self.queue = config.settings.queue
        self.executor = make_executor(config, api=api, store=store, device=device)
        signer = load_signer()
        # The Space and `evalbot verify` read the public key from the store.
        store.set_identity(
            SigningIdentity(key_id=signer.key_id, public_key_pem=signer.public_key_pem())
        )
        self.publisher = Publisher(
            api,
            store,
            config.settings.pull_requests,
            space_url=config.settings.space_url,
            signer=signer,
            benchmarks=benchmarks(config),
        )
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    def process(self, job: Job) -> JobResult:
        """Evaluate, store and publish one leased job."""
        model = self.store.get_model(job.repo_id)
        if model is None or model.sha != job.sha:
            self.store.finish_job(job, status="superseded")
            return JobResult("superseded")
        if opted_out(model, None):  # by repo tag: not even evaluated (the card is read later)
            self.store.finish_job(job, status="done")
            return JobResult("done", pr=Outcome.OPTED_OUT.value)
        try:
            execution = self.executor.evaluate(model)
        except EvaluationError as exc:
            return self._failed(job, model, exc.reason, exc.detail)
        except DisabledRepoError:
            return self._failed(job, model, FailureReason.NOT_FOUND, "the repo is disabled")
        except DatasetError as exc:
            log.error("dataset problem while evaluating %s: %s", model.repo_id, exc)
            self.store.finish_job(job, status="error", error=str(exc))
            return JobResult("error", failure="dataset error")
        except (HfHubHTTPError, httpx2.TransportError) as exc:
            if not is_transient(exc):
                raise
            return self._retry_later(job, exc, evaluated=False)
        save_report(self.store, execution)
        self.store.set_model_status(model.repo_id, model.sha, ModelStatus.EVALUATED)
        return self._publish(job, model)

    def _publish(self, job: Job, model: ModelRecord) -> JobResult:
        """Publish under a per-repo lock: one publisher per repo at a time, on any machine."""
        lock = f"publish:{model.repo_id}"
        if not self._acquire(lock):
            self.store.release_job(
                job, not_before=utcnow() + timedelta(seconds=30), error="repo busy", refund=True
            )
            return JobResult("queued", evaluated=True)
        try:
            if not self.store.holds_lease(job):  # re-leased by another worker: it publishes
                log.warning("%s: lease lost before publishing", model.repo_id, extra=_ctx(job))
                return JobResult("lease lost", evaluated=True)
            records = self.store.results_for(model.repo_id, model.sha)
            try:
                result = self.publisher.publish(model, records)
            except (HfHubHTTPError, httpx2.TransportError) as exc:
                if not is_transient(exc):
                    raise
                return self._retry_later(job, exc, evaluated=True)
        finally:
            self.store.release_lock(lock, self.name)
        if result.outcome is Outcome.DEFERRED:
            log.info("%s: PR deferred: %s", model.repo_id, result.detail, extra=_ctx(job))
            self.store.release_job(
                job, not_before=result.not_before or utcnow(), error="deferred", refund=True
            )
            return JobResult("queued", evaluated=True, pr=result.outcome.value)
        if result.outcome is Outcome.CARD_REFUSED:
            log.warning("%s: no PR, card refused: %s", model.repo_id, result.detail)
        self.store.finish_job(job, status="done")
        return JobResult("done", evaluated=True, pr=result.outcome.value)

    def _acquire(self, lock: str) -> bool:
        deadline = time.monotonic() + 30
        while not self.store.acquire_lock(lock, self.name, ttl_s=self.queue.lease_seconds):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
        return True

    def _failed(
        self, job: Job, model: ModelRecord, reason: FailureReason, detail: str
    ) -> JobResult:
        log.warning(
            "%s@%s failed: %s (%s)",
            model.repo_id,
            model.sha[:8],
            reason.value,
            detail,
            extra=_ctx(job),
        )
        modules = [m.id for m in select_modules(model, self.executor.modules)]
        self.store.set_model_status(
            model.repo_id,
            model.sha,
            ModelStatus.FAILED,
            reason=reason,
            detail=detail,
            modules=modules,
        )
        self.store.finish_job(job, status="failed", error=reason.value)
        return JobResult("failed", failure=reason.value)

    def _retry_later(self, job: Job, exc: Exception, *, evaluated: bool) -> JobResult:
        """The Hub is busy or down: hand the job back, due after the delay the Hub asked for."""
        status = status_of(exc)
        error = f"HTTP {status} from the Hub" if status else f"Hub unreachable: {exc}"
        delay = max(self.queue.retry_delay_seconds, retry_after(exc) or 0)
        log.warning(
            "%s: %s while %s; retry in %.0f s (attempt %d of %d)",
            job.repo_id,
            error,
            "publishing" if evaluated else "evaluating",
            delay,
            job.attempts,
            self.queue.max_attempts,
            extra=_ctx(job),
        )
        self.store.release_job(job, not_before=utcnow() + timedelta(seconds=delay), error=error)
        return JobResult("queued", evaluated=evaluated)

    def reap(self) -> list[JobResult]:
        """Turn every job that used up its attempts into a typed, visible failure."""
        results = []
        while (gone := self.store.take_exhausted_job(self.queue.max_attempts)) is not None:
            results.append(self._exhausted(gone))
        return results

    def _exhausted(self, gone: ExhaustedJob) -> JobResult:
        job, n = gone.job, gone.job.attempts
        why = f"crashed {n} times" if gone.crashed else f"failed {n} times: {gone.last_error}"
        model = self.store.get_model(job.repo_id)
        if model is not None and model.sha == job.sha and model.status is ModelStatus.EVALUATED:
            self.store.finish_job(job, status="publish failed", error=why)
            log.error("%s: publishing gave up: %s", job.repo_id, why, extra=_ctx(job))
            return JobResult("publish failed", pr="publish failed")
        detail = (
            f"the evaluation {why} (the worker was killed, ran out of memory or hung)"
            if gone.crashed
            else f"the evaluation {why}"
        )
        self.store.set_model_status(
            job.repo_id, job.sha, ModelStatus.FAILED, reason=FailureReason.LOAD_ERROR, detail=detail
        )
        self.store.finish_job(job, status="failed", error=why)
        log.error("%s: gave up: %s", job.repo_id, detail, extra=_ctx(job))
        return JobResult("failed", failure=FailureReason.LOAD_ERROR.value)


def _ctx(job: Job) -> dict[str, object]:
    """Log context of a job (fields of the JSON log lines)."""
    return {"repo_id": job.repo_id, "sha": job.sha, "job": str(job.id), "attempt": job.attempts}


def run_cycle(
    config: BotConfig, *, api: HfApi, store: Store, device: str | None = None
) -> CycleReport:
    """Discover new revisions, then evaluate and publish every due job (one process)."""
    report = CycleReport()
    found = discover(
        api,
        [m.module for m in config.modules],
        store,
        limit=config.settings.discovery.limit_per_query,
        hub="huggingface" in config.settings.discovery.sources,
        zoo=config.settings.discovery.zoo_patterns(),
    )
    report.listed, report.queued = found.seen, len(found.queued)
    drain(Worker(config, api=api, store=store, device=device), report, once=True)
    log.info("cycle done: %s", report.summary())
    return report
