"""The sandbox as a server: faults, datasets, broken cards, restarts, `python -m sandbox serve`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import datasets
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError

from sandbox.server import RunningSandbox, run_in_thread
from sandbox.storage import AddFile
from tests.sandbox.helpers import Admin, free_port, make_model

EMOTION_CARD = """---
pretty_name: Emotion
task_categories:
- text-classification
dataset_info:
  features:
  - name: text
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': sadness
          '1': joy
          '2': anger
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
  - split: test
    path: data/test-*
---
# Emotion
"""


def test_429_on_a_listing_is_retried(demo_api: HfApi, admin: Admin, org: str) -> None:
    make_model(demo_api, f"{org}/limited")
    admin.clear_log()
    admin.fault(status=429, count=1, path_prefix="/api/models", method="GET", retry_after=1)
    started = time.monotonic()
    assert [m.id for m in demo_api.list_models(author=org)] == [f"{org}/limited"]
    assert time.monotonic() - started >= 2  # the client waits t + 1 seconds
    statuses = [e["status"] for e in admin.log() if e["path"] == "/api/models"]
    assert statuses == [429, 200]


def test_429_on_model_info_raises(demo_api: HfApi, admin: Admin, org: str) -> None:
    make_model(demo_api, f"{org}/limited")
    admin.fault(status=429, count=1, path_prefix=f"/api/models/{org}", retry_after=7)
    with pytest.raises(HfHubHTTPError) as caught:
        demo_api.model_info(f"{org}/limited")
    response = caught.value.response
    assert response.status_code == 429
    assert response.headers["RateLimit"] == '"api";r=0;t=7'
    assert response.headers["Retry-After"] == "7"
    assert demo_api.model_info(f"{org}/limited").id == f"{org}/limited"  # the fault is used up

    admin.fault(status=503, count=5, path_prefix=f"/api/models/{org}")
    with pytest.raises(HfHubHTTPError) as unavailable:
        demo_api.model_info(f"{org}/limited")
    assert unavailable.value.response.status_code == 503
    admin.clear_faults()
    assert demo_api.model_info(f"{org}/limited").id == f"{org}/limited"


def test_load_dataset_from_a_parquet_repo(demo_api: HfApi, org: str, tmp_path: Path) -> None:
    rows = {
        "train": [("i feel alone", 0), ("what a lovely day", 1), ("this makes me furious", 2)],
        "test": [("so happy for you", 1), ("i miss home", 0)],
    }
    (tmp_path / "data").mkdir()
    for split, examples in rows.items():
        table = pa.table({"text": [t for t, _ in examples], "label": [y for _, y in examples]})
        pq.write_table(table, tmp_path / "data" / f"{split}-00000-of-00001.parquet")
    (tmp_path / "README.md").write_text(EMOTION_CARD)
    repo_id = f"{org}/emotion"
    demo_api.create_repo(repo_id, repo_type="dataset")
    demo_api.upload_folder(folder_path=tmp_path, repo_id=repo_id, repo_type="dataset")

    info = demo_api.dataset_info(repo_id)
    assert "task_categories:text-classification" in (info.tags or [])
    assert "format:parquet" in (info.tags or [])
    loaded = datasets.load_dataset(repo_id)
    label = loaded["test"].features["label"]
    assert isinstance(label, datasets.ClassLabel)
    assert label.names == ["sadness", "joy", "anger"]
    assert loaded["test"]["text"] == ["so happy for you", "i miss home"]
    assert loaded["train"]["label"] == [0, 1, 2]
    assert {d.id for d in demo_api.list_datasets(author=org)} == {repo_id}


@pytest.mark.parametrize(
    "readme",
    [b"---\nlicense: [mit\n---\n# Broken YAML\n", b"---\n- just\n- a list\n---\n", b"No card"],
)
def test_odd_front_matter_gives_no_card_data(
    sandbox: RunningSandbox, demo_api: HfApi, org: str, readme: bytes
) -> None:
    make_model(demo_api, f"{org}/odd")
    repo = sandbox.hub.storage.get_repo("model", f"{org}/odd")
    assert repo is not None
    sandbox.hub.storage.commit_to_branch(
        repo, "main", [AddFile("README.md", readme)], title="odd card", author="demo"
    )
    info = demo_api.model_info(f"{org}/odd")
    assert info.card_data is None and info.pipeline_tag == "text-classification"
    assert [m.id for m in demo_api.list_models(author=org, cardData=True)] == [f"{org}/odd"]


def test_restart_keeps_repos_and_discussions(tmp_path: Path) -> None:
    with run_in_thread(data_dir=tmp_path / "hub") as first:
        api = HfApi(endpoint=first.url, token=first.tokens["demo"])
        sha = make_model(api, "keep/model")
        bot = HfApi(endpoint=first.url, token=first.tokens["evalbot"])
        add = [CommitOperationAdd("results.json", b"{}")]
        bot.create_commit("keep/model", add, commit_message="results", create_pr=True)
    with run_in_thread(data_dir=tmp_path / "hub") as second:
        assert second.tokens == first.tokens
        api = HfApi(endpoint=second.url, token=second.tokens["demo"])
        info = api.model_info("keep/model")
        assert info.sha == sha and info.pipeline_tag == "text-classification"
        assert api.hf_hub_download("keep/model", "config.json")
        (pr,) = api.get_repo_discussions("keep/model")
        assert pr.author == "evalbot" and pr.is_pull_request
        assert "results.json" in api.list_repo_files("keep/model", revision="refs/pr/1")
    tokens = json.loads((tmp_path / "hub" / "tokens.json").read_text())
    assert set(tokens) == {"demo", "evalbot", "demo:read", "evalbot:read"}
    assert tokens["demo"].startswith("hf_")


def test_python_m_sandbox_serve(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "sandbox", "serve", "--port", str(port)]
    process = subprocess.Popen([*command, "--data-dir", str(tmp_path / "hub")])
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/_sandbox/health").raise_for_status()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        token = json.loads((tmp_path / "hub" / "tokens.json").read_text())["evalbot"]
        assert HfApi(endpoint=url, token=token).whoami()["name"] == "evalbot"
    finally:
        process.terminate()
        process.wait(timeout=10)
