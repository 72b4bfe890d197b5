"""The Hub refusing our card is the outcome "card refused", recorded with the Hub's message, not
an unexpected error retried. huggingface_hub asks the Hub to validate a README.md before it
commits one; the sandbox answers as the Hub does (and refuses such a commit itself)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from bot.cycle import run_cycle
from sandbox.server import RunningSandbox
from sandbox.storage import AddFile
from sandbox.world import World
from store.db import Store
from tests.sandbox.helpers import Admin

from .conftest import bot_prs, make_model, write_config


def legacy_card(tag: str) -> str:
    """A card from before the Hub validated metadata: a model-index result without metrics.

    huggingface_hub reads it (the result yields no values), so evalbot keeps the author's result
    as it is, and the Hub refuses any commit of the card."""
    return (
        f"---\nlicense: mit\ndatasets:\n- {tag}\npipeline_tag: text-classification\n"
        "model-index:\n- name: legacy\n  results:\n  - task: {type: text-classification}\n"
        f"    dataset: {{type: {tag}, name: old}}\n    metrics: []\n---\n# A legacy card\n"
    )


def test_a_card_the_hub_refuses_is_card_refused_once(
    sandbox: RunningSandbox,
    world: World,
    demo_api: HfApi,
    bot_api: HfApi,
    store: Store,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = write_config(tmp_path / "config", isolation={"enabled": False})
    repo_id = f"{config.tag}/legacy-card"
    make_model(demo_api, world, repo_id, config.tag)
    repo = sandbox.hub.storage.get_repo("model", repo_id)
    readme = [AddFile("README.md", legacy_card(config.tag).encode())]  # past the Hub's check
    sha = sandbox.hub.storage.commit_to_branch(
        repo, "main", readme, title="legacy card", author="demo"
    ).id
    admin = Admin(sandbox.url)
    admin.clear_log()

    with caplog.at_level(logging.WARNING):
        report = run_cycle(config.load(), api=bot_api, store=store)

    assert report.prs == {"card refused": 1}, report.summary()
    assert bot_prs(demo_api, repo_id) == []
    job = store.get_job(repo_id, sha)
    assert job is not None and job["status"] == "done" and job["attempts"] == 1
    hub_message = (
        'Invalid metadata in README.md. - "model-index[0].results[0].metrics" must contain at '
        "least 1 items"
    )
    assert job["error"] == f"the Hub refused the card: {hub_message}"
    assert f"{repo_id}: the Hub refused the card: {hub_message}" in caplog.text
    asked = [e for e in admin.log() if e["method"] == "POST" and e["status"] >= 400]
    assert [(e["path"], e["status"]) for e in asked] == [("/api/validate-yaml", 400)]  # once
