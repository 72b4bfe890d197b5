"""A Ray worker killed mid-job: Ray re-runs the task, the job ends once with one result and one
pull request; with no retries left it is a typed failure (``worker lost``), never a silent loss.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from bot.cycle import plan_cycle, run_cycle
from bot.jobloop import CycleReport, drain
from bot.worker import Worker
from evaluators.ray_executor import TASK_NAME
from sandbox.world import World
from store.db import Store
from store.types import FailureReason, ModelStatus
from tests.bot.conftest import bot_prs, make_model, retrying_api, wait_for
from tests.ray.conftest import ray_config
from tests.sandbox.helpers import Admin

pytestmark = pytest.mark.slow  # Ray: a local instance whose workers are killed


def _task_pid() -> int | None:
    """The Ray worker process running an evaluation task (Ray titles it ``ray::<task>``)."""
    title = f"ray::{TASK_NAME}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(title):
            return int(entry)
    return None


def _cycle_killing_the_task(
    config_path: Path, bot_token: str, store: Store
) -> tuple[CycleReport, int]:
    from bot.config import load_config

    config = load_config(config_path)
    reports: list[CycleReport] = []
    thread = threading.Thread(
        target=lambda: reports.append(
            run_cycle(config, api=retrying_api(bot_token), store=store, device="cpu")
        )
    )
    thread.start()
    try:
        pid = wait_for(_task_pid, timeout=120, what="the Ray task to start", every=0.02)
        os.kill(pid, signal.SIGKILL)  # mid-job: the worker dies without any clean-up
    finally:
        thread.join(300)
    assert reports, "the cycle did not end"
    return reports[0], pid


def test_a_killed_ray_worker_s_job_is_retried_and_completes_once(
    local_ray: None,
    world: World,
    demo_api: HfApi,
    bot_token: str,
    store: Store,
    tmp_path: Path,
) -> None:
    config = ray_config(tmp_path / "ray", max_retries=2)
    repo_id = f"raykill{uuid.uuid4().hex[:6]}/victim"
    make_model(demo_api, world, repo_id, config.tag)

    report, killed = _cycle_killing_the_task(config.path, bot_token, store)

    assert not Path(f"/proc/{killed}").exists()
    assert (report.evaluated, dict(report.failed), dict(report.prs)) == (1, {}, {"opened": 1})
    job = store.jobs.find_one({"repo_id": repo_id}) or {}
    assert (job["status"], job["attempts"]) == ("done", 1)  # Ray retried, not the queue
    assert store.results.count_documents({"model_id": repo_id}) == 1
    model = store.get_model(repo_id)
    assert model is not None and model.status is ModelStatus.EVALUATED
    assert len(bot_prs(demo_api, repo_id)) == 1


def test_a_job_whose_ray_retries_are_spent_is_a_typed_failure(
    local_ray: None,
    world: World,
    demo_api: HfApi,
    bot_token: str,
    store: Store,
    tmp_path: Path,
) -> None:
    config = ray_config(tmp_path / "ray", max_retries=0)
    repo_id = f"raykill{uuid.uuid4().hex[:6]}/lost"
    make_model(demo_api, world, repo_id, config.tag)

    report, _ = _cycle_killing_the_task(config.path, bot_token, store)

    assert (report.evaluated, dict(report.failed)) == (0, {"worker lost": 1})
    model = store.get_model(repo_id)
    assert model is not None and model.status is ModelStatus.FAILED
    assert model.failure_reason is FailureReason.WORKER_LOST
    assert "Ray task failed after 0 retries" in (model.failure_detail or "")
    job = store.jobs.find_one({"repo_id": repo_id}) or {}
    assert job["status"] == "failed"
    assert store.results.count_documents({"model_id": repo_id}) == 0
    assert bot_prs(demo_api, repo_id) == []


def test_a_429_met_by_the_ray_task_hands_the_job_back_for_later(
    local_ray: None,
    sandbox,  # type: ignore[no-untyped-def]
    world: World,
    demo_api: HfApi,
    bot_token: str,
    store: Store,
    tmp_path: Path,
) -> None:
    """As when the worker downloads itself: the Hub is busy, so the job is retried later."""
    config = ray_config(tmp_path / "ray")
    repo_id = f"ray429{uuid.uuid4().hex[:6]}/busy"
    make_model(demo_api, world, repo_id, config.tag)
    admin = Admin(sandbox.url)
    api = retrying_api(bot_token)
    first = plan_cycle(config.load(), api=api, store=store)  # discovered and queued
    admin.fault(status=429, count=1, path_prefix=f"/api/models/{repo_id}/revision", retry_after=1)
    try:
        drain(Worker(config.load(), api=api, store=store, device="cpu"), first, once=True)
    finally:
        admin.clear_faults()
    assert (first.evaluated, dict(first.failed), first.retry_later) == (0, {}, 1), first.summary()
    time.sleep(1.1)  # the job's not-before (retry_delay_seconds: 1)
    second = run_cycle(config.load(), api=api, store=store, device="cpu")
    assert (second.evaluated, dict(second.prs)) == (1, {"opened": 1}), second.summary()
    assert store.results.count_documents({"model_id": repo_id}) == 1
