"""`evalbot space deploy` against the sandbox Hub: the Space repo it makes, a deploy that changes
nothing, the Hub's refusal of a bad configuration, and a checkout of the repo served alone."""

from __future__ import annotations

import json
import os
import shutil
import socket
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from huggingface_hub import CommitOperationAdd, HfApi, SpaceCard

from bot.cli import main
from bot.errors import SpaceConfigError, SpaceDeployError, SpaceRejectedError
from bot.space_deploy import (
    CONFIG_FILE,
    DeployResult,
    ServedSpace,
    build_space,
    check_imports,
    check_space,
    check_space_front_matter,
    deploy_space,
    push_space,
    serve_checkout,
    space_repo_id,
)
from sandbox.space_config import space_config_problems
from store.tables import BY_NAME, to_table, write_tables
from tests.bot.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [
    ".gitattributes",
    "README.md",
    "app.py",
    CONFIG_FILE,
    "requirements.txt",
    "store/__init__.py",
    "store/catalogue.py",
    "store/class_groups.py",
    "store/errors.py",
    "store/label_errors.py",
    "store/outcomes.py",
    "store/significance.py",
    "store/tables.py",
    "store/types.py",
]

VALID = """---
title: evalbot results
emoji: 📊
colorFrom: indigo
colorTo: green
sdk: gradio
sdk_version: 6.31.0
python_version: "3.11"
app_file: app.py
short_description: Per-class results of Hub models
tags: [leaderboard]
datasets: [evalbot/results]
license: apache-2.0
---
# evalbot results
"""


def _with(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new)


