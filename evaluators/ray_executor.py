"""Evaluate on a Ray cluster: each model's evaluation is one Ray task (``executor: ray``).

The driver (an evalbot worker: it holds the token, the store and the job's lease) plans (steps
1-3: select, create, filter against the store), then submits steps 4-5 as a Ray task with
``num_gpus``/``num_cpus``/``memory`` per job; Ray places it. On the Ray worker the task
downloads the model's safe files and the datasets, evaluates them in the sandboxed child
(:mod:`evaluators.isolation`; in the Ray worker itself only where ``isolation.enabled`` is
false) and returns the :class:`ExecutionReport` as data: JSON bytes of
:mod:`evaluators.report_codec`, which Ray hands the driver as they are (raw bytes are not
pickled) and the driver decodes into evalbot's record types only. With ``ray.shards_per_job: K``
the job's tasks are cut into up to K shares, each its own Ray task evaluated the same way, and
the reports merged (:mod:`evaluators.sharding`). The driver stores the report with the store's
idempotent upserts and publishes, as with the local executors: MongoDB stays the one record of
jobs and results.

Trust: the Ray cluster is inside the trusted boundary (it runs evalbot's code, never a model's
outside the child). What reaches it: the read token, the model's files and the datasets; never
the write token, the database URIs or the signing key. A local instance (``address: None``) is
started with those removed from the environment its processes inherit
(:func:`start_or_join`).

Credentials: the write token and the database URI never reach the cluster. The task downloads
anonymously, or with ``read_token`` (``EVALBOT_HF_READ_TOKEN``): a token whose role the driver
checked with ``whoami`` to be ``read`` (anything else is refused before a task is submitted),
so that gated datasets (ImageNet-1k) the token's account was granted can be evaluated. It
travels in the task's arguments, not in its runtime environment (which Ray shows in its
dashboard and state API); the task downloads with it and the isolated child still gets no
token. Before submitting, the driver checks that the task may download each dataset
(``auth_check`` with the task's token): a gated or private one it may not is a
:class:`DatasetError` naming the fix, not a model's failure.

Failures:
    typed evaluation errors (unsupported, unknown labels, out of memory...) come back as data
    and are raised here as they are raised locally; Ray does not retry them. Hub errors met
    while downloading (429, 5xx) are raised here as themselves: the worker retries the job
    later.
    A Ray worker or node that dies mid-task: Ray re-runs the task, up to ``ray.max_retries``
    times; past that, :class:`EvaluationError` with reason ``worker lost`` (``out of memory``
    when Ray's memory monitor killed it). A task that outlives ``isolation.timeout_minutes``
    is cancelled: reason ``timeout``. A shard's failure cancels the job's other shards.

Example:
    >>> executor = RayExecutor(modules, api=HfApi(), store=store, gpus=1)  # doctest: +SKIP
    >>> report = executor.evaluate(model_record)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

import httpx2
from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

from evaluators.config import EvaluationModule
from evaluators.datasets_io import DatasetError
from evaluators.device import Compute
from evaluators.errors import READ_TOKEN_ENV, Cancelled, EvaluationError, ReadTokenError
from evaluators.executor import EvaluationTask, ExecutionReport, Executor
from evaluators.isolation import MAX_RESULT_BYTES, SECRET_ENV, ChildFailure, IsolatedExecutor
from evaluators.isolation import child_failure as as_failure  # the typed-error codec
from evaluators.isolation import rebuild_failure as rebuild
from evaluators.planner import unstored_examples
from evaluators.report_codec import ReportFormatError, decode, encode
from evaluators.sharding import merge_reports, split_tasks
from store.db import Store
from store.types import FailureReason, ModelRecord

TASK_NAME = "evalbot-evaluate"  # the Ray task's name (and its worker's process title)
_GRACE_S = 120.0  # beyond the isolation timeout, before a silent task is cancelled
HubError = HfHubHTTPError | httpx2.TransportError
HUB_ERROR = "HubError"  # ChildFailure.error of a Hub error met by the task (not by the child)
_RETRY_HEADERS = ("retry-after", "ratelimit", "ratelimit-policy")  # kept with a Hub error
# Never in the environment of a local Ray instance's processes (nor any variable holding the
# value of one of them, or the Hub token).
LOCAL_RAY_SECRET_ENV = SECRET_ENV  # the database URIs, tokens and the signing key
NO_TOKEN_FILE = "/nonexistent/evalbot-no-token"  # HF_TOKEN_PATH of the tasks: no stored token
_START = threading.Lock()  # one Ray start per process, with os.environ scrubbed meanwhile


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
    compute: Compute = field(default_factory=Compute)
    read_token: str | None = field(default=None, repr=False)  # None: anonymous downloads


@dataclass(frozen=True)
class RayJob:
    """What the driver sends the Ray task: the spec, the model and the planned tasks."""

    spec: RemoteSpec
    model: ModelRecord
    tasks: tuple[EvaluationTask, ...]


_Remote = Executor | IsolatedExecutor
_EXECUTORS: OrderedDict[str, _Remote] = OrderedDict()  # per Ray worker process, a few at most


def _executor_for(spec: RemoteSpec) -> _Remote:
    """This Ray worker's executor for ``spec`` (kept: dataset and variant caches, fork server)."""
    if spec.executor_id in _EXECUTORS:
        _EXECUTORS.move_to_end(spec.executor_id)
        return _EXECUTORS[spec.executor_id]
    api = HfApi(endpoint=spec.endpoint, token=spec.read_token or False)  # never the write token
    common: dict[str, Any] = {
        "api": api,
        "device": spec.device,
        "max_model_bytes": spec.max_model_bytes,
        "compute": spec.compute,
    }
    executor: _Remote
    if spec.isolation:
        executor = IsolatedExecutor(
            spec.modules, memory_limit=spec.memory_limit, timeout=spec.timeout_s, **common
        )
    else:
        executor = Executor(spec.modules, **common)
    _EXECUTORS[spec.executor_id] = executor
    while len(_EXECUTORS) > 4:
        _, old = _EXECUTORS.popitem(last=False)
        if isinstance(old, IsolatedExecutor):
            old.close()
    return executor


