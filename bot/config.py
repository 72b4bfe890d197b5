"""``config/bot.yaml``: schedule, PR policy, sources. Strict: unknown keys are errors."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evaluators.config import ModuleFile, format_validation_error, load_modules, read_yaml
from evaluators.device import Compute
from evaluators.errors import ConfigError

log = logging.getLogger(__name__)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Strict):
    interval_minutes: float = Field(default=60, gt=0)


class Discovery(_Strict):
    sources: list[Literal["huggingface", "fiftyone"]] = Field(default=["huggingface"])
    limit_per_query: int = Field(default=500, ge=1, le=100_000)  # new heads looked up / cycle
    backfill_days: float = Field(default=3, ge=0, le=3650)  # the first run lists this far back
    fiftyone_models: list[str] = Field(default_factory=lambda: ["*"])  # zoo names, fnmatch
    # also list each task's newest models and evaluate them on modules their datasets' cards
    # configure (`train-eval-index`) where no YAML module covers the dataset
    self_configuring: bool = True
    # also list each task's newest models that declare no dataset and evaluate those whose
    # training data is inferred (bot.undeclared, evaluators.inference)
    infer_training_data: bool = True

    def zoo_patterns(self) -> list[str] | None:
        """The zoo model names the ``fiftyone`` source takes; None when it is off."""
        return self.fiftyone_models if "fiftyone" in self.sources else None


class PullRequests(_Strict):
    enabled: bool = True
    max_per_hour: int = Field(default=30, ge=0)
    deny: list[str] = Field(default_factory=list)

    def denies(self, repo_id: str) -> bool:
        org = repo_id.split("/", 1)[0]
        return repo_id in self.deny or org in self.deny


class Queue(_Strict):
    lease_seconds: float = Field(default=600, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    retry_delay_seconds: float = Field(
        default=300, ge=0
    )  # first wait after trouble not the model's
    max_backoff_seconds: float = Field(default=3600, ge=0)  # the longest such wait (doubling)
    poll_seconds: float = Field(default=30, gt=0)


class Hub(_Strict):
    requests_per_5min: int = Field(default=1000, ge=1)
    quota_share: float = Field(default=0.5, gt=0, le=1)
    max_retries: int = Field(default=3, ge=0)
    max_wait_seconds: float = Field(default=60, ge=0)
    max_model_gib: float = Field(default=20, gt=0)  # a model's files to download, at most


class Isolation(_Strict):
    """Where models run: a child process, offline, without the token, under limits (default)."""

    enabled: bool = True
    # the child and the decode workers it starts, together (evaluators/memory_limit.py): a
    # cgroup v2 memory.max where the host delegates it, else a watchdog of their own memory
    memory_gib: float = Field(default=8, gt=0)
    timeout_minutes: float = Field(default=30, gt=0)  # the child's wall clock, imports included
    # the child's sandbox (evaluators/containment.py): refused hosts stop the worker unless
    # allow_weaker, which evaluates in a plain child (the worker's user, the network up)
    allow_weaker: bool = False
    user: str = Field(default="nobody", min_length=1)  # the child's user where the worker is root
    tmp_gib: float = Field(default=2, gt=0)  # its private /tmp and /dev/shm, each
    max_file_gib: float = Field(default=4, gt=0)  # the largest file it may write


class ComputeSettings(_Strict):
    """How an evaluation uses the machine (README, "Sizing"); null: from the machine."""

    decode_workers: int | None = Field(default=None, ge=0)  # 0: decode in the evaluating process
    torch_threads: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=1)  # overrides every module's batch_size
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # on CUDA; the CPU is fp32

    def compute(self) -> Compute:
        return Compute(
            decode_workers=self.decode_workers,
            torch_threads=self.torch_threads,
            batch_size=self.batch_size,
            precision=self.precision,
        )


class CacheSettings(_Strict):
    """The worker's disk (README, "Disk"): model snapshots and the dataset cache."""

    max_gib: float = Field(default=200, gt=0)  # the datasets, together; past it: LRU evicted
    models: Literal["delete", "keep"] = "delete"  # a model's snapshot after its job