# Each front matter, and whether the Hub's rules accept it.
CASES = {
    "valid": (VALID, True),
    "sixty characters": (_with("Per-class results of Hub models", "x" * 60), True),
    "61 characters": (_with("Per-class results of Hub models", "x" * 61), False),
    "no sdk": (_with("sdk: gradio\n", ""), False),
    "unknown sdk": (_with("sdk: gradio", "sdk: flask"), False),
    "docker": (_with("sdk: gradio", "sdk: docker"), True),
    "colour": (_with("colorTo: green", "colorTo: teal"), False),
    "python 3.10 unquoted": (_with('"3.11"', "3.10"), False),
    "python 3.11.7": (_with('"3.11"', '"3.11.7"'), True),
    "python 2": (_with('"3.11"', '"2.7"'), False),
    "text emoji": (_with("emoji: 📊", "emoji: chart"), False),
    "flag emoji": (_with("emoji: 📊", "emoji: 🏳️‍🌈"), True),
    "tags not a list of texts": (_with("tags: [leaderboard]", "tags: [{a: 1}]"), False),
    "pinned not a flag": (_with("license:", "pinned: maybe\nlicense:"), False),
    "hardware": (_with("license:", "suggested_hardware: t4-small\nlicense:"), True),
    "unknown hardware": (_with("license:", "suggested_hardware: h100\nlicense:"), False),
    "header mini": (_with("license:", "header: mini\nlicense:"), True),
    "base path": (_with("license:", "base_path: docs\nlicense:"), False),
    "oauth too long": (_with("license:", "hf_oauth_expiration_minutes: 43201\nlicense:"), False),
    "startup timeout": (_with("license:", "startup_duration_timeout: 1h\nlicense:"), True),
    "custom header": (
        _with("license:", "custom_headers:\n  x-frame-options: deny\nlicense:"),
        False,
    ),
    "COOP header": (
        _with("license:", "custom_headers:\n  cross-origin-opener-policy: same-origin\nlicense:"),
        True,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_check_space_front_matter_and_the_sandbox_agree(name: str) -> None:
    text, accepted = CASES[name]
    ours = check_space_front_matter(text)
    hubs = space_config_problems(yaml.safe_load(text.split("---")[1]))
    assert (ours == []) is accepted, ours
    assert (hubs == []) is accepted, hubs


def test_check_space_front_matter_says_what_is_wrong() -> None:
    assert check_space_front_matter(CASES["61 characters"][0]) == [
        "short_description has 61 characters; the Hub allows at most 60"
    ]
    assert check_space_front_matter(CASES["no sdk"][0]) == [
        "sdk is missing; set it to one of docker, gradio, static, streamlit"
    ]
    assert check_space_front_matter("# Results\n") == [
        "README.md has no front matter (a YAML block between --- lines at the top)"
    ]
    assert check_space_front_matter("---\nsdk: [gradio\n---\n")[0].startswith(
        "the front matter is not valid YAML"
    )
    assert check_space_front_matter(CASES["python 3.10 unquoted"][0]) == [
        "python_version 3.1 must be a quoted 3.x or 3.x.x version"
    ]


def test_space_repo_id_reads_a_space_url() -> None:
    assert space_repo_id("https://huggingface.co/spaces/evalbot/explorer") == "evalbot/explorer"
    assert space_repo_id("http://127.0.0.1:7860") is None


# ---- the built folder ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("space")
    build_space(folder, dataset="evalbot/results", hub_url="http://hub.invalid")
    return folder


def test_the_built_space_ships_the_app_its_requirements_and_config(built: Path) -> None:
    files = sorted(p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file())
    assert [f for f in files if not f.startswith("space/")] == sorted(SHIPPED[1:])
    shipped = sorted(f for f in files if f.startswith("space/"))
    project = sorted(
        f"space/{p.relative_to(ROOT / 'space').as_posix()}"
        for p in (ROOT / "space").rglob("*.py")
        if "__pycache__" not in p.parts
    )
    assert shipped == project
    assert "space.app import main" in (built / "app.py").read_text()

    readme = (built / "README.md").read_text()
    assert check_space_front_matter(readme) == []
    config = yaml.safe_load(readme.split("---")[1])
    requirements = (built / "requirements.txt").read_text().splitlines()
    lock = (ROOT / "requirements.txt").read_text().splitlines()
    assert f"gradio=={config['sdk_version']}" in lock
    assert not any(line.startswith("gradio") for line in requirements)  # the Hub installs it
    assert all(line in lock for line in requirements) and len(requirements) >= 7
    assert config["app_file"] == "app.py" and config["sdk"] == "gradio"
    assert config["datasets"] == ["evalbot/results"] and "leaderboard" in config["tags"]
    assert json.loads((built / CONFIG_FILE).read_text()) == {
        "dataset": "evalbot/results",
        "hub_url": "http://hub.invalid",
    }


def test_the_built_space_imports_only_what_it_ships_or_installs(built: Path) -> None:
    assert check_imports(built) == []
    check_space(built)


def test_check_imports_names_what_the_space_lacks(tmp_path: Path) -> None:
    (tmp_path / "space").mkdir()
    (tmp_path / "space" / "__init__.py").write_text("")
    (tmp_path / "space" / "page.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import pandas\n"
        "from . import missing\n"
        "from store.db import Store\n"
        "import pymongo\n"
        "if TYPE_CHECKING:\n"
        "    from bot.config import BotConfig\n"
        "def later():\n"
        "    from evaluators import registry\n"
    )
    assert check_imports(tmp_path) == [
        "space/page.py imports store.db, which the Space does not ship",
        "space/page.py imports pymongo, which the Space does not install",
        "space/page.py imports evaluators, which the Space does not ship",
    ]


def test_a_bad_front_matter_is_caught_before_anything_is_pushed(
    built: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "space"
    shutil.copytree(built, folder)
    readme = folder / "README.md"
    readme.write_text(readme.read_text().replace("sdk: gradio\n", ""))
    with pytest.raises(SpaceConfigError, match="sdk is missing"):
        check_space(folder)


# ---- pushing to the sandbox ------------------------------------------------------------------


def _repo(name: str) -> str:
    return f"evalbot/{name}-{uuid.uuid4().hex[:8]}"


def test_push_commits_only_what_changed_and_deletes_what_it_no_longer_writes(
    built: Path, bot_api: HfApi
) -> None:
    repo_id = _repo("explorer")
    steps: list[str] = []
    first = push_space(bot_api, repo_id, built, on_step=steps.append)
    assert first.created and first.commit is not None
    assert steps[0] == f"Space repo {repo_id}: created"
    files = bot_api.list_repo_files(repo_id, repo_type="space")
    assert [f for f in sorted(files) if not f.startswith("space/")] == SHIPPED

    bot_api.upload_file(
        path_or_fileobj=b"x = 1\n",
        path_in_repo="space/stale.py",
        repo_id=repo_id,
        repo_type="space",
    )
    second = push_space(bot_api, repo_id, built, on_step=steps.append)
    assert not second.created and second.changed == ["space/stale.py"]
    commits = bot_api.list_repo_commits(repo_id, repo_type="space")
    assert commits[0].commit_id == second.commit

    third = push_space(bot_api, repo_id, built, on_step=steps.append)
    assert third == DeployResult(repo_id, first.url, False, None)
    assert steps[-1] == f"Space {repo_id}: up to date, nothing committed"
    assert len(bot_api.list_repo_commits(repo_id, repo_type="space")) == len(commits)
    assert first.url == f"{os.environ['HF_ENDPOINT']}/spaces/{repo_id}"


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("Per-class results of Hub models on clean and perturbed data", "y" * 61, "60 characters"),
        ("sdk: gradio\n", "", '"sdk" is required'),
    ],
)
def test_the_hub_refuses_a_bad_front_matter_as_a_typed_error(
    built: Path, tmp_path: Path, bot_api: HfApi, old: str, new: str, problem: str
) -> None:
    folder = tmp_path / "space"
    shutil.copytree(built, folder)
    readme = folder / "README.md"
    assert old in readme.read_text()
    readme.write_text(readme.read_text().replace(old, new))
    repo_id = _repo("refused")
    with pytest.raises(SpaceRejectedError, match=problem) as refused:
        push_space(bot_api, repo_id, folder, on_step=lambda line: None)
    assert refused.value.repo_id == repo_id
    assert bot_api.list_repo_files(repo_id, repo_type="space") == [".gitattributes", "README.md"]


# ---- deploying, and serving a checkout ---------------------------------------------------------


@pytest.fixture(scope="module")
def results(bot_api: HfApi, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A results dataset on the sandbox: every table of the contract, empty."""
    repo_id = _repo("results")
    folder = tmp_path_factory.mktemp("results")
    write_tables({name: to_table(table, []) for name, table in BY_NAME.items()}, folder)
    bot_api.create_repo(repo_id, repo_type="dataset")
    bot_api.upload_folder(repo_id=repo_id, repo_type="dataset", folder_path=folder)
    return repo_id


@pytest.fixture(scope="module")
def deployed(bot_api: HfApi, results: str) -> tuple[str, DeployResult, list[str]]:
    repo_id = _repo("explorer")
    steps: list[str] = []
    result = deploy_space(repo_id, dataset=results, api=bot_api, on_step=steps.append)
    return repo_id, result, steps


def test_deploy_creates_a_space_the_hub_accepts(
    deployed: tuple[str, DeployResult, list[str]], bot_api: HfApi, results: str
) -> None:
    repo_id, result, steps = deployed
    assert result.created and result.commit is not None
    assert steps[0].startswith("built the Space: ") and steps[-1] == f"Space: {result.url}"
    info = bot_api.space_info(repo_id)
    assert info.sha == result.commit and info.sdk == "gradio" and info.datasets == [results]
    assert info.runtime is not None and info.runtime.stage == "STOPPED"  # its app file is there
    readme = bot_api.hf_hub_download(repo_id, "README.md", repo_type="space")
    text = Path(readme).read_text()
    assert check_space_front_matter(text) == []
    SpaceCard(text).validate(repo_type="space")  # the Hub's own check of it


def test_a_second_deploy_through_the_cli_commits_nothing(
    deployed: tuple[str, DeployResult, list[str]],
    bot_api: HfApi,
    bot_token: str,
    results: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo_id, result, _ = deployed
    monkeypatch.setenv("HF_TOKEN", bot_token)
    args = ["--config", str(ROOT / "config"), "space", "deploy", "--repo", repo_id]
    assert main([*args, "--dataset", results]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"Space {repo_id}: up to date, nothing committed" in out
    assert out[-1] == f"Space: {os.environ['HF_ENDPOINT']}/spaces/{repo_id}"
    assert bot_api.space_info(repo_id).sha == result.commit


def test_deploy_without_a_token_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    args = ["--config", str(ROOT / "config"), "space", "deploy", "--repo", "evalbot/explorer"]
    assert main(args) == 2
    assert "HF_TOKEN is needed to deploy the Space evalbot/explorer" in capsys.readouterr().err


def test_deploy_without_a_results_dataset_says_where_to_name_one(
    tmp_path: Path,
    bot_token: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_config(tmp_path / "config", results_dataset=None)
    monkeypatch.setenv("HF_TOKEN", bot_token)
    assert main(["--config", str(config.path), "space", "deploy", "--repo", "evalbot/x"]) == 2
    err = capsys.readouterr().err
    assert "pass --dataset ORG/NAME or set results_dataset in bot.yaml" in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(
    deployed: tuple[str, DeployResult, list[str]], tmp_path: Path, bot_token: str
) -> Iterator[ServedSpace]:
    env = {
        **os.environ,
        "MONGODB_URI": "mongodb://127.0.0.1:9/never",  # a Space never gets it
        "HF_TOKEN": bot_token,  # nor the bot's token
    }
    space = serve_checkout(deployed[0], tmp_path / "checkout", port=_free_port(), env=env)
    yield space
    space.stop()


def test_a_checkout_of_the_space_repo_serves_the_app_from_the_checkout_alone(
    served: ServedSpace,
) -> None:
    with urllib.request.urlopen(served.url, timeout=30) as page:
        assert page.status == 200
        assert "gradio" in page.read().decode().lower()
    pid = served.process.pid
    environ = dict(
        item.split("=", 1)
        for item in Path(f"/proc/{pid}/environ").read_text().split("\0")
        if "=" in item
    )
    checkout = served.checkout.resolve()
    assert "MONGODB_URI" not in environ and "HF_TOKEN" not in environ
    assert environ["PYTHONPATH"] == str(served.checkout)
    assert Path(f"/proc/{pid}/cwd").resolve() == checkout
    assert Path(f"/proc/{pid}/cmdline").read_text().split("\0")[1] == "app.py"
    assert f"evalbot Space: app code from {checkout / 'space'}" in served.log.read_text()


def test_serving_into_a_folder_with_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(FileExistsError, match="is not empty"):
        serve_checkout("evalbot/explorer", tmp_path, port=1, env={})


def test_a_space_that_cannot_start_reports_its_log(bot_api: HfApi, tmp_path: Path) -> None:
    repo_id = _repo("broken")
    bot_api.create_repo(repo_id, repo_type="space", space_sdk="gradio")
    operations = [CommitOperationAdd("app.py", b"raise SystemExit('no results dataset')\n")]
    bot_api.create_commit(repo_id, operations, repo_type="space", commit_message="Add app")
    with pytest.raises(SpaceDeployError, match="exited with code 1: no results dataset"):
        serve_checkout(repo_id, tmp_path / "c", port=_free_port(), env=dict(os.environ))
