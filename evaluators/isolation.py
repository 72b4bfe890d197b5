"""Evaluate in a child process: offline, without the Hub token, under memory and time limits.

The parent (the worker: it holds the token, the network and the store) plans, downloads the
model's safe files (:func:`~evaluators.hub.fetch_model`, which also refuses remote code) and
puts the datasets into the local ``datasets`` cache. A child process, a fresh interpreter started
with ``python -c`` in its own session, then loads the model and predicts
(:meth:`Executor.execute`). Its environment has no token (``HF_TOKEN``,
``HUGGING_FACE_HUB_TOKEN``, the database URIs and every variable whose value contains the token
are dropped; ``HF_TOKEN_PATH`` points at a file that does not exist) and is offline
(``HF_HUB_OFFLINE``, ``HF_DATASETS_OFFLINE``, ``TRANSFORMERS_OFFLINE``).

Limits:
    memory: one limit for the child and every process it starts (its decode workers), together
        (:mod:`evaluators.memory_limit`): a cgroup v2 of its own with ``memory.max`` where the
        host delegates the memory controller to the worker, else a watchdog thread in the
        worker that sums the tree's anonymous and shared memory (proportional set size:
        memory-mapped files and pages shared copy-on-write with the decode workers count once,
        or not at all) every 0.25 s and kills the tree past the limit. With the watchdog and a
        CPU device the child also sets ``RLIMIT_DATA`` at the limit on itself, after its imports
        (native code crashes, rather than raises, when an import's allocation fails) and before
        its job is read, so that an oversized allocation fails at once; never with CUDA, which
        maps large private regions to initialise. GPU memory does not count (torch raises its
        own OutOfMemoryError there, also ``out of memory``). What the preloaded imports take
        (~0.5 GB) counts in part (see :mod:`evaluators.memory_limit`).
        Reason ``out of memory``: the cgroup's or the watchdog's kill, Python's MemoryError,
        torch's "can't allocate memory", any other SIGKILL (the host's OOM killer). Native code
        that crashes on a failed allocation (SIGSEGV, SIGABRT) is reported as ``load error``
        naming the signal and the limit.
    time: wall clock from the child's start, its imports included (~5-8 s here); on expiry
        the child's whole process group gets SIGKILL.

What comes back: the child writes an :class:`ExecutionReport` or a :class:`ChildFailure` as JSON
(:mod:`evaluators.report_codec`) to a file it opened before entering its sandbox; the parent reads
it as data, building evalbot's record types only (a subverted child cannot run code in the parent
through it), refuses a result over :data:`MAX_RESULT_BYTES` unread (a subverted child must not
make the token-holding worker parse gigabytes), and refuses records that name another model.

The sandbox (:mod:`evaluators.containment`; ``sandbox=True``, the default): the child has no
network, its own PID and mount namespaces with a read-only view of only what the job needs (its
model's snapshot, its prepared datasets, Python and evalbot's packages), a private size-limited
``/tmp``, an unprivileged user (where the worker is root) or a user namespace without
capabilities, and a system-call filter. A host that cannot make it is refused at construction
(:class:`~evaluators.containment.ContainmentError`) unless ``allow_weaker``: then the child runs
as before, the worker's user with the network up, and a warning says so.

Debug hook: with ``EVALBOT_ISOLATION_PROBE=<path>`` in the parent's environment, the child
describes itself (pid, process group, user, capabilities, filter, environment variable names,
``HF_*`` settings, whether ``huggingface_hub`` finds a token, its limits and cgroups) and what it
could reach (see :func:`_write_probe`) before it evaluates; the parent writes that JSON to the
path.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import datasets
from huggingface_hub import HfApi, get_token
from huggingface_hub import constants as hf_constants

from evaluators import errors, progress
from evaluators.config import EvaluationModule
from evaluators.containment import (
    CONFINEMENT_FILE,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_TMP_BYTES,
    DEFAULT_USER,
    RESULT_FILE,
    SCRATCH,
    Confinement,
    ContainmentError,
    host_support,
    package_paths,
)
from evaluators.datasets_io import DatasetError, load_dataset
from evaluators.device import Compute
from evaluators.errors import Cancelled, EvaluationError, UnsafeWeightsError
from evaluators.executor import EvaluationTask, ExecutionReport, Executor
from evaluators.forkserver import ForkServer, ForkServerError
from evaluators.hub import PICKLE_SUFFIXES, FetchedModel, fetch_model
from evaluators.limits import load_json
from evaluators.memory_limit import MemoryLimit, gib
from evaluators.planner import unstored_examples
from evaluators.report_codec import ReportFormatError, decode, encode
from store.db import Store
from store.types import FailureReason, ModelRecord

_log = logging.getLogger(__name__)
DEFAULT_MEMORY_LIMIT = 8 * 2**30  # bytes, for the child and the processes it starts together
DEFAULT_TIMEOUT_S = 1800.0
PROBE_ENV = "EVALBOT_ISOLATION_PROBE"
SECRET_ENV = (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "EVALBOT_HF_READ_TOKEN",
    "MONGODB_URI",
    "MONGODB_READ_URI",
    "FIFTYONE_DATABASE_URI",
    "EVALBOT_SIGNING_KEY",
)
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
}
JOB_FILE, LOG_FILE = "job.pickle", "child.log"
OWN_PACKAGES = ("evaluators", "store", "perturbations")  # what the child imports of evalbot
PROBE_PREFIX = "probe: "
# A result the worker reads, at most: real ones are KBs to tens of MBs (outcome bits, example
# thumbnails); the JSON of anything larger is not parsed in the process that holds the token.
MAX_RESULT_BYTES = 256 * 2**20
# The child first asks Linux to SIGKILL it when its parent dies (and exits if that already
# happened), before its slow imports: a worker killed with SIGKILL leaves no evaluation running.
_CHILD_CODE = (
    "import ctypes, os, sys\n"
    "if sys.platform.startswith('linux'): ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG\n"
    "if os.getppid() != int(sys.argv[4]): os._exit(1)\n"
    "from evaluators.containment import confine_job\n"
    "result = confine_job(sys.argv[1])\n"
    "from evaluators.isolation import child_main\n"
    "child_main(*sys.argv[1:4], result=result)\n"
)
_MEMORY_MARKERS = (
    "MemoryError",
    "can't allocate memory",
    "out of memory",
    "std::bad_alloc",
    "memory allocation of",
)


@dataclass(frozen=True)
class ChildJob:
    """What the parent hands the child (pickled; the child trusts its parent)."""

    model: ModelRecord
    tasks: tuple[EvaluationTask, ...]
    modules: tuple[EvaluationModule, ...]
    fetched: FetchedModel
    device: str
    compute: Compute = field(default_factory=Compute)


@dataclass(frozen=True)
class ChildFailure:
    """An exception raised in the child, as plain data the parent turns back into one."""

    error: str  # class name: one of evaluators.errors, "DatasetError", or anything else
    detail: str
    reason: FailureReason | None = None
    extra: dict[str, object] = field(default_factory=dict)  # e.g. LabelMappingError.unmatched


class IsolatedExecutor:
    """:class:`Executor` with steps 4-5 in an offline child process without the token.

    Example:
        >>> executor = IsolatedExecutor(modules, api=HfApi(), store=store, timeout=600)  # doctest: +SKIP
        >>> report = executor.evaluate(model_record)  # doctest: +SKIP

    Args:
        memory_limit: bytes for the child and the processes it starts, together (``None``: no
            limit); see :mod:`evaluators.memory_limit`.
        timeout: seconds of wall clock for the child, start-up included.
        preload: fork the child from a preloaded server (:mod:`evaluators.forkserver`,
            started on first use) instead of starting a fresh interpreter per model.
    """

    def __init__(
        self,
        modules: Sequence[EvaluationModule],
        *,
        api: HfApi,
        store: Store | None = None,
        device: str | None = None,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
        timeout: float = DEFAULT_TIMEOUT_S,
        preload: bool = True,
        max_model_bytes: int | None = None,
        compute: Compute | None = None,
        sandbox: bool = True,
        allow_weaker: bool = False,
        user: str = DEFAULT_USER,
        tmp_bytes: int = DEFAULT_TMP_BYTES,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        self.executor = Executor(
            modules, api=api, store=store, device=device, max_model_bytes=max_model_bytes
        )
        self.sandboxed = sandbox and _sandbox_or_refuse(user, allow_weaker)
        self.user, self.tmp_bytes, self.max_file_bytes = user, tmp_bytes, max_file_bytes
        self.compute = compute or Compute()  # applied in the child
        self.preload = preload
        self._server: ForkServer | None = None
        self.modules = self.executor.modules
        self.api = api
        self.store = store
        self.memory_limit = memory_limit
        self.timeout = timeout

    def plan(self, model: ModelRecord) -> tuple[list[EvaluationTask], list[EvaluationTask]]:
        """(tasks to run, tasks skipped because their results are stored): see Executor.plan."""
        return self.executor.plan(model)

    def evaluate(
        self,
        model: ModelRecord,
        *,
        cancel: threading.Event | None = None,
        todo: Sequence[EvaluationTask] | None = None,
    ) -> ExecutionReport:
        """Steps 1-5 for one model revision, 4-5 in the child.

        ``cancel``: once set, the child is killed and :class:`Cancelled` raised.

        Raises:
            EvaluationError: typed as the in-process Executor raises it, or with reason
                ``timeout``, ``out of memory`` or ``load error`` when the child dies.
            DatasetError: a module YAML does not match its dataset.
        """
        if model.origin != "huggingface":
            # A curated zoo's model (FiftyOne): its weights come from the zoo's own URLs, and
            # no arbitrary upload runs; evaluated in this process.
            return self.executor.evaluate(model, cancel=cancel, todo=todo)
        todo, skipped = self.plan(model) if todo is None else (list(todo), [])
        if not todo:
            return ExecutionReport(model=model, skipped=skipped)
        fetched = fetch_model(
            self.api, model.repo_id, model.sha, max_bytes=self.executor.max_model_bytes
        )
        with tempfile.TemporaryDirectory(prefix="evalbot-child-") as tmp:
            os.chmod(tmp, 0o755)  # the child's unprivileged user reaches its job folder
            folder = Path(tmp) / "job"
            folder.mkdir(mode=0o755)
            self._cache_datasets(todo, folder / "datasets")
            job = ChildJob(
                model,
                tuple(todo),
                tuple(self.modules),
                fetched,
                str(self.executor.device),
                self.compute,
            )
            (folder / JOB_FILE).write_bytes(pickle.dumps(job))
            if self.sandboxed:
                (Path(tmp) / SCRATCH).mkdir(mode=0o755)
                confinement = self._confinement(folder, fetched, todo)
                (folder / CONFINEMENT_FILE).write_text(confinement.to_json())
            report = self._run_child(model.repo_id, folder, cancel, _model_types(fetched.path))
        _check_report(model, report)
        report = replace(report, model=model, skipped=skipped)
        report.examples = unstored_examples(self.store, report.examples)
        return report

    def _confinement(
        self, folder: Path, fetched: FetchedModel, todo: Sequence[EvaluationTask]
    ) -> Confinement:
        """What the child sees: evalbot's packages, the model's cache folder (its snapshot and
        the blobs the snapshot links to), the job folder, the prepared datasets it links to and
        the Hub cache folders of the job's dataset repos (files read as they are: COCO zips)."""
        repo_folder = fetched.path.parent.parent  # <cache>/models--org--name/snapshots/<sha>
        datasets = [str(p.resolve()) for p in (folder / "datasets").rglob("*") if p.is_symlink()]
        hub = Path(hf_constants.HF_HUB_CACHE)
        repos = {f"datasets--{t.module.dataset.repo.replace('/', '--')}" for t in todo}
        downloads = [str(hub / name) for name in sorted(repos) if (hub / name).is_dir()]
        return Confinement(
            read_only=(
                *package_paths(OWN_PACKAGES),
                str(repo_folder),
                str(folder),
                *datasets,
                *downloads,
            ),
            tmp_bytes=self.tmp_bytes,
            max_file_bytes=self.max_file_bytes,
            user=self.user,
            gpu=self.executor.device.type == "cuda",
        )

    def _cache_datasets(self, todo: Sequence[EvaluationTask], root: Path) -> None:
        """Load each dataset once here, online, and link its prepared cache under ``root``.

        ``root`` becomes the child's ``HF_DATASETS_CACHE``. Offline, ``datasets`` picks the most
        recently prepared revision of a dataset config whatever revision is asked for, so the
        child sees exactly one: the one this evaluation resolved.
        """
        cache = Path(datasets.config.HF_DATASETS_CACHE).resolve()
        token = self.api.token if isinstance(self.api.token, str) else None
        linked: dict[tuple[str, str], Path] = {}  # (dataset dir, config dir) -> prepared dir
        without_config: set[str] = set()  # dataset dirs that a module loads with config None
        module_of = {(t.module.dataset.source, t.dataset_revision): t.module for t in todo}
        for (_, revision), module in module_of.items():
            repo, config, split = module.dataset.repo, module.dataset.config, module.dataset.split
            ds = load_dataset(module, revision, token=token)
            if not ds.cache_files:
                raise DatasetError(f"{repo}@{revision[:8]} split {split}: not cached on disk")
            prepared = Path(ds.cache_files[0]["filename"]).parent.resolve()
            rel = prepared.relative_to(cache)  # <namespace>___<name>/<config>/<version>/<hash>
            name = rel.parts[0]
            if config is None:
                without_config.add(name)
            if linked.setdefault((name, rel.parts[1]), prepared) != prepared or (
                name in without_config and sum(n == name for n, _ in linked) > 1
            ):
                raise DatasetError(
                    f"{repo}: two revisions or configs of one dataset in one isolated "
                    "evaluation are ambiguous offline; pin one revision and name the config"
                )
            if not (root / rel).exists():
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).symlink_to(prepared, target_is_directory=True)

    def _environment(self, folder: Path) -> dict[str, str]:
        tokens = {t for t in (self.api.token, get_token()) if isinstance(t, str) and len(t) >= 8}
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in SECRET_ENV and not any(t in v for t in tokens)
        }
        env.update(OFFLINE_ENV)
        env["HF_TOKEN_PATH"] = str(folder / "no-token")
        env["HF_DATASETS_CACHE"] = str(folder / "datasets")
        return env

    def _run_child(
        self,
        repo_id: str,
        folder: Path,
        cancel: threading.Event | None = None,
        model_types: Sequence[str] = (),
    ) -> ExecutionReport:
        (folder / LOG_FILE).touch()
        with MemoryLimit(self.memory_limit, device=str(self.executor.device)) as limit:
            if self.preload:
                status = self._run_forked(repo_id, folder, limit, cancel, model_types)
            else:
                status = self._run_spawned(folder, limit, cancel)
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"{repo_id}: the evaluation was cancelled")
        if limit.exceeded is not None:
            raise EvaluationError(repo_id, limit.exceeded, reason=FailureReason.OUT_OF_MEMORY)
        if status is None:
            raise EvaluationError(
                repo_id, f"evaluation exceeded {self.timeout:g} s", reason=FailureReason.TIMEOUT
            )
        _relay_probe(folder / LOG_FILE)
        result = folder / RESULT_FILE
        if not result.exists() or (status != 0 and result.stat().st_size == 0):
            raise _death(repo_id, status, (folder / LOG_FILE), self.memory_limit)
        outcome = _read_outcome(repo_id, result, MAX_RESULT_BYTES)
        if isinstance(outcome, ChildFailure):
            raise rebuild_failure(repo_id, outcome)
        return outcome

    def _run_forked(
        self,
        repo_id: str,
        folder: Path,
        limit: MemoryLimit,
        cancel: threading.Event | None = None,
        model_types: Sequence[str] = (),
    ) -> int | None:
        """The child forked by the preloaded server; its exit code, None past the timeout.

        Raises:
            EvaluationError: ``load error`` when the server cannot start or dies.
        """
        if self._server is None:
            private = Path(tempfile.mkdtemp(prefix="evalbot-forkserver-"))
            env = self._environment(private)
            env.pop("HF_DATASETS_CACHE")  # each child gets its job's cache
            self._server = ForkServer(env, log_path=private / "server.log")
        server = self._server
        try:
            pid = server.start(folder, self.memory_limit, limit.rlimit_data, model_types)
            try:
                limit.watch(pid)
                status = _wait_relaying_progress(
                    server.wait, folder / LOG_FILE, self.timeout, cancel
                )
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)  # the child's session: all it started
            if status is None:
                server.wait(60)  # the server reaps the killed child
            _await_group_end(pid)
        except ForkServerError as error:
            raise EvaluationError(
                repo_id, f"the evaluation process failed: {error}", reason=FailureReason.LOAD_ERROR
            ) from error
        return status

    def _run_spawned(
        self, folder: Path, limit: MemoryLimit, cancel: threading.Event | None = None
    ) -> int | None:
        """A fresh interpreter for the child; its exit code, None past the timeout."""
        command = [
            sys.executable,
            "-c",
            _CHILD_CODE,
            str(folder),
            str(self.memory_limit or 0),
            str(limit.rlimit_data or 0),
            str(os.getpid()),
        ]
        with (folder / LOG_FILE).open("ab") as log:
            child = subprocess.Popen(
                command,
                env=self._environment(folder),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as a whole
            )

        def wait(timeout: float) -> int | None:
            try:
                return child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return None

        try:
            limit.watch(child.pid)
            return _wait_relaying_progress(wait, folder / LOG_FILE, self.timeout, cancel)
        finally:
            _kill_group(child)

    def close(self) -> None:
        """Stop the fork server (a later evaluation starts a new one)."""
        if self._server is not None:
            self._server.close()
            self._server = None


