"""Gated datasets on Ray: the tasks download with a read token (``EVALBOT_HF_READ_TOKEN``), never
with the write token (not even where a local Ray worker inherited it), and without access the
module is blocked with the fix.

A copy of the world's emotion dataset is made gated on the sandbox Hub; the sandbox's request log
names the user and the token role of every request, so what the Ray task downloaded with is
read from the Hub's side, and the isolated child's own description of itself (the isolation
probe) shows it had no token at all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from huggingface_hub import HfApi

from bot.cycle import run_cycle
from bot.discovery import to_record
from bot.worker import make_executor
from evaluators.datasets_io import DatasetError
from evaluators.errors import READ_TOKEN_ENV, ReadTokenError
from evaluators.isolation import PROBE_ENV
from evaluators.ray_executor import RayExecutor
from sandbox.server import RunningSandbox
from sandbox.world import World
from store.db import Store
from tests.bot.conftest import FastConfig, make_model, retrying_api
from tests.ray.conftest import ray_config
from tests.sandbox.helpers import Admin

pytestmark = pytest.mark.slow  # Ray: a local instance and its workers


@pytest.fixture(scope="module")
def local_ray(local_ray: None, probe_file: Path, bot_token: str) -> Iterator[None]:
    """The Ray instance (its workers started with the probe and the write token), with this
    process's environment set as theirs: an evalbot worker that started a local instance."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv(PROBE_ENV, str(probe_file))
        env.setenv("HF_TOKEN", bot_token)
        yield


@pytest.fixture(scope="module")
def gated(world: World, demo_api: HfApi, sandbox: RunningSandbox) -> str:
    """A gated copy of the world's emotion dataset, owned by an organisation of `demo`."""
    repo_id = f"gated-{uuid.uuid4().hex[:8]}/emotion"
    demo_api.create_repo(repo_id, repo_type="dataset")
    demo_api.upload_folder(
        repo_id=repo_id, repo_type="dataset", folder_path=world.dataset("dair-ai/emotion").path
    )
    Admin(sandbox.url).repo("dataset", repo_id, gated="manual", granted=[])
    return repo_id


@pytest.fixture
def admin(sandbox: RunningSandbox) -> Admin:
    return Admin(sandbox.url)


@pytest.fixture
def read_token(sandbox: RunningSandbox) -> str:
    return sandbox.tokens["evalbot:read"]


def gated_config(root: Path, dataset: str) -> FastConfig:
    """The fast Ray config whose emotion module evaluates on ``dataset``."""
    config = ray_config(root)
    path = root / "tasks" / "text-classification" / "emotion.yaml"
    module = yaml.safe_load(path.read_text())
    module["dataset"]["repo"] = dataset
    path.write_text(yaml.safe_dump(module))
    return config


def downloads(log: list[dict[str, Any]], part: str) -> list[tuple[str | None, str | None]]:
    """(user, role) of each file download whose path contains ``part``."""
    return [(e["user"], e["role"]) for e in log if "/resolve/" in e["path"] and part in e["path"]]


def test_a_gated_dataset_is_evaluated_with_the_read_token_and_never_the_write_token(
    local_ray: None,
    probe_file: Path,
    world: World,
    demo_api: HfApi,
    bot_token: str,
    read_token: str,
    gated: str,
    admin: Admin,
    tmp_path: Path,
) -> None:
    admin.repo("dataset", gated, granted=["evalbot"])  # the bot's account may read it
    fast = gated_config(tmp_path / "ray", gated)
    repo_id = f"ray{uuid.uuid4().hex[:6]}/gated-eval"
    sha = make_model(demo_api, world, repo_id, fast.tag)
    executor = RayExecutor(  # isolated: the child evaluates, offline
        [m.module for m in fast.load().modules], api=retrying_api(bot_token), read_token=read_token
    )
    probe_file.unlink(missing_ok=True)
    admin.clear_log()

    report = executor.evaluate(to_record(HfApi().model_info(repo_id)))

    assert [r.dataset_id for r in report.records] == [gated]
    log = admin.log()
    assert not [e for e in log if e["status"] in (401, 403)]
    # The task downloaded the model and the gated dataset with the read token, nothing else.
    assert set(downloads(log, f"datasets/{gated}/")) == {("evalbot", "read")}
    assert set(downloads(log, f"{repo_id}/resolve/{sha}/")) == {("evalbot", "read")}
    assert [e["role"] for e in log if e["path"].endswith("/auth-check")] == ["read"]
    # The isolated child on the Ray worker had no token at all.
    probe = probe_file.read_text()
    assert json.loads(probe)["token_found"] is False
    assert read_token not in probe and bot_token not in probe


