"""The Space's read queries (``space.queries``) and views (``space.views``) over the results
dataset: a real mongod is filled as the bot fills it, exported and written as the published
Parquet tables (``store.export``, ``store.tables``), and the Space reads only those."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from space import queries as q
from space import views
from space.data import DirectorySource, ResultsData, Snapshot
from store.db import Store
from store.export import export_tables
from store.tables import CLASS_RESULTS, write_tables
from store.types import (
    ClaimRecord,
    ClassResult,
    DatasetExampleRecord,
    DatasetRecord,
    DatasetSplitRecord,
    FailureReason,
    ModelRecord,
    ModelStatus,
    ReferenceRecord,
    RuntimeStats,
    Selection,
    SigningIdentity,
    VariantRecord,
)
from tests.store.test_store import make_record

SHA = "a" * 40
INFERRED = Selection("labels", "its config.json labels are exactly Emotion's classes")
Publish = Callable[[Store], Snapshot]


@pytest.fixture
def publish(tmp_path: Path) -> Publish:
    """``publish(store)``: the store's tables written as the bot publishes them, in a folder
    of their own, and loaded as the Space loads them."""
    versions = itertools.count(1)

    def run(store: Store) -> Snapshot:
        root = tmp_path / f"v{next(versions)}"
        write_tables(export_tables(store), root)
        return Snapshot.open(root, revision=root.name)

    return run


def names(rows: list[list[object]]) -> list[str]:
    """The model names of a table's second column (markdown links ``[name](?view=...)``)."""
    return [str(r[1]).split("](")[0].lstrip("[") for r in rows]


def _model(store: Store, repo_id: str, *, params: int, sha: str = SHA) -> None:
    store.upsert_model(
        ModelRecord(
            repo_id,
            sha,
            pipeline_tag="text-classification",
            datasets=("dair-ai/emotion",),
            tags=("bert",),
        )
    )
    store.update_model_metadata(
        repo_id,
        file_sizes={"model.safetensors": params * 4, "README.md": 100},
        hyperparameters={"hidden_size": 64},
        num_parameters=params,
        reference=ReferenceRecord("2101.00001", title="A paper", arxiv="2101.00001"),
    )
    store.set_model_status(repo_id, sha, ModelStatus.EVALUATED)


def _classes(f1: tuple[float, float, float]) -> tuple[ClassResult, ...]:
    return tuple(
        ClassResult(i, label, 1, 0, 0, 1, value, value, value)
        for i, (label, value) in enumerate(zip(("x", "y", "z"), f1, strict=True))
    )


def _fill(store: Store) -> Store:
    """Three evaluated models (two variants each), one failure, a dataset, claims, a key."""
    store.upsert_dataset(
        DatasetRecord(
            "dair-ai/emotion",
            "Emotion",
            "text",
            "text-classification",
            ("x", "y", "z"),
            description="Tweets.",
            variants=("original", "lowercase"),
        )
    )
    store.upsert_split(DatasetSplitRecord("dair-ai/emotion", "b" * 40, "test", 3, (2, 1, 0)))
    store.add_examples(
        [DatasetExampleRecord("dair-ai/emotion", "test", 1, "y", 2, text="a y sentence")]
    )
    store.upsert_variant(
        VariantRecord("lowercase", "lowercase", "text", "All lowercase.", "str.lower")
    )
    for repo_id, params, acc, speed, f1 in (
        ("demo/a", 1_000, 0.9, 100.0, (0.9, 0.8, 0.7)),
        ("demo/b", 100_000, 0.6, 10.0, (0.9, 0.2, 0.5)),
        ("other/c", 10_000, 0.8, 1000.0, (0.8, 0.8, 0.8)),
    ):
        _model(store, repo_id, params=params)
        for variant, factor in (("original", 1.0), ("lowercase", 0.5)):
            store.save_result(
                make_record(
                    model_id=repo_id,
                    variant=variant,
                    metrics={"accuracy": acc * factor, "macro_f1": acc * factor - 0.1},
                    classes=_classes(tuple(v * factor for v in f1)),  # type: ignore[arg-type]
                    runtime=RuntimeStats(3 / speed, 1000 / speed, speed, "cpu", 32),
                    selection=INFERRED if repo_id == "other/c" else Selection(),
                )
            )
    store.upsert_model(ModelRecord("demo/es", "d" * 40, pipeline_tag="text-classification"))
    store.set_model_status(
        "demo/es",
        "d" * 40,
        ModelStatus.FAILED,
        reason=FailureReason.UNKNOWN_LABELS,
        detail="tristeza",
    )
    claim = ClaimRecord(
        "demo/b",
        SHA,
        "dair-ai/emotion",
        "test",
        "accuracy",
        0.93,
        0.6,
        0.5,
        0.7,
        False,
        "claims 33.0 points more than measured",
    )
    store.save_claims("demo/b", SHA, [claim])
    store.set_identity(
        SigningIdentity("k1", "-----BEGIN PUBLIC KEY-----\nAAA\n-----END PUBLIC KEY-----\n")
    )
    return store


