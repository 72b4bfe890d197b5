"""Evaluate on a Ray cluster: each model's evaluation is one Ray task (``executor: ray``).

The driver (an evalbot worker: it holds the token, the store and the job's lease) plans (steps
1-3: select, create, filter against the store), then submits steps 4-5 as a Ray task with
``num_gpus``/``num_cpus``/``memory`` per job; Ray places it. On the Ray worker the task
downloads the model's safe files and the datasets anonymously (no token, no database
credentials ever reach the cluster), evaluates them (in an isolated child process unless
``isolation.enabled`` is false, or in ``ray.shards_per_job`` parallel shards) and returns the
:class:`ExecutionReport`. The driver stores it with the store's idempotent upserts and
publishes, as with the local executors: MongoDB stays the one record of jobs and results.

Failures:
    typed evaluation errors (unsupported, unknown labels, out of memory...) come back as data
    and are raised here as they are raised locally; Ray does not retry them. Hub errors met
    while downloading (429, 5xx) are raised here as themselves: the worker retries the job
    later.
    A Ray worker or node that dies mid-task: Ray re-runs the task, up to ``ray.max_retries``
    times; past that, :class:`EvaluationError` with reason ``worker lost`` (``out of memory``
    when Ray's memory monitor killed it). A task that outlives ``isolation.timeout_minutes``
    is cancelled: reason ``timeout``.

Example:
    >>> executor = RayExecutor(modules, api=HfApi(), store=store, gpus=1)  # doctest: +SKIP
    >>> report = executor.evaluate(model_record)  # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx2
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from evaluators.config import EvaluationModule
from evaluators.errors import Cancelled, EvaluationError
from evaluators.executor import EvaluationTask, ExecutionReport, Executor
from evaluators.isolation import ChildFailure, IsolatedExecutor
from evaluators.isolation import child_failure as as_failure  # the typed-error codec
from evaluators.isolation import rebuild_failure as rebuild
from evaluators.sharding import ShardedExecutor
from store.db import Store
from store.types import DatasetExampleRecord, FailureReason, ModelRecord

TASK_NAME = "evalbot-evaluate"  # the Ray task's name (and its worker's process title)
_GRACE_S = 120.0  # beyond the isolation timeout, before a silent task is cancelled
HubError = HfHubHTTPError | httpx2.TransportError


@dataclass(frozen=True)
class RemoteSpec:
    """How the Ray task evaluates: the executor it builds on the Ray worker."""

    executor_id: str  # one per RayExecutor: the Ray worker keeps that executor between jobs
    modules: tuple[EvaluationModule, ...]
    endpoint: str
    device: str | None
    max_model_bytes: int | None
    isolation: bool
    memory_limit: int | None
    timeout_s: float
    shards: int
    cpus: float


@dataclass(frozen=True)
class RayJob:
    """What the driver sends the Ray task: the spec, the model and the planned tasks."""

    spec: RemoteSpec
    model: ModelRecord
    tasks: tuple[EvaluationTask, ...]


class _Planned:
    """Mixin: ``plan`` answers the driver's plan (the driver filtered against the store)."""

    todo: Sequence[EvaluationTask] = ()

    def plan(self, model: ModelRecord) -> tuple[list[EvaluationTask], list[EvaluationTask]]:
        return list(self.todo), []


class _PlannedExecutor(_Planned, Executor):
    pass


class _PlannedIsolatedExecutor(_Planned, IsolatedExecutor):
    pass


class _PlannedShardedExecutor(_Planned, ShardedExecutor):
    pass


_Remote = _PlannedExecutor | _PlannedIsolatedExecutor | _PlannedShardedExecutor
_EXECUTORS: OrderedDict[str, _Remote] = OrderedDict()  # per Ray worker process, a few at most


def _executor_for(spec: RemoteSpec) -> _Remote:
    """This Ray worker's executor for ``spec`` (kept: dataset and variant caches, fork server)."""
    if spec.executor_id in _EXECUTORS:
        _EXECUTORS.move_to_end(spec.executor_id)
        return _EXECUTORS[spec.executor_id]
    api = HfApi(endpoint=spec.endpoint, token=False)  # anonymous: the token stays with the driver
    common: dict[str, Any] = {
        "api": api,
        "device": spec.device,
        "max_model_bytes": spec.max_model_bytes,
    }
    executor: _Remote
    if spec.shards > 1:
        executor = _PlannedShardedExecutor(
            spec.modules, shards=spec.shards, num_cpus=spec.cpus, **common
        )
    elif spec.isolation:
        executor = _PlannedIsolatedExecutor(
            spec.modules, memory_limit=spec.memory_limit, timeout=spec.timeout_s, **common
        )
    else:
        executor = _PlannedExecutor(spec.modules, **common)
    _EXECUTORS[spec.executor_id] = executor
    while len(_EXECUTORS) > 4:
        _, old = _EXECUTORS.popitem(last=False)
        if isinstance(old, IsolatedExecutor):
            old.close()
    return executor


def evaluate_on_ray_worker(job: RayJob) -> ExecutionReport | ChildFailure | HubError:
    """The Ray task: steps 4-5 of ``job``; a typed failure comes back as data.

    A Hub error (429, 5xx, a dropped connection while downloading) comes back as itself: the
    driver's worker retries the job later, as when it downloads itself.
    """
    executor = _executor_for(job.spec)
    executor.todo = job.tasks
    try:
        return executor.evaluate(job.model)
    except (HfHubHTTPError, httpx2.TransportError) as exc:
        return exc
    except Exception as exc:  # sent back typed, raised again by the driver
        return as_failure(exc, job.spec.memory_limit)


