"""Bounded disk for a worker: model snapshots deleted after their job, datasets kept under a limit.

Two caches grow with every job: the ``huggingface_hub`` cache (model snapshots, up to
``hub.max_model_gib`` each, and the files of dataset repos) and the ``datasets`` cache (prepared
Arrow data). :class:`DiskCache` bounds both:

- models: after each job (done, failed or cancelled) every cached revision of the job's model
  repo is deleted with ``huggingface_hub``'s own ``delete_revisions`` (blobs shared across repos
  are reference-counted there);
- datasets: after each job, while the datasets in the caches weigh more than ``max_bytes``, the
  least recently used is evicted (its prepared data and its Hub files). "Used" is when a job last
  read it, recorded by :meth:`DiskCache.reading`; a dataset no job recorded counts as used when
  its files were last written. A dataset bigger than the whole limit is still used, then evicted
  after its job, with a warning. ``downloads/`` of the ``datasets`` cache (files from outside the
  Hub) is not counted.

Nothing in use is deleted. A job holds a shared ``flock`` on one lock file per model repo
(:meth:`DiskCache.job`) and per dataset (:meth:`DiskCache.reading`); a deletion takes the
exclusive lock without waiting and keeps what it cannot get. The kernel counts the holders: every
job thread of every worker process on the host that shares these caches (several worker
containers on one volume included), and it drops the locks of a process that dies. The lock is
per model repo, not per revision: two revisions of one repo may share blobs, so no revision is
deleted while a job uses another; the last job of the repo deletes them all.

Bookkeeping lives in ``<datasets cache>/.evalbot/``: ``usage.json`` (dataset folder -> epoch
seconds of its last use) and ``locks/``. A failure to delete (``OSError``) is logged; it never
fails a job.

Example:
    >>> disk = DiskCache(200 * 2**30)  # doctest: +SKIP
    >>> with disk.job("org/model"), disk.reading(["dair-ai/emotion"]):  # doctest: +SKIP
    ...     evaluate()
    >>> # the snapshot of org/model is gone; the datasets weigh at most 200 GiB
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import datasets
from datasets.naming import camelcase_to_snakecase
from huggingface_hub import constants, scan_cache_dir
from huggingface_hub.file_download import repo_folder_name
from huggingface_hub.utils import CachedRepoInfo, HFCacheInfo

log = logging.getLogger(__name__)
GIB = 2**30
STATE_DIR = ".evalbot"
NOT_DATASETS = frozenset({STATE_DIR, datasets.config.DOWNLOADED_DATASETS_DIR})


@dataclass(frozen=True)
class CachedDataset:
    """One dataset on disk: its prepared data and its Hub files, known by its folder name."""

    folder: str  # its folder in the datasets cache: "<namespace>___<name>" (see dataset_folder)
    repo_id: str | None  # the Hub dataset repo, when its files are in the Hub cache
    size: int  # bytes: prepared data plus Hub files
    last_used: float  # epoch seconds: the end of the last job that read it, else its last write

    @property
    def label(self) -> str:
        return self.repo_id or self.folder


@dataclass(frozen=True)
class Eviction:
    """A dataset evicted from the caches."""

    dataset: CachedDataset
    freed: int  # bytes


def dataset_folder(repo_id: str) -> str:
    """The folder ``datasets`` prepares a Hub dataset in: ``ylecun/MNIST`` -> ``ylecun___mnist``.

    Example:
        >>> dataset_folder("dair-ai/emotion")
        'dair-ai___emotion'
    """
    namespace, _, name = repo_id.rpartition("/")
    name = camelcase_to_snakecase(name)
    return f"{namespace}___{name}" if namespace else name


class DiskCache:
    """The Hub and ``datasets`` caches of one host, bounded (see the module docstring).

    Args:
        max_bytes: what the datasets may weigh together after a job.
        delete_models: delete a model repo's snapshots after its job (False: keep them).
        hub_cache: the ``huggingface_hub`` cache (default: ``HF_HUB_CACHE``).
        datasets_cache: the ``datasets`` cache (default: ``HF_DATASETS_CACHE``).
    """

    def __init__(
        self,
        max_bytes: int,
        *,
        delete_models: bool = True,
        hub_cache: str | Path | None = None,
        datasets_cache: str | Path | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.delete_models = delete_models
        self.hub_cache = Path(hub_cache or constants.HF_HUB_CACHE)
        self.datasets_cache = Path(datasets_cache or datasets.config.HF_DATASETS_CACHE)
        self.state = self.datasets_cache / STATE_DIR

    # -- in use --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def job(self, model_repo: str) -> Iterator[None]:
        """Hold model ``model_repo`` in use for the block; then delete its snapshots (unless
        ``delete_models`` is off or another job uses the repo) and evict datasets down to
        ``max_bytes``, whatever the block raised."""
        fd = _hold(self._lock_path("model", model_repo), fcntl.LOCK_SH)
        try:
            yield
        finally:
            os.close(fd)
            self.clean_up(model_repo)

    @contextlib.contextmanager
    def reading(self, repo_ids: Iterable[str]) -> Iterator[None]:
        """Hold the datasets ``repo_ids`` in use for the block, their use recorded at both ends."""
        folders = sorted({dataset_folder(r) for r in repo_ids})
        with contextlib.ExitStack() as held:
            for folder in folders:
                held.callback(os.close, _hold(self._lock_path("dataset", folder), fcntl.LOCK_SH))
            self._record_use(folders)
            try:
                yield
            finally:
                self._record_use(folders)

    def clean_up(self, model_repo: str) -> None:
        """What :meth:`job` does after its block. ``OSError`` s are logged, never raised."""
        try:
            if self.delete_models:
                self.delete_model(model_repo)
            self.evict()
        except OSError as exc:
            log.warning("cache clean-up after %s failed: %s", model_repo, exc)

    # -- models --------------------------------------------------------------------------------

    def delete_model(self, repo_id: str) -> int:
        """Delete every cached revision of model ``repo_id``, unless a job uses the repo.

        Returns the bytes freed (0 when nothing was cached or a job holds the repo).
        """
        path = self._lock_path("model", repo_id)
        fd = _lock(path, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if fd is None:
            log.info("model %s is in use by another job: its snapshot is kept for it", repo_id)
            return 0
        try:
            freed = self._delete_hub_repo("model", repo_id)
            path.unlink(missing_ok=True)  # waiters on it see it gone and lock a new one
        finally:
            os.close(fd)
        if freed:
            log.info("deleted the snapshot of %s (%.2f GiB freed)", repo_id, freed / GIB)
        return freed

    def _delete_hub_repo(self, repo_type: str, repo_id: str) -> int:
        """Delete a repo of the Hub cache, all revisions; the bytes freed."""
        folder = repo_folder_name(repo_id=repo_id, repo_type=repo_type)
        if not (self.hub_cache / folder).exists():
            return 0
        scan = scan_cache_dir(self.hub_cache)
        freed = 0
        for repo in scan.repos:
            if repo.repo_path.name == folder and repo.revisions:
                strategy = scan.delete_revisions(*(r.commit_hash for r in repo.revisions))
                strategy.execute()
                freed += strategy.expected_freed_size
        # what revisions do not cover: files of a download that never completed, .no_exist
        if (self.hub_cache / folder).exists():
            freed += _size(self.hub_cache / folder)[0]
            shutil.rmtree(self.hub_cache / folder)
        shutil.rmtree(self.hub_cache / ".locks" / folder, ignore_errors=True)
        return freed

    # -- datasets ------------------------------------------------------------------------------

    def cached_datasets(self) -> list[CachedDataset]:
        """The datasets on disk (prepared or downloaded), least recently used first."""
        found: dict[str, tuple[str | None, int, float]] = {}  # folder -> repo, size, last write
        if self.datasets_cache.is_dir():
            for entry in self.datasets_cache.iterdir():
                if entry.is_dir() and not entry.is_symlink() and entry.name not in NOT_DATASETS:
                    found[entry.name] = (None, *_size(entry))
        for repo in self._hub_datasets(self._scan()):
            folder = dataset_folder(repo.repo_id)
            _, size, written = found.get(folder, (None, 0, 0.0))
            found[folder] = (
                repo.repo_id,
                size + repo.size_on_disk,
                max(written, repo.last_modified),
            )
        used = self._usage()
        listed = [
            CachedDataset(folder, repo_id, size, used.get(folder, written))
            for folder, (repo_id, size, written) in found.items()
        ]
        return sorted(listed, key=lambda d: (d.last_used, d.folder))

    def evict(self) -> list[Eviction]:
        """Evict the least recently used datasets that no job uses until the datasets weigh at
        most ``max_bytes``; one log line each."""
        cached = self.cached_datasets()
        total = sum(d.size for d in cached)
        evicted: list[Eviction] = []
        for dataset in cached:
            if total <= self.max_bytes:
                break
            if dataset.size > self.max_bytes:
                log.warning(
                    "dataset %s (%.2f GiB) alone is over cache.max_gib (%.2f GiB): it is "
                    "evicted after each job that reads it; raise cache.max_gib in bot.yaml",
                    dataset.label,
                    dataset.size / GIB,
                    self.max_bytes / GIB,
                )
            freed = self._evict(dataset)
            if freed is None:
                continue
            total -= dataset.size
            evicted.append(Eviction(dataset, freed))
            log.info(
                "evicted dataset %s from the cache (%.2f GiB freed, last used %s)",
                dataset.label,
                freed / GIB,
                datetime.fromtimestamp(dataset.last_used, UTC).isoformat(timespec="seconds"),
            )
        if total > self.max_bytes:
            log.warning(
                "the datasets weigh %.2f GiB, over cache.max_gib (%.2f GiB): the rest is in use",
                total / GIB,
                self.max_bytes / GIB,
            )
        return evicted

    def _evict(self, dataset: CachedDataset) -> int | None:
        """Delete one dataset's prepared data and Hub files; None when a job uses it."""
        path = self._lock_path("dataset", dataset.folder)
        fd = _lock(path, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if fd is None:
            return None
        try:
            freed = 0
            prepared = self.datasets_cache / dataset.folder
            if prepared.is_dir():
                freed += _size(prepared)[0]
                shutil.rmtree(prepared)
            if dataset.repo_id is not None:
                freed += self._delete_hub_repo("dataset", dataset.repo_id)
            self._forget(dataset.folder)
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)
        return freed

    def _scan(self) -> HFCacheInfo | None:
        return scan_cache_dir(self.hub_cache) if self.hub_cache.is_dir() else None

    @staticmethod
    def _hub_datasets(scan: HFCacheInfo | None) -> list[CachedRepoInfo]:
        return [r for r in scan.repos if r.repo_type == "dataset"] if scan else []

    # -- bookkeeping ---------------------------------------------------------------------------

    def _lock_path(self, kind: str, name: str) -> Path:
        locks = self.state / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        return locks / f"{kind}--{name.replace('/', '--')}.lock"

    def _usage(self) -> dict[str, float]:
        """Dataset folder -> epoch seconds of its last use by a job."""
        try:
            data = json.loads((self.state / "usage.json").read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            log.warning("%s is unreadable: dataset use starts anew", self.state / "usage.json")
            return {}
        return {k: float(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _record_use(self, folders: list[str]) -> None:
        now = time.time()
        try:
            self._update_usage(lambda used: used.update(dict.fromkeys(folders, now)))
        except OSError as exc:  # the use goes unrecorded: the dataset may be evicted earlier
            log.warning("could not record the use of %s: %s", ", ".join(folders), exc)

    def _forget(self, folder: str) -> None:
        self._update_usage(lambda used: used.pop(folder, None))

    def _update_usage(self, change: Callable[[dict[str, float]], object]) -> None:
        """Read ``usage.json``, ``change`` it and write it back atomically, under an exclusive
        lock (the workers of the host share it)."""
        self.state.mkdir(parents=True, exist_ok=True)
        fd = _hold(self.state / "usage.lock", fcntl.LOCK_EX)
        try:
            used = self._usage()
            change(used)
            part = self.state / f"usage.json.{os.getpid()}.part"
            part.write_text(json.dumps(used, sort_keys=True))
            part.replace(self.state / "usage.json")
        finally:
            os.close(fd)


def _lock(path: Path, operation: int) -> int | None:
    """A descriptor of ``path`` locked with ``operation`` (``fcntl.LOCK_SH`` or ``LOCK_EX``;
    with ``LOCK_NB``, None when another holds it). A lock file removed while this waited (what
    it guarded was deleted) is replaced by a new one."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, operation)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        try:
            current = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            return fd
        os.close(fd)


def _hold(path: Path, operation: int) -> int:
    """:func:`_lock`, waiting for it."""
    fd = _lock(path, operation)
    assert fd is not None  # only LOCK_NB gives up
    return fd


def _size(path: Path) -> tuple[int, float]:
    """(bytes of the regular files under ``path``, the latest modification time there)."""
    size, latest = 0, path.stat().st_mtime
    for root, _, files in os.walk(path):
        for name in files:
            try:
                stat = os.lstat(os.path.join(root, name))
            except FileNotFoundError:
                continue
            if not os.path.islink(os.path.join(root, name)):
                size += stat.st_size
            latest = max(latest, stat.st_mtime)
    return size, latest