@pytest.fixture
def filled(store: Store) -> Store:
    return _fill(store)


@pytest.fixture
def data(filled: Store, publish: Publish) -> Snapshot:
    return publish(filled)


def test_list_models_filters_sorts_and_pages(data: Snapshot) -> None:
    page = q.list_models(data, q.ModelFilter())
    assert [r.repo_id for r in page.rows] == ["demo/a", "demo/b", "demo/es", "other/c"]
    assert page.rows[0].evaluated_on == ("dair-ai/emotion",) and page.rows[0].accuracy == 0.9
    assert q.list_models(data, q.ModelFilter(search="DEMO/")).total == 3
    assert [r.repo_id for r in q.list_models(data, q.ModelFilter(metrics="no")).rows] == ["demo/es"]
    failed = q.list_models(data, q.ModelFilter(failure="unknown labels")).rows
    assert [r.failure_reason for r in failed] == ["unknown labels"]
    by_size = q.list_models(data, q.ModelFilter(sort="parameters", descending=True, metrics="yes"))
    assert [r.repo_id for r in by_size.rows] == ["demo/b", "other/c", "demo/a"]
    evaluated = q.list_models(data, q.ModelFilter(evaluated_on="dair-ai/emotion", search="c"))
    assert [r.repo_id for r in evaluated.rows] == ["other/c"]
    second = q.list_models(data, q.ModelFilter(per_page=3, page=2))
    assert (second.page, second.pages, [r.repo_id for r in second.rows]) == (2, 2, ["other/c"])
    assert q.list_models(data, q.ModelFilter(page=99)).page == 1  # clamped to the last page


def test_page_input_never_becomes_an_operator(data: Snapshot) -> None:
    assert q.list_models(data, q.ModelFilter(search='{"$gt": ""}')).total == 0
    assert q.list_models(data, q.ModelFilter(search=".*")).total == 0  # escaped, not a regex
    assert q.list_models(data, q.ModelFilter(sort="$where")).rows[0].repo_id == "demo/a"
    hostile = {"$ne": None}
    assert q.model_detail(data, hostile) is None  # type: ignore[arg-type]
    assert q.list_models(data, q.ModelFilter(origin=hostile)).total == 4  # type: ignore[arg-type]
    assert q.result_detail(data, "demo/a", hostile) is None  # type: ignore[arg-type]
    sql = "x' OR '1'='1"  # bound as a value, never spliced into the SQL
    assert q.list_models(data, q.ModelFilter(search=sql)).total == 0
    assert q.list_models(data, q.ModelFilter(task=sql)).total == 0
    assert q.model_detail(data, sql) is None and q.dataset_detail(data, sql) is None
    assert q.model_points(data, "dair-ai/emotion", class_label=sql) == []


def test_model_detail_has_summaries_reference_and_claims(data: Snapshot) -> None:
    detail = q.model_detail(data, "demo/b")
    assert detail is not None and detail.reference is not None
    assert detail.reference.title == "A paper"
    assert [r.variant for r in detail.results] == ["original", "lowercase"]
    first = detail.results[0]
    assert first.metrics["accuracy"] == 0.6 and first.intervals["accuracy"] == (0.3, 1.0)
    assert first.instances_per_s == 10.0 and first.ece == 0.1
    assert [c.verdict for c in detail.claims] == ["claims 33.0 points more than measured"]
    page = views.model_view(data, {"model": "demo/b"})
    assert "claims 33.0 points more" in page and "0.600 [0.300, 1.000]" in page
    assert "hidden_size" in page and "model.safetensors" in page


