"""Space repos: created with an SDK, committed to, listed, downloaded; a README that breaks the
Space configuration rules is refused with a 400, as the Hub refuses it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, SpaceCard, snapshot_download
from huggingface_hub.errors import BadRequestError

from sandbox.server import RunningSandbox

GOOD = """---
title: Results
emoji: 📊
colorFrom: indigo
colorTo: green
sdk: gradio
sdk_version: 6.31.0
python_version: "3.11"
app_file: app.py
short_description: {short}
tags: [leaderboard]
datasets: [evalbot/results]
---
# Results
"""


def _space(api: HfApi, repo_id: str) -> None:
    api.create_repo(repo_id, repo_type="space", space_sdk="gradio")


def _commit(api: HfApi, repo_id: str, files: dict[str, str]) -> str:
    operations = [CommitOperationAdd(path, text.encode()) for path, text in files.items()]
    return api.create_commit(repo_id, operations, repo_type="space", commit_message="Update").oid


def test_a_new_space_holds_the_hubs_readme_and_reports_its_sdk(
    demo_api: HfApi, org: str, tmp_path: Path
) -> None:
    repo_id = f"{org}/explorer"
    url = demo_api.create_repo(repo_id, repo_type="space", space_sdk="gradio")
    assert url.endswith(f"/spaces/{repo_id}")
    again = demo_api.create_repo(repo_id, repo_type="space", space_sdk="gradio", exist_ok=True)
    assert again == url

    assert sorted(demo_api.list_repo_files(repo_id, repo_type="space")) == [
        ".gitattributes",
        "README.md",
    ]
    info = demo_api.space_info(repo_id)
    assert info.sdk == "gradio" and "gradio" in (info.tags or [])
    assert info.card_data is not None and info.card_data.app_file == "app.py"
    assert info.runtime is not None and info.runtime.stage == "NO_APP_FILE"

    _commit(demo_api, repo_id, {"README.md": GOOD.format(short="Results"), "app.py": "print()\n"})
    info = demo_api.space_info(repo_id)
    assert info.runtime is not None and info.runtime.stage == "STOPPED"
    assert info.datasets == ["evalbot/results"]
    assert demo_api.repo_info(repo_id, repo_type="space").sha == info.sha
    commits = demo_api.list_repo_commits(repo_id, repo_type="space")
    assert [c.title for c in commits] == ["Update", "initial commit"]
    assert [s.id for s in demo_api.list_spaces(author=org)] == [repo_id]

    checkout = Path(snapshot_download(repo_id, repo_type="space", local_dir=tmp_path / "c"))
    assert (checkout / "app.py").read_text() == "print()\n"
    assert "short_description: Results" in (checkout / "README.md").read_text()


def test_a_space_needs_an_sdk_to_be_created(
    sandbox: RunningSandbox, demo_token: str, org: str
) -> None:
    response = httpx.post(
        f"{sandbox.url}/api/repos/create",
        json={"name": "no-sdk", "organization": org, "type": "space"},
        headers={"authorization": f"Bearer {demo_token}"},
    )
    assert response.status_code == 400 and '"sdk" must be one of' in response.json()["error"]


@pytest.mark.parametrize(
    ("readme", "problem"),
    [
        (
            GOOD.format(short="x" * 61),
            '"short_description" length must be less than or equal to 60',
        ),
        (GOOD.replace("sdk: gradio\n", ""), '"sdk" is required'),
        (GOOD.replace("sdk: gradio", "sdk: flask"), '"sdk" must be one of [gradio, docker'),
        (GOOD.replace("colorFrom: indigo", "colorFrom: teal"), '"colorFrom" must be one of'),
        (GOOD.replace('"3.11"', "3.10"), '"python_version" with value "3.1" fails to match'),
        (GOOD.replace("emoji: 📊", "emoji: ab"), '"emoji" must be an emoji'),
        ("# No front matter\n", '"sdk" is required'),
    ],
)
@pytest.mark.filterwarnings("ignore:Warnings while validating metadata")  # no front matter
def test_a_readme_that_breaks_the_space_rules_is_refused(
    sandbox: RunningSandbox, demo_api: HfApi, demo_token: str, org: str, readme: str, problem: str
) -> None:
    repo_id = f"{org}/strict"
    _space(demo_api, repo_id)
    head = demo_api.space_info(repo_id).sha
    # the client asks /api/validate-yaml first (a 400 there becomes its ValueError), then commits
    with pytest.raises(ValueError, match=r"Invalid metadata in README\.md") as refused:
        _commit(demo_api, repo_id, {"README.md": readme, "app.py": "print()\n"})
    error = refused.value if isinstance(refused.value, BadRequestError) else refused.value.__cause__
    assert isinstance(error, BadRequestError) and error.response.status_code == 400
    assert problem in str(refused.value)
    # a commit that skips that check (a git push, another client) is refused by the commit itself
    lines = [
        {"key": "header", "value": {"summary": "Update"}},
        {
            "key": "file",
            "value": {
                "path": "README.md",
                "content": base64.b64encode(readme.encode()).decode(),
                "encoding": "base64",
            },
        },
    ]
    response = httpx.post(
        f"{sandbox.url}/api/spaces/{repo_id}/commit/main",
        content="\n".join(json.dumps(line) for line in lines),
        headers={"authorization": f"Bearer {demo_token}", "content-type": "application/x-ndjson"},
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid metadata in README.md.\n- ")
    assert problem in response.json()["error"]
    assert demo_api.space_info(repo_id).sha == head  # nothing committed


def test_sixty_characters_and_every_rule_of_the_reference_pass(demo_api: HfApi, org: str) -> None:
    repo_id = f"{org}/lenient"
    _space(demo_api, repo_id)
    readme = GOOD.format(short="x" * 60).replace(
        "---\n# Results",
        "suggested_hardware: cpu-upgrade\nheader: mini\nfullWidth: false\n"
        "startup_duration_timeout: 1h\nhf_oauth_expiration_minutes: 43200\n"
        "custom_headers:\n  cross-origin-opener-policy: same-origin\n---\n# Results",
    )
    _commit(demo_api, repo_id, {"README.md": readme})
    assert demo_api.space_info(repo_id).card_data.short_description == "x" * 60  # type: ignore[union-attr]


def test_validate_yaml_applies_the_space_rules(hf_endpoint: str) -> None:
    SpaceCard(GOOD.format(short="fine")).validate(repo_type="space")
    with pytest.raises(ValueError, match="short_description"):
        SpaceCard(GOOD.format(short="y" * 61)).validate(repo_type="space")


def test_model_cards_are_not_held_to_the_space_rules(demo_api: HfApi, org: str) -> None:
    repo_id = f"{org}/model"
    demo_api.create_repo(repo_id)
    readme = "---\nshort_description: " + "z" * 80 + "\n---\n"
    demo_api.upload_file(path_or_fileobj=readme.encode(), path_in_repo="README.md", repo_id=repo_id)