def _model_types(snapshot: Path) -> list[str]:
    """The ``model_type`` of the snapshot's ``config.json`` (and of a nested text or vision
    config), read within its cap; none when it cannot be read."""
    try:
        config = load_json(snapshot / "config.json", "config.json")
    except (OSError, ValueError):
        return []
    if not isinstance(config, dict):
        return []
    found = [config.get("model_type")]
    found += [v.get("model_type") for v in config.values() if isinstance(v, dict)]
    names = [t for t in found if isinstance(t, str) and len(t) <= 64]  # any JSON value may be here
    return list(dict.fromkeys(names))


# -- the parent's side of the child's death and result ---------------------------------------


def _wait_relaying_progress(
    wait: Callable[[float], int | None],
    log_path: Path,
    timeout: float,
    cancel: threading.Event | None = None,
) -> int | None:
    """``wait`` (seconds -> exit code, None while running) until the child ends, ``timeout``
    passes or ``cancel`` is set (None), logging the child's ``progress:`` lines meanwhile."""
    deadline = time.monotonic() + timeout
    offset = 0
    while True:
        status = wait(max(0.0, min(1.0, deadline - time.monotonic())))
        with log_path.open("rb") as handle:
            handle.seek(offset)
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        offset += len(complete)
        for line in complete.decode("utf-8", "replace").splitlines():
            if line.startswith(progress.PREFIX):
                _log.info("%s", line)
        if status is not None:
            return status
        if time.monotonic() >= deadline or (cancel is not None and cancel.is_set()):
            return None


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's process group (the child and anything it started), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    _await_group_end(child.pid)


