"""Coverage: dataset names as Hub ids, the census of what discovery sees (against a sandbox Hub
of its own), and `evalbot stats` counting found, queued, evaluated and why not."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, HfApi

from bot.cli import main
from bot.coverage import measure
from bot.discovery import CENSUS_KEY, discover
from bot.results_dataset import coverage_table
from bot.undeclared import discover_undeclared
from evaluators.config import EvaluationModule, load_modules
from evaluators.identity import dataset_aliases, hub_dataset_id
from sandbox.server import RunningSandbox, run_in_thread
from store.db import Store
from store.embedded import EmbeddedMongo
from store.types import (
    ClaimRecord,
    CoverageOutcome,
    DatasetRecord,
    FailureReason,
    ModelRecord,
    ModelStatus,
    Sighting,
)
from tests.bot.conftest import card, write_config
from tests.sandbox.helpers import Admin
from tests.store.test_store import make_record

ROOT = Path(__file__).resolve().parents[2]
PAGE = 3


@pytest.fixture(scope="module")
def shipped() -> list[EvaluationModule]:
    return [f.module for f in load_modules(ROOT / "config" / "tasks")]


# -- dataset names as Hub ids ------------------------------------------------------------------


def test_card_spellings_become_the_hub_ids_the_modules_know(
    shipped: list[EvaluationModule],
) -> None:
    aliases = dataset_aliases(shipped)
    spellings = {
        "emotion": "dair-ai/emotion",
        "Emotion": "dair-ai/emotion",
        "datasets/emotion": "dair-ai/emotion",
        "https://huggingface.co/datasets/Dair-AI/Emotion": "dair-ai/emotion",
        "imdb": "stanfordnlp/imdb",
        "IMDB": "stanfordnlp/imdb",
        "squad2": "rajpurkar/squad_v2",
        "imagenet_1k": "ILSVRC/imagenet-1k",
        # a Hub id a module is trained under stays itself, though evaluated on a mirror
        "mozilla-foundation/common_voice_11_0": "mozilla-foundation/common_voice_11_0",
        # unknown: lower-cased and without its prefix, otherwise as written
        "https://huggingface.co/datasets/Acme/My_Data": "acme/my_data",
        " datasets/Foo_Bar ": "foo_bar",
    }
    assert {name: hub_dataset_id(name, aliases) for name in spellings} == spellings


def test_a_name_two_modules_give_different_repos_names_none(
    shipped: list[EvaluationModule],
) -> None:
    emotion = next(m for m in shipped if m.id == "emotion")
    twin = emotion.model_copy(
        update={"id": "feelings", "dataset": emotion.dataset.model_copy(update={"repo": "a/f"})}
    )
    aliases = dataset_aliases([emotion, twin])
    assert hub_dataset_id("emotion", aliases) == "emotion"  # which one? neither
    assert hub_dataset_id("Dair-AI/Emotion", aliases) == "dair-ai/emotion"
    assert hub_dataset_id("A/F", aliases) == "a/f"


# -- counting on a real store ------------------------------------------------------------------


def seen(repo: str, outcome: CoverageOutcome, **fields: object) -> Sighting:
    return Sighting(repo, "a" * 40, fields.pop("source", "huggingface"), outcome, **fields)  # type: ignore[arg-type]


def fill(store: Store) -> None:
    """Seven repos seen (four queued: evaluated, failed, pending, a zoo model) plus one stored
    model no source recorded; results on a variant and a compatible dataset; three claims."""
    tc = {"pipeline_tag": "text-classification", "library_name": "transformers"}
    for repo, status in (("o/evaluated", "evaluated"), ("o/failed", "failed"), ("o/pending", "")):
        store.upsert_model(ModelRecord(repo, "a" * 40, datasets=("emotion",), **tc))  # type: ignore[arg-type]
        store.record_sighting(
            seen(
                repo, CoverageOutcome.QUEUED, datasets=("dair-ai/emotion",), self_reports=True, **tc
            )
        )
        if status:
            store.set_model_status(
                repo,
                "a" * 40,
                ModelStatus(status),
                reason=FailureReason.LOAD_ERROR if status == "failed" else None,
            )
    store.upsert_model(ModelRecord("zoo/resnet", "z", origin="fiftyone", library_name="fiftyone"))
    store.record_sighting(seen("zoo/resnet", CoverageOutcome.QUEUED, source="fiftyone"))
    store.record_sighting(
        seen("o/bert-mlm", CoverageOutcome.UNSUPPORTED_TASK, pipeline_tag="fill-mask")
    )
    store.record_sighting(seen("o/mystery", CoverageOutcome.NO_TRAINING_DATASET, **tc))
    store.record_sighting(
        seen(
            "o/wiki",
            CoverageOutcome.NOT_CONFIGURED,
            datasets=("wikitext",),
            self_reports=True,
            **tc,
        )
    )
    # stored before the census existed: found and queued, evaluated
    store.upsert_model(ModelRecord("o/legacy", "b" * 40, datasets=("imdb",), **tc))  # type: ignore[arg-type]
    store.set_model_status("o/legacy", "b" * 40, ModelStatus.EVALUATED)
    store.upsert_dataset(
        DatasetRecord(
            "dair-ai/emotion",
            "Emotion",
            "text",
            "text-classification",
            ("x",),
            compatible=("acme/moods",),
        )
    )
    store.save_result(make_record(model_id="o/evaluated"))
    store.save_result(make_record(model_id="o/evaluated", variant="typos"))
    store.save_result(make_record(model_id="o/evaluated", dataset_id="acme/moods"))
    store.save_result(
        make_record(model_id="o/legacy", variant="typos", dataset_id="stanfordnlp/imdb")
    )
    for metric, agrees in (("accuracy", True), ("macro_f1", False)):
        claim = ClaimRecord(
            "o/evaluated",
            "a" * 40,
            "dair-ai/emotion",
            "test",
            metric,
            0.9,
            0.8,
            None,
            None,
            agrees,
            "",
        )
        store.save_claims("o/evaluated", "a" * 40, [*store.claims_for("o/evaluated"), claim])
    claim = ClaimRecord(
        "o/legacy",
        "b" * 40,
        "stanfordnlp/imdb",
        "test",
        "accuracy",
        0.9,
        0.5,
        None,
        None,
        False,
        "",
    )
    store.save_claims("o/legacy", "b" * 40, [claim])


def test_coverage_counts_add_up_per_view(store: Store, shipped: list[EvaluationModule]) -> None:
    fill(store)
    coverage = measure(store, shipped)
    (overall,) = coverage.views["overall"]
    assert (overall.found, overall.queued) == (8, 5)
    assert (overall.evaluated, overall.failed, overall.pending) == (2, 1, 2)  # zoo: pending
    assert overall.not_queued == {
        "unsupported task": 1,
        "no training dataset": 1,
        "dataset not configured": 1,
    }
    assert overall.failed_by == {"load error": 1}
    assert overall.self_reports == 4
    for rows in coverage.views.values():
        for row in rows:
            assert row.found == row.queued + sum(row.not_queued.values()), row
            assert row.queued == row.evaluated + row.failed + row.pending, row
    by = {v: {r.key: r for r in rows} for v, rows in coverage.views.items()}
    assert {k: r.found for k, r in by["source"].items()} == {"fiftyone": 1, "huggingface": 7}
    assert {k: r.found for k, r in by["task"].items()} == {
        "(none)": 1,
        "fill-mask": 1,
        "text-classification": 6,
    }
    datasets = {k: (r.found, r.queued, r.evaluated) for k, r in by["dataset"].items()}
    assert datasets == {
        "dair-ai/emotion": (3, 3, 1),
        "stanfordnlp/imdb": (1, 1, 1),  # the legacy model's `imdb`, as its Hub id
        "wikitext": (1, 0, 0),
        "(none)": (3, 1, 0),
    }
    assert sum(r.found for r in by["week"].values()) == 8
    covered = {(c.view, c.key): (c.models, c.evaluations, c.of) for c in coverage.covered}
    assert covered == {("variant", "typos"): (2, 2, 2), ("compatible", "acme/moods"): (1, 1, 2)}
    claims = {c.key: (c.values, c.disagree) for c in coverage.claims}
    assert claims == {"all": (3, 2), "dair-ai/emotion": (2, 1), "stanfordnlp/imdb": (1, 1)}

    text = coverage.text()
    assert "models by task" in text and "self-reported values that disagree" in text
    table_rows = {
        (r["view"], r["key"], r["measure"]): (r["count"], r["total"]) for r in coverage.rows()
    }
    assert table_rows[("overall", "all", "not queued: unsupported task")] == (1, 8)
    assert table_rows[("claims", "all", "self-reported values disagreeing")] == (2, 3)
    table = coverage_table(store)
    assert table.num_rows == len(coverage.rows())
    assert table.column_names == ["view", "key", "measure", "count", "total"]


def test_a_provisional_outcome_never_replaces_queued_at_the_same_head(store: Store) -> None:
    store.record_sighting(seen("o/m", CoverageOutcome.QUEUED))
    first = store.sightings()[0]
    store.record_sighting(seen("o/m", CoverageOutcome.WAITING), provisional=True)
    (again,) = store.sightings()
    assert again.outcome is CoverageOutcome.QUEUED and again.first_seen == first.first_seen
    assert again.last_seen is not None and first.last_seen is not None
    assert again.last_seen >= first.last_seen
    store.record_sighting(
        Sighting("o/m", "c" * 40, "huggingface", CoverageOutcome.GATED), provisional=True
    )
    (moved,) = store.sightings()
    assert (moved.sha, moved.outcome) == ("c" * 40, CoverageOutcome.GATED)


# -- the census against a sandbox Hub ----------------------------------------------------------


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = run_in_thread(data_dir=tmp_path_factory.mktemp("census"), page_size=PAGE)
    yield running
    running.stop()


def push(api: HfApi, repo_id: str, readme: str, config: Mapping[str, object]) -> None:
    api.create_repo(repo_id, exist_ok=True)
    ops = [
        CommitOperationAdd("README.md", readme.encode()),
        CommitOperationAdd("config.json", json.dumps(config).encode()),
        CommitOperationAdd("model.safetensors", b"weights"),
    ]
    api.create_commit(repo_id, ops, commit_message="Upload")


def census_pages(admin: Admin) -> int:
    """Listing pages asked for with no task or tag filter: the census's."""
    return sum(
        e["path"] == "/api/models"
        and "pipeline_tag=" not in e["query"].replace("expand=pipeline_tag", "")
        and "filter=" not in e["query"]
        for e in admin.log()
    )


