"""Token roles and gated repos: read tokens write nothing; a gated repo's files are for its
owners and the users granted access; the request log names who asked with which role."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError

from sandbox.server import RunningSandbox
from sandbox.users import load_tokens
from tests.sandbox.helpers import Admin, make_model


@pytest.fixture
def bot_read_api(sandbox: RunningSandbox) -> HfApi:
    return HfApi(token=sandbox.tokens["evalbot:read"])


@pytest.fixture
def demo_read_api(sandbox: RunningSandbox) -> HfApi:
    return HfApi(token=sandbox.tokens["demo:read"])


def test_whoami_names_the_role_of_each_token(
    demo_api: HfApi, bot_api: HfApi, demo_read_api: HfApi, bot_read_api: HfApi
) -> None:
    roles = {
        (me["name"], me["auth"]["accessToken"]["role"])
        for me in (api.whoami() for api in (demo_api, bot_api, demo_read_api, bot_read_api))
    }
    assert roles == {("demo", "write"), ("evalbot", "write"), ("demo", "read"), ("evalbot", "read")}
    assert demo_read_api.whoami()["orgs"] == demo_api.whoami()["orgs"]


def test_a_read_token_reads_and_is_refused_every_write(
    demo_api: HfApi, demo_read_api: HfApi, org: str, tmp_path: Path
) -> None:
    repo_id = f"{org}/read-only"
    sha = make_model(demo_api, repo_id)
    demo_api.update_repo_settings(repo_id, private=True)
    pr = demo_api.create_commit(
        repo_id, [CommitOperationAdd("a.txt", b"a")], commit_message="A PR", create_pr=True
    )
    assert pr.pr_num is not None
    num = pr.pr_num
    comment = demo_api.comment_discussion(repo_id, num, "a comment")

    # everything the owner may read, the owner's read token reads
    assert demo_read_api.model_info(repo_id).sha == sha
    assert repo_id in {m.id for m in demo_read_api.list_models(author=org)}
    assert [p.path for p in demo_read_api.get_paths_info(repo_id, ["config.json"])] == [
        "config.json"
    ]
    assert hf_hub_download(repo_id, "config.json", token=demo_read_api.token, cache_dir=tmp_path)
    checked = httpx.post(  # a POST that only reads
        f"{demo_read_api.endpoint}/api/validate-yaml",
        json={"content": "---\nlicense: mit\n---\n", "repoType": "model"},
        headers={"authorization": f"Bearer {demo_read_api.token}"},
    )
    assert checked.status_code == 200
    demo_read_api.auth_check(repo_id)

    add = [CommitOperationAdd("b.txt", b"b")]
    writes: list[Callable[[], object]] = [
        lambda: demo_read_api.create_repo(f"{org}/new"),
        lambda: demo_read_api.create_commit(repo_id, add, commit_message="direct"),
        lambda: demo_read_api.create_commit(repo_id, add, commit_message="PR", create_pr=True),
        lambda: demo_read_api.update_repo_settings(repo_id, gated="auto"),
        lambda: demo_read_api.create_discussion(repo_id, "a question"),
        lambda: demo_read_api.comment_discussion(repo_id, num, "more"),
        lambda: demo_read_api.edit_discussion_comment(repo_id, num, comment.id, "x"),
        lambda: demo_read_api.change_discussion_status(repo_id, num, "closed"),
        lambda: demo_read_api.merge_pull_request(repo_id, num),
        lambda: demo_read_api.move_repo(repo_id, f"{org}/moved"),
        lambda: demo_read_api.delete_repo(repo_id),
    ]
    for write in writes:
        with pytest.raises(HfHubHTTPError) as refused:
            write()
        assert refused.value.response.status_code == 403
        assert "'read' role" in str(refused.value)
    after = demo_api.model_info(repo_id)
    assert after.sha == sha and after.private is True and not after.gated
    assert [d.status for d in demo_api.get_repo_discussions(repo_id)] == ["open"]


def test_a_gated_repo_serves_its_files_to_owners_and_granted_users_only(
    demo_api: HfApi,
    bot_api: HfApi,
    bot_read_api: HfApi,
    demo_read_api: HfApi,
    admin: Admin,
    org: str,
    tmp_path: Path,
) -> None:
    repo_id = f"{org}/gated-data"
    demo_api.create_repo(repo_id, repo_type="dataset")
    demo_api.upload_file(
        path_or_fileobj=b"a,b\n1,2\n", path_in_repo="data.csv", repo_id=repo_id, repo_type="dataset"
    )
    assert admin.repo("dataset", repo_id, gated="manual")["granted"] == []

    def download(api: HfApi | None) -> str:  # a fresh cache: a cached file hides a refusal
        token = api.token if api is not None else False
        cache = tmp_path / uuid.uuid4().hex
        return hf_hub_download(
            repo_id, "data.csv", repo_type="dataset", token=token, cache_dir=cache
        )

    for api in (demo_api, demo_read_api):  # its owner, with either token
        assert Path(download(api)).read_bytes() == b"a,b\n1,2\n"
        api.auth_check(repo_id, repo_type="dataset")
    for api, status in ((None, 401), (bot_api, 403), (bot_read_api, 403)):
        with pytest.raises(GatedRepoError) as refused:
            download(api)
        assert refused.value.response.status_code == status
        assert f"dataset {repo_id} is restricted" in str(refused.value.server_message)
        with pytest.raises(GatedRepoError):
            HfApi(token=api.token if api else False).auth_check(repo_id, repo_type="dataset")
    info = bot_read_api.dataset_info(repo_id)  # its card and file list stay public
    assert info.gated == "manual" and "data.csv" in {s.rfilename for s in info.siblings or []}

    assert admin.repo("dataset", repo_id, granted=["evalbot"])["granted"] == ["evalbot"]
    for api in (bot_api, bot_read_api):
        assert Path(download(api)).read_bytes() == b"a,b\n1,2\n"
        api.auth_check(repo_id, repo_type="dataset")
    with pytest.raises(GatedRepoError):
        download(None)

    admin.repo("dataset", repo_id, granted=[])
    with pytest.raises(GatedRepoError):
        download(bot_read_api)
    admin.repo("dataset", repo_id, gated=False)
    assert download(None)


def test_granting_an_unknown_user_is_refused(demo_api: HfApi, admin: Admin, org: str) -> None:
    make_model(demo_api, f"{org}/m")
    for granted in (["nobody"], "evalbot", [1]):
        response = httpx.post(
            f"{admin.url}/_sandbox/repos/model/{org}/m", json={"gated": "auto", "granted": granted}
        )
        assert response.status_code == 400 and "granted" in response.json()["error"]
    assert admin.repo("model", f"{org}/m")["gated"] is False  # nothing was changed


def test_the_log_names_the_user_and_role_never_the_token(
    sandbox: RunningSandbox, bot_api: HfApi, bot_read_api: HfApi, admin: Admin, org: str
) -> None:
    admin.clear_log()
    bot_api.whoami()
    bot_read_api.whoami()
    httpx.get(f"{sandbox.url}/api/whoami-v2")
    entries = [e for e in admin.log() if e["path"] == "/api/whoami-v2"]
    assert [(e["user"], e["role"], e["status"]) for e in entries] == [
        ("evalbot", "write", 200),
        ("evalbot", "read", 200),
        (None, None, 401),
    ]
    assert not any(token in json.dumps(admin.log()) for token in sandbox.tokens.values())


def test_a_data_dir_made_before_read_tokens_gets_them(tmp_path: Path) -> None:
    (tmp_path / "tokens.json").write_text(json.dumps({"demo": "hf_old1", "evalbot": "hf_old2"}))
    tokens = load_tokens(tmp_path)
    assert tokens["demo"] == "hf_old1" and tokens["evalbot"] == "hf_old2"
    assert tokens["demo:read"].startswith("hf_") and tokens["evalbot:read"].startswith("hf_")
    assert load_tokens(tmp_path) == tokens == json.loads((tmp_path / "tokens.json").read_text())
