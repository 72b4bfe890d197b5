"""Discovery against a sandbox Hub with small listing pages: paging down to the watermark, the
per-cycle lookup limit, content fingerprints, the backfill window and a model the Hub refuses.

This module serves its own sandbox Hub (3 models per listing page) so that paging is real with
a handful of repos; every test lists a tag of its own.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from bot.discovery import DiscoveryReport, discover
from bot.ratelimit import RetryingHfApi, RetryPolicy
from evaluators.config import EvaluationModule
from sandbox.server import RunningSandbox, run_in_thread
from store.db import Store
from store.types import ModelStatus, utcnow
from tests.bot.conftest import card, write_config
from tests.sandbox.helpers import Admin

PAGE = 3
CONFIG = {"architectures": ["BertForSequenceClassification"], "id2label": {"0": "a", "1": "b"}}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = run_in_thread(data_dir=tmp_path_factory.mktemp("small-pages"), page_size=PAGE)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def author(hub: RunningSandbox) -> HfApi:
    return HfApi(endpoint=hub.url, token=hub.tokens["demo"])


@pytest.fixture
def bot(hub: RunningSandbox) -> HfApi:
    """The bot's client: 429s on model_info are retried once, then raised."""
    return RetryingHfApi(
        endpoint=hub.url, token=hub.tokens["evalbot"], policy=RetryPolicy(retries=1, max_wait_s=5)
    )


@pytest.fixture
def admin(hub: RunningSandbox) -> Iterator[Admin]:
    admin = Admin(hub.url)
    admin.clear_log()
    yield admin
    admin.clear_faults()


@pytest.fixture
def tag() -> str:
    return f"disc-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def modules(tmp_path: Path, tag: str) -> list[EvaluationModule]:
    return [m.module for m in write_config(tmp_path / "config", tag=tag).load().modules]


def push(
    api: HfApi, repo_id: str, tag: str, *, weights: bytes = b"weights-0", config: dict | None = None
) -> str:
    """A model repo (card naming ``tag``, config.json, weights); returns the head sha."""
    api.create_repo(repo_id, exist_ok=True)
    files = {
        "README.md": card(tag).encode(),
        "config.json": json.dumps(config or CONFIG).encode(),
        "model.safetensors": weights,
    }
    ops = [CommitOperationAdd(path, content) for path, content in files.items()]
    return str(api.create_commit(repo_id, ops, commit_message="Upload model").oid)


def push_file(api: HfApi, repo_id: str, path: str, content: bytes) -> str:
    info = api.upload_file(path_or_fileobj=content, path_in_repo=path, repo_id=repo_id)
    return str(info.oid)


def watermark(store: Store, tag: str) -> object:
    return store.get_watermark(f"huggingface:text-classification:dataset:{tag}")


def listed_pages(admin: Admin) -> int:
    return sum(e["path"] == "/api/models" for e in admin.log())


def looked_up(admin: Admin) -> list[str]:
    """The repos whose model_info was asked for (in order)."""
    prefix = "/api/models/"
    return [
        e["path"][len(prefix) :].split("/revision/")[0]
        for e in admin.log()
        if e["path"].startswith(prefix) and "/revision/" in e["path"]
    ]


def queued(report: DiscoveryReport) -> list[str]:
    return sorted(m.repo_id for m in report.queued)


