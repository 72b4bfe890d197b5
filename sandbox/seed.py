"""Push the demo world (`sandbox.world`) into a sandbox Hub with the real `huggingface_hub` client.

Example:
    >>> from sandbox.seed import seed_world
    >>> from sandbox.world import build_world
    >>> seed_world(build_world(), endpoint="http://127.0.0.1:8900", token=demo_token)
    ['dair-ai/emotion', 'ylecun/mnist', 'demo/ner-news', 'demo/qa-facts', 'demo/qa-facts-v2',
     'nyu-mll/glue', 'demo/ner-news-script', 'mteb/mnist', 'demo/minilm-emotion', 'demo/tiny-emotion',
     'demo/emotion-es', 'demo/tweet-mood', 'demo/vit-digits', 'demo/timm-digits', 'demo/tiny-ner',
     'demo/tiny-qa', 'demo/tiny-rte']
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx2
import yaml
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils import hf_raise_for_status
from huggingface_hub.utils.sha import git_hash

from sandbox.benchmarks import benchmark_files
from sandbox.errors import DataDirInUse
from sandbox.users import load_tokens
from sandbox.world import World, build_world
from sandbox.world_scripts import script_dataset

# The shipped evaluation modules: seeded datasets they pin are mirrored at that revision.
TASKS_DIR = Path(__file__).resolve().parents[1] / "config" / "tasks"


def seed_world(world: World, *, endpoint: str, token: str) -> list[str]:
    """Creates every dataset and model repo of `world` and uploads its files, then the Hub
    Benchmark datasets made from them (`sandbox.benchmarks`: `mteb/mnist` and its `eval.yaml`).
    A dataset that a shipped evaluation module pins (`pinned_revisions`) then has its `main` end
    at exactly that commit sha, a stand-in for the real revision (`Storage.mirror`), so the
    module evaluates here as it does on the Hub.

    Idempotent: a repo whose files already match (git blob id, or LFS sha256) gets no commit.
    Repos may be created in any namespace that is not another user's (`dair-ai/emotion`,
    `ylecun/mnist`, `mteb/mnist`).

    Args:
        world: what `build_world` returned.
        endpoint: the Hub's base URL, e.g. `http://127.0.0.1:8900`.
        token: a token with write access (the sandbox user `demo`).

    Returns:
        The repo ids of the world, datasets first, all present and up to date on the Hub.
    """
    api = HfApi(endpoint=endpoint, token=token)
    repos = [("dataset", d.repo_id, d.path) for d in world.datasets]
    repos += [("model", m.repo_id, m.path) for m in world.models]
    for repo_type, repo_id, path in repos:
        api.create_repo(repo_id, repo_type=repo_type, exist_ok=True)
        files: dict[str, bytes | Path] = {
            p.relative_to(path).as_posix(): p for p in path.rglob("*") if p.is_file()
        }
        if not _up_to_date(api, repo_id, repo_type, files):
            api.upload_folder(
                repo_id=repo_id,
                repo_type=repo_type,
                folder_path=path,
                commit_message=f"Upload {repo_id} (evalbot demo world)",
            )
    benchmarks = benchmark_files(world)
    for repo_id, files in benchmarks.items():
        api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
        if not _up_to_date(api, repo_id, "dataset", files):
            api.create_commit(
                repo_id,
                repo_type="dataset",
                operations=[
                    CommitOperationAdd(name, data if isinstance(data, bytes) else str(data))
                    for name, data in files.items()
                ],
                commit_message=f"Upload {repo_id} (evalbot demo world benchmark)",
            )
    datasets = [repo_id for repo_type, repo_id, _ in repos if repo_type == "dataset"]
    script = script_dataset(world)
    if script is not None:
        api.create_repo(script.repo_id, repo_type="dataset", exist_ok=True)
        script_files: dict[str, bytes | Path] = dict(script.files)
        if not _up_to_date(api, script.repo_id, "dataset", script_files):
            api.create_commit(
                script.repo_id,
                repo_type="dataset",
                operations=[CommitOperationAdd(name, data) for name, data in script.files.items()],
                commit_message=f"Upload {script.repo_id} (evalbot demo world loading script)",
            )
        _convert(endpoint, script.repo_id, script.export)
        datasets.append(script.repo_id)
    pins = pinned_revisions()
    for repo_id in [*datasets, *benchmarks]:
        if repo_id in pins:
            _mirror(endpoint, repo_id, pins[repo_id])
    models = [repo_id for repo_type, repo_id, _ in repos if repo_type == "model"]
    return [*datasets, *benchmarks, *models]


def pinned_revisions() -> dict[str, str]:
    """The dataset revision each shipped evaluation module pins: `{dataset repo: commit sha}`.

    Read from the module files (their `dataset.repo` and `dataset.revision`) under
    `config/tasks/`; templates (`_*`) name no dataset.

    Raises:
        ValueError: two modules pin one dataset at two revisions.
    """
    pins: dict[str, str] = {}
    for path in sorted(TASKS_DIR.glob("*/*.yaml")):
        if path.name.startswith("_") or path.parent.name.startswith("_"):
            continue
        dataset = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("dataset") or {}
        repo_id, revision = dataset.get("repo"), dataset.get("revision")
        if repo_id and revision and pins.setdefault(repo_id, revision) != revision:
            raise ValueError(f"{path}: {repo_id} is pinned at {pins[repo_id]} elsewhere")
    return pins


def _mirror(endpoint: str, repo_id: str, revision: str) -> None:
    """Make the dataset's main end at `revision` (see `Storage.mirror`)."""
    url = f"{endpoint}/_sandbox/repos/dataset/{repo_id}/mirror"
    hf_raise_for_status(httpx2.post(url, json={"revision": revision}, timeout=30))


