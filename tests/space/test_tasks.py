"""The Space over results of every task type: named-entity recognition (per entity type),
extractive QA (per question group) and object detection (per class, AP), next to
classification. Records are built with the catalogue's keys, stored in a real mongod, exported
as the published Parquet tables (``store.export``) and read as the Space reads them."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from space import queries as q
from space import tasks, views
from space.data import DirectorySource, ResultsData, Snapshot
from store.db import Store
from store.embedded import EmbeddedMongo
from store.export import export_tables
from store.tables import write_tables
from store.types import (
    ClassResult,
    DatasetExampleRecord,
    DatasetRecord,
    DatasetSplitRecord,
    EvaluationRecord,
    Misclassification,
    ModelRecord,
    ModelStatus,
    RuntimeStats,
)
from tests.store.test_store import make_record

SHA = "a" * 40
CONLL = "eriktks/conll2003"
SQUAD = "rajpurkar/squad_v2"
COCO = "detection-datasets/coco"
UD = "universal-dependencies/universal_dependencies"
TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")
NER_COLUMNS = ["id", "entity type", "precision", "recall", "F1", "entities", "TP", "FP", "FN"]
QA_COLUMNS = ["id", "group", "exact match", "F1", "questions", "TP", "FP", "FN"]


def _record(task: str, model_id: str, dataset_id: str, **over: object) -> EvaluationRecord:
    """A result of ``task`` without classification's extras (no calibration, no intervals)."""
    fields: dict[str, object] = {
        "task": task,
        "model_id": model_id,
        "dataset_id": dataset_id,
        "module_id": dataset_id.split("/")[-1],
        "dataset_name": dataset_id.split("/")[-1],
        "label_mapping": {},
        "confusion": (),
        "misclassifications": (),
        "calibration": None,
        "intervals": {},
    }
    return replace(make_record(), **{**fields, **over})  # type: ignore[arg-type]


def _ner(model_id: str, scale: float, variant: str = "original") -> EvaluationRecord:
    f1 = 0.8 * scale
    return _record(
        "token-classification",
        model_id,
        CONLL,
        variant=variant,
        num_examples=5,
        metrics={
            "overall_f1": f1,
            "overall_precision": 0.75 * scale,
            "overall_recall": 0.857 * scale,
            "overall_accuracy": 0.95 * scale,
            "macro_f1": 0.7 * scale,
            "weighted_f1": 0.78 * scale,
        },
        classes=(
            ClassResult(0, "PER", 6, 2, 1, 7, 0.75 * scale, 0.857 * scale, f1),
            ClassResult(1, "LOC", 2, 1, 2, 4, 0.667 * scale, 0.5 * scale, 0.571 * scale),
        ),
        # span confusion: PER, LOC, then "no entity with these boundaries"
        confusion=((6, 1, 0), (0, 2, 2), (2, 0, 0)),
        misclassifications=(Misclassification(3, "PER", "LOC", 0.9),),
        runtime=RuntimeStats(1.0, 200.0, 5.0 * scale, "cpu", 8),
    )


def _qa(model_id: str, scale: float, variant: str = "original") -> EvaluationRecord:
    def group(class_id: int, label: str, em: float, f1: float, n: int) -> ClassResult:
        tp = round(em * n)
        metrics: dict[str, float | None] = {"exact_match": em, "f1": f1}
        return ClassResult(class_id, label, tp, 0, n - tp, n, None, None, None, metrics)

    return _record(
        "question-answering",
        model_id,
        SQUAD,
        variant=variant,
        num_examples=10,
        metrics={
            "exact_match": 0.6 * scale,
            "f1": 0.7 * scale,
            "has_answer_exact_match": 0.5 * scale,
            "has_answer_f1": 0.65 * scale,
            "no_answer_accuracy": 0.8 * scale,
            "best_f1": 0.72 * scale,
            "best_f1_threshold": 0.4,
        },
        classes=(  # groups keep their ids in the full list of groups: not contiguous
            group(0, "answer: number", 0.6 * scale, 0.72 * scale, 5),
            group(6, "question: who", 0.4 * scale, 0.5 * scale, 5),
        ),
        misclassifications=(Misclassification(4, "answer: number", "wrong answer", 0.7),),
        runtime=RuntimeStats(2.0, 200.0, 5.0 * scale, "cpu", 8),
    )


