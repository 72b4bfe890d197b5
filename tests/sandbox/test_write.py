"""Writing to the sandbox Hub through huggingface_hub: repos, commits, PRs, discussions, cards."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    ModelCard,
    ModelCardData,
    hf_hub_download,
)
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.repocard_data import EvalResult

from tests.sandbox.helpers import make_model


def _status(error: pytest.ExceptionInfo[HfHubHTTPError]) -> int:
    return error.value.response.status_code


def test_create_repo_exist_ok_and_namespaces(demo_api: HfApi, bot_api: HfApi, org: str) -> None:
    url = demo_api.create_repo(f"{org}/new")
    assert url.repo_id == f"{org}/new" and url.endpoint == demo_api.endpoint
    with pytest.raises(HfHubHTTPError) as exists:
        demo_api.create_repo(f"{org}/new")
    assert _status(exists) == 409
    assert exists.value.response.json()["url"].endswith(f"/{org}/new")
    assert demo_api.create_repo(f"{org}/new", exist_ok=True).repo_id == f"{org}/new"
    assert demo_api.list_repo_files(f"{org}/new") == [".gitattributes"]

    data = demo_api.create_repo(f"{org}/data", repo_type="dataset")
    assert data.repo_type == "dataset"
    with pytest.raises(HfHubHTTPError) as foreign:
        bot_api.create_repo(f"{org}/bot-model")
    assert _status(foreign) == 403
    with pytest.raises(HfHubHTTPError):
        demo_api.create_repo("evalbot/not-yours")
    assert bot_api.create_repo(f"evalbot/{org}").repo_id == f"evalbot/{org}"

    demo_api.delete_repo(f"{org}/new")
    with pytest.raises(RepositoryNotFoundError):
        demo_api.model_info(f"{org}/new")


def test_upload_folder_and_deletions(demo_api: HfApi, org: str, tmp_path: Path) -> None:
    demo_api.create_repo(f"{org}/folder")
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "model.bin").write_bytes(b"\x00\x01" * 1000)
    (tmp_path / "README.md").write_text("---\nlicense: mit\n---\n# Folder\n")
    info = demo_api.upload_folder(folder_path=tmp_path, repo_id=f"{org}/folder")
    files = demo_api.list_repo_files(f"{org}/folder")
    assert files == [".gitattributes", "README.md", "weights/model.bin"]
    assert demo_api.model_info(f"{org}/folder").sha == info.oid
    weights = Path(hf_hub_download(f"{org}/folder", "weights/model.bin"))
    assert weights.read_bytes() == b"\x00\x01" * 1000

    again = demo_api.upload_folder(folder_path=tmp_path, repo_id=f"{org}/folder")
    assert again.oid == info.oid  # nothing changed: preupload's oids make the client skip it

    demo_api.delete_folder("weights", repo_id=f"{org}/folder")
    demo_api.delete_file("README.md", repo_id=f"{org}/folder")
    assert demo_api.list_repo_files(f"{org}/folder") == [".gitattributes"]
    with pytest.raises(HfHubHTTPError):
        demo_api.delete_file("README.md", repo_id=f"{org}/folder")


def test_pull_request_lifecycle(demo_api: HfApi, bot_api: HfApi, org: str) -> None:
    repo_id = f"{org}/pr"
    make_model(demo_api, repo_id)
    readme = b"---\nlicense: mit\n---\n# Evaluated\n"
    pr = bot_api.create_commit(
        repo_id,
        [CommitOperationAdd("README.md", readme)],
        commit_message="Add evaluation results",
        commit_description="Scores from evalbot.",
        create_pr=True,
    )
    assert pr.pr_url and pr.pr_url.endswith("/discussions/1") and pr.pr_num == 1
    card = Path(hf_hub_download(repo_id, "README.md", revision=pr.pr_revision)).read_text()
    assert "# Evaluated" in card
    assert "# Evaluated" not in Path(hf_hub_download(repo_id, "README.md")).read_text()

    (listed,) = bot_api.get_repo_discussions(
        repo_id, discussion_type="pull_request", author="evalbot"
    )
    assert (listed.num, listed.title, listed.status) == (1, "Add evaluation results", "open")
    assert listed.is_pull_request and listed.git_reference == "refs/pr/1"
    assert list(bot_api.get_repo_discussions(repo_id, author="demo")) == []

    details = bot_api.get_discussion_details(repo_id, 1)
    assert details.target_branch == "refs/heads/main" and details.conflicting_files == []
    assert (
        details.diff and "+# Evaluated" in details.diff and "-# A tiny classifier" in details.diff
    )
    assert [e.type for e in details.events] == ["comment", "commit"]
    assert details.events[0].content == "Scores from evalbot."  # type: ignore[attr-defined]

    update = CommitOperationAdd("eval.json", b"{}")
    bot_api.create_commit(repo_id, [update], commit_message="More", revision=pr.pr_revision)
    assert "eval.json" in bot_api.list_repo_files(repo_id, revision=pr.pr_revision)

    comment = bot_api.comment_discussion(repo_id, 1, "Updated the results.")
    assert comment.content == "Updated the results." and comment.author == "evalbot"
    renamed = bot_api.rename_discussion(repo_id, 1, "Add evaluation results (v2)")
    assert renamed.new_title == "Add evaluation results (v2)"
    closed = bot_api.change_discussion_status(repo_id, 1, "closed", comment="Superseded")
    assert closed.new_status == "closed"
    assert bot_api.get_discussion_details(repo_id, 1).status == "closed"
    assert list(bot_api.get_repo_discussions(repo_id, discussion_status="open")) == []

    again = [CommitOperationAdd("README.md", readme)]
    second = bot_api.create_commit(repo_id, again, commit_message="Again", create_pr=True)
    demo_api.merge_pull_request(repo_id, second.pr_num)  # type: ignore[arg-type]
    merged = demo_api.get_discussion_details(repo_id, 2)
    assert merged.status == "merged" and merged.merge_commit_oid
    assert demo_api.model_info(repo_id).sha == merged.merge_commit_oid
    assert demo_api.model_info(repo_id).card_data.license == "mit"  # type: ignore[union-attr]


def test_bot_permissions(demo_api: HfApi, bot_api: HfApi, org: str) -> None:
    repo_id = f"{org}/perm"
    make_model(demo_api, repo_id)

    def change() -> list[CommitOperationAdd]:
        return [CommitOperationAdd("x.txt", b"x")]

    with pytest.raises(HfHubHTTPError) as direct:
        bot_api.create_commit(repo_id, change(), commit_message="direct")
    assert _status(direct) == 403
    pr = bot_api.create_commit(repo_id, change(), commit_message="via PR", create_pr=True)
    with pytest.raises(HfHubHTTPError) as merge:
        bot_api.merge_pull_request(repo_id, pr.pr_num)  # type: ignore[arg-type]
    assert _status(merge) == 403

    question = demo_api.create_discussion(repo_id, "A question from the owner")
    assert bot_api.comment_discussion(repo_id, question.num, "An answer").content == "An answer"
    with pytest.raises(HfHubHTTPError) as close:
        bot_api.change_discussion_status(repo_id, question.num, "closed")
    assert _status(close) == 403
    assert demo_api.change_discussion_status(repo_id, pr.pr_num, "closed").new_status == "closed"  # type: ignore[arg-type]

    demo_api.update_repo_settings(repo_id, gated="manual")
    assert bot_api.create_commit(repo_id, change(), commit_message="gated", create_pr=True).pr_url
    with pytest.raises(HfHubHTTPError) as settings:
        bot_api.update_repo_settings(repo_id, gated=False)
    assert _status(settings) == 403


def test_parent_commit_mismatch_is_refused(demo_api: HfApi, org: str) -> None:
    repo_id = f"{org}/parent"
    first = make_model(demo_api, repo_id)
    demo_api.upload_file(path_or_fileobj=b"1", path_in_repo="one.txt", repo_id=repo_id)
    with pytest.raises(HfHubHTTPError) as stale:
        demo_api.create_commit(
            repo_id,
            [CommitOperationAdd("two.txt", b"2")],
            commit_message="stale",
            parent_commit=first,
        )
    assert _status(stale) == 412
    head = demo_api.model_info(repo_id).sha
    demo_api.create_commit(
        repo_id,
        [CommitOperationDelete("one.txt")],
        commit_message="fresh",
        parent_commit=head,
    )
    assert "one.txt" not in demo_api.list_repo_files(repo_id)


def test_validate_yaml(sandbox: object) -> None:
    good = ModelCard.from_template(
        ModelCardData(
            license="mit",
            model_name="m",
            eval_results=[
                EvalResult(
                    task_type="text-classification",
                    dataset_type="dair-ai/emotion",
                    dataset_name="emotion",
                    metric_type="accuracy",
                    metric_value=0.9,
                )
            ],
        )
    )
    good.validate()
    with pytest.raises(ValueError, match="license"):
        ModelCard("---\nlicense: 3\n---\n# Card\n").validate()
    no_dataset_name = (
        "---\nmodel-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
        "    dataset: {type: emotion}\n    metrics: [{type: accuracy, value: 0.9}]\n---\n"
    )
    with pytest.raises(ValueError, match=r"dataset\.name"):
        HfApi()._validate_yaml(no_dataset_name)
    with pytest.raises(ValueError, match="Invalid metadata"):
        HfApi()._validate_yaml("---\nlicense: [mit\n---\n")


def test_model_card_load_and_push_as_pr(
    demo_api: HfApi, bot_api: HfApi, bot_token: str, org: str
) -> None:
    repo_id = f"{org}/card"
    make_model(demo_api, repo_id)
    card = ModelCard.load(repo_id)
    assert card.data.pipeline_tag == "text-classification"
    card.data.tags = [*(card.data.tags or []), "evaluated"]
    card.push_to_hub(repo_id, token=bot_token, create_pr=True, commit_message="Tag it")
    (pr,) = bot_api.get_repo_discussions(repo_id, author="evalbot")
    revised = ModelCard.load(repo_id + "", token=bot_token)
    assert "evaluated" not in (revised.data.tags or [])
    at_pr = bot_api.hf_hub_download(repo_id, "README.md", revision=pr.git_reference)
    assert "evaluated" in ModelCard.load(at_pr).data.tags


def test_draft_pull_request_refs_and_commits(demo_api: HfApi, bot_api: HfApi, org: str) -> None:
    repo_id = f"{org}/draft"
    make_model(demo_api, repo_id)
    draft = bot_api.create_pull_request(repo_id, "Evaluation results")
    assert (draft.num, draft.status, draft.is_pull_request) == (1, "draft", True)
    refs = bot_api.list_repo_refs(repo_id, include_pull_requests=True)
    assert [b.name for b in refs.branches] == ["main"]
    assert [(p.name, p.ref) for p in refs.pull_requests or []] == [("1", "refs/pr/1")]

    add = [CommitOperationAdd("eval.json", b"{}")]
    bot_api.create_commit(repo_id, add, commit_message="Add eval", revision="refs/pr/1")
    assert bot_api.get_discussion_details(repo_id, 1).status == "open"
    history = bot_api.list_repo_commits(repo_id, revision="refs/pr/1")
    assert [c.title for c in history] == ["Add eval", "Add model", "initial commit"]
    assert history[0].authors == ["evalbot"]

    theirs = demo_api.create_pull_request(repo_id, "Owner's own PR")
    with pytest.raises(HfHubHTTPError) as foreign:
        bot_api.create_commit(
            repo_id,
            [CommitOperationAdd("x.txt", b"x")],
            commit_message="Push to someone else's PR",
            revision=theirs.git_reference,
        )
    assert _status(foreign) == 403