def _await_group_end(pgid: int, timeout: float = 10.0) -> None:
    """Wait until no live process is left in the process group ``pgid``: the sandboxed process
    (the reaper's child, pid 1 of its namespace) and its decode workers take a moment to die
    after the SIGKILL, and are reaped by the host's init, not by the worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _group_alive(pgid):
        time.sleep(0.01)


def _group_alive(pgid: int) -> bool:
    """Whether a process that is not a zombie belongs to the process group ``pgid``."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def _death(repo_id: str, status: int, log: Path, memory_limit: int | None) -> EvaluationError:
    """The error for a child that ended without writing a result."""
    with log.open("rb") as f:
        f.seek(max(0, log.stat().st_size - 4096))
        tail = f.read().decode(errors="replace")
    last = next((line.strip() for line in reversed(tail.splitlines()) if line.strip()), "")
    last = f": {last[:300]}" if last else ""
    if status == -signal.SIGKILL or any(m in tail for m in _MEMORY_MARKERS):
        return EvaluationError(
            repo_id,
            f"the evaluation ran out of memory (limit {gib(memory_limit)}){last}",
            reason=FailureReason.OUT_OF_MEMORY,
        )
    if status < 0:  # native code may crash rather than raise when an allocation fails
        name = signal.Signals(-status).name if -status in signal.valid_signals() else -status
        how = f"died of signal {name} (memory limit {gib(memory_limit)})"
    else:
        how = f"exited with {status}"
    return EvaluationError(
        repo_id, f"the evaluation process {how}{last}", reason=FailureReason.LOAD_ERROR
    )


