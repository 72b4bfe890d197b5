"""A worker's disk stays bounded: model snapshots go after their job, datasets past the limit go
least recently used first, and nothing a job uses is deleted.

Real files throughout: models fetched from the sandbox Hub with ``fetch_model``, datasets
prepared with ``datasets.load_dataset``, each test in its own Hub and ``datasets`` caches.
"""

from __future__ import annotations

import io
import logging
import threading
import uuid
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, constants

from bot.cycle import plan_cycle
from bot.jobloop import drain
from bot.worker import Worker
from evaluators.cache import DiskCache, dataset_folder
from evaluators.hub import fetch_model
from sandbox.world import World
from store.db import Store
from tests.bot.conftest import make_model, retrying_api, write_config


@pytest.fixture
def caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Fresh Hub and ``datasets`` caches for this test, the defaults of both libraries."""
    hub, prepared = tmp_path / "hub", tmp_path / "datasets"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", prepared)
    return hub, prepared


def disk_cache(caches: tuple[Path, Path], max_bytes: int = 2**40) -> DiskCache:
    return DiskCache(max_bytes, hub_cache=caches[0], datasets_cache=caches[1])


def model_repo(api: HfApi) -> tuple[str, list[str]]:
    """A model repo with two revisions sharing their weights blob; (repo id, [sha1, sha2])."""
    repo_id = f"disk{uuid.uuid4().hex[:6]}/model"
    api.create_repo(repo_id)
    weights = np.random.default_rng(0).bytes(64_000)
    first = api.create_commit(
        repo_id,
        operations=[
            CommitOperationAdd("config.json", b'{"model_type": "bert"}'),
            CommitOperationAdd("model.safetensors", weights),
        ],
        commit_message="weights",
    )
    second = api.upload_file(
        path_or_fileobj=b"---\nlicense: mit\n---\n# card\n",
        path_in_repo="README.md",
        repo_id=repo_id,
    )
    return repo_id, [str(first.oid), str(second.oid)]


def dataset_repo(api: HfApi, rows: int) -> str:
    """A parquet dataset repo of ``rows`` incompressible rows (about 2 kB each)."""
    repo_id = f"disk{uuid.uuid4().hex[:6]}/Data"
    api.create_repo(repo_id, repo_type="dataset")
    rng = np.random.default_rng(rows)
    table = pa.table({"text": [rng.bytes(1000).hex() for _ in range(rows)], "label": [0] * rows})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    api.upload_file(
        path_or_fileobj=buf.getvalue(),
        path_in_repo="data/test-00000.parquet",
        repo_id=repo_id,
        repo_type="dataset",
    )
    return repo_id


def use(disk: DiskCache, repo_id: str) -> None:
    """What a job does with a dataset: prepare it (or find it prepared) and read it."""
    with disk.reading([repo_id]):
        assert len(datasets.load_dataset(repo_id, split="test")) > 0


def cached(disk: DiskCache) -> dict[str | None, int]:
    return {d.repo_id: d.size for d in disk.cached_datasets()}


def model_folder(hub: Path, repo_id: str) -> Path:
    return hub / f"models--{repo_id.replace('/', '--')}"


def test_after_a_job_its_model_s_snapshots_are_gone_and_others_stay(
    demo_api: HfApi, caches: tuple[Path, Path]
) -> None:
    disk = disk_cache(caches)
    repo_id, shas = model_repo(demo_api)
    other, _ = model_repo(demo_api)
    kept = fetch_model(demo_api, other, "main")
    with disk.job(repo_id):
        paths = [fetch_model(demo_api, repo_id, sha).path for sha in shas]
        assert all((p / "model.safetensors").read_bytes() for p in paths)  # one blob, two links
    assert not model_folder(caches[0], repo_id).exists()
    assert (kept.path / "model.safetensors").exists()

    with pytest.raises(RuntimeError), disk.job(repo_id):  # a job that fails midway
        fetch_model(demo_api, repo_id, shas[1])
        raise RuntimeError("the model failed")
    assert not model_folder(caches[0], repo_id).exists()


def test_a_model_another_job_uses_is_kept_until_its_last_job_ends(
    demo_api: HfApi, caches: tuple[Path, Path]
) -> None:
    # two job threads of one process, each with its own worker's DiskCache
    first, second = disk_cache(caches), disk_cache(caches)
    repo_id, shas = model_repo(demo_api)
    started, finish = threading.Event(), threading.Event()

    def long_job() -> None:
        with first.job(repo_id):
            fetch_model(demo_api, repo_id, shas[0])
            started.set()
            finish.wait(30)

    thread = threading.Thread(target=long_job)
    thread.start()
    try:
        assert started.wait(30)
        with second.job(repo_id):
            fetch_model(demo_api, repo_id, shas[1])
        assert model_folder(caches[0], repo_id).exists()  # the first job still uses the repo
        assert (fetch_model(demo_api, repo_id, shas[0]).path / "config.json").exists()
    finally:
        finish.set()
        thread.join()
    assert not model_folder(caches[0], repo_id).exists()  # the last job out deleted it


def test_models_keep_leaves_snapshots(demo_api: HfApi, caches: tuple[Path, Path]) -> None:
    disk = DiskCache(2**40, delete_models=False, hub_cache=caches[0], datasets_cache=caches[1])
    repo_id, shas = model_repo(demo_api)
    with disk.job(repo_id):
        fetch_model(demo_api, repo_id, shas[0])
    assert model_folder(caches[0], repo_id).exists()


def test_datasets_are_evicted_least_recently_used_first(
    demo_api: HfApi, caches: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    disk = disk_cache(caches)
    a, b, c = (dataset_repo(demo_api, rows) for rows in (40, 50, 60))
    for repo_id in (a, b, c, a):  # a used again: b is now the least recently used
        use(disk, repo_id)
    sizes = cached(disk)
    assert set(sizes) == {a, b, c} and all(sizes.values())
    assert [d.repo_id for d in disk.cached_datasets()] == [b, c, a]
    assert (caches[1] / dataset_folder(c)).is_dir()  # prepared data and Hub files, one dataset
    assert (caches[0] / f"datasets--{c.replace('/', '--')}").is_dir()

    disk.max_bytes = sizes[a] + sizes[c]  # room for all but b
    with caplog.at_level(logging.INFO, logger="evaluators.cache"):
        evicted = disk.evict()
    assert [e.dataset.repo_id for e in evicted] == [b]
    assert evicted[0].freed == sizes[b]
    assert set(cached(disk)) == {a, c}
    assert not (caches[1] / dataset_folder(b)).exists()
    assert not (caches[0] / f"datasets--{b.replace('/', '--')}").exists()
    (line,) = [r.getMessage() for r in caplog.records if "evicted" in r.getMessage()]
    assert b in line and "GiB freed" in line

    disk.max_bytes = sizes[a]  # c was used before a's last use: c goes
    assert [e.dataset.repo_id for e in disk.evict()] == [c]
    use(disk, c)  # evicted data comes back when a job needs it again ...
    disk.max_bytes = sizes[c]  # ... and is now the most recently used
    assert [e.dataset.repo_id for e in disk.evict()] == [a]
    assert sum(cached(disk).values()) <= disk.max_bytes


def test_datasets_in_use_are_kept_and_the_limit_holds_after_the_job(
    demo_api: HfApi, caches: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    disk = disk_cache(caches)
    old, busy = dataset_repo(demo_api, 30), dataset_repo(demo_api, 30)
    use(disk, old)
    use(disk, busy)
    disk.max_bytes = 1  # everything is over the limit
    another_worker = disk_cache(caches, max_bytes=1)
    with disk.reading([busy]):  # busy: read by a job of this host
        assert [e.dataset.repo_id for e in another_worker.evict()] == [old]
        assert set(cached(disk)) == {busy}
    assert "the rest is in use" in caplog.text
    model_id, shas = model_repo(demo_api)
    with disk.job(model_id):  # the next job ends: the limit holds again
        fetch_model(demo_api, model_id, shas[0])
    assert cached(disk) == {}


def test_a_dataset_bigger_than_the_limit_is_used_then_evicted_with_a_warning(
    demo_api: HfApi, caches: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    disk = disk_cache(caches, max_bytes=10_000)
    big = dataset_repo(demo_api, 50)
    model_id, _ = model_repo(demo_api)
    with disk.job(model_id):
        use(disk, big)
    assert cached(disk) == {}
    assert f"dataset {big}" in caplog.text and "alone is over cache.max_gib" in caplog.text


def test_a_worker_s_job_leaves_no_snapshot_behind(
    world: World,
    demo_api: HfApi,
    bot_token: str,
    store: Store,
    tmp_path: Path,
    caches: tuple[Path, Path],
) -> None:
    config = write_config(tmp_path / "config", isolation={"enabled": False})
    repo_id = f"disk{uuid.uuid4().hex[:6]}/emotion"
    make_model(demo_api, world, repo_id, config.tag)
    api = retrying_api(bot_token)
    loaded = config.load()
    report = plan_cycle(loaded, api=api, store=store)
    assert report.queued == 1
    drain(Worker(loaded, api=api, store=store), report, once=True)
    assert store.job_counts() == {"done": 1} and report.evaluated == 1
    assert store.results.count_documents({"model_id": repo_id}) == 1
    assert not model_folder(caches[0], repo_id).exists()
    disk = disk_cache(caches)
    assert [d.folder for d in disk.cached_datasets()] == ["dair-ai___emotion"]  # under the limit