def _within(compute: Compute, *, cpus: float, gpus: float) -> Compute:
    """``compute`` for a task of ``cpus`` CPUs: unless set, decode workers fit the task's CPUs
    (all but one beside a GPU, half without), not the whole node's cores."""
    if compute.decode_workers is not None:
        return compute
    workers = max(0, int(cpus) - 1) if gpus else int(cpus) // 2
    return replace(compute, decode_workers=workers)


def evaluate_on_ray_worker(job: RayJob) -> bytes:
    """The Ray task: steps 4-5 of ``job``, its :class:`ExecutionReport` or a typed failure
    (:class:`ChildFailure`) encoded by :func:`evaluators.report_codec.encode`.

    A Hub error (429, 5xx, a dropped connection while downloading) comes back as a failure
    named :data:`HUB_ERROR` that the driver raises as the Hub error it was: its worker retries
    the job later, as when it downloads itself.
    """
    executor = _executor_for(job.spec)
    with _implicit_token(job.spec.read_token):
        try:  # planned by the driver, against its store
            report = executor.evaluate(job.model, todo=job.tasks)
        except (HfHubHTTPError, httpx2.TransportError) as exc:
            return encode(hub_failure(exc))
        except Exception as exc:  # sent back typed, raised again by the driver
            return encode(as_failure(exc, job.spec.memory_limit))
    return encode(replace(report, skipped=[]))