def test_discovery_pages_down_to_the_watermark(
    store: Store, author: HfApi, bot: HfApi, admin: Admin, tag: str, modules: list[EvaluationModule]
) -> None:
    first = [f"demo/{tag}-{i}" for i in range(7)]  # three listing pages
    heads = {repo: push(author, repo, tag) for repo in first}
    admin.clear_log()
    report = discover(bot, modules, store, limit=50)
    assert report.seen == 7 and queued(report) == sorted(first)
    assert listed_pages(admin) == 3
    assert sorted(looked_up(admin)) == sorted(first)
    for repo, sha in heads.items():
        assert store.get_job(repo, sha) is not None
    newest = author.model_info(first[-1]).last_modified
    assert watermark(store, tag) == newest

    later = [f"demo/{tag}-new-{i}" for i in range(2)]
    for repo in later:
        push(author, repo, tag)
    admin.clear_log()
    report = discover(bot, modules, store, limit=50)
    assert queued(report) == sorted(later)
    assert report.seen == 3  # the two new ones and the newest of the last cycle (its stamp)
    assert listed_pages(admin) == 2  # not the four pages of the whole listing
    assert sorted(looked_up(admin)) == sorted(later)  # a known head costs no lookup
    assert watermark(store, tag) == author.model_info(later[-1]).last_modified
    admin.clear_log()
    assert discover(bot, modules, store, limit=50).queued == []
    assert looked_up(admin) == [] and listed_pages(admin) == 1


def test_the_lookup_limit_spreads_a_burst_over_cycles(
    store: Store, author: HfApi, bot: HfApi, admin: Admin, tag: str, modules: list[EvaluationModule]
) -> None:
    repos = [f"demo/{tag}-{i}" for i in range(8)]
    for repo in repos:
        push(author, repo, tag)
    oldest = author.model_info(repos[0]).last_modified
    assert oldest is not None
    newest_first = list(reversed(repos))
    taken: list[str] = []
    floor = None
    for cycle, expected in enumerate([newest_first[:3], newest_first[3:6], newest_first[6:]]):
        admin.clear_log()
        report = discover(bot, modules, store, limit=3)
        assert queued(report) == sorted(expected), cycle
        assert sorted(looked_up(admin)) == sorted(expected), cycle
        taken += queued(report)
        if cycle < 2:  # the rest of the listing waits: the first run's floor stays put
            floor = floor or watermark(store, tag)
            assert floor is not None and floor < oldest
            assert watermark(store, tag) == floor, cycle
    assert sorted(taken) == sorted(repos)  # every model once, none skipped
    assert store.jobs.count_documents({}) == 8
    assert watermark(store, tag) == author.model_info(repos[-1]).last_modified
    admin.clear_log()
    assert discover(bot, modules, store, limit=3).queued == []
    assert looked_up(admin) == []


def test_a_card_only_commit_keeps_the_evaluation_and_new_content_is_queued(
    store: Store, author: HfApi, bot: HfApi, tag: str, modules: list[EvaluationModule]
) -> None:
    repo = f"demo/{tag}-m"
    first = push(author, repo, tag)
    assert [m.sha for m in discover(bot, modules, store, limit=50).queued] == [first]
    store.mark_evaluated(repo, first, ["emotion/original/v1/0.0.0"])
    fingerprint = store.get_model(repo).fingerprint  # type: ignore[union-attr]
    assert fingerprint.startswith("sha256:")

    readme = push_file(
        author, repo, "README.md", (card(tag) + "\nNow with a typo fixed.\n").encode()
    )
    report = discover(bot, modules, store, limit=50)
    assert report.queued == [] and report.seen == 1
    model = store.get_model(repo)
    assert model is not None
    assert model.sha == readme and model.eval_sha == first  # the head moved, the evaluation stays
    assert model.status is ModelStatus.EVALUATED and model.fingerprint == fingerprint
    assert store.head_sha(repo) == readme
    assert store.jobs.count_documents({}) == 1

    weights = push_file(author, repo, "model.safetensors", b"weights-1")
    report = discover(bot, modules, store, limit=50)
    assert [(m.repo_id, m.sha) for m in report.queued] == [(repo, weights)]
    model = store.get_model(repo)
    assert model is not None and (model.sha, model.eval_sha) == (weights, weights)
    assert model.status is ModelStatus.PENDING and model.fingerprint != fingerprint

    relabelled = {**CONFIG, "id2label": {"0": "joy", "1": "anger"}}
    config = push_file(author, repo, "config.json", json.dumps(relabelled).encode())
    report = discover(bot, modules, store, limit=50)
    assert [(m.repo_id, m.sha) for m in report.queued] == [(repo, config)]
    assert store.jobs.count_documents({"repo_id": repo}) == 3