class RayExecutor:
    """Steps 1-3 here, steps 4-5 as a Ray task; same interface as :class:`Executor`.

    Args:
        address: the cluster (``"auto"``, ``"ray://head:10001"``); None starts a local Ray
            instance. Unused when Ray is already initialised in this process.
        gpus, cpus, memory: Ray resources per evaluation task (memory in bytes, None: none
            reserved).
        max_retries: re-runs of a task whose worker or node died.
        shards: >1 predicts each classification split in that many parallel Ray tasks
            (:mod:`evaluators.sharding`; the model then runs in Ray workers, not a child).
        isolation: evaluate in an offline child process on the Ray worker.
        memory_limit, timeout: the child's limits, as for :class:`IsolatedExecutor`.
    """

    def __init__(
        self,
        modules: Sequence[EvaluationModule],
        *,
        api: HfApi,
        store: Store | None = None,
        device: str | None = None,
        max_model_bytes: int | None = None,
        address: str | None = None,
        gpus: float = 0,
        cpus: float = 1,
        memory: int | None = None,
        max_retries: int = 2,
        shards: int = 1,
        isolation: bool = True,
        memory_limit: int | None = None,
        timeout: float = 1800.0,
    ) -> None:
        import ray

        self.planner = Executor(
            modules, api=api, store=store, device="cpu", max_model_bytes=max_model_bytes
        )
        self.modules = self.planner.modules
        self.api = api
        self.store = store
        self.timeout = timeout
        self.max_retries = max_retries
        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False, include_dashboard=False)
        self._spec = RemoteSpec(
            executor_id=uuid.uuid4().hex,
            modules=tuple(self.modules),
            endpoint=api.endpoint,
            device=device or (None if gpus else "cpu"),
            max_model_bytes=max_model_bytes,
            isolation=isolation,
            memory_limit=memory_limit,
            timeout_s=timeout,
            shards=shards,
            cpus=cpus,
        )
        self._task = ray.remote(evaluate_on_ray_worker).options(
            name=TASK_NAME,
            num_gpus=gpus,
            num_cpus=cpus,
            memory=memory,
            max_retries=max_retries,
            retry_exceptions=False,  # a typed evaluation failure is an answer, not a crash
            runtime_env={
                "env_vars": {"HF_ENDPOINT": api.endpoint, "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1"}
            },
        )

    def plan(self, model: ModelRecord) -> tuple[list[EvaluationTask], list[EvaluationTask]]:
        """(tasks to run, tasks skipped because their results are stored): see Executor.plan."""
        return self.planner.plan(model)

    def evaluate(
        self, model: ModelRecord, *, cancel: threading.Event | None = None
    ) -> ExecutionReport:
        """Steps 1-5 for one model revision, 4-5 on the cluster.

        ``cancel``: once set, the Ray task is cancelled and :class:`Cancelled` raised.

        Raises:
            EvaluationError: typed as locally; ``worker lost`` once Ray's retries are spent,
                ``timeout`` when the task outlives the isolation timeout.
            DatasetError: a module YAML does not match its dataset.
        """
        import ray

        todo, skipped = self.plan(model)
        if not todo:
            return ExecutionReport(model=model, skipped=skipped)
        job = RayJob(self._spec, model, tuple(todo))
        ref = self._task.remote(job)
        try:
            outcome = _get(ref, self.timeout + _GRACE_S, cancel)
        except ray.exceptions.GetTimeoutError:
            ray.cancel(ref, force=True)
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{model.repo_id}: the evaluation was cancelled") from None
            raise EvaluationError(
                model.repo_id,
                f"the Ray task exceeded {self.timeout + _GRACE_S:g} s",
                reason=FailureReason.TIMEOUT,
            ) from None
        except ray.exceptions.OutOfMemoryError as exc:
            raise EvaluationError(
                model.repo_id,
                f"Ray's memory monitor killed the task: {_first_line(exc)}",
                reason=FailureReason.OUT_OF_MEMORY,
            ) from None
        except ray.exceptions.RayTaskError as exc:  # the task raised what it could not return
            raise EvaluationError(
                model.repo_id, f"the Ray task raised {_first_line(exc)}"
            ) from None
        except ray.exceptions.RayError as exc:  # worker or node died, retries spent
            raise EvaluationError(
                model.repo_id,
                f"Ray task failed after {self.max_retries} retries: "
                f"{type(exc).__name__}: {_first_line(exc)}",
                reason=FailureReason.WORKER_LOST,
            ) from None
        if isinstance(outcome, ChildFailure):
            raise rebuild(model.repo_id, outcome)
        if isinstance(outcome, HubError):
            raise outcome
        report: ExecutionReport = replace(outcome, model=model, skipped=skipped)
        report.examples = self._unstored(report.examples)
        return report

    def _unstored(self, examples: list[DatasetExampleRecord]) -> list[DatasetExampleRecord]:
        """The examples of splits the store has none of (the Ray task cannot ask the store)."""
        if self.store is None:
            return examples
        known: dict[tuple[str, str], bool] = {}
        out = []
        for example in examples:
            key = (example.dataset_id, example.split)
            if key not in known:
                known[key] = self.store.has_examples(*key)
            if not known[key]:
                out.append(example)
        return out


def _get(ref: Any, timeout: float, cancel: threading.Event | None) -> Any:
    """``ray.get(ref)`` within ``timeout`` seconds; GetTimeoutError past it or once ``cancel``
    is set (checked every second)."""
    import ray

    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            return ray.get(ref, timeout=max(0.0, min(1.0, left)))
        except ray.exceptions.GetTimeoutError:
            if left <= 1.0 or (cancel is not None and cancel.is_set()):
                raise


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines() or [""])[0][:300]