def _detection(model_id: str) -> EvaluationRecord:
    def cls(i: int, label: str, ap: float) -> ClassResult:
        metrics: dict[str, float | None] = {"ap": ap, "ap50": ap + 0.2, "ar100": ap + 0.1}
        return ClassResult(i, label, 3, 1, 1, 4, 0.75, 0.75, 0.75, metrics)

    keys = ("ap", "ap50", "ap75", "ap_small", "ap_medium", "ap_large")
    return _record(
        "object-detection",
        model_id,
        COCO,
        metrics={**dict.fromkeys(keys, 0.3), "ap": 0.35, "ap50": 0.55, "ar100": 0.4},
        classes=(cls(0, "cat", 0.4), cls(1, "dog", 0.3)),
        confusion=((3, 0, 1), (0, 3, 1), (1, 0, 0)),
    )


def _pos(model_id: str) -> EvaluationRecord:
    """A part-of-speech tagger's result: token classification scored word by word."""
    return _record(
        "token-classification",
        model_id,
        UD,
        num_examples=4,
        metrics={
            "accuracy": 0.9,
            "macro_precision": 0.8,
            "macro_recall": 0.85,
            "macro_f1": 0.82,
            "weighted_f1": 0.88,
        },
        classes=(
            ClassResult(0, "NOUN", 9, 1, 1, 10, 0.9, 0.9, 0.9),
            ClassResult(1, "VERB", 4, 1, 1, 5, 0.8, 0.8, 0.8),
        ),
        runtime=RuntimeStats(1.0, 100.0, 10.0, "cpu", 8),
    )


def _fill(store: Store) -> None:
    """Two NER models, two QA models (an original and a variant each), a detector."""
    store.upsert_dataset(
        DatasetRecord(
            CONLL, "CoNLL-2003", "text", "token-classification", TAGS, variants=("lowercase",)
        )
    )
    store.upsert_dataset(
        DatasetRecord(SQUAD, "SQuAD v2", "text", "question-answering", (), variants=("typos",))
    )
    store.upsert_dataset(DatasetRecord(COCO, "COCO", "image", "object-detection", ("cat", "dog")))
    store.upsert_split(DatasetSplitRecord(CONLL, "b" * 40, "test", 5, (7, 4)))
    store.add_examples(
        [
            DatasetExampleRecord(CONLL, "test", 0, "PER", 1, text="Ada Lovelace wrote"),
            DatasetExampleRecord(CONLL, "test", 1, "LOC", 3, text="in London today"),
            DatasetExampleRecord(SQUAD, "test", 0, "answer: number", 4, text="Q: How many? A: 4"),
        ]
    )
    for repo_id, task, scale in (
        ("demo/ner-a", "token-classification", 1.0),
        ("demo/ner-b", "token-classification", 0.5),
        ("demo/qa-a", "question-answering", 1.0),
        ("demo/qa-b", "question-answering", 0.5),
        ("demo/detr", "object-detection", 1.0),
    ):
        store.upsert_model(ModelRecord(repo_id, SHA, pipeline_tag=task))
        store.update_model_metadata(
            repo_id,
            file_sizes={},
            hyperparameters={},
            num_parameters=int(1000 / scale),
            reference=None,
        )
        store.set_model_status(repo_id, SHA, ModelStatus.EVALUATED)
        if task == "token-classification":
            store.save_result(_ner(repo_id, scale))
            store.save_result(_ner(repo_id, scale * 0.5, "lowercase"))
        elif task == "question-answering":
            store.save_result(_qa(repo_id, scale))
            store.save_result(_qa(repo_id, scale * 0.5, "typos"))
        else:
            store.save_result(_detection(repo_id))
    store.upsert_model(ModelRecord("demo/pos", SHA, pipeline_tag="token-classification"))
    store.set_model_status("demo/pos", SHA, ModelStatus.EVALUATED)
    store.save_result(_pos("demo/pos"))