def _convert(endpoint: str, repo_id: str, files: dict[str, bytes]) -> None:
    """Write the dataset's Parquet conversion (`refs/convert/parquet`), as the Hub's converter
    does (nothing when it is up to date)."""
    url = f"{endpoint}/_sandbox/repos/datasets/{repo_id}/convert"
    body = {"files": {path: base64.b64encode(data).decode() for path, data in files.items()}}
    hf_raise_for_status(httpx2.post(url, json=body, timeout=60))


def _up_to_date(api: HfApi, repo_id: str, repo_type: str, files: dict[str, bytes | Path]) -> bool:
    """True when every file (path in the repo -> content or local file) is on the repo's main
    branch with the same content."""
    remote = {
        entry.path: entry
        for entry in api.list_repo_tree(repo_id, repo_type=repo_type, recursive=True)
        if isinstance(entry, RepoFile)
    }
    for name, content in sorted(files.items()):
        entry = remote.get(name)
        if entry is None:
            return False
        data = content if isinstance(content, bytes) else content.read_bytes()
        if entry.lfs is not None:
            same = entry.lfs.sha256 == hashlib.sha256(data).hexdigest()
        else:
            same = entry.blob_id == git_hash(data)
        if not same:
            return False
    return True


def seed_data_dir(data_dir: Path) -> list[str]:
    """Builds the world (cached) and seeds it as user `demo` into the sandbox of `data_dir`.

    Pushes through the live server recorded in `<data_dir>/server.json` when there is one (so
    that server sees the repos); otherwise starts the sandbox on `data_dir` in a thread (which
    creates `<data_dir>/tokens.json` on first use), pushes, and stops it again.

    Example:
        >>> seed_data_dir(Path("/tmp/hub"))
        ['dair-ai/emotion', 'ylecun/mnist', 'demo/ner-news', ...]
    """
    from sandbox.server import run_in_thread

    world = build_world()
    try:
        running = run_in_thread(data_dir=data_dir)
    except DataDirInUse as busy:  # a live process serves it: push through that one
        if busy.url is None:
            raise
        return seed_world(world, endpoint=busy.url, token=load_tokens(data_dir)["demo"])
    with running:
        return seed_world(world, endpoint=running.url, token=running.tokens["demo"])