def test_result_detail_and_confusion(data: Snapshot) -> None:
    detail = q.result_detail(data, "demo/a", "dair-ai/emotion", variant="lowercase")
    assert detail is not None and detail.summary.variant == "lowercase"
    assert [c.f1 for c in detail.classes] == [0.45, 0.4, 0.35]
    assert [v.variant for v in detail.variants] == ["original", "lowercase"]
    assert [(e.item.example_id, e.text) for e in detail.misclassifications] == [
        (2, "a y sentence"),
        (7, None),
    ]
    assert q.most_confused([[5, 1, 0], [4, 2, 3], [0, 0, 1]], 2) == [(1, 0, 4), (1, 2, 3)]
    view = views.result_view(data, {"model": "demo/a", "dataset": "dair-ai/emotion"})
    assert view.found and view.confusion_classes == ["y", "x"]
    assert view.pairs == ["y → x"]
    _, errors = views.errors_view(detail, min_conf=0.7)
    assert "a y sentence" in errors and ">7<" not in errors


def test_variant_and_model_comparison(data: Snapshot) -> None:
    cmp = q.variant_comparison(data, "demo/b", "dair-ai/emotion", metric="recall")
    assert cmp is not None and cmp.variants == ["original", "lowercase"]
    assert cmp.values["lowercase"] == [0.45, 0.1, 0.25]
    rel = views.variants_view(
        data, {"model": "demo/b", "dataset": "dair-ai/emotion", "mode": "relative"}
    )
    assert rel.headers == ["class", "lowercase"] and rel.rows[0] == ["x", "-0.450"]
    both = q.compare_models(data, "dair-ai/emotion", ["demo/a", "other/c", "nobody/x"])
    assert [m.model_id for m in both.models] == ["demo/a", "other/c"]
    assert both.missing == ["nobody/x"] and both.models[1].per_class == [0.8, 0.8, 0.8]


def test_dataset_detail_counts_models_per_variant(data: Snapshot) -> None:
    d = q.dataset_detail(data, "dair-ai/emotion")
    assert d is not None and d.labels == ["x", "y", "z"]
    assert [(v.variant, v.models, v.trained_on) for v in d.evaluated] == [
        ("original", 3, 3),
        ("lowercase", 3, 3),
    ]
    assert d.examples[1][0].text == "a y sentence" and d.splits[0].class_counts == (2, 1, 0)
    assert "All lowercase." in views.dataset_view(data, {"dataset": "dair-ai/emotion"})


def test_points_leaderboard_and_query_form(data: Snapshot) -> None:
    points = {
        p.model_id: p
        for p in q.model_points(
            data, "dair-ai/emotion", class_label="y", with_parameters=True, with_weights=True
        )
    }
    assert points["demo/b"].class_metrics["recall"] == 0.2
    assert points["demo/a"].size_mb == 0.004 and points["other/c"].instances_per_s == 1000.0
    assert points["demo/b"].num_parameters == 100_000
    assert q.model_points(data, "dair-ai/emotion")[0].num_parameters is None  # not asked for
    balance = q.class_balance(data, "dair-ai/emotion")
    assert balance[("demo/b", SHA)].worst_f1 == 0.2
    assert balance[("demo/b", SHA)].spread == pytest.approx(0.7)
    assert q.robustness(data, "dair-ai/emotion")["demo/a"] == pytest.approx(0.5)
    board = views.leaderboard_view(data, {"dataset": "dair-ai/emotion"})
    assert names(board.rows)[0] == "demo/a"
    only_speed = {f"w_{d}": "0" for d in views.DIMENSIONS} | {"w_speed": "1"}
    fastest = views.leaderboard_view(data, {"dataset": "dair-ai/emotion", **only_speed})
    assert names(fastest.rows) == ["other/c", "demo/a", "demo/b"]
    found = views.find_view(
        data,
        {
            "dataset": "dair-ai/emotion",
            "class": "y",
            "variant": "lowercase",
            "min_throughput": "50",
        },
    )
    assert names(found.rows) == ["demo/a", "other/c"]  # a tie; demo/b is too slow
    scatter = views.scatter_view(
        data, {"dataset": "dair-ai/emotion", "x": "size_mb", "y": "accuracy"}
    )
    assert "Plotting 3 models" in scatter.info and scatter.figure is not None