def test_without_isolation_the_task_process_loads_the_gated_dataset_with_the_read_token(
    local_ray: None,
    world: World,
    demo_api: HfApi,
    bot_token: str,
    read_token: str,
    gated: str,
    admin: Admin,
    tmp_path: Path,
) -> None:
    """The in-process executor loads datasets with the process's token: the read token."""
    admin.repo("dataset", gated, granted=["evalbot"])
    fast = gated_config(tmp_path / "ray", gated)
    repo_id = f"ray{uuid.uuid4().hex[:6]}/gated-inproc"
    make_model(demo_api, world, repo_id, fast.tag)
    executor = RayExecutor(
        [m.module for m in fast.load().modules],
        api=retrying_api(bot_token),
        isolation=False,
        read_token=read_token,
    )
    admin.clear_log()
    report = executor.evaluate(to_record(HfApi().model_info(repo_id)))
    assert [r.dataset_id for r in report.records] == [gated]
    assert set(downloads(admin.log(), f"datasets/{gated}/")) == {("evalbot", "read")}


def test_without_a_read_token_a_gated_dataset_blocks_its_module_naming_the_fix(
    local_ray: None,
    world: World,
    demo_api: HfApi,
    bot_token: str,
    gated: str,
    admin: Admin,
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Anonymous Ray tasks cannot download it: the module's problem, not the model's, and
    nothing is downloaded or submitted."""
    admin.repo("dataset", gated, granted=["evalbot"])  # granted to the bot, but not anonymous
    monkeypatch.delenv(READ_TOKEN_ENV, raising=False)
    config = gated_config(tmp_path / "ray", gated)
    repo_id = f"ray{uuid.uuid4().hex[:6]}/gated-anon"
    make_model(demo_api, world, repo_id, config.tag)
    admin.clear_log()

    report = run_cycle(config.load(), api=retrying_api(bot_token), store=store, device="cpu")

    assert (report.evaluated, report.blocked) == (0, 1) and not report.failed, report.summary()
    [job] = list(store.jobs.find({"repo_id": repo_id}))
    assert job["status"] == "blocked" and job["module"] == "emotion"
    problem = store.module_problems_by_id()["emotion"]["error"]
    assert f"{gated} is gated" in problem and "the Ray tasks download anonymously" in problem
    assert f"set {READ_TOKEN_ENV} to a read token" in problem
    assert "evalbot requeue --module emotion" in problem
    model = store.get_model(repo_id)
    assert model is not None and model.failure_reason is None
    assert not [e for e in admin.log() if "/resolve/" in e["path"]]


def test_a_read_token_without_access_is_a_dataset_error_before_submitting(
    local_ray: None,
    world: World,
    demo_api: HfApi,
    bot_token: str,
    read_token: str,
    gated: str,
    admin: Admin,
    tmp_path: Path,
) -> None:
    admin.repo("dataset", gated, granted=[])
    fast = gated_config(tmp_path / "ray", gated)
    config = fast.load()
    repo_id = f"ray{uuid.uuid4().hex[:6]}/gated-denied"
    make_model(demo_api, world, repo_id, fast.tag)
    executor = RayExecutor(
        [m.module for m in config.modules], api=retrying_api(bot_token), read_token=read_token
    )
    admin.clear_log()
    with pytest.raises(DatasetError) as denied:
        executor.evaluate(to_record(HfApi().model_info(repo_id)))
    assert denied.value.module == "emotion"
    message = str(denied.value)
    assert f"{gated} is gated" in message and f"the account of {READ_TOKEN_ENV}" in message
    assert f"grant that account access to {gated}" in message
    assert not [e for e in admin.log() if "/resolve/" in e["path"]]


def test_a_token_that_can_write_is_refused_as_the_read_token(
    sandbox: RunningSandbox,
    bot_token: str,
    demo_token: str,
    admin: Admin,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Refused when the executor is made, before Ray is joined or anything is submitted."""
    config = ray_config(tmp_path / "ray").load()
    api = retrying_api(bot_token)
    admin.clear_log()
    for token, role in ((bot_token, None), (demo_token, "write"), ("hf_no_such_token", None)):
        monkeypatch.setenv(READ_TOKEN_ENV, token)
        with pytest.raises(ReadTokenError) as refused:
            make_executor(config, api=api, store=None)
        assert refused.value.role == role
        assert str(refused.value).startswith(f"{READ_TOKEN_ENV}: ")
        assert "'read' role" in str(refused.value) and token not in str(refused.value)
    assert [e["path"] for e in admin.log()] == ["/api/whoami-v2"] * 2  # the bot's own: no call
