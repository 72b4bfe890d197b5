"""Datasets that configure their own evaluation, on the sandbox Hub: a dataset whose card carries
a ``train-eval-index`` and a model whose card names it; no YAML module covers the dataset.

One cycle evaluates the model on the module the card configures and opens the PR; the module is
stored with its source; a YAML module for the dataset wins (its card is never read); a card
without one is read once; ``evalbot modules --from-card`` prints YAML that loads.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from huggingface_hub import CommitOperationAdd, HfApi

from bot.cli import main
from bot.cycle import plan_cycle, run_cycle
from bot.self_configuring import card_tasks, watermark_key, with_card_modules
from evaluators.config import load_module
from sandbox.world import DATASET_ID, LABELS, World
from store.db import Store
from store.embedded import EmbeddedMongo
from store.types import ModelStatus, utcnow
from tests.bot.conftest import FastConfig, bot_prs, make_model, write_config
from tests.sandbox.helpers import Admin

ROWS = 24


def dataset_card(with_index: bool = True) -> str:
    meta = {
        "pretty_name": "Tweets with feelings",
        "task_categories": ["text-classification"],
        "dataset_info": {
            "features": [
                {"name": "tweet", "dtype": "string"},
                {
                    "name": "feeling",
                    "dtype": {"class_label": {"names": {str(i): n for i, n in enumerate(LABELS)}}},
                },
            ]
        },
        "configs": [
            {"config_name": "default", "data_files": [{"split": "test", "path": "data/test-*"}]}
        ],
    }
    if with_index:
        meta["train-eval-index"] = [
            {
                "config": "default",
                "task": "text-classification",
                "task_id": "multi_class_classification",
                "splits": {"eval_split": "test"},
                "col_mapping": {"tweet": "text", "feeling": "target"},
                "metrics": [{"type": "accuracy", "name": "Accuracy"}],
            }
        ]
    return f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n# Tweets with feelings\n"


def push_dataset(api: HfApi, world: World, repo_id: str, *, with_index: bool = True) -> str:
    """The first rows of the world's emotion test split, renamed, with a card; returns the sha."""
    source = world.dataset(DATASET_ID).path / "data" / "test-00000-of-00001.parquet"
    table = pq.read_table(source).slice(0, ROWS).rename_columns(["tweet", "feeling"])
    data = io.BytesIO()
    pq.write_table(table, data)
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    ops = [
        CommitOperationAdd("README.md", dataset_card(with_index).encode()),
        CommitOperationAdd("data/test-00000-of-00001.parquet", data.getvalue()),
    ]
    return str(api.create_commit(repo_id, ops, repo_type="dataset", commit_message="Data").oid)


@dataclass(frozen=True)
class Repos:
    dataset: str
    dataset_sha: str
    model: str
    since: datetime  # before both were pushed


@pytest.fixture(scope="module")
def repos(world: World, demo_api: HfApi) -> Iterator[Repos]:
    """The dataset and the model, deleted afterwards (no other test's listing meets them)."""
    key = uuid.uuid4().hex[:8]
    time.sleep(1.1)  # the listings start a second before `since`: past the world's own pushes
    since = utcnow() - timedelta(seconds=1)
    dataset, model = f"demo/feelings-{key}", f"demo/feelings-model-{key}"
    sha = push_dataset(demo_api, world, dataset)
    make_model(demo_api, world, model, dataset)
    yield Repos(dataset, sha, model, since)
    demo_api.delete_repo(model)
    demo_api.delete_repo(dataset, repo_type="dataset")


def self_configuring(root: Path, **settings: object) -> FastConfig:
    return write_config(
        root, isolation={"enabled": False}, discovery={"self_configuring": True}, **settings
    )


def listing_from(store: Store, since: datetime) -> None:
    """The bot has run before: its listings of the newest models stop at ``since``."""
    for task in card_tasks():
        store.set_watermark(watermark_key(task), since)


def test_one_cycle_evaluates_on_the_cards_module_and_opens_a_pr(
    tmp_path: Path, repos: Repos, store: Store, demo_api: HfApi, bot_api: HfApi
) -> None:
    config = self_configuring(tmp_path / "config")
    listing_from(store, repos.since)

    report = run_cycle(config.load(), api=bot_api, store=store)

    assert report.queued == 1
    model = store.get_model(repos.model)
    assert model is not None and model.status is ModelStatus.EVALUATED, model
    results = store.results_for(repos.model)
    assert {(r.dataset_id, r.module_id, r.split) for r in results} == {
        (repos.dataset, repos.dataset.replace("/", "--"), "test")
    }
    assert results[0].num_examples == ROWS and results[0].dataset_revision == repos.dataset_sha
    prs = bot_prs(demo_api, repos.model)
    assert len(prs) == 1
    doc = store.modules.find_one({"_id": repos.dataset})
    assert doc is not None and doc["source"] == "card" and doc["revision"] == repos.dataset_sha
    assert doc["module"]["dataset"]["columns"] == {"input": "tweet", "label": "feeling"}
    assert doc["module"]["dataset"]["labels"] == list(LABELS)


def test_a_yaml_module_for_the_dataset_wins(
    tmp_path: Path, repos: Repos, store: Store, bot_api: HfApi, sandbox: object
) -> None:
    config = self_configuring(tmp_path / "config", tag=repos.dataset)  # its trained_on
    listing_from(store, repos.since)
    admin = Admin(sandbox.url)  # type: ignore[attr-defined]
    admin.clear_log()

    report = plan_cycle(config.load(), api=bot_api, store=store)

    assert report.queued == 1  # through the YAML module's own listing
    assert store.modules.count_documents({}) == 0
    assert not [e for e in admin.log() if e["path"].startswith(f"/api/datasets/{repos.dataset}")]
    job = store.get_job(repos.model, store.head_sha(repos.model) or "")
    assert job is not None


