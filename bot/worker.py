"""The worker: evaluate, store and publish one leased job (the executor behind ``process``).

``Worker.process(job)`` ends every leased job (done, failed, superseded, blocked, gone) or hands
it back to the queue for later (Hub busy, PR cap reached); the loop that claims jobs and keeps
their leases alive is :mod:`bot.jobloop`. A job names a model's ``eval_sha``: the revision whose
content is evaluated; the PR goes to the model's current head, which may be a later revision
with the same content (a merge of evalbot's own PR, a README commit).

Whose fault an error is decides what happens (:mod:`bot.failures`): the model's is stored on
the model; a module's dataset problem blocks the job until the module changes; an outage backs
the job off without spending an attempt, the model stays pending.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from huggingface_hub import HfApi
from huggingface_hub.errors import DisabledRepoError

from bot.config import BotConfig, ConfigWatcher
from bot.failures import Fault, backoff, classify, describe, hint
from bot.jobloop import JobResult, persist
from bot.keys import load_signer
from bot.publisher import Outcome, Publisher, PublishResult, publish_locked
from bot.self_configuring import with_card_modules
from cardgen.eval_results import BenchmarkSpec
from cardgen.optout import opted_out
from evaluators.cache import DiskCache
from evaluators.datasets_io import DatasetError
from evaluators.errors import Cancelled, EvaluationError
from evaluators.executor import CODE_VERSION, ExecutionReport, Executor
from evaluators.isolation import IsolatedExecutor
from evaluators.planner import Planner
from store.db import ExhaustedJob, Job, Store
from store.types import (
    EvaluationRecord,
    FailureReason,
    ModelRecord,
    ModelStatus,
    SigningIdentity,
    task_key,
    utcnow,
)

if TYPE_CHECKING:
    from evaluators.ray_executor import RayExecutor

log = logging.getLogger(__name__)


def save_report(store: Store, report: ExecutionReport) -> None:
    """Store results and the metadata met on the way; every write is an idempotent upsert.

    The tasks that ran and those already stored are counted on the model
    (:meth:`Store.mark_evaluated`), so re-planning knows this evaluation is complete.
    """
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
    tasks = [r.task_name() for r in report.records] + [
        task_key(t.module.id, t.variant, t.module.version, CODE_VERSION) for t in report.skipped
    ]
    store.mark_evaluated(report.model.repo_id, report.model.sha, tasks)


def current_results(
    store: Store, planner: Planner, model: ModelRecord, sha: str
) -> list[EvaluationRecord]:
    """The results of evaluation ``sha`` that the current config plans for ``model``: one per
    dataset, split and variant, the newest (results of an older module or code version, or of
    a dataset revision since replaced, stay stored but are not what a card shows)."""
    planned = planner.plan_model(model)[0]
    newest: dict[tuple[str, str | None, str, str], EvaluationRecord] = {}
    for record in store.results_for(model.repo_id, sha):
        if record.task_name() not in planned:
            continue
        key = (record.dataset_id, record.dataset_config, record.split, record.variant)
        if key not in newest or record.created_at > newest[key].created_at:
            newest[key] = record
    return sorted(newest.values(), key=lambda r: (r.dataset_id, r.split, r.variant))


def class_groups(config: BotConfig) -> dict[str, dict[str, list[str]]]:
    """The modules' class groups (``class_groups:`` in their YAML), by module id."""
    return {m.module.id: m.module.class_groups for m in config.modules if m.module.class_groups}


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


def planner_for(config: BotConfig) -> Planner:
    """The planner of ``config``: its modules, this code version and the limits that decide
    failures (a change to them re-plans the failures they may have caused)."""
    s = config.settings
    limits = (
        f"gib={s.hub.max_model_gib};mem={s.isolation.memory_gib};"
        f"min={s.isolation.timeout_minutes};iso={s.isolation.enabled}"
    )
    return Planner([m.module for m in config.modules], code_version=CODE_VERSION, limits=limits)