def test_the_census_records_what_discovery_cannot_evaluate_and_stats_counts_it(
    hub: RunningSandbox,
    store: Store,
    mongo: EmbeddedMongo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tag = f"cov-{uuid.uuid4().hex[:8]}"
    ns = f"demo/x{uuid.uuid4().hex[:8]}"  # repo names that name no dataset
    config = write_config(tmp_path / "config", tag=tag, discovery={"infer_training_data": True})
    modules = [m.module for m in config.load().modules]
    author = HfApi(endpoint=hub.url, token=hub.tokens["demo"])
    bot = HfApi(endpoint=hub.url, token=hub.tokens["evalbot"])
    bert = {"architectures": ["BertForSequenceClassification"], "model_type": "bert"}
    labels = {**bert, "id2label": {"0": "a", "1": "b"}}
    push(author, f"{ns}-queued", card(tag), labels)
    push(
        author,
        f"{ns}-fill-mask",
        "---\nlicense: mit\nlibrary_name: transformers\npipeline_tag: fill-mask\ndatasets:\n- wikitext\n---\n# MLM\n",
        {**bert, "architectures": ["BertForMaskedLM"]},
    )
    push(
        author,
        f"{ns}-mystery",
        "---\nlicense: mit\nlibrary_name: transformers\npipeline_tag: text-classification\n---\n# ?\n",
        bert,
    )
    push(author, f"{ns}-wiki", card("wikitext"), labels)
    push(
        author,
        f"{ns}-keras",
        "---\nlibrary_name: keras\npipeline_tag: text-classification\ndatasets:\n- wikitext\n---\n",
        bert,
    )
    admin = Admin(hub.url)
    admin.clear_log()

    report = discover(bot, modules, store, limit=50, census=True)
    assert [m.repo_id for m in report.queued] == [f"{ns}-queued"]
    assert census_pages(admin) == 2  # five repos, three a page: the census's whole cost
    assert store.get_watermark(CENSUS_KEY) == author.model_info(f"{ns}-keras").last_modified
    discover_undeclared(config.load(), api=bot, store=store)  # looks the mystery model up

    outcomes = {s.repo_id.removeprefix(f"{ns}-"): s for s in store.sightings()}
    assert {k: (s.outcome, s.pipeline_tag) for k, s in outcomes.items()} == {
        "queued": (CoverageOutcome.QUEUED, "text-classification"),
        "fill-mask": (CoverageOutcome.UNSUPPORTED_TASK, "fill-mask"),
        "mystery": (CoverageOutcome.NO_TRAINING_DATASET, "text-classification"),
        "wiki": (CoverageOutcome.NOT_CONFIGURED, "text-classification"),
        "keras": (CoverageOutcome.UNSUPPORTED_LIBRARY, "text-classification"),
    }
    # the tag is a name the emotion module is trained under: its Hub id
    assert outcomes["queued"].datasets == ("dair-ai/emotion",) and outcomes["wiki"].datasets == (
        "wikitext",
    )
    assert outcomes["mystery"].detail == "no dataset hint"
    assert store.get_model(f"{ns}-mystery") is None  # the census stores no model

    admin.clear_log()  # nothing new: the census costs one page and records nothing
    assert discover(bot, modules, store, limit=50, census=True).queued == []
    assert census_pages(admin) == 1
    assert len(store.sightings()) == 5

    monkeypatch.setenv("MONGODB_URI", mongo.uri)
    monkeypatch.setenv("EVALBOT_DB", store.db.name)
    assert main(["--config", str(config.path), "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    (overall,) = stats["views"]["overall"]
    assert (overall["found"], overall["queued"], overall["pending"]) == (5, 1, 1)
    assert overall["not_queued"] == {
        "unsupported task": 1,
        "no training dataset": 1,
        "dataset not configured": 1,
        "incompatible library": 1,
    }
    tasks = {r["key"]: r["found"] for r in stats["views"]["task"]}
    assert tasks == {"fill-mask": 1, "text-classification": 4}
    assert main(["--config", str(config.path), "stats"]) == 0
    text = capsys.readouterr().out
    print(text)
    assert "models by task" in text and "fill-mask" in text
