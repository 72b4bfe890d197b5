"""Pull requests merged, and comments (a PR's description included) edited or hidden, through
huggingface_hub."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.community import DiscussionComment, DiscussionStatusChange
from huggingface_hub.errors import HfHubHTTPError

from tests.sandbox.helpers import make_model


def _status(error: pytest.ExceptionInfo[HfHubHTTPError]) -> int:
    return error.value.response.status_code


def test_merge_makes_a_commit_on_main_with_the_pr_changes(
    demo_api: HfApi, bot_api: HfApi, org: str
) -> None:
    repo_id = f"{org}/merge"
    make_model(demo_api, repo_id, extra={"old.txt": b"to be deleted"})
    changes = [
        CommitOperationAdd("README.md", b"---\nlicense: mit\n---\n# Evaluated\n"),
        CommitOperationAdd("results/eval.json", b'{"accuracy": 0.9}'),
        CommitOperationDelete("old.txt"),
    ]
    pr = bot_api.create_commit(repo_id, changes, commit_message="Add results", create_pr=True)
    assert pr.pr_num is not None
    # main moves on meanwhile, on a path the PR does not touch
    demo_api.upload_file(path_or_fileobj=b"v2", path_in_repo="notes.txt", repo_id=repo_id)
    before = demo_api.model_info(repo_id).sha

    demo_api.merge_pull_request(repo_id, pr.pr_num, comment="Thanks!")

    details = demo_api.get_discussion_details(repo_id, pr.pr_num)
    assert details.status == "merged" and details.merge_commit_oid
    head = demo_api.model_info(repo_id)
    assert head.sha == details.merge_commit_oid != before
    history = demo_api.list_repo_commits(repo_id)
    assert history[0].commit_id == head.sha and history[1].commit_id == before
    assert history[0].title == f"Add results (#{pr.pr_num})"
    files = demo_api.list_repo_files(repo_id)
    assert {"results/eval.json", "notes.txt", "config.json"} <= set(files)
    assert "old.txt" not in files
    card = Path(demo_api.hf_hub_download(repo_id, "README.md", revision=head.sha)).read_text()
    assert "# Evaluated" in card and head.card_data is not None
    assert head.card_data.license == "mit"

    *_, comment, merged = details.events
    assert isinstance(comment, DiscussionComment) and comment.content == "Thanks!"
    assert isinstance(merged, DiscussionStatusChange)
    assert (merged.new_status, merged.author) == ("merged", "demo")
    (listed,) = demo_api.get_repo_discussions(repo_id, discussion_status="closed")
    assert listed.status == "merged"
    with pytest.raises(HfHubHTTPError) as again:
        demo_api.merge_pull_request(repo_id, pr.pr_num)
    assert _status(again) == 400


def test_merge_conflict_is_refused(demo_api: HfApi, bot_api: HfApi, org: str) -> None:
    repo_id = f"{org}/conflict"
    make_model(demo_api, repo_id)
    change = [CommitOperationAdd("config.json", b"{}")]
    pr = bot_api.create_commit(repo_id, change, commit_message="Edit config", create_pr=True)
    demo_api.upload_file(path_or_fileobj=b'{"a": 1}', path_in_repo="config.json", repo_id=repo_id)
    assert bot_api.get_discussion_details(repo_id, pr.pr_num).conflicting_files == [  # type: ignore[arg-type]
        "config.json"
    ]
    with pytest.raises(HfHubHTTPError) as conflict:
        demo_api.merge_pull_request(repo_id, pr.pr_num)  # type: ignore[arg-type]
    assert _status(conflict) == 409
    assert demo_api.get_discussion_details(repo_id, pr.pr_num).status == "open"  # type: ignore[arg-type]


def test_editing_the_first_comment_edits_the_pr_description(
    demo_api: HfApi, bot_api: HfApi, org: str
) -> None:
    repo_id = f"{org}/described"
    make_model(demo_api, repo_id)
    pr = bot_api.create_commit(
        repo_id,
        [CommitOperationAdd("eval.json", b"{}")],
        commit_message="Add results",
        commit_description="First version of the description.",
        create_pr=True,
    )
    assert pr.pr_num is not None
    description = bot_api.get_discussion_details(repo_id, pr.pr_num).events[0]

    edited = bot_api.edit_discussion_comment(
        repo_id, pr.pr_num, description.id, "Second version, with a results table."
    )
    assert edited.id == description.id and edited.edited and not edited.hidden
    assert edited.content == "Second version, with a results table."
    assert edited.last_edited_by == "evalbot"

    first = bot_api.get_discussion_details(repo_id, pr.pr_num).events[0]
    assert isinstance(first, DiscussionComment)
    assert first.id == description.id and first.created_at == description.created_at
    assert first.content == "Second version, with a results table." and first.edited
    data = first._event["data"]
    assert data["latest"]["raw"] == "Second version, with a results table."
    assert data["numEdits"] == 1
    assert [v["raw"] for v in first.edit_history] == [
        "Second version, with a results table.",
        "First version of the description.",
    ]

    bot_api.edit_discussion_comment(repo_id, pr.pr_num, description.id, "Third version.")
    again = bot_api.get_discussion_details(repo_id, pr.pr_num).events[0]
    assert again._event["data"]["numEdits"] == 2
    assert again.edit_history[0]["raw"] == "Third version."  # type: ignore[attr-defined]


def test_only_the_author_edits_a_comment(demo_api: HfApi, bot_api: HfApi, org: str) -> None:
    repo_id = f"{org}/edits"
    make_model(demo_api, repo_id)
    question = demo_api.create_discussion(repo_id, "A question", description="Owner's text.")
    answer = bot_api.comment_discussion(repo_id, question.num, "The bot's answer.")
    with pytest.raises(HfHubHTTPError) as foreign:
        demo_api.edit_discussion_comment(repo_id, question.num, answer.id, "Rewritten by owner")
    assert _status(foreign) == 403  # not even a writer of the repo may edit someone's comment
    owners = demo_api.get_discussion_details(repo_id, question.num).events[0]
    with pytest.raises(HfHubHTTPError) as other_way:
        bot_api.edit_discussion_comment(repo_id, question.num, owners.id, "Rewritten by bot")
    assert _status(other_way) == 403
    with pytest.raises(HfHubHTTPError) as missing:
        bot_api.edit_discussion_comment(repo_id, question.num, "0" * 24, "Nothing here")
    assert _status(missing) == 404
    with pytest.raises(HfHubHTTPError) as empty:
        bot_api.edit_discussion_comment(repo_id, question.num, answer.id, "  ")
    assert _status(empty) == 400

    bot_api.edit_discussion_comment(repo_id, question.num, answer.id, "A better answer.")
    events = demo_api.get_discussion_details(repo_id, question.num).events
    assert [e.content for e in events if isinstance(e, DiscussionComment)] == [
        "Owner's text.",
        "A better answer.",
    ]


def test_hide_a_comment(demo_api: HfApi, bot_api: HfApi, org: str) -> None:
    repo_id = f"{org}/hidden"
    make_model(demo_api, repo_id)
    question = demo_api.create_discussion(repo_id, "A question", description="Owner's text.")
    owners = demo_api.get_discussion_details(repo_id, question.num).events[0]
    with pytest.raises(HfHubHTTPError) as foreign, pytest.warns(UserWarning):
        bot_api.hide_discussion_comment(repo_id, question.num, owners.id)
    assert _status(foreign) == 403

    spam = bot_api.comment_discussion(repo_id, question.num, "Buy now!")
    with pytest.warns(UserWarning):  # the client warns that hiding is irreversible
        hidden = demo_api.hide_discussion_comment(repo_id, question.num, spam.id)
    assert hidden.id == spam.id and hidden.hidden and hidden.content == ""
    events = bot_api.get_discussion_details(repo_id, question.num).events
    (shown,) = [e for e in events if e.id == spam.id]
    assert isinstance(shown, DiscussionComment) and shown.hidden and shown.content == ""