def _read_outcome(
    repo_id: str, path: Path, max_bytes: int | None = None
) -> ExecutionReport | ChildFailure:
    """The child's result file (JSON, :mod:`evaluators.report_codec`), read as data only."""
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise ReportFormatError(f"{size} bytes, over the limit of {max_bytes}")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1 if max_bytes else -1)
        outcome = decode(data, max_bytes=max_bytes)
    except (OSError, ReportFormatError, TypeError, ValueError) as exc:
        raise EvaluationError(
            repo_id, f"the evaluation process sent an unreadable result: {exc}"
        ) from None
    if not isinstance(outcome, ExecutionReport | ChildFailure):
        raise EvaluationError(repo_id, "the evaluation process sent something other than a result")
    return outcome


def _check_report(model: ModelRecord, report: ExecutionReport) -> None:
    """A child reports on its own model only: a record naming another is refused whole."""
    for record in report.records:
        if record.model_id != model.repo_id or record.model_sha != model.sha:
            raise EvaluationError(
                model.repo_id,
                f"the evaluation process sent a result for {record.model_id}@"
                f"{record.model_sha[:8]}, not for the model it evaluated",
            )


def _sandbox_or_refuse(user: str, allow_weaker: bool) -> bool:
    """Whether children are sandboxed: yes where the host can; where it cannot, no with
    ``allow_weaker`` (a warning), else a refusal.

    Raises:
        ContainmentError: the host cannot make the sandbox, and weaker isolation is not allowed.
    """
    support = host_support(user)
    if support.ok:
        return True
    if allow_weaker:
        _log.warning(
            "evaluating WITHOUT the sandbox (isolation.allow_weaker: true): the child runs as "
            "this user with the network up; %s",
            support.reason,
        )
        return False
    raise ContainmentError(
        f"this host cannot sandbox the evaluation child: {support.reason}. Fix that, or set "
        "isolation.allow_weaker: true in bot.yaml to evaluate in a child without the sandbox "
        "(it then runs as the worker's user, with the network up; trusted models only)"
    )