def test_a_card_without_train_eval_index_is_read_once(
    tmp_path: Path, world: World, demo_api: HfApi, store: Store, bot_api: HfApi, sandbox: object
) -> None:
    key = uuid.uuid4().hex[:8]
    dataset, model = f"demo/plain-{key}", f"demo/plain-model-{key}"
    since = utcnow() - timedelta(seconds=1)
    push_dataset(demo_api, world, dataset, with_index=False)
    make_model(demo_api, world, model, dataset)
    try:
        config = self_configuring(tmp_path / "config").load()
        listing_from(store, since)
        admin = Admin(sandbox.url)  # type: ignore[attr-defined]
        admin.clear_log()
        first = plan_cycle(config, api=bot_api, store=store)
        demo_api.upload_file(
            path_or_fileobj=b"# a new commit\n", path_in_repo="NOTES.md", repo_id=model
        )
        second = plan_cycle(config, api=bot_api, store=store)
        reads = [e for e in admin.log() if e["path"].startswith(f"/api/datasets/{dataset}")]
    finally:
        demo_api.delete_repo(model)
        demo_api.delete_repo(dataset, repo_type="dataset")
    assert (first.queued, second.queued) == (0, 0)
    assert len(reads) == 1  # the refusal is kept: the second cycle does not read the card
    doc = store.modules.find_one({"_id": dataset})
    assert doc is not None and doc["module"] is None and "no train-eval-index" in doc["error"]
    assert doc["expires_at"] > utcnow() + timedelta(days=6)
    assert store.get_model(model) is None  # nothing to evaluate it on: not stored


def test_modules_cli_from_card_and_listing(
    tmp_path: Path,
    repos: Repos,
    store: Store,
    mongo: EmbeddedMongo,
    bot_api: HfApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = self_configuring(tmp_path / "config")
    monkeypatch.setenv("MONGODB_URI", mongo.uri)
    monkeypatch.setenv("EVALBOT_DB", store.db.name)
    cli = ["--config", str(config.path), "modules"]
    assert main([*cli, "--from-card", repos.dataset]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# Derived by evalbot from the train-eval-index of {repos.dataset}")
    path = tmp_path / "tasks" / "text-classification" / f"{repos.dataset.replace('/', '--')}.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(out, encoding="utf-8")
    module = load_module(path)
    assert module.dataset.repo == repos.dataset and module.dataset.revision == repos.dataset_sha
    assert module.dataset.labels == list(LABELS)

    assert main([*cli, "--from-card", DATASET_ID]) == 2
    err = capsys.readouterr().err
    assert "no train-eval-index" in err and "config/tasks/<task>/" in err

    listing_from(store, repos.since)
    plan_cycle(config.load(), api=bot_api, store=store)  # stores the card's module
    assert main(cli) == 0
    rows = [line.split("\t")[:4] for line in capsys.readouterr().out.splitlines()]
    assert ["emotion", "text-classification", "dair-ai/emotion", "yaml"] in rows
    card_id = repos.dataset.replace("/", "--")
    assert [card_id, "text-classification", repos.dataset, "card"] in rows


def test_stored_card_modules_join_the_config_unless_yaml_covers_them(
    tmp_path: Path, store: Store
) -> None:
    from evaluators.card_modules import module_from_card
    from tests.evaluators.test_card_modules import IMDB, card

    derived = module_from_card("acme/reviews", card(IMDB), revision=None, features=None)
    store.save_card_module(
        "Acme/Reviews",
        derived.module.model_dump(mode="json"),
        revision=None,
        recheck_after=timedelta(days=7),
    )
    on = self_configuring(tmp_path / "on").load()
    assert [m.module.id for m in with_card_modules(on, store).modules] == [
        "emotion",
        "acme--reviews",
    ]
    assert with_card_modules(on, store).modules[-1].path == Path("datasets/Acme/Reviews/README.md")
    off = write_config(tmp_path / "off").load()
    assert with_card_modules(off, store) is off
    covered = self_configuring(tmp_path / "covered", tag="acme/reviews").load()
    assert [m.module.id for m in with_card_modules(covered, store).modules] == ["emotion"]
    assert store.card_answers_due(["acme/REVIEWS", "acme/other"]) == ["acme/other"]


def test_evaluate_one_model_reads_its_datasets_cards(
    tmp_path: Path,
    repos: Repos,
    store: Store,
    mongo: EmbeddedMongo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`evalbot evaluate ORG/MODEL` evaluates on the modules the model's datasets' cards
    configure, as a cycle would: in memory with --dry-run (nothing stored), stored without."""
    config = self_configuring(tmp_path / "config")
    monkeypatch.setenv("MONGODB_URI", mongo.uri)
    monkeypatch.setenv("EVALBOT_DB", store.db.name)
    cli = ["--config", str(config.path), "evaluate", repos.model]
    line = f"{repos.dataset} [test, original] n={ROWS}: accuracy "

    assert main([*cli, "--dry-run"]) == 0
    assert line in capsys.readouterr().out
    assert store.modules.count_documents({}) == 0 and store.results_for(repos.model) == []

    assert main(cli) == 0
    assert line in capsys.readouterr().out
    doc = store.modules.find_one({"_id": repos.dataset})
    assert doc is not None and doc["source"] == "card" and doc["revision"] == repos.dataset_sha
    (result,) = store.results_for(repos.model)
    assert result.module_id == repos.dataset.replace("/", "--") and result.num_examples == ROWS