def make_executor(
    config: BotConfig, *, api: HfApi, store: Store | None, device: str | None = None
) -> Executor | IsolatedExecutor | RayExecutor:
    """The executor ``config`` asks for: isolated in a sandboxed child process unless switched
    off; with ``executor: ray``, as Ray tasks on a cluster (Ray is imported only then).

    Raises:
        ContainmentError: the host cannot sandbox the child and ``isolation.allow_weaker`` is
            false: the worker does not start.
    """
    modules = [m.module for m in config.modules]
    isolation = config.settings.isolation
    cap = int(config.settings.hub.max_model_gib * 2**30)
    if config.settings.executor == "ray":
        from bot.settings import Settings
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
            read_token=Settings.from_env().hf_read_token,  # never the write token
            compute=config.settings.compute.compute(),
        )
    compute = config.settings.compute.compute()
    if not isolation.enabled:
        return Executor(
            modules, api=api, store=store, device=device, max_model_bytes=cap, compute=compute
        )
    return IsolatedExecutor(
        modules,
        api=api,
        store=store,
        device=device,
        max_model_bytes=cap,
        memory_limit=int(isolation.memory_gib * 2**30),
        timeout=isolation.timeout_minutes * 60,
        compute=compute,
        allow_weaker=isolation.allow_weaker,
        user=isolation.user,
        tmp_bytes=int(isolation.tmp_gib * 2**30),
        max_file_bytes=int(isolation.max_file_gib * 2**30),
    )


