"""A module's ``benchmark.task_id`` checked against its dataset's ``eval.yaml`` (``evalbot validate``).

A Hub Benchmark is a dataset repo with an ``eval.yaml`` at its root; its ``tasks[].id`` name the
benchmark's leaderboards, and every ``.eval_results`` entry names one of them
(``dataset.task_id``). The file is read from the Hub with huggingface_hub. With no Hub reachable
(or the dataset gated and no token), nothing is checked and the check says so.

Example:
    >>> [c.line() for c in check_benchmarks(config.modules, endpoint=url, token=None)]  # doctest: +SKIP
    ["ok: module 'mteb-mnist': benchmark task 'MNIST' is in mteb/mnist's eval.yaml"]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx2
import yaml
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import (
    GatedRepoError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
)

from bot.errors import BenchmarkTaskError, HubUnreachableError
from bot.hub import preflight
from evaluators.config import ModuleFile
from evaluators.errors import FileTooLargeError
from evaluators.limits import read_bounded

EVAL_FILE = "eval.yaml"


@dataclass(frozen=True)
class BenchmarkCheck:
    """The check of one module with a ``benchmark:`` block; ``checked`` False: not checked."""

    module_id: str
    dataset_id: str
    task_id: str
    checked: bool
    detail: str = ""

    def line(self) -> str:
        what = f"module '{self.module_id}': benchmark task '{self.task_id}'"
        if self.checked:
            return f"ok: {what} is in {self.dataset_id}'s {EVAL_FILE}"
        return f"not checked: {what} of {self.dataset_id}: {self.detail}"


def benchmark_tasks(dataset_id: str, *, endpoint: str, token: str | None) -> list[str]:
    """The ``tasks[].id`` of the ``eval.yaml`` at the root of a dataset repo (main).

    Raises:
        RemoteEntryNotFoundError: The dataset has no ``eval.yaml`` (it is not a Benchmark).
        RepositoryNotFoundError: There is no such dataset (GatedRepoError: no access to it).
        LocalEntryNotFoundError: The Hub could not be reached (and the file is not cached).
    """
    path = hf_hub_download(
        dataset_id, EVAL_FILE, repo_type="dataset", endpoint=endpoint, token=token
    )
    try:
        data = yaml.safe_load(read_bounded(Path(path), EVAL_FILE).decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, FileTooLargeError):
        return []
    tasks = data.get("tasks") if isinstance(data, dict) else None
    items = tasks if isinstance(tasks, list) else []
    return [str(t["id"]) for t in items if isinstance(t, dict) and t.get("id") is not None]


def check_benchmarks(
    modules: Sequence[ModuleFile], *, endpoint: str, token: str | None
) -> list[BenchmarkCheck]:
    """Check the ``benchmark.task_id`` of every module that has a ``benchmark:`` block.

    Args:
        modules: The modules, with the files they were read from.
        endpoint: The Hub (``HF_ENDPOINT``).
        token: A token for gated datasets, or None.

    Returns:
        One check per module with a ``benchmark:`` block; ``checked`` is False when the Hub
        could not be reached or the dataset is gated.

    Raises:
        BenchmarkTaskError: A task_id the dataset's eval.yaml does not list, a dataset without
            an eval.yaml (not a Benchmark), or no such dataset on the Hub.
    """
    found: dict[str, list[str] | str] = {}  # dataset -> its task ids, or why they are unknown
    if any(item.module.benchmark is not None for item in modules):
        try:  # one quick look first: the client would retry an unreachable Hub for half a minute
            preflight(endpoint, timeout=5.0)
        except HubUnreachableError:
            unreachable = _unreachable(endpoint)
            found = {item.module.dataset.repo: unreachable for item in modules}
    checks = []
    for item in modules:
        module, benchmark = item.module, item.module.benchmark
        if benchmark is None:
            continue
        dataset_id = module.dataset.repo
        if dataset_id not in found:
            found[dataset_id] = _tasks_or_reason(item, endpoint=endpoint, token=token)
        tasks = found[dataset_id]
        if isinstance(tasks, str):
            checks.append(BenchmarkCheck(module.id, dataset_id, benchmark.task_id, False, tasks))
            continue
        if benchmark.task_id not in tasks:
            raise BenchmarkTaskError(
                str(item.path),
                module_id=module.id,
                dataset_id=dataset_id,
                task_id=benchmark.task_id,
                tasks=tasks,
            )
        checks.append(BenchmarkCheck(module.id, dataset_id, benchmark.task_id, True))
    return checks


def _tasks_or_reason(item: ModuleFile, *, endpoint: str, token: str | None) -> list[str] | str:
    module, dataset_id = item.module, item.module.dataset.repo
    assert module.benchmark is not None
    try:
        return benchmark_tasks(dataset_id, endpoint=endpoint, token=token)
    except GatedRepoError:
        return f"{dataset_id} is gated: set HF_TOKEN to a token with access to it"
    except RepositoryNotFoundError as error:
        raise _refused(
            item, f"there is no dataset {dataset_id} on the Hub at {endpoint}"
        ) from error
    except RemoteEntryNotFoundError as error:
        detail = f"{dataset_id} has no {EVAL_FILE} at its root, so it is not a Hub Benchmark"
        raise _refused(item, detail) from error
    except (LocalEntryNotFoundError, OfflineModeIsEnabled, httpx2.TransportError):
        return _unreachable(endpoint)


def _refused(item: ModuleFile, detail: str) -> BenchmarkTaskError:
    module = item.module
    assert module.benchmark is not None
    return BenchmarkTaskError(
        str(item.path),
        module_id=module.id,
        dataset_id=module.dataset.repo,
        task_id=module.benchmark.task_id,
        detail=detail,
    )


def _unreachable(endpoint: str) -> str:
    return f"could not reach the Hub at {endpoint} to read {EVAL_FILE}"
