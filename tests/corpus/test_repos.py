"""Malformed repos through one bot cycle on the sandbox Hub: discovery → jobs → executor → store.

Every job must end (none left queued, claimed or lost), every model must carry its typed outcome,
no log line may hold a traceback, and the cycle goes on after each failure.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from pathlib import Path

import pytest
import yaml
from huggingface_hub import CommitOperationAdd, HfApi

from bot.config import load_config
from bot.discovery import discover
from bot.jobloop import CycleReport, drain
from bot.worker import Worker
from sandbox.storage import AddFile
from sandbox.world import build_world
from store.db import Store
from store.types import FailureReason, ModelRecord, ModelStatus
from tests.corpus import repos
from tests.sandbox.helpers import Admin

pytestmark = pytest.mark.slow  # the repo corpus: a cycle over ~90 repos, each in an isolated child

ROOT = Path(__file__).resolve().parents[2]


def _config(root: Path, tag: str, dataset: str, revision: str) -> Path:
    bot = yaml.safe_load((ROOT / "config" / "bot.yaml").read_text())
    bot["queue"].update(lease_seconds=60, max_attempts=2, retry_delay_seconds=0)
    bot["pull_requests"].update(max_per_hour=1000)
    # the shared sandbox holds other tests' repos: only this test's models, by their tag
    bot["discovery"].update(self_configuring=False, infer_training_data=False)
    module = yaml.safe_load(
        (ROOT / "config" / "tasks" / "text-classification" / "emotion.yaml").read_text()
    )
    module.update(trained_on=[tag], perturbations=[], limit=24)
    module["dataset"].update(repo=dataset, revision=revision)
    tasks = root / "tasks" / "text-classification"
    tasks.mkdir(parents=True)
    (root / "bot.yaml").write_text(yaml.safe_dump(bot))
    (tasks / "emotion.yaml").write_text(yaml.safe_dump(module))
    return root


def _push(api: HfApi, repo_id: str, files: dict[str, bytes]) -> str:
    api.create_repo(repo_id)
    operations = [CommitOperationAdd(path, data) for path, data in files.items()]
    return api.create_commit(repo_id, operations, commit_message="corpus case").oid


@pytest.mark.timeout(600)
def test_bad_repos_end_typed_in_one_cycle(
    sandbox,  # type: ignore[no-untyped-def]
    demo_api: HfApi,
    bot_api: HfApi,
    store: Store,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ns = f"corpus{uuid.uuid4().hex[:6]}"
    tag = f"corpustest-{ns}"
    dataset = f"{ns}/emotion"
    demo_api.create_repo(dataset, repo_type="dataset")
    revision = demo_api.upload_folder(
        repo_id=dataset,
        repo_type="dataset",
        folder_path=build_world().dataset("dair-ai/emotion").path,
    ).oid
    config = load_config(_config(tmp_path / "config", tag, dataset, revision))
    card = f"---\nlicense: mit\ndatasets:\n- {tag}\npipeline_tag: text-classification\n---\n# A model\n"
    cases = repos.generate(card)
    shas = {}
    for case in cases:
        repo_id = f"{ns}/{case.name}"
        files = {"README.md": card.encode() if case.discovered else b"# hidden", **case.files}
        shas[case.name] = _push(demo_api, repo_id, {**files, "README.md": card.encode()})
        if files["README.md"] != card.encode():  # a card the client may refuse to send
            repo = sandbox.hub.storage.get_repo("model", repo_id)
            readme = [AddFile("README.md", files["README.md"])]
            commit = sandbox.hub.storage.commit_to_branch(
                repo, "main", readme, title="broken card", author="demo"
            )
            shas[case.name] = commit.id

    found = discover(bot_api, [m.module for m in config.modules], store, limit=1000)
    admin = Admin(sandbox.url)
    for case in cases:
        repo_id = f"{ns}/{case.name}"
        if not case.discovered:  # as if an earlier discovery had read a card now broken
            sha = case.sha or shas[case.name]
            store.upsert_model(
                ModelRecord(repo_id, sha, pipeline_tag="text-classification", datasets=(tag,))
            )
            assert store.enqueue(repo_id, sha)
        if case.then == "delete":
            demo_api.delete_repo(repo_id)
        elif case.then in ("private", "gated", "disable"):
            setting = {"private": {"private": True}, "gated": {"gated": "auto"}}
            admin.repo("model", repo_id, **setting.get(case.then, {"disabled": True}))
    discovered = {m.repo_id for m in found.queued}
    assert discovered == {f"{ns}/{c.name}" for c in cases if c.discovered}

    with caplog.at_level(logging.INFO):
        report = drain(Worker(config, api=bot_api, store=store), CycleReport(), once=True)

    outcomes: dict[str, str] = {}
    for case in cases:
        repo_id = f"{ns}/{case.name}"
        model = store.get_model(repo_id)
        assert model is not None, repo_id
        job = store.get_job(repo_id, model.sha)
        assert job is not None and job["status"] in ("done", "failed", "gone"), (repo_id, job)
        if model.status is ModelStatus.FAILED:
            assert model.failure_reason is not None and model.failure_detail, repo_id
            # a repo deleted since discovery ends its job with the reason, not as an error
            gone = model.failure_reason is FailureReason.NOT_FOUND
            assert job["status"] == ("gone" if gone else "failed"), (repo_id, job["status"])
            outcomes[case.name] = model.failure_reason.value
        else:
            assert model.status is ModelStatus.EVALUATED, (repo_id, model.status)
            assert job["status"] == "done"
            outcomes[case.name] = repos.EVALUATED
    wrong = {
        c.name: (outcomes[c.name], c.expected) for c in cases if outcomes[c.name] != c.expected
    }
    assert not wrong, "\n".join(f"{k}: got {v[0]}, expected {v[1]}" for k, v in wrong.items())
    assert store.job_counts().keys() <= {"done", "failed", "gone"}
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, [f"{r.name}: {r.getMessage()[:200]}" for r in tracebacks]
    assert report.evaluated == Counter(outcomes.values())[repos.EVALUATED]
    print(f"\nrepo corpus: {len(cases)} repos, outcomes {dict(Counter(outcomes.values()))}")
