"""The Hub misbehaving (429s, 5xx) and repos changing state: no crash, no lost job, right PRs."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi

from bot.config import PullRequests
from bot.cycle import run_cycle
from bot.discovery import discover
from bot.publisher import Outcome, Publisher
from bot.worker import Worker
from sandbox.world import World
from store.db import Store
from store.types import FailureReason, ModelRecord, ModelStatus, utcnow
from tests.bot.conftest import bot_prs, make_model, retrying_api, write_config
from tests.sandbox.helpers import Admin

# cycles against a Hub answering 429 and 5xx, and repos changing state
pytestmark = pytest.mark.slow


def test_429s_and_5xx_are_ridden_out(
    sandbox,  # type: ignore[no-untyped-def]
    world: World,
    demo_api: HfApi,
    bot_token: str,
    store: Store,
    tmp_path: Path,
) -> None:
    config = write_config(  # (in process: the Hub's trouble is the point, not isolation)
        tmp_path / "config", queue={"max_attempts": 5}, isolation={"enabled": False}
    )
    ns = f"flaky{uuid.uuid4().hex[:6]}"
    repos = {name: f"{ns}/{name}" for name in ("m-a", "m-b", "m-c", "m-d", "m-e")}
    for repo_id in repos.values():
        make_model(demo_api, world, repo_id, config.tag)
    admin = Admin(sandbox.url)
    admin.clear_faults()

    def fault(status: int, count: int, path: str, method: str | None = None) -> None:
        admin.fault(status=status, count=count, path_prefix=path, method=method, retry_after=1)

    fault(429, 1, "/api/models", "GET")  # the listing (the client retries it)
    fault(429, 1, "/api/whoami-v2")
    fault(429, 2, f"/api/models/{repos['m-a']}", "GET")  # model_info, discussions
    fault(503, 1, f"/api/models/{repos['m-b']}/discussions", "GET")
    fault(429, 1, f"/api/models/{repos['m-c']}/commit", "POST")
    fault(500, 1, f"/api/models/{repos['m-d']}/commit", "POST")  # maybe applied: no retry now
    fault(429, 6, f"/api/models/{repos['m-e']}", "GET")  # outlasts the retries: a later cycle

    api = retrying_api(bot_token)
    reports = []
    for _ in range(4):
        reports.append(run_cycle(config.load(), api=api, store=store))
        if store.job_counts() == {"done": 5}:
            break
        time.sleep(1.1)  # the jobs' not-before (retry_delay_seconds: 1)
    assert store.job_counts() == {"done": 5}, [r.summary() for r in reports]
    assert httpx.get(f"{sandbox.url}/_sandbox/faults").json()["faults"] == []  # all fired
    # m-e's model_info answers 429 six times: more than the retries, so discovery leaves it
    # for the next cycle (not lost: the watermark waits); m-d's commit 500 is retried later
    assert reports[0].queued == 4 and reports[1].queued == 1, [r.summary() for r in reports]
    assert reports[0].retry_later >= 1
    assert sum(r.prs["opened"] for r in reports) == 5
    for repo_id in repos.values():
        assert len(bot_prs(demo_api, repo_id)) == 1, repo_id
        model = store.get_model(repo_id)
        assert model is not None and model.status is ModelStatus.EVALUATED


def test_repo_states_give_typed_outcomes_and_no_pr(
    sandbox,  # type: ignore[no-untyped-def]
    world: World,
    demo_api: HfApi,
    bot_token: str,
    store: Store,
    tmp_path: Path,
) -> None:
    config = write_config(
        tmp_path / "config", pull_requests={"enabled": False}, isolation={"enabled": False}
    )
    ns = f"state{uuid.uuid4().hex[:6]}"
    names = ("gated", "disabled", "deleted", "noprs", "stale", "capped")
    repos = {name: f"{ns}/{name}" for name in names}
    for repo_id in repos.values():
        make_model(demo_api, world, repo_id, config.tag)
    api = retrying_api(bot_token)
    # disabled before evaluation: a typed failure, not a crash
    early_sha = make_model(demo_api, world, f"{ns}/early-disabled", config.tag)
    Admin(sandbox.url).repo("model", f"{ns}/early-disabled", disabled=True)
    store.upsert_model(
        ModelRecord(
            f"{ns}/early-disabled",
            early_sha,
            pipeline_tag="text-classification",
            datasets=(config.tag,),
        )
    )
    store.enqueue(f"{ns}/early-disabled", early_sha)

    first = run_cycle(config.load(), api=api, store=store)  # evaluate all, PRs switched off
    assert first.prs["disabled"] == 6, first.summary()
    early = store.get_model(f"{ns}/early-disabled")
    assert early is not None and early.failure_reason is FailureReason.NOT_FOUND
    assert "disabled" in (early.failure_detail or "")

    admin = Admin(sandbox.url)
    admin.repo("model", repos["gated"], gated="auto")
    admin.repo("model", repos["disabled"], disabled=True)
    demo_api.delete_repo(repos["deleted"])
    admin.repo("model", repos["noprs"], discussions_disabled=True)
    # new content (a retrained config): the PR would be stale; a README-only commit is not
    config_json = world.model("demo/tiny-emotion").path / "config.json"
    retrained = config_json.read_text().replace("{", '{"retrained": true, ', 1).encode()
    demo_api.upload_file(
        path_or_fileobj=retrained, path_in_repo="config.json", repo_id=repos["stale"]
    )
    now = utcnow()
    for n in range(2):  # two PRs opened this hour elsewhere: the cap of 2 is reached
        assert store.reserve_pr_slot(2, holder=f"elsewhere-{n}")[0] is not None

    outcomes = {}
    for name, repo_id in repos.items():
        model = store.get_model(repo_id)
        assert model is not None
        cap = 2 if name == "capped" else 30
        publisher = Publisher(api, store, PullRequests(max_per_hour=cap), space_url="http://space")
        outcomes[name] = publisher.publish(model, store.results_for(repo_id, model.sha))
    assert {n: r.outcome for n, r in outcomes.items()} == {
        "gated": Outcome.GATED,
        "disabled": Outcome.REPO_DISABLED,
        "deleted": Outcome.REPO_NOT_FOUND,
        "noprs": Outcome.PRS_DISABLED,
        "stale": Outcome.STALE,
        "capped": Outcome.DEFERRED,
    }
    not_before = outcomes["capped"].not_before
    assert not_before is not None
    assert abs((not_before - (now + timedelta(hours=1))).total_seconds()) < 5
    for name in ("gated", "noprs", "stale", "capped"):
        assert bot_prs(demo_api, repos[name]) == [], name

    # the capped job goes back to the queue for when a slot frees, its attempt refunded
    capped = store.get_model(repos["capped"])
    assert capped is not None
    store.jobs.update_one(
        {"repo_id": capped.repo_id}, {"$set": {"status": "queued", "attempts": 0}}
    )
    capped_config = write_config(
        tmp_path / "capped",
        tag=config.tag,
        pull_requests={"max_per_hour": 2},
        isolation={"enabled": False},
    )
    worker = Worker(capped_config.load(), api=api, store=store)
    job = store.claim_job(worker.name)
    assert job is not None and job.repo_id == capped.repo_id
    result = worker.process(job)
    assert (result.status, result.pr) == ("queued", "deferred")
    doc = store.get_job(capped.repo_id, capped.sha)
    assert doc is not None and doc["attempts"] == 0
    assert doc["not_before"] > utcnow() + timedelta(minutes=45)
    assert store.claim_job(worker.name) is None

    # the head moved: the new revision is discovered and queued as its own job
    found = discover(api, [m.module for m in config.load().modules], store, limit=50)
    assert [m.repo_id for m in found.queued] == [repos["stale"]]
    new_sha = demo_api.model_info(repos["stale"]).sha
    assert found.queued[0].sha == new_sha
    assert store.get_job(repos["stale"], new_sha) is not None