class Worker:
    """Processes leased jobs: the executor behind one small interface (``process``).

    With a ``watcher``, the worker picks up config changes (a new module, perturbation, alias,
    a bumped ``version``) before its next job; an invalid change is logged and ignored.
    """

    def __init__(
        self,
        config: BotConfig,
        *,
        api: HfApi,
        store: Store,
        device: str | None = None,
        name: str | None = None,
        watcher: ConfigWatcher | None = None,
    ) -> None:
        self.api = api
        self.store = store
        self.device = device
        self.watcher = watcher
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.signer = load_signer()
        # The Space and `evalbot verify` read the public key from the store.
        store.set_identity(
            SigningIdentity(key_id=self.signer.key_id, public_key_pem=self.signer.public_key_pem())
        )
        self._configure(config)

    def _configure(self, config: BotConfig) -> None:
        self.source = config  # as loaded; the modules datasets' cards configure are added
        self.cards = self.store.card_modules_stamp()
        config = with_card_modules(config, self.store)
        self.config = config
        self.queue = config.settings.queue
        self.planner = planner_for(config)
        self.executor = make_executor(config, api=self.api, store=self.store, device=self.device)
        cache = config.settings.cache
        self.disk = DiskCache(int(cache.max_gib * 2**30), delete_models=cache.models == "delete")
        self.publisher = Publisher(
            self.api,
            self.store,
            config.settings.pull_requests,
            space_url=config.settings.space_url,
            benchmarks=benchmarks(config),
            class_groups=class_groups(config),
        )

    def refresh(self) -> None:
        """Take up a changed config (``watcher``) or new modules from datasets' cards, if any."""
        config = self.watcher.current() if self.watcher is not None else self.source
        if config is self.source and self.store.card_modules_stamp() == self.cards:
            return
        log.info(
            "worker %s: config or card modules changed, reloading the evaluation modules",
            self.name,
        )
        close = getattr(self.executor, "close", None)
        if callable(close):
            close()
        self._configure(config)

    @property
    def lease_s(self) -> float:
        return self.queue.lease_seconds

    # -- one job --------------------------------------------------------------------------

    def process(self, job: Job, cancel: threading.Event | None = None) -> JobResult:
        """Evaluate, store and publish one leased job; ``cancel`` set: stop, write nothing.

        Then, whatever the outcome, the model's snapshot is deleted and the datasets are
        evicted down to ``cache.max_gib`` (:mod:`evaluators.cache`).
        """
        self.refresh()
        with self.disk.job(job.repo_id):
            return self._process(job, cancel or threading.Event())

    def _process(self, job: Job, cancel: threading.Event) -> JobResult:
        model = self.store.get_model(job.repo_id)
        if model is None or model.evaluated_sha != job.sha:
            self._finish(job, "superseded")
            return JobResult("superseded")
        if opted_out(model.tags, None):  # by repo tag: not even evaluated (the card is read later)
            self._finish(job, "done")
            return JobResult("done", pr=Outcome.OPTED_OUT.value)
        if (problem := self._module_problem(model)) is not None:
            self._finish(job, "blocked", error=problem[1], module=problem[0])
            return JobResult("blocked")
        target = replace(model, sha=job.sha)  # the revision whose content is evaluated
        try:
            with self.disk.reading(m.dataset.repo for m in self.planner.modules_of(model)):
                execution = self.executor.evaluate(target, cancel=cancel)
        except Cancelled:
            log.warning("%s: evaluation cancelled: the lease was lost", job.repo_id)
            return JobResult("lease lost")
        except DisabledRepoError:
            return self._failed(job, model, FailureReason.NOT_FOUND, "the repo is disabled")
        except Exception as exc:
            fault = classify(exc)
            if fault is Fault.MODEL:
                assert isinstance(exc, EvaluationError)
                return self._failed(job, model, exc.reason, exc.detail)
            if fault is Fault.INFRASTRUCTURE:
                return self.back_off(job, exc, evaluated=False)
            if fault is Fault.MODULE:
                assert isinstance(exc, DatasetError)
                return self._blocked(job, model, exc)
            raise
        if cancel.is_set() or not self._holds(job):
            log.warning("%s: lease lost: the results are not written", job.repo_id)
            return JobResult("lease lost")
        persist(lambda: save_report(self.store, execution), within_s=self.lease_s, what="store")
        head = self.store.get_model(job.repo_id) or model
        return self._publish(job, head)

    def _holds(self, job: Job) -> bool:
        return persist(
            lambda: self.store.holds_lease(job), within_s=self.lease_s, what="lease check"
        )

    def _finish(
        self, job: Job, status: str, *, error: str | None = None, module: str | None = None
    ) -> bool:
        return persist(
            lambda: self.store.finish_job(job, status=status, error=error, module=module),
            within_s=self.lease_s,
            what="finishing the job",
        )

    def _module_problem(self, model: ModelRecord) -> tuple[str, str] | None:
        """(module id, error) of a module of this model whose dataset problem still stands."""
        problems = self.store.module_problems_by_id()
        for module in self.planner.modules_of(model):
            found = problems.get(module.id)
            if found is not None and found["digest"] == self.planner.digests[module.id]:
                return module.id, str(found["error"])
        return None

    def _blocked(self, job: Job, model: ModelRecord, exc: DatasetError) -> JobResult:
        modules = self.planner.modules_of(model)
        module = exc.module or (modules[0].id if modules else "(unknown)")
        digest = self.planner.digests.get(module, "")
        log.error(
            "module %s: its dataset cannot be used: %s (the job waits for the module to change)",
            module,
            exc,
            extra=_ctx(job),
        )
        self.store.record_module_problem(module, digest, str(exc))
        self._finish(job, "blocked", error=str(exc)[:500], module=module)
        return JobResult("blocked", failure=None)

    def _publish(self, job: Job, model: ModelRecord) -> JobResult:
        """Publish under the repo's lock: one publisher per repo at a time, on any machine."""
        if not self._holds(job):  # re-leased by another worker: it publishes
            log.warning("%s: lease lost before publishing", model.repo_id, extra=_ctx(job))
            return JobResult("lease lost", evaluated=True)
        records = current_results(self.store, self.planner, model, job.sha)
        try:
            result = publish_locked(
                self.publisher, model, records, owner=self.name, ttl_s=self.lease_s
            )
        except Exception as exc:
            if classify(exc) is Fault.INFRASTRUCTURE:
                return self.back_off(job, exc, evaluated=True)
            raise
        if result is None:  # another process is publishing this repo
            self.store.release_job(
                job, not_before=utcnow() + timedelta(seconds=30), error="repo busy", refund=True
            )
            return JobResult("queued", evaluated=True)
        return self._published(job, model, result)

    def _published(self, job: Job, model: ModelRecord, result: PublishResult) -> JobResult:
        if result.outcome is Outcome.DEFERRED:
            log.info("%s: PR deferred: %s", model.repo_id, result.detail, extra=_ctx(job))
            self.store.release_job(
                job, not_before=result.not_before or utcnow(), error="deferred", refund=True
            )
            return JobResult("queued", evaluated=True, pr=result.outcome.value)
        if result.outcome is Outcome.CARD_REFUSED:
            log.warning("%s: no PR, card refused: %s", model.repo_id, result.detail)
        self._finish(job, "done", error=None if result.detail is None else result.detail[:300])
        return JobResult("done", evaluated=True, pr=result.outcome.value)

    def _failed(
        self, job: Job, model: ModelRecord, reason: FailureReason, detail: str
    ) -> JobResult:
        log.warning(
            "%s@%s failed: %s (%s)",
            model.repo_id,
            job.sha[:8],
            reason.value,
            detail,
            extra=_ctx(job),
        )
        modules = [m.id for m in self.planner.modules_of(model)]
        if not self._holds(job):
            return JobResult("lease lost")
        persist(
            lambda: self.store.set_model_status(
                model.repo_id,
                job.sha,
                ModelStatus.FAILED,
                reason=reason,
                detail=detail,
                modules=modules,
                digest=self.planner.failure_digest(model),
            ),
            within_s=self.lease_s,
            what="store",
        )
        # A repo that is gone ends its job with the reason, not as an error.
        self._finish(job, "gone" if reason is FailureReason.NOT_FOUND else "failed", error=detail)
        return JobResult("failed", failure=reason.value)

    def back_off(self, job: Job, exc: BaseException, *, evaluated: bool) -> JobResult:
        """Trouble that is not the model's (the Hub down or rate limiting, MongoDB restarting,
        a full disk): hand the job back without spending its attempt, due after an
        exponential, jittered, capped delay, or what the Hub asked for (Retry-After)."""
        failures = job.transient + 1
        delay = backoff(
            failures,
            base_s=self.queue.retry_delay_seconds,
            cap_s=self.queue.max_backoff_seconds,
            hint_s=hint(exc),
        )
        error = describe(exc)
        log.warning(
            "%s: %s while %s; retry in %.0f s (trouble %d in a row; attempts not spent)",
            job.repo_id,
            error,
            "publishing" if evaluated else "evaluating",
            delay.total_seconds(),
            failures,
            extra=_ctx(job),
        )
        persist(
            lambda: self.store.release_job(
                job, not_before=utcnow() + delay, error=error, refund=True, transient=True
            ),
            within_s=self.lease_s,
            what="releasing the job",
        )
        return JobResult("queued", evaluated=evaluated)

    def retry_spent(self, job: Job, error: str) -> JobResult:
        """An unexpected error: the attempt counts, the job is retried after the retry delay."""
        delay = timedelta(seconds=self.queue.retry_delay_seconds)
        persist(
            lambda: self.store.release_job(job, not_before=utcnow() + delay, error=error),
            within_s=self.lease_s,
            what="releasing the job",
        )
        return JobResult("queued")

    # -- jobs that used up their attempts ---------------------------------------------------

    def reap(self) -> list[JobResult]:
        """End every job that used up its attempts, with a typed, visible reason."""
        results = []
        while (
            gone := self.store.take_exhausted_job(
                self.queue.max_attempts, worker=self.name, lease_s=60
            )
        ) is not None:
            results.append(self._exhausted(gone))
        return results

    def _exhausted(self, gone: ExhaustedJob) -> JobResult:
        """A job out of attempts. A model that killed its worker each time (out of memory,
        hung) has failed by its own doing (``load error``); a job that kept failing with
        unexpected errors ends as ``error`` (shown by ``evalbot status``), the model is not
        blamed for it and stays pending until an operator requeues it."""
        job, n = gone.job, gone.job.attempts
        why = f"crashed {n} times" if gone.crashed else f"failed {n} times: {gone.last_error}"
        model = self.store.get_model(job.repo_id)
        if (
            model is not None
            and model.evaluated_sha == job.sha
            and model.status is ModelStatus.EVALUATED
        ):
            self.store.finish_job(job, status="publish failed", error=why)
            log.error("%s: publishing gave up: %s", job.repo_id, why, extra=_ctx(job))
            return JobResult("publish failed", pr="publish failed")
        if not gone.crashed:
            self.store.finish_job(job, status="error", error=why)
            log.error("%s: gave up: %s", job.repo_id, why, extra=_ctx(job))
            return JobResult("error")
        detail = f"the evaluation {why} (the worker was killed, ran out of memory or hung)"
        self.store.set_model_status(
            job.repo_id,
            job.sha,
            ModelStatus.FAILED,
            reason=FailureReason.LOAD_ERROR,
            detail=detail,
            digest=self.planner.failure_digest(model) if model else None,
        )
        self.store.finish_job(job, status="failed", error=why)
        log.error("%s: gave up: %s", job.repo_id, detail, extra=_ctx(job))
        return JobResult("failed", failure=FailureReason.LOAD_ERROR.value)


def _ctx(job: Job) -> dict[str, object]:
    """Log context of a job (fields of the JSON log lines)."""
    return {"repo_id": job.repo_id, "sha": job.sha, "job": str(job.id), "attempt": job.attempts}
