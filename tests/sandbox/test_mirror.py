"""A commit with a chosen id (`Storage.mirror`, `POST /_sandbox/repos/.../mirror`): the sandbox's
stand-in for a revision of a real Hub repo, which the real client then resolves like any
other commit."""

from __future__ import annotations

import secrets

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError

from sandbox.server import RunningSandbox


def real_sha() -> str:
    """A full commit sha as the Hub names commits (commit ids are unique across the sandbox)."""
    return secrets.token_hex(20)


def mirror(sandbox: RunningSandbox, repo_id: str, **body: str) -> httpx.Response:
    return httpx.post(f"{sandbox.url}/_sandbox/repos/dataset/{repo_id}/mirror", json=body)


def test_main_ends_at_the_mirrored_revision_with_its_files(
    sandbox: RunningSandbox, demo_api: HfApi, org: str
) -> None:
    repo_id, real = f"{org}/digits", real_sha()
    demo_api.create_repo(repo_id, repo_type="dataset")
    demo_api.upload_file(
        path_or_fileobj=b"a,b\n1,2\n", path_in_repo="data.csv", repo_id=repo_id, repo_type="dataset"
    )

    response = mirror(sandbox, repo_id, revision=real)

    assert response.json() == {"id": repo_id, "branch": "main", "commit": real}
    assert demo_api.dataset_info(repo_id).sha == real
    assert demo_api.dataset_info(repo_id, revision=real).sha == real
    path = hf_hub_download(repo_id, "data.csv", repo_type="dataset", revision=real)
    with open(path, "rb") as file:
        assert file.read() == b"a,b\n1,2\n"
    (head, *_) = demo_api.list_repo_commits(repo_id, repo_type="dataset")
    assert (head.commit_id, head.title) == (real, f"Mirror revision {real}")
    assert mirror(sandbox, repo_id, revision=real).json()["commit"] == real  # again: nothing new
    assert len(demo_api.list_repo_commits(repo_id, repo_type="dataset")) == 3


def test_one_id_names_one_commit(sandbox: RunningSandbox, demo_api: HfApi, org: str) -> None:
    repo_id, real = f"{org}/moved-on", real_sha()
    demo_api.create_repo(repo_id, repo_type="dataset")
    mirror(sandbox, repo_id, revision=real).raise_for_status()
    demo_api.upload_file(
        path_or_fileobj=b"new", path_in_repo="new.txt", repo_id=repo_id, repo_type="dataset"
    )

    response = mirror(sandbox, repo_id, revision=real)

    assert response.status_code == 409
    assert f"the sandbox already has a commit {real}" in response.json()["error"]
    assert "needs a fresh data dir" in response.json()["error"]


@pytest.mark.parametrize("short", [False, True])
def test_only_a_full_commit_sha_is_mirrored(
    sandbox: RunningSandbox, demo_api: HfApi, org: str, short: bool
) -> None:
    repo_id, real = f"{org}/short", real_sha()
    demo_api.create_repo(repo_id, repo_type="dataset")
    revision = real[:7] if short else real.upper()

    response = mirror(sandbox, repo_id, revision=revision)

    assert response.status_code == 400
    assert "Not a full commit sha" in response.json()["error"]
    with pytest.raises(HfHubHTTPError):
        demo_api.dataset_info(repo_id, revision=real)
