"""Workers as real processes sharing one MongoDB: killed mid-job, many at once, restarted often.

Model authors get exactly one PR per model revision, whatever happens to the workers.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from bot.config import BotConfig
from bot.discovery import discover
from bot.jobloop import CycleReport, drain
from bot.replan import replan
from bot.worker import Worker, planner_for
from sandbox.world import World
from store.db import Store
from store.types import utcnow
from tests.bot.conftest import (
    FastConfig,
    bot_prs,
    evalbot,
    make_model,
    retrying_api,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.slow  # many processes: worker processes killed and restarted


def _job(store: Store, repo_id: str) -> dict:  # type: ignore[type-arg]
    return store.jobs.find_one({"repo_id": repo_id}) or {}


def test_a_killed_worker_s_job_is_finished_once_by_another(
    world: World,
    demo_api: HfApi,
    bot_token: str,
    store: Store,
    fast_config: FastConfig,
    cli_env: Callable[[FastConfig], dict[str, str]],
    tmp_path: Path,
) -> None:
    repo_id = f"kill{uuid.uuid4().hex[:6]}/victim"
    make_model(demo_api, world, repo_id, fast_config.tag)
    env = cli_env(fast_config)
    queued = evalbot(env, "serve", "--once", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = queued.communicate(timeout=60)
    assert queued.returncode == 0 and "queued 1 new revisions" in out, err[-2000:]

    first = evalbot(
        env,
        "worker",
        "--once",
        "--name",
        "doomed",
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "doomed.log").open("w"),
    )
    try:
        wait_for(
            lambda: _job(store, repo_id).get("status") == "running",
            timeout=90,
            what="the first worker to claim the job",
            every=0.02,
        )
        first.send_signal(signal.SIGKILL)  # mid-evaluation: no clean-up of any kind
        first.wait(10)
    finally:
        first.kill()
    job = _job(store, repo_id)
    assert (job["status"], job["worker"], job["attempts"]) == ("running", "doomed", 1)
    assert store.results.count_documents({"model_id": repo_id}) == 0  # killed mid-evaluation
    wait_for(
        lambda: _job(store, repo_id)["lease_until"] < utcnow(),
        timeout=10,
        what="the dead worker's lease (5 s) to expire",
    )

    log = tmp_path / "second.log"
    second = evalbot(
        {**env, "EVALBOT_LOG_FORMAT": "json"},
        "-v",
        "worker",
        "--name",
        "heir",
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
    )
    try:
        wait_for(
            lambda: _job(store, repo_id).get("status") == "done",
            timeout=120,
            what="the second worker to finish the job",
            every=0.2,
        )
        second.send_signal(signal.SIGTERM)  # idle now: stops at once, cleanly
        out, _ = second.communicate(timeout=30)
    finally:
        second.kill()
    assert second.returncode == 0, log.read_text()[-3000:]
    job = _job(store, repo_id)
    assert (job["worker"], job["attempts"]) == ("heir", 2)
    assert store.results.count_documents({"model_id": repo_id}) == 1  # stored exactly once
    assert store.class_results.count_documents({"model_id": repo_id}) == 6
    assert len(bot_prs(demo_api, repo_id)) == 1
    assert store.pull_requests.count_documents({"repo_id": repo_id}) == 1
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(line.get("repo_id") == repo_id for line in lines)
    assert bot_token not in log.read_text() and bot_token not in out


def _reset(store: Store, cycle: int, repos: list[str], config: BotConfig) -> None:
    """What restarts, crashes and lost databases leave behind, a different mix each cycle."""
    if cycle % 2 == 0:  # the PR records are lost: the marker scan on the Hub must catch them
        store.pull_requests.drop()
        store.ensure_indexes()
    if cycle % 3 == 0:  # the queue and the watermarks are lost: everything is rediscovered
        store.jobs.delete_many({})  # (known heads queue nothing) and an operator requeues all
        store.poll_state.delete_many({})
        replan(store, planner_for(config), force=True)
    else:  # every job is due again
        store.jobs.update_many(
            {}, {"$set": {"status": "queued", "attempts": 0, "not_before": None}}
        )
    if cycle % 4 == 1:  # a worker died holding a job
        store.jobs.update_one(
            {"repo_id": repos[cycle % len(repos)]},
            {"$set": {"status": "running", "worker": "ghost", "lease_until": utcnow()}},
        )
    if cycle % 5 == 2:  # results lost: evaluated again, same PR
        store.results.delete_many({"model_id": repos[0]})


def test_many_workers_and_restarts_open_one_pr_per_revision(
    world: World,
    demo_api: HfApi,
    bot_token: str,
    store: Store,
    cli_env: Callable[[FastConfig], dict[str, str]],
    tmp_path: Path,
) -> None:
    config = write_config(
        tmp_path / "config", queue={"lease_seconds": 3}, isolation={"enabled": False}
    )
    ns = f"many{uuid.uuid4().hex[:6]}"
    normal = [f"{ns}/m{i}" for i in range(3)]
    closed, opted_out = f"{ns}/closed", f"{ns}/opted-out"
    for repo_id in [*normal, closed]:
        make_model(demo_api, world, repo_id, config.tag)
    make_model(demo_api, world, opted_out, config.tag, tags=("no-evalbot",))
    env = cli_env(config)

    # the timer queues the jobs; three worker processes share them
    serve = evalbot(env, "serve", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: store.jobs.count_documents({}) == 5, timeout=60, what="5 queued jobs")
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(30) == 0
    finally:
        serve.kill()
    workers = [
        evalbot(
            env,
            "worker",
            "--once",
            "--name",
            f"w{i}",
            stdout=subprocess.PIPE,
            stderr=(tmp_path / f"w{i}.log").open("w"),
        )
        for i in range(3)
    ]
    for i, proc in enumerate(workers):
        proc.communicate(timeout=180)
        assert proc.returncode == 0, (tmp_path / f"w{i}.log").read_text()[-3000:]
    assert store.job_counts() == {"done": 5}
    assert {d["worker"] for d in store.jobs.find()} <= {"w0", "w1", "w2"}

    # the author closes the PR: no PR ever comes back to this repo
    (pr,) = bot_prs(demo_api, closed)
    demo_api.change_discussion_status(closed, pr.num, "closed")

    api = retrying_api(bot_token)
    loaded = config.load()
    modules = [m.module for m in loaded.modules]
    reports: list[CycleReport] = []
    for cycle in range(12):
        _reset(store, cycle, [*normal, closed], loaded)
        discover(api, modules, store, limit=50)
        reports += [CycleReport() for _ in range(3)]
        threads = [
            threading.Thread(
                target=drain,
                args=(Worker(loaded, api=api, store=store, name=f"c{cycle}t{k}"), reports[-1 - k]),
                kwargs={"once": True},
            )
            for k in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # and one more restart of the real thing, after losing the PR records once more
    store.pull_requests.drop()
    store.jobs.update_many({}, {"$set": {"status": "queued", "attempts": 0, "not_before": None}})
    run = evalbot(env, "run", "--once", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = run.communicate(timeout=180)
    assert run.returncode == 0, err[-3000:]

    outcomes = CycleReport()
    for report in reports:
        outcomes.prs.update(report.prs)
        outcomes.failed.update(report.failed)
    assert outcomes.prs["opened"] == 0, outcomes.summary()  # nothing new after the first round
    assert not outcomes.failed, outcomes.summary()
    assert "pull requests: declined: 1" in out and "opened" not in out, out
    for repo_id in [*normal, closed]:
        assert len(bot_prs(demo_api, repo_id)) == 1, repo_id
    assert bot_prs(demo_api, opted_out) == []
    (still,) = bot_prs(demo_api, closed)
    assert still.status == "closed"
    assert outcomes.prs["declined"] >= 12
    assert outcomes.prs["opted out"] >= 12