def hub_failure(exc: HubError) -> ChildFailure:
    """``exc`` as data: its class, message, and for an HTTP error the status, the URL and the
    headers that say when to retry."""
    extra: dict[str, object] = {"class": type(exc).__name__}
    response = getattr(exc, "response", None)
    if isinstance(exc, HfHubHTTPError) and response is not None:
        extra["status"] = response.status_code
        extra["url"] = str(response.request.url)
        extra["headers"] = {
            k: v for k, v in response.headers.items() if k.lower() in _RETRY_HEADERS
        }
    return ChildFailure(HUB_ERROR, str(exc)[:1000], extra=extra)


def hub_error(failure: ChildFailure) -> HubError:
    """The Hub error that :func:`hub_failure` sent, raised again by the driver."""
    info = failure.extra
    status, url, headers = info.get("status"), info.get("url"), info.get("headers")
    if isinstance(status, int) and isinstance(url, str):
        response = httpx2.Response(
            status,
            headers=headers if isinstance(headers, dict) else {},
            request=httpx2.Request("GET", url),
        )
        return HfHubHTTPError(failure.detail, response=response)
    cls = getattr(httpx2, str(info.get("class")), None)
    if isinstance(cls, type) and issubclass(cls, httpx2.TransportError):
        return cls(failure.detail)
    return httpx2.TransportError(failure.detail)


def read_outcome(repo_id: str, data: object) -> ExecutionReport:
    """The report a Ray task sent (:func:`evaluate_on_ray_worker`), decoded as data only.

    Raises:
        EvaluationError: the task's typed failure, as raised where it happened; or the task
            sent something that is not an encoded result.
        DatasetError: a module's dataset does not match its YAML.
        HfHubHTTPError, httpx2.TransportError: the Hub error the task met.
    """
    if not isinstance(data, bytes):
        raise EvaluationError(repo_id, f"the Ray task sent a {type(data).__name__}, not a result")
    try:
        outcome = decode(data, max_bytes=MAX_RESULT_BYTES)
    except ReportFormatError as exc:
        raise EvaluationError(repo_id, f"the Ray task sent an unreadable result: {exc}") from None
    if isinstance(outcome, ChildFailure):
        raise hub_error(outcome) if outcome.error == HUB_ERROR else rebuild(repo_id, outcome)
    if not isinstance(outcome, ExecutionReport):
        raise EvaluationError(repo_id, "the Ray task sent something other than a result")
    return outcome


def start_or_join(address: str | None, *, secrets: Iterable[str | None] = ()) -> None:
    """Join the Ray cluster at ``address``, or start a local instance (``None``); nothing if
    this process already did.

    A local instance's processes (GCS, raylet, the workers they start) inherit this process's
    environment when ``ray.init`` starts them, so it runs with :data:`LOCAL_RAY_SECRET_ENV`
    removed from ``os.environ``, as well as every variable whose value holds one of those
    values, the Hub token or one of ``secrets``; they are put back once Ray is up. Meanwhile a
    lock keeps other threads from starting Ray; a thread that reads those variables in that
    second or two sees them unset (evalbot reads them once, at start).
    """
    import ray

    with _START:
        if ray.is_initialized():
            return
        with _without_secrets(secrets) if address is None else nullcontext():
            ray.init(address=address, log_to_driver=False, include_dashboard=False)


@contextmanager
def _without_secrets(secrets: Iterable[str | None]) -> Iterator[None]:
    """``os.environ`` without the secrets while the block runs (see :func:`start_or_join`)."""
    named = (os.environ.get(name) for name in LOCAL_RAY_SECRET_ENV)
    values = {v for v in (*secrets, get_token(), *named) if v and len(v) >= 8}
    removed = {
        k: v
        for k, v in os.environ.items()
        if k in LOCAL_RAY_SECRET_ENV or any(s in v for s in values)
    }
    for name in removed:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(removed)


