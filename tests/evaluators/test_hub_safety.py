"""Safe fetching: the Hub's security scan and the size cap refuse a repo before any weights."""

from __future__ import annotations

import uuid

import pytest
from huggingface_hub import HfApi

from evaluators.errors import EvaluationError
from evaluators.hub import fetch_model
from sandbox.server import RunningSandbox
from store.types import FailureReason
from tests.sandbox.helpers import Admin

CONFIG = b'{"model_type": "bert", "architectures": ["BertForSequenceClassification"]}'


def repo(api: HfApi, weights: bytes = b"\0" * 2048) -> tuple[str, str]:
    repo_id = f"safety{uuid.uuid4().hex[:8]}/model"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=CONFIG, path_in_repo="config.json", repo_id=repo_id)
    info = api.upload_file(
        path_or_fileobj=weights, path_in_repo="model.safetensors", repo_id=repo_id
    )
    return repo_id, str(info.oid)


def test_flagged_files_are_refused(sandbox: RunningSandbox, demo_api: HfApi) -> None:
    repo_id, sha = repo(demo_api)
    Admin(sandbox.url).repo("model", repo_id, security_issues=[{"path": "model.safetensors"}])
    with pytest.raises(EvaluationError) as caught:
        fetch_model(demo_api, repo_id, sha)
    assert caught.value.reason is FailureReason.SECURITY_ISSUES
    assert "security scan flags model.safetensors" in caught.value.detail


def test_the_size_cap_refuses_big_downloads(sandbox: RunningSandbox, demo_api: HfApi) -> None:
    repo_id, sha = repo(demo_api)
    with pytest.raises(EvaluationError) as caught:
        fetch_model(demo_api, repo_id, sha, max_bytes=1024)
    assert caught.value.reason is FailureReason.TOO_LARGE
    assert "over the cap" in caught.value.detail and "hub.max_model_gib" in caught.value.detail
    fetched = fetch_model(demo_api, repo_id, sha, max_bytes=10_000)  # under the cap: fetched
    assert (fetched.path / "model.safetensors").stat().st_size == 2048
    assert fetched.file_sizes["model.safetensors"] == 2048