def _relay_probe(log: Path) -> None:
    """With ``EVALBOT_ISOLATION_PROBE`` set, copy the child's self-description to that path."""
    target = os.environ.get(PROBE_ENV)
    if not target:
        return
    with log.open("rb") as handle:
        lines = handle.read().decode(errors="replace").splitlines()
    probes = [line[len(PROBE_PREFIX) :] for line in lines if line.startswith(PROBE_PREFIX)]
    if probes:
        Path(target).write_text(probes[-1])


def rebuild_failure(repo_id: str, failure: ChildFailure) -> Exception:
    """The child's exception, typed as it was raised there."""
    if failure.error == "DatasetError":
        module = failure.extra.get("module")
        return DatasetError(failure.detail, module=module if isinstance(module, str) else None)
    cls = getattr(errors, failure.error, None)
    if isinstance(cls, type) and issubclass(cls, EvaluationError):
        exc = cls.__new__(cls)
        EvaluationError.__init__(exc, repo_id, failure.detail, reason=failure.reason)
        exc.__dict__.update(failure.extra)
        return exc
    reason = failure.reason or FailureReason.LOAD_ERROR
    return EvaluationError(repo_id, f"{failure.error}: {failure.detail}", reason=reason)


# -- the child ------------------------------------------------------------------------------