def test_empty_states_are_sentences(store: Store, publish: Publish) -> None:
    params: dict[str, str] = {"dataset": "nope/none", "model": "nobody/x", "class": "bear"}
    for data in (publish(store), Snapshot.nothing()):  # published empty; nothing published
        for name, view in views.VIEWS.items():
            for p in ({}, params):
                out = view(data, p)
                text = (
                    out
                    if isinstance(out, str)
                    else (
                        getattr(out, "info", "")
                        or getattr(out, "header", "")
                        or getattr(out, "html", "")
                    )
                )
                assert "Traceback" not in text, name
                if name not in ("models", "audit") and p:
                    assert "evalbot-empty" in text, (name, text)
        assert "has not published its signing key" in views.audit_view(data, {})
        assert "has not published any results yet" in views.models_view(data, {"q": "x"}).html


def test_no_model_matches_once_results_exist(data: Snapshot) -> None:
    assert "No model matches" in views.models_view(data, {"q": "nobody"}).html


def test_audit_lists_discrepancies_and_the_key(data: Snapshot) -> None:
    page = views.audit_view(data, {})
    assert "demo/b" in page and "claims 33.0 points more" in page
    assert "BEGIN PUBLIC KEY" in page and "k1" in page


def test_stale_revisions_are_not_shown(filled: Store, publish: Publish) -> None:
    filled.save_result(
        make_record(model_id="demo/a", model_sha="e" * 40, metrics={"accuracy": 0.1})
    )
    detail = q.model_detail(publish(filled), "demo/a")
    assert detail is not None and {r.metrics["accuracy"] for r in detail.results} == {0.9, 0.45}


def test_results_follow_the_evaluated_revision_not_the_head(
    filled: Store, publish: Publish
) -> None:
    """A README-only commit (or the merge of evalbot's PR) moves the head ``sha``; ``eval_sha``
    keeps naming the evaluated revision, whose results still stand everywhere."""
    head = "f" * 40
    record = ModelRecord(
        "demo/moved",
        SHA,
        pipeline_tag="text-classification",
        datasets=("dair-ai/emotion",),
        fingerprint="sha256:same-weights",
    )
    filled.upsert_model(record)
    for variant, acc in (("original", 0.7), ("lowercase", 0.35)):
        filled.save_result(
            make_record(model_id="demo/moved", variant=variant, metrics={"accuracy": acc})
        )
    filled.mark_evaluated("demo/moved", SHA, [])
    filled.upsert_model(replace(record, sha=head))  # the card changed, not the files
    moved = filled.get_model("demo/moved")
    assert moved is not None and (moved.sha, moved.eval_sha) == (head, SHA)
    data = publish(filled)

    detail = q.model_detail(data, "demo/moved")
    assert detail is not None and [r.variant for r in detail.results] == ["original", "lowercase"]
    page = views.model_view(data, {"model": "demo/moved"})
    assert "0.700" in page and "same files as the evaluated <code>aaaaaaaa</code>" in page
    (row,) = q.list_models(data, q.ModelFilter(search="moved")).rows
    assert row.evaluated_on == ("dair-ai/emotion",) and row.accuracy == 0.7
    result = q.result_detail(data, "demo/moved", "dair-ai/emotion")
    assert result is not None and result.model_sha == SHA
    assert [v.variant for v in result.variants] == ["original", "lowercase"]
    cmp = q.variant_comparison(data, "demo/moved", "dair-ai/emotion")
    assert cmp is not None and cmp.variants == ["original", "lowercase"]
    both = q.compare_models(data, "dair-ai/emotion", ["demo/moved", "demo/a"])
    assert [m.model_id for m in both.models] == ["demo/moved", "demo/a"] and not both.missing


