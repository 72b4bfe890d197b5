"""File metadata through huggingface_hub: blob ids, sizes and LFS details agree across
`model_info(files_metadata=True)`, `get_paths_info`, `list_repo_tree(expand=True)` and downloads,
and survive commits that do not touch the file."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, HfApi, get_hf_file_metadata, hf_hub_url
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.utils.sha import git_hash

from sandbox.lfs import is_tracked, lfs_rules, pointer
from sandbox.storage import DEFAULT_GITATTRIBUTES
from tests.sandbox.helpers import CONFIG

FileMeta = tuple[str, int, str | None]  # blob id, size, LFS sha256


def _safetensors(values: list[float]) -> bytes:
    data = struct.pack(f"<{len(values)}f", *values)
    header = {"w": {"dtype": "F32", "shape": [len(values)], "data_offsets": [0, len(data)]}}
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + data


WEIGHTS = _safetensors([0.5, -1.0, 2.0, 4.0])


def _siblings(api: HfApi, repo_id: str, revision: str) -> dict[str, FileMeta]:
    info = api.model_info(repo_id, revision=revision, files_metadata=True)
    return {
        s.rfilename: (s.blob_id or "", s.size or 0, s.lfs.sha256 if s.lfs else None)
        for s in info.siblings or []
    }


def _entries(files: list[object]) -> dict[str, FileMeta]:
    return {
        f.path: (f.blob_id, f.size, f.lfs.sha256 if f.lfs else None)
        for f in files
        if isinstance(f, RepoFile)
    }


def test_lfs_files_have_the_same_metadata_everywhere(demo_api: HfApi, org: str) -> None:
    repo_id = f"{org}/weights"
    demo_api.create_repo(repo_id)
    upload = [
        CommitOperationAdd("model.safetensors", WEIGHTS),
        CommitOperationAdd("nested/deeper/extra.safetensors", WEIGHTS[:-4]),
        CommitOperationAdd("config.json", CONFIG),
    ]
    first = demo_api.create_commit(repo_id, upload, commit_message="Add weights").oid

    siblings = _siblings(demo_api, repo_id, first)
    sha256 = hashlib.sha256(WEIGHTS).hexdigest()
    assert siblings["model.safetensors"] == (
        git_hash(pointer(sha256, len(WEIGHTS))),  # the pointer's blob, as git stores it
        len(WEIGHTS),
        sha256,
    )
    assert siblings["nested/deeper/extra.safetensors"][2] is not None
    assert siblings["config.json"] == (git_hash(CONFIG), len(CONFIG), None)
    info = demo_api.model_info(repo_id, revision=first, files_metadata=True)
    (weights,) = [s for s in info.siblings or [] if s.rfilename == "model.safetensors"]
    assert weights.lfs is not None and weights.lfs.size == len(WEIGHTS)
    assert weights.lfs.pointer_size == len(pointer(sha256, len(WEIGHTS)))

    paths = list(siblings)
    assert _entries(demo_api.get_paths_info(repo_id, paths, revision=first)) == siblings
    tree = demo_api.list_repo_tree(repo_id, revision=first, recursive=True, expand=True)
    assert _entries(list(tree)) == siblings

    url = hf_hub_url(repo_id, "model.safetensors", revision=first)
    assert get_hf_file_metadata(url).etag == sha256  # LFS files are named by their sha256
    config = get_hf_file_metadata(hf_hub_url(repo_id, "config.json", revision=first))
    assert config.etag == git_hash(CONFIG)
    downloaded = demo_api.hf_hub_download(repo_id, "model.safetensors", revision=first)
    assert Path(downloaded).read_bytes() == WEIGHTS


def test_a_readme_commit_keeps_the_other_files_metadata(demo_api: HfApi, org: str) -> None:
    repo_id = f"{org}/stable"
    demo_api.create_repo(repo_id)

    def weights() -> list[CommitOperationAdd]:
        return [
            CommitOperationAdd("model.safetensors", WEIGHTS),
            CommitOperationAdd("config.json", CONFIG),
        ]

    first = demo_api.create_commit(repo_id, weights(), commit_message="Add weights").oid
    readme = [CommitOperationAdd("README.md", b"---\nlicense: mit\n---\n# Stable\n")]
    second = demo_api.create_commit(repo_id, readme, commit_message="Add card").oid
    assert second != first

    before, after = _siblings(demo_api, repo_id, first), _siblings(demo_api, repo_id, second)
    assert set(after) == {*before, "README.md"}
    for path in ("model.safetensors", "config.json", ".gitattributes"):
        assert after[path] == before[path]
    assert after["model.safetensors"][2] == hashlib.sha256(WEIGHTS).hexdigest()
    at_second = demo_api.get_paths_info(repo_id, ["model.safetensors"], revision=second)
    assert _entries(at_second)["model.safetensors"] == before["model.safetensors"]

    again = demo_api.create_commit(repo_id, weights(), commit_message="Same weights").oid
    assert again == second  # unchanged files are skipped, LFS or not: no empty commit


def test_gitattributes_of_the_commit_decide_lfs(demo_api: HfApi, org: str) -> None:
    repo_id = f"{org}/csv"
    demo_api.create_repo(repo_id)
    attributes = DEFAULT_GITATTRIBUTES + b"*.csv filter=lfs diff=lfs merge=lfs -text\n"
    operations = [
        CommitOperationAdd(".gitattributes", attributes),
        CommitOperationAdd("data.csv", b"a,b\n1,2\n"),
        CommitOperationAdd("notes.txt", b"plain text"),
    ]
    sha = demo_api.create_commit(repo_id, operations, commit_message="Track csv").oid
    siblings = _siblings(demo_api, repo_id, sha)
    assert siblings["data.csv"][2] == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert siblings["notes.txt"][2] is None


@pytest.mark.parametrize(
    ("path", "tracked"),
    [
        ("model.safetensors", True),
        ("a/b/model.safetensors", True),
        ("pytorch_model.bin", True),
        ("archive.tar.gz", True),
        ("saved_model/variables/data", True),
        ("runs/events.out.tfevents.123", True),
        ("config.json", False),
        ("README.md", False),
        ("sub/saved_model/data", False),  # `saved_model/**/*` is anchored at the root
    ],
)
def test_default_gitattributes(path: str, tracked: bool) -> None:
    assert is_tracked(path, lfs_rules(DEFAULT_GITATTRIBUTES)) is tracked


def test_gitattributes_rules_last_match_wins() -> None:
    rules = lfs_rules(
        b"# weights\n*.bin filter=lfs diff=lfs\nsmall.bin -filter\n/data/[a-c]*.csv filter=lfs\n"
        b"docs/ filter=lfs\n"
    )
    assert is_tracked("big.bin", rules) and is_tracked("data/b1.csv", rules)
    assert not is_tracked("x/small.bin", rules)
    assert not is_tracked("data/d1.csv", rules) and not is_tracked("x/data/a1.csv", rules)
    assert not is_tracked("docs/page.md", rules)  # folder patterns never match in attributes