def child_main(folder: str, memory_limit: str, rlimit_data: str, *, result: int) -> None:
    """Entry point of the child process: evaluate the job in ``folder``, write the outcome.

    ``memory_limit``: bytes (``0``: none), named in messages; the parent enforces it.
    ``rlimit_data``: bytes of ``RLIMIT_DATA`` to set (``0``: none; see
    :class:`~evaluators.memory_limit.MemoryLimit`).
    ``result``: the open result file (:func:`~evaluators.containment.confine_job`), written once
    with the outcome as JSON.

    Every exception becomes a :class:`ChildFailure`: the parent gets a result or a dead child.
    """
    limit = int(memory_limit) or None
    handler = logging.StreamHandler(sys.stderr)  # the parent relays these lines
    handler.setFormatter(logging.Formatter("%(message)s"))
    progress.log.addHandler(handler)
    progress.log.setLevel(logging.INFO)
    outcome: ExecutionReport | ChildFailure
    try:
        if int(rlimit_data):
            _limit_data(int(rlimit_data))
        job = pickle.loads((Path(folder) / JOB_FILE).read_bytes())
        _write_probe(job)
        outcome = _evaluate(job)
        data = encode(replace(outcome, skipped=[]))
    except BaseException as exc:  # every failure goes back to the parent, typed
        data = encode(child_failure(exc, limit))
    with os.fdopen(result, "wb") as out:
        out.write(data)