def test_a_declined_repo_reads_as_declined(filled: Store, publish: Publish) -> None:
    filled.set_declined("demo/b", 7, by="<b>alice</b>")
    data = publish(filled)
    declined = q.ModelFilter(pr="declined")
    assert q.model_where(declined) == ("declined_pr IS NOT NULL", [])
    page = q.list_models(data, declined)
    assert [(r.repo_id, r.declined) for r in page.rows] == [("demo/b", 7)]
    assert {r.repo_id: r.declined for r in q.list_models(data, q.ModelFilter()).rows} == {
        "demo/a": None,
        "demo/b": 7,
        "demo/es": None,
        "other/c": None,
    }
    listed = views.models_view(data, {"pr": "declined"}, hub_url="https://hub.test").html
    assert 'href="https://hub.test/demo/b/discussions/7"' in listed and ">declined<" in listed
    assert views.models_filter({"pr": "open"}).pr == ""  # only the known value is passed on
    hostile = {"$ne": None}
    assert q.list_models(data, q.ModelFilter(pr=hostile)).total == 4  # type: ignore[arg-type]

    detail = q.model_detail(data, "demo/b")
    assert detail is not None and detail.declined is not None
    assert (detail.declined.num, detail.declined.by) == (7, "<b>alice</b>")
    model_page = views.model_view(data, {"model": "demo/b"}, hub_url="https://hub.test")
    assert "The author declined evalbot's pull requests" in model_page
    assert 'href="https://hub.test/demo/b/discussions/7">PR #7</a>' in model_page
    assert "closed by &lt;b&gt;alice&lt;/b&gt;" in model_page and "<b>alice" not in model_page
    assert "0.600" in model_page  # its results are still shown

    filled.set_declined("demo/b", None)  # the author opted back in
    data = publish(filled)
    assert q.list_models(data, declined).total == 0
    assert "declined" not in views.model_view(data, {"model": "demo/b"})


def test_a_dataset_whose_module_is_broken_says_so(filled: Store, publish: Publish) -> None:
    assert q.dataset_problem(publish(filled), "dair-ai/emotion") is None
    filled.record_module_problem("beans", "d0", "beans: no split 'test'")  # another module's
    assert q.dataset_problem(publish(filled), "dair-ai/emotion") is None
    error = "dair-ai/emotion: column <img src=x onerror=alert(1)> is missing"
    filled.record_module_problem("emotion", "d1", error)
    filled.enqueue("demo/new", "c" * 40)
    job = filled.claim_job("w1")
    assert job is not None
    filled.finish_job(job, status="blocked", error=error, module="emotion")
    data = publish(filled)

    detail = q.dataset_detail(data, "dair-ai/emotion")
    assert detail is not None and detail.problem is not None
    assert (detail.problem.module_id, detail.problem.error, detail.problem.waiting) == (
        "emotion",
        error,
        1,
    )
    page = views.dataset_view(data, {"dataset": "dair-ai/emotion"})
    assert "This dataset cannot currently be used for new evaluations" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
    assert f"since {detail.problem.since:%Y-%m-%d %H:%M} UTC" in page
    assert "1 evaluation wait for a fix" in page

    filled.clear_module_problem("emotion")  # the module's YAML was fixed
    assert "cannot currently be used" not in views.dataset_view(
        publish(filled), {"dataset": "dair-ai/emotion"}
    )


def test_unreadable_data_reads_as_a_sentence(filled: Store, tmp_path: Path) -> None:
    from space.pages.result import r_result
    from space.wiring import UNAVAILABLE, safe

    write_tables(export_tables(filled), tmp_path)
    results = ResultsData(DirectorySource(tmp_path))
    assert results.refresh()
    (tmp_path / CLASS_RESULTS.path).unlink()  # the files went away under the served version
    out = safe(r_result, 10)(results.current, {"model": "demo/a", "dataset": "dair-ai/emotion"})
    assert out[0] == UNAVAILABLE and "try again" in out[0]


def test_the_leaderboard_says_and_filters_how_the_training_data_was_known(
    data: Snapshot,
) -> None:
    board = views.leaderboard_view(data, {"dataset": "dair-ai/emotion"})
    assert board.headers[-1] == "training data"
    cells = {name: row[-1] for name, row in zip(names(board.rows), board.rows, strict=True)}
    assert cells["demo/a"] == "declared"
    assert cells["other/c"] == f"inferred (labels): {INFERRED.evidence}"
    declared = views.leaderboard_view(data, {"dataset": "dair-ai/emotion", "training": "declared"})
    assert sorted(names(declared.rows)) == ["demo/a", "demo/b"]
    assert "whose card names this dataset" in declared.info
    inferred = views.leaderboard_view(data, {"dataset": "dair-ai/emotion", "training": "inferred"})
    assert names(inferred.rows) == ["other/c"]
    anything = views.leaderboard_view(data, {"dataset": "dair-ai/emotion", "training": "x"})
    assert len(anything.rows) == 3  # an unknown value filters nothing
