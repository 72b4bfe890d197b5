"""Repos renamed, reused and deleted, and tags taken from the card, through huggingface_hub."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from sandbox.server import run_in_thread
from tests.sandbox.helpers import CARD, make_model


def _status(error: pytest.ExceptionInfo[HfHubHTTPError]) -> int:
    return error.value.response.status_code


def test_a_moved_repo_answers_under_its_old_id(
    demo_api: HfApi, bot_api: HfApi, hf_endpoint: str, org: str
) -> None:
    old, new = f"{org}/old-name", f"{org}/new-name"
    sha = make_model(demo_api, old)
    add = [CommitOperationAdd("eval.json", b"{}")]
    pr = bot_api.create_commit(old, add, commit_message="Results", create_pr=True)

    demo_api.move_repo(old, new)

    info = demo_api.model_info(old)  # the client follows the Hub's 307
    assert (info.id, info.sha) == (new, sha)
    assert demo_api.model_info(new).id == new
    raw = httpx.get(f"{hf_endpoint}/api/models/{old}/revision/main?blobs=true")
    assert raw.status_code == 307
    assert raw.headers["Location"] == f"/api/models/{new}/revision/main?blobs=true"
    head = httpx.head(f"{hf_endpoint}/{old}/resolve/main/config.json")
    assert (head.status_code, head.headers["Location"]) == (307, f"/{new}/resolve/main/config.json")
    assert Path(demo_api.hf_hub_download(old, "config.json")).read_bytes().startswith(b"{")
    assert [m.id for m in demo_api.list_models(author=org)] == [new]
    (moved_pr,) = bot_api.get_repo_discussions(new)
    assert moved_pr.num == pr.pr_num and moved_pr.author == "evalbot"
    assert "eval.json" in demo_api.list_repo_files(old, revision=f"refs/pr/{pr.pr_num}")

    demo_api.create_repo(old)  # the old name can be taken again: no more redirect
    reused = demo_api.model_info(old)
    assert reused.id == old and reused.sha != sha
    assert demo_api.list_repo_files(old) == [".gitattributes"]
    assert {m.id for m in demo_api.list_models(author=org)} == {old, new}


def test_move_rules(demo_api: HfApi, bot_api: HfApi, org: str) -> None:
    first, second = f"{org}/first", f"{org}/second"
    make_model(demo_api, first)
    make_model(demo_api, second)
    with pytest.raises(HfHubHTTPError) as taken:
        demo_api.move_repo(first, second)
    assert _status(taken) == 409
    with pytest.raises(HfHubHTTPError) as foreign:
        bot_api.move_repo(first, f"{org}/by-bot")
    assert _status(foreign) == 403
    with pytest.raises(HfHubHTTPError) as into_user:
        demo_api.move_repo(first, "evalbot/stolen")
    assert _status(into_user) == 403
    with pytest.raises(RepositoryNotFoundError):
        demo_api.move_repo(f"{org}/missing", f"{org}/anything")

    demo_api.move_repo(first, f"{org}/third")
    demo_api.move_repo(f"{org}/third", f"{org}/fourth")
    assert demo_api.model_info(first).id == f"{org}/fourth"  # one hop, not a chain
    assert demo_api.model_info(f"{org}/third").id == f"{org}/fourth"


def test_a_private_moved_repo_does_not_leak_its_new_name(
    demo_api: HfApi, hf_endpoint: str, org: str
) -> None:
    make_model(demo_api, f"{org}/secret")
    demo_api.update_repo_settings(f"{org}/secret", private=True)
    demo_api.move_repo(f"{org}/secret", f"{org}/hidden")
    assert demo_api.model_info(f"{org}/secret").id == f"{org}/hidden"
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hf_endpoint, token=False).model_info(f"{org}/secret")


def test_deleted_repo_is_gone_everywhere(demo_api: HfApi, org: str) -> None:
    make_model(demo_api, f"{org}/doomed")
    make_model(demo_api, f"{org}/kept")
    demo_api.move_repo(f"{org}/doomed", f"{org}/doomed-renamed")
    demo_api.delete_repo(f"{org}/doomed-renamed")
    for repo_id in (f"{org}/doomed", f"{org}/doomed-renamed"):
        with pytest.raises(RepositoryNotFoundError):
            demo_api.model_info(repo_id)
    assert [m.id for m in demo_api.list_models(author=org)] == [f"{org}/kept"]
    with pytest.raises(RepositoryNotFoundError):
        demo_api.delete_repo(f"{org}/doomed-renamed")
    demo_api.delete_repo(f"{org}/doomed-renamed", missing_ok=True)


def test_renames_survive_a_restart(tmp_path: Path) -> None:
    with run_in_thread(data_dir=tmp_path / "hub") as first:
        api = HfApi(endpoint=first.url, token=first.tokens["demo"])
        make_model(api, "keep/before")
        api.move_repo("keep/before", "keep/after")
    with run_in_thread(data_dir=tmp_path / "hub") as second:
        api = HfApi(endpoint=second.url, token=second.tokens["demo"])
        assert api.model_info("keep/before").id == "keep/after"
        assert api.model_info("keep/after").pipeline_tag == "text-classification"


@pytest.mark.parametrize("tag", ["evalbot", "no-evalbot"])
def test_card_tags_are_repo_tags(demo_api: HfApi, org: str, tag: str) -> None:
    repo_id = f"{org}/tagged"
    make_model(demo_api, repo_id)
    assert tag not in demo_api.model_info(repo_id).tags
    assert list(demo_api.list_models(filter=tag, author=org)) == []

    card = CARD.format(dataset="dair-ai/emotion").replace("- emotion\n", f"- emotion\n- {tag}\n")
    demo_api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id)

    info = demo_api.model_info(repo_id)
    assert tag in info.tags and "emotion" in info.tags
    assert info.card_data is not None and tag in (info.card_data.tags or [])
    assert [m.id for m in demo_api.list_models(filter=tag, author=org)] == [repo_id]
    assert [m.id for m in demo_api.list_models(filter=[tag, "emotion"], author=org)] == [repo_id]
    (listed,) = demo_api.list_models(filter=tag, author=org, full=True)
    assert tag in (listed.tags or [])
