"""Reading the sandbox Hub through huggingface_hub: info, listings, downloads, trees, errors."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    HfApi,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    DisabledRepoError,
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile, RepoFolder

from sandbox.server import run_in_thread
from tests.sandbox.helpers import Admin, make_model


def test_whoami_names_user_and_orgs(demo_api: HfApi, bot_api: HfApi, org: str) -> None:
    demo_api.create_repo(f"{org}/m")
    me = demo_api.whoami()
    assert me["name"] == "demo"
    assert org in [o["name"] for o in me["orgs"]]
    assert me["auth"]["accessToken"]["role"] == "write"
    assert bot_api.whoami()["name"] == "evalbot"
    assert bot_api.whoami()["orgs"] == []
    with pytest.raises(HfHubHTTPError) as caught:
        HfApi(token="hf_not_a_token").whoami()
    assert caught.value.response.status_code == 401


def test_model_info_fields(demo_api: HfApi, org: str) -> None:
    sha = make_model(demo_api, f"{org}/clf", dataset=f"{org}/emotion")
    info = demo_api.model_info(f"{org}/clf", files_metadata=True)
    assert info.sha == sha and len(sha) == 40
    assert isinstance(info.last_modified, datetime) and info.last_modified.tzinfo is not None
    assert isinstance(info.created_at, datetime)
    assert info.pipeline_tag == "text-classification"
    assert info.library_name == "transformers"
    assert info.author == org and info.private is False and info.gated is False
    assert {
        "transformers",
        "bert",
        "emotion",
        f"dataset:{org}/emotion",
        "license:apache-2.0",
    } <= set(info.tags)
    assert info.card_data is not None and info.card_data.license == "apache-2.0"
    assert info.transformers_info is not None
    assert info.transformers_info.auto_model == "AutoModelForSequenceClassification"
    sizes = {s.rfilename: s.size for s in info.siblings or []}
    assert set(sizes) == {".gitattributes", "README.md", "config.json"}
    assert all(isinstance(size, int) and size > 0 for size in sizes.values())
    assert demo_api.model_info(f"{org}/clf").siblings[0].size is None  # type: ignore[index]


def test_model_info_at_revision_and_security_status(
    demo_api: HfApi, admin: Admin, org: str
) -> None:
    first = make_model(demo_api, f"{org}/rev")
    card = "---\nlicense: mit\npipeline_tag: image-classification\n---\n"
    second = demo_api.upload_file(
        path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=f"{org}/rev"
    ).oid
    old, new = (demo_api.model_info(f"{org}/rev", revision=r) for r in (first, second))
    assert (old.sha, new.sha) == (first, second)
    assert (old.pipeline_tag, new.pipeline_tag) == ("text-classification", "image-classification")
    assert old.last_modified and new.last_modified and old.last_modified <= new.last_modified
    assert demo_api.model_info(f"{org}/rev").sha == second

    admin.repo("model", f"{org}/rev", security_issues=["pytorch_model.bin"])
    status = demo_api.model_info(f"{org}/rev", securityStatus=True).security_repo_status
    assert status == {
        "scansDone": True,
        "filesWithIssues": [{"path": "pytorch_model.bin", "level": "unsafe"}],
    }


def test_list_models_filters(demo_api: HfApi, org: str) -> None:
    make_model(demo_api, f"{org}/text-a", dataset=f"{org}/emotion")
    make_model(demo_api, f"{org}/text-b", dataset=f"{org}/other")
    vision = "---\npipeline_tag: image-classification\ndatasets: [beans]\n---\n"
    make_model(demo_api, f"{org}/vision", card=vision)

    def ids(**kwargs: object) -> set[str]:
        return {m.id for m in demo_api.list_models(**kwargs)}  # type: ignore[arg-type]

    assert ids(author=org) == {f"{org}/text-a", f"{org}/text-b", f"{org}/vision"}
    assert ids(filter=f"dataset:{org}/emotion") == {f"{org}/text-a"}
    assert ids(trained_dataset=f"{org}/other") == {f"{org}/text-b"}
    assert ids(author=org, pipeline_tag="image-classification") == {f"{org}/vision"}
    assert ids(search=f"{org}/text") == {f"{org}/text-a", f"{org}/text-b"}
    assert ids(author=org, filter=["emotion", "license:apache-2.0"]) == {
        f"{org}/text-a",
        f"{org}/text-b",
    }

    plain = next(iter(demo_api.list_models(author=org, limit=1)))
    assert plain.sha is None and plain.card_data is None and plain.pipeline_tag
    full = next(iter(demo_api.list_models(author=org, full=True, cardData=True, limit=1)))
    assert full.sha and full.last_modified and full.siblings and full.card_data is not None
    expanded = next(iter(demo_api.list_models(author=org, expand=["sha", "lastModified"])))
    assert expanded.sha and expanded.last_modified and expanded.tags is None


def test_list_models_sorts_descending(demo_api: HfApi, admin: Admin, org: str) -> None:
    for name, downloads, likes in (("a", 5, 30), ("b", 50, 10), ("c", 20, 20)):
        make_model(demo_api, f"{org}/{name}")
        admin.repo("model", f"{org}/{name}", downloads=downloads, likes=likes)
    demo_api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=f"{org}/a")

    def order(sort: str) -> list[str]:
        models = demo_api.list_models(author=org, sort=sort)  # type: ignore[arg-type]
        return [m.id.split("/")[1] for m in models]

    assert order("downloads") == ["b", "c", "a"]
    assert order("likes") == ["a", "c", "b"]
    assert order("created_at") == ["c", "b", "a"]
    assert order("last_modified") == ["a", "c", "b"]


def test_listings_follow_link_pagination(tmp_path: Path) -> None:
    with run_in_thread(data_dir=tmp_path / "hub", page_size=3) as hub:
        api = HfApi(endpoint=hub.url, token=hub.tokens["demo"])
        for i in range(8):
            api.create_repo(f"paged/m{i}")
        api.upload_folder(
            folder_path=_folder(tmp_path / "files", 7), repo_id="paged/m0", commit_message="files"
        )
        admin = Admin(hub.url)
        admin.clear_log()
        names = [m.id for m in api.list_models(author="paged", sort="created_at")]
        assert names == [f"paged/m{i}" for i in reversed(range(8))]
        pages = [e for e in admin.log() if e["path"] == "/api/models"]
        assert len(pages) == 3 and "cursor=" in pages[1]["query"]
        assert len(list(api.list_models(author="paged", limit=4))) == 4

        files = [f.path for f in api.list_repo_tree("paged/m0", recursive=True)]
        assert len(files) == 1 + 7 + 1  # .gitattributes, 7 files, the `sub` folder
        assert len([e for e in admin.log() if "/tree/" in e["path"]]) == 3


def _folder(path: Path, count: int) -> Path:
    (path / "sub").mkdir(parents=True)
    for i in range(count):
        (path / "sub" / f"f{i}.txt").write_text(f"file {i}")
    return path


def test_hf_hub_download_second_call_is_a_cache_hit(
    demo_api: HfApi, admin: Admin, org: str
) -> None:
    make_model(demo_api, f"{org}/dl")
    first = hf_hub_download(f"{org}/dl", "config.json")
    assert b"BertForSequenceClassification" in Path(first).read_bytes()
    admin.clear_log()
    assert hf_hub_download(f"{org}/dl", "config.json") == first
    calls = [(e["method"], e["status"]) for e in admin.log()]
    assert calls == [("HEAD", 200)]


def test_snapshot_download_allow_patterns_and_cache(
    demo_api: HfApi, admin: Admin, org: str
) -> None:
    make_model(demo_api, f"{org}/snap", extra={"sub/a.json": b"{}", "sub/b.txt": b"b"})
    folder = Path(snapshot_download(f"{org}/snap", allow_patterns=["*.json"]))
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        "config.json",
        "sub/a.json",
    ]
    admin.clear_log()
    assert Path(snapshot_download(f"{org}/snap", allow_patterns=["*.json"])) == folder
    assert not [e for e in admin.log() if e["method"] == "GET" and "/resolve/" in e["path"]]


def test_range_requests(demo_api: HfApi, org: str, hf_endpoint: str) -> None:
    import httpx

    make_model(demo_api, f"{org}/range")
    url = f"{hf_endpoint}/{org}/range/resolve/main/config.json"
    response = httpx.get(url, headers={"Range": "bytes=2-15"})
    assert response.status_code == 206
    assert response.content == b'"architectures"'[1:15]
    assert response.headers["Content-Range"].startswith("bytes 2-15/")
    assert len(response.headers["X-Repo-Commit"]) == 40


def test_tree_and_paths_info(demo_api: HfApi, org: str) -> None:
    make_model(demo_api, f"{org}/tree", extra={"sub/deep/a.txt": b"a", "sub/b.txt": b"bb"})
    top = {e.path: type(e) for e in demo_api.list_repo_tree(f"{org}/tree")}
    assert top == {
        ".gitattributes": RepoFile,
        "README.md": RepoFile,
        "config.json": RepoFile,
        "sub": RepoFolder,
    }
    inside = [e.path for e in demo_api.list_repo_tree(f"{org}/tree", "sub", recursive=True)]
    assert inside == ["sub/b.txt", "sub/deep", "sub/deep/a.txt"]
    expanded = list(demo_api.list_repo_tree(f"{org}/tree", "sub", expand=True))
    assert all(e.last_commit and e.last_commit.title == "Add model" for e in expanded)
    infos = demo_api.get_paths_info(f"{org}/tree", ["sub/b.txt", "sub", "missing.txt"])
    assert [(i.path, type(i)) for i in infos] == [("sub/b.txt", RepoFile), ("sub", RepoFolder)]
    assert isinstance(infos[0], RepoFile) and infos[0].size == 2
    with pytest.raises(EntryNotFoundError):
        list(demo_api.list_repo_tree(f"{org}/tree", "nope"))


def test_errors_map_to_client_exceptions(
    demo_api: HfApi, bot_api: HfApi, admin: Admin, org: str
) -> None:
    make_model(demo_api, f"{org}/err")
    with pytest.raises(RepositoryNotFoundError):
        demo_api.model_info(f"{org}/missing")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(f"{org}/missing", "config.json")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(f"{org}/err", "config.json", revision="nope")
    with pytest.raises(RevisionNotFoundError):
        demo_api.model_info(f"{org}/err", revision="nope")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(f"{org}/err", "missing.bin")


def test_gated_private_and_disabled_repos(
    demo_api: HfApi, bot_api: HfApi, bot_token: str, demo_token: str, admin: Admin, org: str
) -> None:
    make_model(demo_api, f"{org}/gated")
    demo_api.update_repo_settings(f"{org}/gated", gated="auto")
    assert bot_api.model_info(f"{org}/gated").gated == "auto"
    for token in (bot_token, None):
        with pytest.raises(GatedRepoError):
            hf_hub_download(f"{org}/gated", "config.json", token=token)
    assert hf_hub_download(f"{org}/gated", "config.json", token=demo_token)

    make_model(demo_api, f"{org}/private")
    demo_api.update_repo_settings(f"{org}/private", private=True)
    assert demo_api.model_info(f"{org}/private").private is True
    with pytest.raises(RepositoryNotFoundError):
        bot_api.model_info(f"{org}/private")
    assert f"{org}/private" not in {m.id for m in bot_api.list_models(author=org)}

    make_model(demo_api, f"{org}/disabled")
    admin.repo("model", f"{org}/disabled", disabled=True)
    with pytest.raises(DisabledRepoError):
        bot_api.model_info(f"{org}/disabled")


def test_unknown_routes_answer_404(hf_endpoint: str) -> None:
    import httpx

    for path in ("/api/agent-harnesses", "/api/nothing/here", "/"):
        response = httpx.get(hf_endpoint + path)
        assert response.status_code == 404 and "error" in response.json()
    assert httpx.head(f"{hf_endpoint}/api/agent-harnesses").content == b""


def test_pr_revision_can_be_read_back(demo_api: HfApi, bot_api: HfApi, org: str) -> None:
    make_model(demo_api, f"{org}/pr-read")
    operation = CommitOperationAdd("results.json", b'{"accuracy": 0.9}')
    pr = bot_api.create_commit(f"{org}/pr-read", [operation], commit_message="Add", create_pr=True)
    assert pr.pr_revision == "refs/pr/1"
    path = hf_hub_download(f"{org}/pr-read", "results.json", revision=pr.pr_revision)
    assert Path(path).read_bytes() == b'{"accuracy": 0.9}'
    files = bot_api.list_repo_files(f"{org}/pr-read", revision=pr.pr_revision)
    assert "results.json" in files
    assert "results.json" not in bot_api.list_repo_files(f"{org}/pr-read")
    assert bot_api.model_info(f"{org}/pr-read", revision=pr.pr_revision).sha == pr.oid