@pytest.fixture(scope="module")
def root(mongo: EmbeddedMongo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the published tables of :func:`_fill` (written once: every test here
    only reads)."""
    store = Store.open(mongo.uri, db_name=f"test_{uuid.uuid4().hex[:12]}")
    try:
        _fill(store)
        folder: Path = tmp_path_factory.mktemp("spans")
        write_tables(export_tables(store), folder)
    finally:
        store.client.drop_database(store.db.name)
        store.client.close()
    return folder


@pytest.fixture(scope="module")
def data(root: Path) -> Snapshot:
    """Those tables read as the Space reads them."""
    return Snapshot.open(root, revision="v1")


def test_the_catalogue_names_each_task_s_columns() -> None:
    assert tasks.unit_columns(tasks.spec("token-classification")) == NER_COLUMNS
    assert tasks.unit_columns(tasks.spec("question-answering")) == QA_COLUMNS
    assert tasks.unit_columns(tasks.spec("text-classification"))[:5] == [
        "id",
        "class",
        "precision",
        "recall",
        "F1",
    ]
    assert tasks.spec("no-such-task") is tasks.FALLBACK and tasks.spec(None) is tasks.FALLBACK
    assert tasks.overall_key(tasks.spec("token-classification"), "f1") == "overall_f1"
    assert tasks.overall_key(tasks.spec("object-detection"), "ap50") == "ap50"
    assert tasks.overall_key(tasks.spec("question-answering"), "exact_match") == "exact_match"
    with pytest.raises(ValueError, match="not a metric key"):
        tasks.class_sql("f1'; DROP TABLE x")


def test_ner_result_shows_entity_types_and_entity_f1(data: Snapshot) -> None:
    view = views.result_view(data, {"model": "demo/ner-a", "dataset": CONLL})
    assert view.found and view.columns == NER_COLUMNS
    assert view.rows == [
        [0, "PER", "0.750", "0.857", "0.800", 7, 6, 2, 1],
        [1, "LOC", "0.667", "0.500", "0.571", 4, 2, 1, 2],
    ]
    assert view.unit_heading.startswith("### Per entity type\n\nAn entity counts as right (TP)")
    assert "F1 (entities) 0.800 · Precision (entities) 0.750</p>" in view.header
    assert "ECE" not in view.header and "95% CI" not in view.header
    assert ">Accuracy (words)</td><td>0.9500<" in view.header  # the task's summary table
    assert "<th>F1</th><th>vs original</th><th>precision</th>" in view.header
    assert "-0.400" in view.header  # the lowercase variant's entity F1 change
    assert view.classes == ["PER", "LOC", q.NO_MATCH]  # the span confusion's "no entity"
    assert view.confusion is not None and view.calibration is None and view.has_errors
    assert view.metric_choices == [("precision", "precision"), ("recall", "recall"), ("F1", "f1")]
    assert [key for _, key in view.sort_choices] == ["id", "precision", "recall", "f1", "support"]
    detail = views.load_result(data, {"model": "demo/ner-a", "dataset": CONLL})
    assert detail is not None
    by_f1 = views.class_rows(detail, sort="f1", descending=True)
    assert [r[1] for r in by_f1] == ["PER", "LOC"]
    assert [t.name for t in views.class_chart(detail, ["f1"]).data] == ["F1"]
    (error,) = detail.misclassifications  # its sentence is stored under its other type
    assert (error.item.true_label, error.text) == ("PER", "in London today")


def test_qa_result_shows_groups_and_exact_match(data: Snapshot) -> None:
    view = views.result_view(data, {"model": "demo/qa-a", "dataset": SQUAD})
    assert view.found and view.columns == QA_COLUMNS
    assert view.rows == [
        [0, "answer: number", "0.600", "0.720", 5, 3, 0, 2],
        [6, "question: who", "0.400", "0.500", 5, 2, 0, 3],
    ]
    assert view.unit_heading.startswith("### Per group\n\nGroups: the reference answer's type")
    assert "Exact match 0.600 · F1 0.700</p>" in view.header
    assert ">No-answer accuracy</td><td>0.8000<" in view.header
    assert view.confusion is None and view.classes == [] and view.calibration is None
    detail = views.load_result(data, {"model": "demo/qa-a", "dataset": SQUAD})
    assert detail is not None
    rows = views.class_rows(detail, sort="exact_match")
    assert [r[1] for r in rows] == ["question: who", "answer: number"]
    (error,) = detail.misclassifications
    assert error.text == "Q: How many? A: 4"


def test_model_pages_use_the_task_s_headline(data: Snapshot) -> None:
    ner = views.model_view(data, {"model": "demo/ner-a"})
    assert "<th>F1</th><th>precision</th><th>runtime</th>" in ner and "ECE" not in ner
    assert "<td>0.800</td><td>0.750</td>" in ner
    qa = views.model_view(data, {"model": "demo/qa-a"})
    assert "<th>exact match</th><th>F1</th><th>runtime</th>" in qa
    detector = views.model_view(data, {"model": "demo/detr"})
    assert "<th>AP</th><th>AP50</th>" in detector and "<td>0.350</td><td>0.550</td>" in detector
    listed = views.models_view(data, {})
    assert "<th>headline metric</th>" in listed.html and "0.800 F1" in listed.html
    (row,) = q.list_models(data, q.ModelFilter(search="qa-a")).rows
    assert (row.score, row.score_metric, row.accuracy) == (0.6, "exact_match", None)


def test_detection_result_shows_ap_per_class(data: Snapshot) -> None:
    view = views.result_view(data, {"model": "demo/detr", "dataset": COCO})
    assert view.columns == ["id", "class", "AP", "AP50", "AR100", "objects", "TP", "FP", "FN"]
    assert view.rows[0] == [0, "cat", "0.400", "0.600", "0.500", 4, 3, 1, 1]
    assert "AP (IoU 0.50:0.95) 0.350 · AP (IoU 0.50) 0.550</p>" in view.header
    assert view.classes == ["cat", "dog", q.NO_MATCH]


def test_variants_and_compare_per_unit(data: Snapshot) -> None:
    cmp = q.variant_comparison(data, "demo/qa-a", SQUAD)
    assert cmp is not None and (cmp.metric, cmp.labels) == (
        "f1",
        ["answer: number", "question: who"],
    )
    assert cmp.values["typos"] == [0.36, 0.25] and cmp.overall == {"original": 0.7, "typos": 0.35}
    page = views.variants_view(
        data, {"model": "demo/qa-a", "dataset": SQUAD, "metric": "exact_match"}
    )
    assert page.headers == ["group", "original", "typos"]
    assert page.rows[-1] == ["(whole dataset)", "0.600", "0.300"]
    assert "exact match per group" in page.info
    ner = views.variants_view(data, {"model": "demo/ner-b", "dataset": CONLL, "metric": "recall"})
    assert ner.headers == ["entity type", "original", "lowercase"]
    overall_recall = [views.fmt(0.857 * 0.5), views.fmt(0.857 * (0.5 * 0.5))]
    assert ner.rows[-1] == ["(whole dataset)", *overall_recall]

    both = views.compare_view(data, {"dataset": CONLL, "models": "demo/ner-a,demo/ner-b"})
    assert both.headers == ["entity type", "demo/ner-a", "demo/ner-b"]
    assert both.rows == [["PER", "0.800", "0.400"], ["LOC", "0.571", views.fmt(0.571 * 0.5)]]
    assert "<th>F1</th><th>precision</th><th>examples per second</th>" in both.speed
    qa = views.compare_view(
        data, {"dataset": SQUAD, "models": "demo/qa-a,demo/qa-b", "metric": "exact_match"}
    )
    assert qa.headers == ["group", "demo/qa-a", "demo/qa-b"]
    assert qa.rows == [["answer: number", "0.600", "0.300"], ["question: who", "0.400", "0.200"]]
    assert views.metric_picker(data, SQUAD, "recall") == (
        [("exact match", "exact_match"), ("F1", "f1")],
        "f1",
    )


def test_dataset_pages_list_entity_types_and_groups(data: Snapshot) -> None:
    ner = views.dataset_view(data, {"dataset": CONLL})
    assert "<h3>Entity types (2)</h3>" in ner and "<code>B-PER</code>" in ner
    assert "<th>entity type</th><th>examples</th>" in ner and "Ada Lovelace wrote" in ner
    assert "<th>largest entity types</th>" in ner and "PER: 7, LOC: 4" in ner
    qa = views.dataset_view(data, {"dataset": SQUAD})
    assert "<h3>Groups (2)</h3>" in qa and "question: who" in qa and "How many?" in qa
    assert q.unit_names(data, SQUAD) == ["answer: number", "question: who"]
    assert q.unit_names(data, COCO) == ["cat", "dog"]


def test_leaderboard_scatter_and_query_form_use_the_dataset_s_task(data: Snapshot) -> None:
    board = views.leaderboard_view(data, {"dataset": CONLL})
    assert board.headers == [
        "rank",
        "model",
        "score",
        "F1",
        "mean drop",
        "worst-entity type F1",
        "F1 spread",
        "examples/s",
        "parameters",
        "training data",
    ]
    assert [r[3] for r in board.rows] == [
        "0.800",
        "0.400",
    ] and "accuracy = F1 (entities)" in board.info
    assert q.class_balance(data, CONLL)[("demo/ner-b", SHA)].worst_f1 == 0.571 * 0.5
    assert q.robustness(data, SQUAD) == {"demo/qa-a": 0.5, "demo/qa-b": 0.5}
    qa_board = views.leaderboard_view(data, {"dataset": SQUAD})
    assert qa_board.headers[3:6] == ["exact match", "mean drop", "worst-group F1"]

    scatter = views.scatter_view(data, {"dataset": SQUAD})
    assert scatter.headers == ["model", "exact match", "examples per second"]
    per_group = views.scatter_view(
        data, {"dataset": SQUAD, "x": "class:exact_match", "class": "question: who"}
    )
    assert per_group.rows and per_group.rows[0][1] == "0.4"
    assert "for group question: who" in per_group.info
    axes, x, y = views.axis_picker(data, CONLL, "accuracy", "")
    assert (x, y) == ("overall_f1", "instances_per_s") and ("entity type F1", "class:f1") in axes
    assert "ece" not in dict((axis, label) for label, axis in axes)

    found = views.find_view(data, {"dataset": SQUAD, "class": "answer: number", "metric": "f1"})
    assert found.headers == [
        "rank",
        "model",
        "F1 (answer: number)",
        "exact match",
        "F1",
        "examples/s",
        "exact match (overall)",
    ]
    assert [r[2] for r in found.rows] == ["0.720", "0.360"]


def test_the_app_s_pickers_follow_the_task(root: Path, data: Snapshot) -> None:
    from space.pages import find, result, scatter, variants
    from space.pages.base import classes_and_variants

    results = ResultsData(DirectorySource(root))
    assert results.refresh()
    qa = result.r_result(data, {"model": "demo/qa-a", "dataset": SQUAD})
    # after the header: the generic parts' visibility, class groups and the detector's 7 parts
    assert qa[1]["visible"] is True and qa[2] == "" and qa[3]["visible"] is False
    qa = [qa[0], *qa[10:]]  # the rest as before the detector's parts
    assert qa[1].startswith("### Per group")
    assert qa[2]["choices"] == [("exact match", "exact_match"), ("F1", "f1")]
    assert qa[2]["value"] == ["exact_match", "f1"] and qa[3]["label"] == "Group contains"
    assert [key for _, key in qa[4]["choices"]] == ["id", "exact_match", "f1", "support"]
    # the confusion matrix, misclassifications and calibration sections: errors only
    assert [qa[i]["visible"] for i in (7, 10, 14)] == [False, True, False]
    ner = result.r_result(data, {"model": "demo/ner-a", "dataset": CONLL})
    ner = [ner[0], *ner[10:]]
    assert [ner[i]["visible"] for i in (7, 10, 14)] == [True, True, False]
    picked = variants.r_variants(data, {"model": "demo/qa-a", "dataset": SQUAD, "metric": "recall"})
    assert (picked[4]["choices"], picked[4]["value"]) == (  # after the detectors' robustness
        [("exact match", "exact_match"), ("F1", "f1")],
        "f1",
    )
    plot = scatter.r_scatter(data, {"dataset": COCO})
    assert plot[3]["value"] == "ap" and ("AP (IoU 0.50:0.95)", "ap") in plot[3]["choices"]
    found = find.r_find(data, {"dataset": COCO, "class": "cat"})
    assert found[2]["value"] == "ap"  # detection has no recall among its per-class metrics
    picker = scatter.scatter_dataset(results.current, CONLL, "accuracy", "total_s")
    assert picker[2]["value"] == "overall_f1"
    assert classes_and_variants(results.current, SQUAD)[0]["choices"] == [
        "answer: number",
        "question: who",
    ]


def test_a_word_tagging_dataset_is_ranked_by_its_own_scheme(data: Snapshot) -> None:
    """A token-classification dataset whose results are scored word by word (part-of-speech
    tags) is described by that scheme on the pages about the whole dataset too."""
    spec = q.dataset_task(data, UD)
    assert spec.headline.key == "accuracy" and spec.unit == "tag"
    assert q.dataset_task(data, CONLL).headline.key == "overall_f1"
    board = views.leaderboard_view(data, {"dataset": UD})
    assert board.rows[0][3] == "0.900"  # word accuracy, not an entity F1 the result lacks
