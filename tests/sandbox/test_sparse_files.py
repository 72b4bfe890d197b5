"""Sparse files: a repo holds a 2 GiB file without 2 GiB on disk; the Hub lists its size, and a
download streams every byte (here the last ones, by Range, as clients resume downloads)."""

from __future__ import annotations

import hashlib

import httpx
from huggingface_hub import HfApi
from huggingface_hub.hf_api import RepoFile

from sandbox.server import RunningSandbox
from tests.sandbox.helpers import Admin

GiB = 2**30
HEAD = '{"model_type": "bert", "x": "'


def test_a_sparse_file_is_listed_and_served_whole(
    sandbox: RunningSandbox, admin: Admin, demo_api: HfApi, org: str
) -> None:
    repo_id = f"{org}/sparse"
    demo_api.create_repo(repo_id)
    commit = admin.sparse_file("model", repo_id, "config.json", 2 * GiB, head=HEAD)

    info = demo_api.model_info(repo_id, files_metadata=True)
    assert info.sha == commit
    (entry,) = [s for s in info.siblings or () if s.rfilename == "config.json"]
    assert entry.size == 2 * GiB and entry.lfs is None  # `.gitattributes` does not track it
    (listed,) = demo_api.get_paths_info(repo_id, ["config.json"])
    assert getattr(listed, "size", None) == 2 * GiB
    blob = sandbox.hub.storage.blob_path(str(entry.blob_id))
    assert blob.stat().st_blocks * 512 < 2**20  # sparse: only the head takes disk space

    url = f"{sandbox.url}/{repo_id}/resolve/main/config.json"
    assert httpx.head(url).headers["content-length"] == str(2 * GiB)
    first = httpx.get(url, headers={"Range": "bytes=0-28"})
    assert first.status_code == 206 and first.content == HEAD.encode()
    last = httpx.get(url, headers={"Range": f"bytes={2 * GiB - 8}-"})
    assert last.headers["content-range"] == f"bytes {2 * GiB - 8}-{2 * GiB - 1}/{2 * GiB}"
    assert last.content == b"\0" * 8


def test_a_tracked_sparse_file_is_stored_with_lfs(admin: Admin, demo_api: HfApi, org: str) -> None:
    repo_id = f"{org}/sparse-lfs"
    demo_api.create_repo(repo_id)
    admin.sparse_file("model", repo_id, "model.safetensors", 1000, head="abc")

    (entry,) = demo_api.get_paths_info(repo_id, ["model.safetensors"])
    content = b"abc" + b"\0" * 997
    assert (
        isinstance(entry, RepoFile)
        and entry.lfs is not None
        and entry.lfs.sha256 == hashlib.sha256(content).hexdigest()
    )
    with open(demo_api.hf_hub_download(repo_id, "model.safetensors"), "rb") as file:
        assert file.read() == content


def test_a_sparse_file_needs_a_size_that_holds_its_head(
    admin: Admin, demo_api: HfApi, org: str
) -> None:
    repo_id = f"{org}/sparse-bad"
    demo_api.create_repo(repo_id)
    url = f"{admin.url}/_sandbox/repos/model/{repo_id}/sparse"
    for body in ({"path": "a.json", "size": 1, "head": "abc"}, {"path": "a.json", "size": "2"}):
        response = httpx.post(url, json=body)
        assert response.status_code == 400, body
        assert "size must be a whole number of bytes" in response.text
    assert httpx.post(url, json={"path": "a.json", "size": 3, "head": "abc"}).status_code == 200