class RaySettings(_Strict):
    """``executor: ray``: each job's evaluation is a Ray task (README, "Scaling out on Ray")."""

    address: str | None = None  # None: a local instance; "auto"; "ray://head:10001"
    gpus_per_job: float = Field(default=0, ge=0)  # Ray's num_gpus per evaluation task
    cpus_per_job: float = Field(default=1, gt=0)  # Ray's num_cpus (and the task's torch threads)
    memory_gib: float | None = Field(default=None, gt=0)  # Ray's memory reservation per task
    max_retries: int = Field(default=2, ge=0)  # re-runs of a task whose worker or node died
    max_concurrent_jobs: int = Field(default=4, ge=1)  # `serve --with-worker`: worker threads
    # >1: a job's tasks (original data, variants) as up to that many parallel Ray tasks, each a
    # sandboxed child; merged exactly
    shards_per_job: int = Field(default=1, ge=1)


class BotSettings(_Strict):
    version: Literal[1] = 1
    executor: Literal["local", "ray"] = "local"
    ray: RaySettings = RaySettings()
    schedule: Schedule = Schedule()
    space_url: str = "http://127.0.0.1:7860"
    tasks_dir: str = "tasks"
    discovery: Discovery = Discovery()
    pull_requests: PullRequests = PullRequests()
    queue: Queue = Queue()
    hub: Hub = Hub()
    isolation: Isolation = Isolation()
    cache: CacheSettings = CacheSettings()
    compute: ComputeSettings = ComputeSettings()
    # the public results dataset (a Hub dataset repo the token can write); None: not published
    results_dataset: str | None = Field(
        default="evalbot/results", pattern=r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$"
    )


@dataclass(frozen=True)
class BotConfig:
    path: Path
    settings: BotSettings
    modules: list[ModuleFile]


def load_config(config_dir: Path) -> BotConfig:
    """Load ``bot.yaml`` and every evaluation module it points at.

    Raises:
        evaluators.errors.ConfigError: naming the file and the key.
    """
    path = config_dir / "bot.yaml"
    data = read_yaml(path)
    try:
        settings = BotSettings.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(path, exc) from exc
    tasks_dir = config_dir / settings.tasks_dir
    if not tasks_dir.is_dir():
        raise ConfigError(str(path), f"tasks_dir: {tasks_dir} is not a folder")
    modules = load_modules(tasks_dir)
    return BotConfig(path=path, settings=settings, modules=modules)


class ConfigWatcher:
    """The config folder as it is now: reloaded when a file under it changes.

    A change that does not validate is logged and the last good config stays in force, so a
    maintainer's typo never stops the bot. ``current()`` is cheap (it stats the files).

    Example:
        >>> watcher = ConfigWatcher(Path("config"), load_config(Path("config")))  # doctest: +SKIP
        >>> watcher.current() is watcher.current()  # doctest: +SKIP
        True
    """

    def __init__(
        self, config_dir: Path, config: BotConfig, *, overrides: dict[str, object] | None = None
    ) -> None:
        self.config_dir = config_dir
        self.overrides = dict(overrides or {})
        self._config = config
        self._stamp = self._files()

    def _files(self) -> tuple[tuple[str, int, int], ...]:
        found = []
        for path in sorted(self.config_dir.rglob("*.y*ml")):
            try:
                stat = path.stat()
            except OSError:
                continue
            found.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def current(self) -> BotConfig:
        stamp = self._files()
        if stamp == self._stamp:
            return self._config
        self._stamp = stamp
        try:
            config = load_config(self.config_dir)
        except ConfigError as exc:
            log.error("config change ignored, the last valid config stays in force: %s", exc)
            return self._config
        if self.overrides:
            config = BotConfig(
                path=config.path,
                settings=config.settings.model_copy(update=self.overrides),
                modules=config.modules,
            )
        self._config = config
        return config