def _limit_data(limit: int) -> None:
    hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _evaluate(job: ChildJob) -> ExecutionReport:
    refuse_pickles(job.model.repo_id, job.fetched.path)
    executor = Executor(job.modules, api=HfApi(), device=job.device, compute=job.compute)
    return executor.execute(ExecutionReport(model=job.model), job.tasks, job.fetched)


def refuse_pickles(repo_id: str, folder: Path) -> None:
    """Defence in depth: a model snapshot folder must hold no pickle file.

    Raises:
        UnsafeWeightsError: naming the pickle files found.
    """
    found = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.name.lower().endswith(PICKLE_SUFFIXES)
    )
    if found:
        raise UnsafeWeightsError(
            repo_id,
            f"pickle files in the snapshot ({', '.join(found)}); evalbot loads safetensors only",
        )


def _caused_by_memory(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(20):  # the chain of causes, bounded
        if seen is None:
            break
        if isinstance(seen, MemoryError) or (
            isinstance(seen, RuntimeError) and any(m in str(seen) for m in _MEMORY_MARKERS)
        ):
            return True
        if isinstance(seen, SystemError) and _NULL_RESULT in str(seen) and _data_limited():
            return True  # C code whose allocation failed under RLIMIT_DATA, without saying so
        seen = seen.__cause__ or seen.__context__
    return False


_NULL_RESULT = "returned NULL without setting an exception"


def _data_limited() -> bool:
    return resource.getrlimit(resource.RLIMIT_DATA)[0] != resource.RLIM_INFINITY


def child_failure(exc: BaseException, limit: int | None) -> ChildFailure:
    if _caused_by_memory(exc):
        return ChildFailure(
            "EvaluationError",
            f"out of memory (limit {gib(limit)}): {type(exc).__name__}: {exc}"[:1000],
            FailureReason.OUT_OF_MEMORY,
        )
    if isinstance(exc, EvaluationError):
        extra: dict[str, object] = {
            k: v
            for k, v in vars(exc).items()
            if k not in ("repo_id", "detail", "reason") and isinstance(v, str | int | float | list)
        }
        return ChildFailure(type(exc).__name__, exc.detail, exc.reason, extra)
    if isinstance(exc, DatasetError):
        return ChildFailure("DatasetError", str(exc), extra={"module": exc.module})
    return ChildFailure(type(exc).__name__, str(exc)[:1000])


def _write_probe(job: ChildJob) -> None:
    """The debug hook (``EVALBOT_ISOLATION_PROBE``): describe this child and what it can reach,
    as one ``probe:`` line in its log, which the parent copies to the path named.

    Besides its identity it tries what ``EVALBOT_ISOLATION_PROBE_CONNECT`` (``host:port,...``),
    ``_READ`` and ``_WRITE`` (paths, ``:``-separated) and ``_MONGO`` (a URI) name, and reads
    every ``/proc/<pid>/environ`` it can; each attempt's outcome is recorded, never raised.
    """
    if not os.environ.get(PROBE_ENV):
        return
    status = dict(
        line.split(":\t", 1) for line in Path("/proc/self/status").read_text().splitlines()
    )
    probe: dict[str, object] = {
        "pid": os.getpid(),
        "pgid": os.getpgid(0),
        "uid": os.getuid(),
        "euid": os.geteuid(),
        "cap_eff": status.get("CapEff", "").strip(),
        "no_new_privs": status.get("NoNewPrivs", "").strip(),
        "seccomp": status.get("Seccomp", "").strip(),
        "env": sorted(os.environ),
        "hf": {k: v for k, v in os.environ.items() if k.startswith(("HF_", "TRANSFORMERS_"))},
        "token_found": get_token() is not None,
        "rlimit_data": resource.getrlimit(resource.RLIMIT_DATA)[0],
        "rlimit_fsize": resource.getrlimit(resource.RLIMIT_FSIZE)[0],
        "cgroup": Path("/proc/self/cgroup").read_text(),
        "model": job.model.repo_id,
    }
    connect: dict[str, str] = {}
    for target in filter(None, os.environ.get(f"{PROBE_ENV}_CONNECT", "").split(",")):
        host, port = target.rsplit(":", 1)
        try:
            import socket

            socket.create_connection((host, int(port)), timeout=2).close()
            connect[target] = "connected"
        except OSError as exc:
            connect[target] = f"{type(exc).__name__}: {exc}"
    probe["connect"] = connect
    probe["read"] = {p: _attempt(partial(_read_head, Path(p))) for p in _paths("READ")}
    probe["write"] = {p: _attempt(partial(Path(p).write_text, "probe")) for p in _paths("WRITE")}
    environs = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                environs.append((proc / "environ").read_bytes().decode(errors="replace"))
    probe["environs"] = environs
    probe["pids"] = sorted(int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit())
    fds: dict[str, str] = {}
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            fds[fd.name] = os.readlink(fd)
    probe["fds"] = fds
    uri = os.environ.get(f"{PROBE_ENV}_MONGO")
    if uri:

        def ping() -> object:
            from pymongo import MongoClient

            client: MongoClient[dict[str, object]] = MongoClient(
                uri, serverSelectionTimeoutMS=2000, connectTimeoutMS=2000
            )
            try:
                return client.admin.command("ping")
            finally:
                client.close()

        probe["mongo"] = _attempt(ping)
    sys.stderr.write(PROBE_PREFIX + json.dumps(probe, default=str) + "\n")
    sys.stderr.flush()


def _read_head(path: Path) -> str:
    return path.read_bytes()[:200].hex()


def _paths(kind: str) -> list[str]:
    return [p for p in os.environ.get(f"{PROBE_ENV}_{kind}", "").split(os.pathsep) if p]


def _attempt(action: Callable[[], object]) -> str:
    try:
        return f"ok: {action()}"[:300]
    except Exception as exc:  # the outcome is the point
        return f"{type(exc).__name__}: {exc}"[:300]