@contextmanager
def _implicit_token(token: str | None) -> Iterator[None]:
    """``HF_TOKEN`` of this Ray worker process while one task runs: the read token or none.

    The executors evaluating in this process (isolation off, shards) load datasets with the
    process's token; the isolated child's environment drops it. Without a read token the task's
    runtime environment sets ``HF_HUB_DISABLE_IMPLICIT_TOKEN`` as well, so a token the node has
    of its own is never used.
    """
    before = os.environ.pop("HF_TOKEN", None)
    if token is not None:
        os.environ["HF_TOKEN"] = token
    try:
        yield
    finally:
        os.environ.pop("HF_TOKEN", None)
        if before is not None:
            os.environ["HF_TOKEN"] = before


class RayExecutor:
    """Steps 1-3 here, steps 4-5 as a Ray task; same interface as :class:`Executor`.

    Args:
        address: the cluster (``"auto"``, ``"ray://head:10001"``); None starts a local Ray
            instance. Unused when Ray is already initialised in this process.
        gpus, cpus, memory: Ray resources per evaluation task (memory in bytes, None: none
            reserved).
        max_retries: re-runs of a task whose worker or node died.
        shards: >1 cuts each job's tasks into up to that many shares, evaluated as parallel
            Ray tasks (each as a whole job: isolated, limited) and merged
            (:mod:`evaluators.sharding`).
        isolation: evaluate in the sandboxed child process on the Ray worker.
        memory_limit, timeout: the child's limits, as for :class:`IsolatedExecutor`.
        read_token: the token the Ray tasks download with (``EVALBOT_HF_READ_TOKEN``); its
            role must be ``read``. None: they download anonymously.

    Raises:
        ReadTokenError: ``read_token`` is the write token, is refused by the Hub, or its role
            is not ``read`` (checked before Ray is started or joined).
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
        read_token: str | None = None,
        compute: Compute | None = None,
    ) -> None:
        import ray

        if read_token is not None:
            _check_read_token(api, read_token)
        self.planner = Executor(
            modules, api=api, store=store, device="cpu", max_model_bytes=max_model_bytes
        )
        self.modules = self.planner.modules
        self.api = api
        self.store = store
        self.timeout = timeout
        self.max_retries = max_retries
        self._read_token = read_token
        self.shards = shards
        self._readable: set[str] = set()  # datasets the Ray task may download (checked once)
        start_or_join(
            address, secrets=(api.token if isinstance(api.token, str) else None, read_token)
        )
        self._spec = RemoteSpec(
            executor_id=uuid.uuid4().hex,
            modules=tuple(self.modules),
            endpoint=api.endpoint,
            device=device or (None if gpus else "cpu"),
            max_model_bytes=max_model_bytes,
            isolation=isolation,
            memory_limit=memory_limit,
            timeout_s=timeout,
            compute=_within(compute or Compute(), cpus=cpus, gpus=gpus),
            read_token=read_token,
        )
        env = {"HF_ENDPOINT": api.endpoint, "HF_TOKEN_PATH": NO_TOKEN_FILE}
        if read_token is None:
            env["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1"
        self._task = ray.remote(evaluate_on_ray_worker).options(
            name=TASK_NAME,
            num_gpus=gpus,
            num_cpus=cpus,
            memory=memory,
            max_retries=max_retries,
            retry_exceptions=False,  # a typed evaluation failure is an answer, not a crash
            runtime_env={"env_vars": env},
        )

    def plan(self, model: ModelRecord) -> tuple[list[EvaluationTask], list[EvaluationTask]]:
        """(tasks to run, tasks skipped because their results are stored): see Executor.plan."""
        return self.planner.plan(model)

    def evaluate(
        self, model: ModelRecord, *, cancel: threading.Event | None = None
    ) -> ExecutionReport:
        """Steps 1-5 for one model revision, 4-5 on the cluster (in ``shards`` Ray tasks).

        ``cancel``: once set, the Ray tasks are cancelled and :class:`Cancelled` raised.

        Raises:
            EvaluationError: typed as locally; ``worker lost`` once Ray's retries are spent,
                ``timeout`` when a task outlives the isolation timeout.
            DatasetError: a module YAML does not match its dataset, or the Ray task may not
                download it (gated or private to the task's token): the message names the fix.
            HfHubHTTPError, httpx2.TransportError: the Hub was busy or out of reach for a task.
        """
        import ray

        todo, skipped = self.plan(model)
        if not todo:
            return ExecutionReport(model=model, skipped=skipped)
        self._check_downloadable(todo)
        refs = [
            self._task.remote(RayJob(self._spec, model, tuple(share)))
            for share in split_tasks(todo, self.shards)
        ]
        try:
            parts = [
                read_outcome(model.repo_id, data) for data in self._gather(model, refs, cancel)
            ]
        except BaseException:
            for ref in refs:  # the other shards' work is of no use now
                ray.cancel(ref, force=True)
            raise
        report = replace(merge_reports(model, parts), skipped=skipped)
        report.examples = unstored_examples(self.store, report.examples)
        return report

    def _gather(
        self, model: ModelRecord, refs: list[Any], cancel: threading.Event | None
    ) -> list[object]:
        """What the tasks of ``refs`` returned (Ray's own errors made typed ones)."""
        import ray

        try:
            data: list[object] = _get(refs, self.timeout + _GRACE_S, cancel)
            return data
        except ray.exceptions.GetTimeoutError:
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

    def _check_downloadable(self, todo: Sequence[EvaluationTask]) -> None:
        """Whether the Ray task, with its token, may download each dataset of ``todo``.

        Raises:
            DatasetError: a gated dataset the task's token has no access to, or a private one
                it cannot see.
        """
        for task in todo:
            repo, module = task.module.dataset.repo, task.module.id
            if repo in self._readable:
                continue
            try:
                self.api.auth_check(repo, repo_type="dataset", token=self._read_token or False)
            except RepositoryNotFoundError as exc:  # GatedRepoError included
                raise DatasetError(
                    _not_downloadable(repo, module, exc, read_token=self._read_token is not None),
                    module=module,
                ) from exc
            self._readable.add(repo)


def _check_read_token(api: HfApi, token: str) -> None:
    """Refuse ``token`` unless the Hub says its role is ``read``.

    Raises:
        ReadTokenError: it is the driver's own token, the Hub refuses it, or its role is
            another (``write``, ``fineGrained``).
    """
    fix = (
        f"create a token with the 'read' role for an account granted access to the gated "
        f"datasets and set {READ_TOKEN_ENV} to it, or unset {READ_TOKEN_ENV} to download "
        "anonymously"
    )
    if token == api.token:
        raise ReadTokenError(f"it is HF_TOKEN, the bot's write token, which stays off Ray: {fix}")
    try:
        role = api.whoami(token=token)["auth"]["accessToken"]["role"]
    except HfHubHTTPError as exc:
        if exc.response.status_code != 401:
            raise
        raise ReadTokenError(f"the Hub at {api.endpoint} refuses this token (401): {fix}") from None
    if role != "read":
        raise ReadTokenError(
            f"the token's role is '{role}', and only a 'read' token goes to Ray tasks: {fix}",
            role=role,
        )


def _not_downloadable(repo: str, module: str, exc: Exception, *, read_token: bool) -> str:
    problem = (
        f"{repo} is gated on the Hub"
        if isinstance(exc, GatedRepoError)
        else f"{repo} is private on the Hub (or gone)"
    )
    then = f"then `evalbot requeue --module {module}`"
    if read_token:
        return (
            f"{problem} and the account of {READ_TOKEN_ENV} may not download it: grant that "
            f"account access to {repo}, or set {READ_TOKEN_ENV} to a read token of one that "
            f"has it, {then}"
        )
    return (
        f"{problem} and the Ray tasks download anonymously: set {READ_TOKEN_ENV} to a read "
        f"token of an account granted access to {repo}, {then}"
    )


def _get(ref: Any, timeout: float, cancel: threading.Event | None) -> Any:
    """``ray.get(ref)`` (one ref or a list) within ``timeout`` seconds; GetTimeoutError past it or once ``cancel``
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
