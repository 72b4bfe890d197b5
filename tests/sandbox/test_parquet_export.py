"""A loading-script dataset and its Parquet conversion: `demo/ner-news-script` keeps a loading
script on main, which `datasets` refuses to run, and its rows in `refs/convert/parquet`, one
folder per config, which `datasets` reads at that ref's commit with `data_dir` set to the
config's folder.
"""

from __future__ import annotations

import base64
from pathlib import Path

import datasets
import httpx2
import pytest
from huggingface_hub import HfApi

from sandbox.seed import seed_world
from sandbox.server import RunningSandbox
from sandbox.world import World
from sandbox.world_scripts import SCRIPT_ID, SMALL
from sandbox.world_spans import NER_ID, NER_TAGS


def test_the_conversion_is_listed_among_the_refs(demo_world: World, demo_api: HfApi) -> None:
    refs = demo_api.list_repo_refs(SCRIPT_ID, repo_type="dataset")
    assert [b.name for b in refs.branches] == ["main"]
    assert [(c.name, c.ref) for c in refs.converts] == [("parquet", "refs/convert/parquet")]
    export = refs.converts[0].target_commit
    info = demo_api.dataset_info(SCRIPT_ID, revision="refs/convert/parquet")
    assert info.sha == export
    files = demo_api.list_repo_files(SCRIPT_ID, repo_type="dataset", revision=export)
    assert sorted(files) == sorted(
        f"{config}/{split}/0000.parquet"
        for config in ("news", "news-small")
        for split in ("train", "validation", "test")
    )
    main = demo_api.list_repo_files(SCRIPT_ID, repo_type="dataset")
    assert "ner-news-script.py" in main and not any(f.endswith(".parquet") for f in main)


def test_datasets_reads_the_conversion_not_the_script(
    demo_world: World, demo_api: HfApi, tmp_path: Path
) -> None:
    # a fresh cache: with one of an earlier load, `datasets` falls back to it instead
    with pytest.raises(RuntimeError, match="Dataset scripts are no longer supported"):
        datasets.load_dataset(SCRIPT_ID, split="test", cache_dir=str(tmp_path))
    export = demo_api.dataset_info(SCRIPT_ID, revision="refs/convert/parquet").sha
    small = datasets.load_dataset(SCRIPT_ID, data_dir="news-small", split="test", revision=export)
    whole = datasets.load_dataset(SCRIPT_ID, data_dir="news", split="test", revision=export)
    original = datasets.load_dataset(NER_ID, split="test")
    assert len(small) == SMALL and len(whole) == len(original)
    assert small.features["ner_tags"].feature.names == list(NER_TAGS)
    assert small["tokens"] == original["tokens"][:SMALL]
    assert whole["ner_tags"] == original["ner_tags"]


def test_seeding_again_keeps_the_conversion(
    demo_world: World, demo_api: HfApi, sandbox: RunningSandbox, demo_token: str
) -> None:
    before = demo_api.dataset_info(SCRIPT_ID, revision="refs/convert/parquet").sha
    seed_world(demo_world, endpoint=sandbox.url, token=demo_token)
    assert demo_api.dataset_info(SCRIPT_ID, revision="refs/convert/parquet").sha == before


def test_the_converter_takes_only_parquet(sandbox: RunningSandbox, demo_world: World) -> None:
    url = f"{sandbox.url}/_sandbox/repos/datasets/{SCRIPT_ID}/convert"
    text = base64.b64encode(b"x").decode()
    assert httpx2.post(url, json={"files": {"a/test/0000.csv": text}}).status_code == 400
    assert httpx2.post(url, json={"files": {"a/b.parquet": "%%"}}).status_code == 400
    missing = f"{sandbox.url}/_sandbox/repos/datasets/demo/nothing-here/convert"
    assert httpx2.post(missing, json={"files": {}}).status_code == 404