def test_the_first_run_lists_only_the_backfill_window(
    store: Store, author: HfApi, bot: HfApi, tag: str, modules: list[EvaluationModule]
) -> None:
    old, new = f"demo/{tag}-old", f"demo/{tag}-new"
    push(author, old, tag)
    time.sleep(1.2)
    push(author, new, tag)
    old_at = author.model_info(old).last_modified
    new_at = author.model_info(new).last_modified
    assert old_at is not None and new_at is not None and new_at - old_at > timedelta(seconds=1)
    # a window reaching back to between the two commits
    middle = old_at + (new_at - old_at) / 2
    days = (utcnow() - middle).total_seconds() / 86400
    report = discover(bot, modules, store, limit=50, backfill_days=days)
    assert queued(report) == [new] and report.seen == 1
    assert store.get_model(old) is None
    assert watermark(store, tag) == new_at
    # from now on the watermark decides, not the window
    assert discover(bot, modules, store, limit=50, backfill_days=365).queued == []
    assert store.get_model(old) is None
    # backfill_days=0: a first run takes nothing from the past
    store.poll_state.delete_many({})
    store.models.delete_many({})
    before = utcnow()
    assert discover(bot, modules, store, limit=50, backfill_days=0).seen == 0
    assert store.models.count_documents({}) == 0
    assert watermark(store, tag) >= before - timedelta(seconds=1)  # type: ignore[operator]


def test_a_model_the_hub_refuses_waits_for_the_next_cycle(
    store: Store, author: HfApi, bot: HfApi, admin: Admin, tag: str, modules: list[EvaluationModule]
) -> None:
    push(author, f"demo/{tag}-seen", tag)
    discover(bot, modules, store, limit=50)
    before = watermark(store, tag)
    assert before is not None
    repos = [f"demo/{tag}-{i}" for i in range(3)]
    for repo in repos:
        push(author, repo, tag)
    refused = repos[1]
    # more 429s than the client's retries, on that model's lookup only
    admin.fault(status=429, count=3, path_prefix=f"/api/models/{refused}/")
    report = discover(bot, modules, store, limit=50)
    assert queued(report) == sorted(r for r in repos if r != refused)
    assert report.skipped_queries == 0
    assert store.get_model(refused) is None  # not stored: the next cycle looks it up
    assert watermark(store, tag) == before
    admin.clear_faults()
    report = discover(bot, modules, store, limit=50)
    assert queued(report) == [refused]
    assert watermark(store, tag) == author.model_info(repos[-1]).last_modified
    assert store.jobs.count_documents({}) == 4


def test_a_first_run_spread_over_cycles_keeps_its_window(
    store: Store, author: HfApi, bot: HfApi, tag: str, modules: list[EvaluationModule]
) -> None:
    """The lookup limit spreads a first run over cycles; the backfill window must not slide
    meanwhile, or the oldest models in it are never looked up."""
    old, new = f"demo/{tag}-old", f"demo/{tag}-new"
    push(author, old, tag)
    push(author, new, tag)
    old_at = author.model_info(old).last_modified
    assert old_at is not None
    days = (utcnow() - old_at + timedelta(seconds=0.5)).total_seconds() / 86400
    first = discover(bot, modules, store, limit=1, backfill_days=days)
    assert queued(first) == [new]  # the limit: the older one waits for the next cycle
    time.sleep(1.0)  # the next cycle: `now - backfill_days` is past the old model by now
    second = discover(bot, modules, store, limit=1, backfill_days=days)
    assert queued(second) == [old]
    assert watermark(store, tag) == author.model_info(new).last_modified
