"""Read-only queries behind the Space's views (thesis chapter 6), typed and index-backed.

Everything a page sends is used as a value, never as a query operator: names are searched with
``re.escape``, sort fields, metrics and axes come from whitelists, and strings are checked to be
strings. Each function answers one view; none of them writes.

Example:
    >>> page = list_models(store, ModelFilter(search="emotion"))  # doctest: +SKIP
    >>> [row.repo_id for row in page.rows]  # doctest: +SKIP
    ['demo/minilm-emotion', 'demo/tiny-emotion']
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.errors import OperationFailure, PyMongoError

from store.codec import doc_to_model
from store.db import Store
from store.types import (
    Calibration,
    CalibrationBin,
    ClaimRecord,
    ClassResult,
    DatasetExampleRecord,
    DatasetSplitRecord,
    Misclassification,
    ModelRecord,
    ReferenceRecord,
    SigningIdentity,
    VariantRecord,
)

Doc = dict[str, Any]
#: what every query here raises when MongoDB fails (the Space shows it as a sentence)
DatabaseError = PyMongoError

ORIGINAL = "original"
#: whole-dataset metrics a page may ask for (keys of ``EvaluationRecord.metrics``)
RESULT_METRICS = ("accuracy", "macro_f1", "macro_precision", "macro_recall", "weighted_f1")
#: per-class metrics (fields of ``ClassResult``)
CLASS_METRICS = ("f1", "precision", "recall")
#: scatter axes besides the metrics
OTHER_AXES = ("instances_per_s", "per_instance_ms", "total_s", "num_parameters", "size_mb", "ece")
MODEL_SORTS = {
    "name": "_id",
    "task": "pipeline_tag",
    "status": "status",
    "parameters": "num_parameters",
    "updated": "last_modified",
}
MAX_PER_PAGE = 100

# Fields of the covered indexes (see Store.ensure_indexes): the scatterplot, leaderboard and
# query form read these from the index alone, never the (large) result documents.
RESULT_POINT_FIELDS = (
    "dataset_id",
    "variant",
    "model_id",
    "created_at",
    "split",
    "model_sha",
    *(f"metrics.{m}" for m in RESULT_METRICS),
    "calibration.ece",
)
RUNTIME_POINT_FIELDS = (
    "dataset_id",
    "variant",
    "model_id",
    "model_sha",
    "split",
    "instances_per_s",
    "per_instance_ms",
    "total_s",
)
CLASS_POINT_FIELDS = (
    "dataset_id",
    "label",
    "variant",
    "model_id",
    "model_sha",
    "split",
    "precision",
    "recall",
    "f1",
)
CLASS_BALANCE_FIELDS = ("dataset_id", "variant", "model_id", "model_sha", "split", "f1")
_SUMMARY_PROJECTION = {
    "confusion": 0,
    "calibration.bins": 0,
    "label_mapping": 0,
}


def _text(value: object, *, limit: int = 200) -> str:
    """A page value as a plain string (anything else, e.g. a dict, becomes empty)."""
    return value.strip()[:limit] if isinstance(value, str) else ""


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def _eval_sha(doc: Doc) -> str:
    """The revision whose results stand for a model document's head (``eval_sha``; its
    ``sha`` for documents written before content fingerprints)."""
    return str(doc.get("eval_sha") or doc["sha"])


# -- models ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelFilter:
    """What the Models view asks for. Empty strings mean "any"."""

    search: str = ""
    origin: str = ""
    task: str = ""
    trained_on: str = ""
    evaluated_on: str = ""
    metrics: str = ""  # "yes" | "no" | ""
    failure: str = ""
    pr: str = ""  # "declined": only repos whose author closed evalbot's PR
    sort: str = "name"
    descending: bool = False
    page: int = 1
    per_page: int = 25


@dataclass(frozen=True)
class ModelRow:
    repo_id: str
    origin: str
    task: str
    trained_on: tuple[str, ...]
    evaluated_on: tuple[str, ...]
    has_metrics: bool
    status: str
    failure_reason: str | None
    accuracy: float | None  # on the first dataset it was evaluated on, original variant
    declined: int | None = None  # the evalbot PR the author closed (no further PRs)


@dataclass(frozen=True)
class ModelPage:
    rows: list[ModelRow]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class Facets:
    """The choices of the Models view's filters."""

    origins: list[str]
    tasks: list[str]
    trained_on: list[str]
    evaluated_on: list[str]
    failures: list[str]


def model_facets(store: Store) -> Facets:
    def values(coll: Any, key: str, query: Doc | None = None) -> list[str]:
        return sorted(v for v in coll.distinct(key, query or {}) if isinstance(v, str) and v)

    return Facets(
        origins=values(store.models, "origin"),
        tasks=values(store.models, "pipeline_tag"),
        trained_on=values(store.models, "datasets"),
        evaluated_on=values(store.datasets, "_id"),
        failures=values(store.models, "failure_reason"),
    )


def model_query(f: ModelFilter, store: Store) -> Doc:
    """The MongoDB filter of ``f``; every page value is a plain value (or an escaped regex)."""
    query: Doc = {}
    if search := _text(f.search):
        query["_id"] = {"$regex": re.escape(search), "$options": "i"}
    for key, value in (
        ("origin", f.origin),
        ("pipeline_tag", f.task),
        ("datasets", f.trained_on),
        ("failure_reason", f.failure),
    ):
        if text := _text(value):
            query[key] = text
    if f.metrics == "yes":
        query["status"] = "evaluated"
    elif f.metrics == "no":
        query["status"] = {"$ne": "evaluated"}
    if f.pr == "declined":
        query["declined.num"] = {"$exists": True}  # the sparse index of Store.ensure_indexes
    if dataset := _text(f.evaluated_on):
        ids = store.results.distinct("model_id", {"dataset_id": dataset, "variant": ORIGINAL})
        query.setdefault("_id", {})
        if isinstance(query["_id"], dict):
            query["_id"]["$in"] = ids
    return query


def list_models(store: Store, f: ModelFilter) -> ModelPage:
    """One page of models matching ``f``, sorted by a whitelisted field."""
    query = model_query(f, store)
    per_page = max(1, min(int(f.per_page), MAX_PER_PAGE))
    total = store.models.count_documents(query)
    pages = max(1, math.ceil(total / per_page))
    page = max(1, min(int(f.page), pages))
    sort_field = MODEL_SORTS.get(f.sort, "_id")
    order = DESCENDING if f.descending else ASCENDING
    sort = [(sort_field, order)] + ([("_id", ASCENDING)] if sort_field != "_id" else [])
    docs = list(
        store.models.find(
            query,
            {
                "origin": 1,
                "pipeline_tag": 1,
                "datasets": 1,
                "status": 1,
                "failure_reason": 1,
                "sha": 1,
                "eval_sha": 1,
                "declined.num": 1,
            },
        )
        .sort(sort)
        .skip((page - 1) * per_page)
        .limit(per_page)
    )
    evaluated: dict[str, dict[str, float | None]] = {d["_id"]: {} for d in docs}
    shas = {d["_id"]: _eval_sha(d) for d in docs}
    for r in store.results.find(
        {"model_id": {"$in": list(evaluated)}, "variant": ORIGINAL},
        {"model_id": 1, "model_sha": 1, "dataset_id": 1, "metrics.accuracy": 1, "_id": 0},
    ):
        if r.get("model_sha") == shas.get(r["model_id"]):
            evaluated[r["model_id"]][r["dataset_id"]] = _num(r.get("metrics", {}).get("accuracy"))
    rows = []
    for d in docs:
        on = evaluated[d["_id"]]
        first = sorted(on)[0] if on else None
        rows.append(
            ModelRow(
                repo_id=d["_id"],
                origin=d.get("origin") or "huggingface",
                task=d.get("pipeline_tag") or "unknown",
                trained_on=tuple(d.get("datasets") or ()),
                evaluated_on=tuple(sorted(on)),
                has_metrics=bool(on),
                status=d.get("status") or "pending",
                failure_reason=d.get("failure_reason"),
                accuracy=on[first] if first else None,
                declined=(d.get("declined") or {}).get("num"),
            )
        )
    return ModelPage(rows=rows, total=total, page=page, pages=pages)


# -- one model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultSummary:
    """One evaluation result without its per-class rows: headline metrics, CIs, runtime."""

    result_id: str
    dataset_id: str
    dataset_name: str
    split: str
    variant: str
    num_examples: int
    metrics: dict[str, float | None]
    intervals: dict[str, tuple[float, float]]
    ece: float | None
    total_s: float | None
    per_instance_ms: float | None
    instances_per_s: float | None
    device: str
    batch_size: int | None
    dataset_revision: str
    created_at: datetime | None


@dataclass(frozen=True)
class Declined:
    """The author closed evalbot's PR ``num`` without merging: no further PRs on the repo."""

    num: int
    by: str | None
    at: datetime | None


@dataclass(frozen=True)
class ModelDetail:
    model: ModelRecord
    reference: ReferenceRecord | None
    results: list[ResultSummary]  # the evaluated revision's (eval_sha), by dataset, split, variant
    claims: list[ClaimRecord]
    declined: Declined | None = None


def _summaries(store: Store, docs: list[Doc]) -> list[ResultSummary]:
    ids = [d["_id"] for d in docs]
    runtimes = {
        r["result_id"]: r for r in store.runtimes.find({"result_id": {"$in": ids}}, {"versions": 0})
    }
    out = []
    for d in docs:
        rt = runtimes.get(d["_id"], {})
        out.append(
            ResultSummary(
                result_id=str(d["_id"]),
                dataset_id=d["dataset_id"],
                dataset_name=d.get("dataset_name") or d["dataset_id"],
                split=d["split"],
                variant=d["variant"],
                num_examples=int(d.get("num_examples") or 0),
                metrics={k: _num(v) for k, v in (d.get("metrics") or {}).items()},
                intervals={
                    k: (float(v["low"]), float(v["high"]))
                    for k, v in (d.get("intervals") or {}).items()
                },
                ece=_num((d.get("calibration") or {}).get("ece")),
                total_s=_num(rt.get("total_s")),
                per_instance_ms=_num(rt.get("per_instance_ms")),
                instances_per_s=_num(rt.get("instances_per_s")),
                device=rt.get("device") or "unknown",
                batch_size=rt.get("batch_size"),
                dataset_revision=d.get("dataset_revision") or "",
                created_at=d.get("created_at"),
            )
        )
    return out


def _variant_order(variant: str) -> tuple[int, str]:
    return (0 if variant == ORIGINAL else 1, variant)


def model_detail(store: Store, repo_id: str) -> ModelDetail | None:
    """A model, its reference, its current revision's results (summaries) and claims audit."""
    doc = store.models.find_one({"_id": _text(repo_id, limit=300)})
    if doc is None:
        return None
    model = doc_to_model(doc)
    ref_doc = store.references.find_one({"_id": model.reference}) if model.reference else None
    reference = (
        ReferenceRecord(
            key=ref_doc["_id"],
            **{k: ref_doc.get(k) for k in ("title", "authors", "year", "url", "arxiv")},
        )
        if ref_doc
        else None
    )
    docs = list(
        store.results.find(
            {"model_id": model.repo_id, "model_sha": model.evaluated_sha}, _SUMMARY_PROJECTION
        )
    )
    docs.sort(key=lambda d: (d["dataset_id"], d["split"], _variant_order(d["variant"])))
    declined = doc.get("declined") or {}
    return ModelDetail(
        model=model,
        reference=reference,
        results=_summaries(store, docs),
        claims=store.claims_for(model.repo_id),
        declined=(
            Declined(num=int(declined["num"]), by=declined.get("by"), at=declined.get("at"))
            if isinstance(declined.get("num"), int)
            else None
        ),
    )


# -- one evaluation result ------------------------------------------------------------------


@dataclass(frozen=True)
class ExampleView:
    """A misclassified example with what the store holds of it (text or thumbnail)."""

    item: Misclassification
    text: str | None
    thumbnail_png: bytes | None


@dataclass(frozen=True)
class ResultDetail:
    model_id: str
    model_sha: str
    task: str
    summary: ResultSummary
    labels: list[str]
    classes: list[ClassResult]
    confusion: list[list[int]]
    calibration: Calibration | None
    misclassifications: list[ExampleView]  # most confident first
    variants: list[ResultSummary]  # every variant of this dataset and split, original first


def _result_doc(
    store: Store, model_id: str, dataset_id: str, split: str, variant: str
) -> tuple[Doc | None, str]:
    model = store.models.find_one({"_id": _text(model_id, limit=300)}, {"sha": 1, "eval_sha": 1})
    if model is None:
        return None, ""
    sha = _eval_sha(model)
    query: Doc = {
        "model_id": model["_id"],
        "model_sha": sha,
        "dataset_id": _text(dataset_id),
        "variant": _text(variant) or ORIGINAL,
    }
    if split := _text(split):
        query["split"] = split
    doc = store.results.find_one(query, sort=[("created_at", DESCENDING)])
    return doc, sha


def result_detail(
    store: Store, model_id: str, dataset_id: str, *, split: str = "", variant: str = ORIGINAL
) -> ResultDetail | None:
    """One result with its classes, confusion matrix, misclassifications and sibling variants."""
    doc, sha = _result_doc(store, model_id, dataset_id, split, variant)
    if doc is None:
        return None
    (summary,) = _summaries(store, [doc])
    classes = [
        ClassResult(**{k: c[k] for k in ClassResult.__dataclass_fields__ if k in c})
        for c in store.class_results.find({"result_id": doc["_id"]}).sort("class_id", ASCENDING)
    ]
    labels_doc = store.dataset_classes.find({"dataset_id": doc["dataset_id"]}).sort(
        "class_id", ASCENDING
    )
    labels = [c["label"] for c in labels_doc] or [c.label for c in classes]
    misses = [
        Misclassification(**{k: m[k] for k in Misclassification.__dataclass_fields__ if k in m})
        for m in store.misclassifications.find({"result_id": doc["_id"]})
    ]
    misses.sort(key=lambda m: (-m.confidence, m.example_id))
    class_ids = {label: i for i, label in enumerate(labels)}
    wanted = [
        {"dataset_id": doc["dataset_id"], "split": doc["split"], "class_id": cid, "example_id": eid}
        for m in misses
        if (cid := class_ids.get(m.true_label)) is not None
        for eid in [m.example_id]
    ]
    stored: dict[int, Doc] = {}
    for i in range(0, len(wanted), 200):
        for e in store.dataset_examples.find({"$or": wanted[i : i + 200]}):
            stored[e["example_id"]] = e
    examples = [
        ExampleView(
            item=m,
            text=stored.get(m.example_id, {}).get("text"),
            thumbnail_png=stored.get(m.example_id, {}).get("thumbnail_png"),
        )
        for m in misses
    ]
    cal = doc.get("calibration")
    calibration = (
        Calibration(
            ece=cal["ece"], mce=cal["mce"], bins=tuple(CalibrationBin(**b) for b in cal["bins"])
        )
        if cal
        else None
    )
    siblings = list(
        store.results.find(
            {
                "model_id": doc["model_id"],
                "model_sha": sha,
                "dataset_id": doc["dataset_id"],
                "split": doc["split"],
            },
            _SUMMARY_PROJECTION,
        )
    )
    siblings.sort(key=lambda d: _variant_order(d["variant"]))
    return ResultDetail(
        model_id=doc["model_id"],
        model_sha=sha,
        task=doc.get("task") or "",
        summary=summary,
        labels=labels,
        classes=classes,
        confusion=[list(row) for row in doc.get("confusion") or []],
        calibration=calibration,
        misclassifications=examples,
        variants=_summaries(store, siblings),
    )


def most_confused(confusion: Sequence[Sequence[int]], n: int = 3) -> list[tuple[int, int, int]]:
    """The ``n`` largest off-diagonal cells as ``(true, predicted, count)``, largest first."""
    cells = [
        (count, t, p)
        for t, row in enumerate(confusion)
        for p, count in enumerate(row)
        if t != p and count > 0
    ]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [(t, p, count) for count, t, p in cells[:n]]


# -- variant and model comparison -----------------------------------------------------------


@dataclass(frozen=True)
class VariantComparison:
    model_id: str
    dataset_id: str
    split: str
    metric: str
    labels: list[str]
    variants: list[str]  # original first
    values: dict[str, list[float | None]]  # variant -> per-class value (by class id)
    overall: dict[str, float | None]  # variant -> whole-dataset value of the metric


def _overall_metric(metric: str) -> str:
    return {"f1": "macro_f1", "precision": "macro_precision", "recall": "macro_recall"}.get(
        metric, metric
    )


def _per_class(store: Store, result_ids: Iterable[Any], metric: str) -> dict[Any, dict[int, Doc]]:
    out: dict[Any, dict[int, Doc]] = {}
    for c in store.class_results.find(
        {"result_id": {"$in": list(result_ids)}},
        {"result_id": 1, "class_id": 1, "label": 1, metric: 1, "_id": 0},
    ):
        out.setdefault(c["result_id"], {})[c["class_id"]] = c
    return out


def variant_comparison(
    store: Store, model_id: str, dataset_id: str, *, metric: str = "f1", split: str = ""
) -> VariantComparison | None:
    """Per class, one metric for every variant of a dataset the model was evaluated on."""
    metric = metric if metric in CLASS_METRICS else "f1"
    model = store.models.find_one({"_id": _text(model_id, limit=300)}, {"sha": 1, "eval_sha": 1})
    if model is None:
        return None
    query: Doc = {
        "model_id": model["_id"],
        "model_sha": _eval_sha(model),
        "dataset_id": _text(dataset_id),
    }
    if split := _text(split):
        query["split"] = split
    docs = list(
        store.results.find(query, {"variant": 1, "split": 1, "metrics": 1, "created_at": 1})
    )
    if not docs:
        return None
    split = split or docs[0]["split"]
    latest: dict[str, Doc] = {}
    for d in sorted(docs, key=lambda d: d.get("created_at") or 0):
        if d["split"] == split:
            latest[d["variant"]] = d
    variants = sorted(latest, key=_variant_order)
    per_class = _per_class(store, [d["_id"] for d in latest.values()], metric)
    labels = [
        c["label"]
        for c in store.dataset_classes.find({"dataset_id": query["dataset_id"]}).sort(
            "class_id", ASCENDING
        )
    ]
    if not labels:
        first = per_class.get(latest[variants[0]]["_id"], {})
        labels = [first[i]["label"] for i in sorted(first)]
    values = {
        v: [
            _num(per_class.get(latest[v]["_id"], {}).get(i, {}).get(metric))
            for i in range(len(labels))
        ]
        for v in variants
    }
    overall = {
        v: _num((latest[v].get("metrics") or {}).get(_overall_metric(metric))) for v in variants
    }
    return VariantComparison(
        model_id=model["_id"],
        dataset_id=query["dataset_id"],
        split=split,
        metric=metric,
        labels=labels,
        variants=variants,
        values=values,
        overall=overall,
    )


@dataclass(frozen=True)
class ComparedModel:
    model_id: str
    summary: ResultSummary
    per_class: list[float | None]


@dataclass(frozen=True)
class ModelComparison:
    dataset_id: str
    variant: str
    metric: str
    labels: list[str]
    models: list[ComparedModel]
    missing: list[str]  # asked for, but not evaluated on this dataset and variant


def compare_models(
    store: Store,
    dataset_id: str,
    model_ids: Sequence[str],
    *,
    metric: str = "f1",
    variant: str = ORIGINAL,
) -> ModelComparison:
    """Two or more models on one dataset: speed and a per-class metric side by side."""
    metric = metric if metric in CLASS_METRICS else "f1"
    dataset_id, variant = _text(dataset_id), _text(variant) or ORIGINAL
    wanted = [m for m in dict.fromkeys(_text(m, limit=300) for m in model_ids) if m][:8]
    shas = {
        d["_id"]: _eval_sha(d)
        for d in store.models.find({"_id": {"$in": wanted}}, {"sha": 1, "eval_sha": 1})
    }
    docs: dict[str, Doc] = {}
    for d in store.results.find(
        {"model_id": {"$in": list(shas)}, "dataset_id": dataset_id, "variant": variant},
        _SUMMARY_PROJECTION,
    ).sort("created_at", ASCENDING):
        if d["model_sha"] == shas[d["model_id"]]:
            docs[d["model_id"]] = d
    labels = [
        c["label"]
        for c in store.dataset_classes.find({"dataset_id": dataset_id}).sort("class_id", ASCENDING)
    ]
    summaries = {s.result_id: s for s in _summaries(store, list(docs.values()))}
    per_class = _per_class(store, [d["_id"] for d in docs.values()], metric)
    models = [
        ComparedModel(
            model_id=m,
            summary=summaries[str(docs[m]["_id"])],
            per_class=[
                _num(per_class.get(docs[m]["_id"], {}).get(i, {}).get(metric))
                for i in range(len(labels))
            ],
        )
        for m in wanted
        if m in docs
    ]
    return ModelComparison(
        dataset_id=dataset_id,
        variant=variant,
        metric=metric,
        labels=labels,
        models=models,
        missing=[m for m in wanted if m not in docs],
    )


def models_evaluated_on(
    store: Store, dataset_id: str, *, variant: str = ORIGINAL, search: str = "", limit: int = 200
) -> list[str]:
    """Names of models with a result on ``dataset_id`` (for pickers), filtered by name."""
    query: Doc = {"dataset_id": _text(dataset_id), "variant": _text(variant) or ORIGINAL}
    if needle := _text(search):
        query["model_id"] = {"$regex": re.escape(needle), "$options": "i"}
    return sorted(store.results.distinct("model_id", query))[:limit]


# -- datasets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetSummary:
    dataset_id: str
    name: str
    modality: str
    task: str


@dataclass(frozen=True)
class VariantCount:
    variant: str
    description: str
    models: int  # models evaluated on this variant
    trained_on: int  # of which list this dataset among their training datasets


@dataclass(frozen=True)
class ModuleProblem:
    """The dataset of an evaluation module cannot be used (``Store.record_module_problem``):
    jobs that need the module wait for a fix of its YAML."""

    module_id: str
    error: str  # the exception message: show it as text, never as markup
    since: datetime | None
    waiting: int  # jobs blocked on it


@dataclass(frozen=True)
class DatasetDetail:
    dataset_id: str
    name: str
    modality: str
    task: str
    description: str | None
    homepage: str | None
    reference: ReferenceRecord | None
    compatible: list[str]
    variants: list[str]
    labels: list[str]
    examples: dict[int, list[DatasetExampleRecord]]  # class id -> a few examples
    splits: list[DatasetSplitRecord]
    evaluated: list[VariantCount]
    problem: ModuleProblem | None = None  # its module's dataset cannot be used now


def list_datasets(store: Store) -> list[DatasetSummary]:
    return [
        DatasetSummary(
            d["_id"], d.get("name") or d["_id"], d.get("modality", ""), d.get("task", "")
        )
        for d in store.datasets.find({}, {"name": 1, "modality": 1, "task": 1}).sort("_id", 1)
    ]


def dataset_labels(store: Store, dataset_id: str) -> list[str]:
    docs = store.dataset_classes.find({"dataset_id": _text(dataset_id)}, {"label": 1})
    return [d["label"] for d in docs.sort("class_id", ASCENDING)]


def dataset_variants(store: Store, dataset_id: str) -> list[str]:
    doc = store.datasets.find_one({"_id": _text(dataset_id)}, {"variants": 1})
    variants = list((doc or {}).get("variants") or [])
    return sorted(set(variants) | {ORIGINAL}, key=_variant_order) if doc else []


def dataset_problem(store: Store, dataset_id: str) -> ModuleProblem | None:
    """The open problem of the module evaluating ``dataset_id``, if it has one.

    The module is read from the dataset's newest result (``space_recency`` index, one
    document); ``module_problems`` holds one small document per broken module.
    """
    problems = {d["_id"]: d for d in store.module_problems.find()}
    if not problems:
        return None
    newest = store.results.find_one(
        {"dataset_id": _text(dataset_id)}, {"module_id": 1}, sort=[("created_at", DESCENDING)]
    )
    found = problems.get((newest or {}).get("module_id"))
    if found is None:
        return None
    return ModuleProblem(
        module_id=str(found["_id"]),
        error=str(found.get("error") or ""),
        since=found.get("since"),
        waiting=store.jobs.count_documents({"status": "blocked", "module": found["_id"]}),
    )


def dataset_detail(
    store: Store, dataset_id: str, *, examples_per_class: int = 4, max_classes: int = 100
) -> DatasetDetail | None:
    """A dataset: description, reference, classes with examples, splits, variants, counts."""
    doc = store.datasets.find_one({"_id": _text(dataset_id)})
    if doc is None:
        return None
    ref = store.references.find_one({"_id": doc.get("reference")}) if doc.get("reference") else None
    labels = dataset_labels(store, doc["_id"])
    examples: dict[int, list[DatasetExampleRecord]] = {}
    fields = DatasetExampleRecord.__dataclass_fields__
    for cid in range(min(len(labels), max_classes)):
        for e in (
            store.dataset_examples.find({"dataset_id": doc["_id"], "class_id": cid})
            .sort("example_id", ASCENDING)
            .limit(examples_per_class)
        ):
            examples.setdefault(cid, []).append(
                DatasetExampleRecord(**{k: e[k] for k in fields if k in e})
            )
    splits = [
        DatasetSplitRecord(
            dataset_id=s["dataset_id"],
            revision=s["revision"],
            split=s["split"],
            num_examples=s["num_examples"],
            class_counts=tuple(s.get("class_counts") or ()),
        )
        for s in store.dataset_splits.find({"dataset_id": doc["_id"]}).sort("split", ASCENDING)
    ]
    variant_docs = {
        v["_id"]: v for v in store.variants.find({"_id": {"$in": list(doc.get("variants") or [])}})
    }
    variants = dataset_variants(store, doc["_id"])
    trained = set(
        store.models.distinct("_id", {"datasets": {"$in": [doc["_id"], doc["_id"].split("/")[-1]]}})
    )
    evaluated = []
    for v in variants:
        ids = store.results.distinct("model_id", {"dataset_id": doc["_id"], "variant": v})
        evaluated.append(
            VariantCount(
                variant=v,
                description=(variant_docs.get(v) or {}).get(
                    "description", "The dataset as published." if v == ORIGINAL else ""
                ),
                models=len(ids),
                trained_on=len(trained.intersection(ids)),
            )
        )
    return DatasetDetail(
        dataset_id=doc["_id"],
        name=doc.get("name") or doc["_id"],
        modality=doc.get("modality", ""),
        task=doc.get("task", ""),
        description=doc.get("description"),
        homepage=doc.get("homepage"),
        reference=(
            ReferenceRecord(
                key=ref["_id"],
                **{k: ref.get(k) for k in ("title", "authors", "year", "url", "arxiv")},
            )
            if ref
            else None
        ),
        compatible=list(doc.get("compatible") or []),
        variants=variants,
        labels=labels,
        examples=examples,
        splits=splits,
        evaluated=evaluated,
        problem=dataset_problem(store, doc["_id"]),
    )


def variant_record(store: Store, variant_id: str) -> VariantRecord | None:
    d = store.variants.find_one({"_id": _text(variant_id)})
    if d is None:
        return None
    return VariantRecord(
        variant_id=d["_id"],
        name=str(d.get("name") or d["_id"]),
        modality=d.get("modality", ""),
        description=d.get("description", ""),
        method=d.get("method", ""),
        params=dict(d.get("params") or {}),
    )


# -- per-dataset tables: scatterplot, leaderboard, the query form ---------------------------


@dataclass(frozen=True)
class ModelPoint:
    """One model's latest result on a dataset variant, read from covered indexes."""

    model_id: str
    model_sha: str
    split: str
    metrics: dict[str, float | None]
    ece: float | None
    instances_per_s: float | None = None
    per_instance_ms: float | None = None
    total_s: float | None = None
    num_parameters: int | None = None
    size_mb: float | None = None
    class_metrics: dict[str, float | None] = field(default_factory=dict)


def _covered(fields: Sequence[str]) -> Doc:
    return {"_id": 0, **{f: 1 for f in fields}}


def _indexed(coll: Collection[Doc], query: Doc, fields: Sequence[str], index: str) -> list[Doc]:
    """``find`` covered by ``index`` (see ``Store.ensure_indexes``); a database whose indexes
    were made by an older evalbot is still answered, only slower."""
    try:
        return list(coll.find(query, _covered(fields)).hint(index))
    except OperationFailure:
        return list(coll.find(query, _covered(fields)))


def _latest_points(store: Store, dataset_id: str, variant: str) -> dict[str, Doc]:
    """model id -> its newest result doc (covered fields only) on ``dataset_id``/``variant``."""
    out: dict[str, Doc] = {}
    docs = _indexed(
        store.results,
        {"dataset_id": dataset_id, "variant": variant},
        RESULT_POINT_FIELDS,
        "space_points",
    )
    docs.sort(
        key=lambda d: (d["model_id"], -(d["created_at"].timestamp() if d.get("created_at") else 0))
    )
    for d in docs:  # index order: model id, then newest first
        out.setdefault(d["model_id"], d)
    return out


def _runtimes(store: Store, dataset_id: str, variant: str) -> dict[tuple[str, str, str], Doc]:
    docs = _indexed(
        store.runtimes,
        {"dataset_id": dataset_id, "variant": variant},
        RUNTIME_POINT_FIELDS,
        "space_runtimes",
    )
    return {(d["model_id"], d["model_sha"], d["split"]): d for d in docs}


def _parameters(store: Store) -> dict[str, int]:
    """model id -> parameter count, for every model (a covered scan of one small index)."""
    docs = _indexed(store.models, {}, ("_id", "num_parameters"), "space_model_params")
    return {d["_id"]: d["num_parameters"] for d in docs if d.get("num_parameters")}


def _weights_mb(store: Store, model_ids: Iterable[str]) -> dict[str, float]:
    """model id -> megabytes of weight files (read from the model documents)."""
    out: dict[str, float] = {}
    for d in store.models.find({"_id": {"$in": list(model_ids)}}, {"file_sizes": 1}):
        weights = [
            v
            for k, v in (d.get("file_sizes") or {}).items()
            if k.endswith((".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack"))
        ]
        if weights:
            out[d["_id"]] = sum(weights) / 1e6
    return out


def model_points(
    store: Store,
    dataset_id: str,
    *,
    variant: str = ORIGINAL,
    class_label: str = "",
    with_parameters: bool = False,
    with_weights: bool = False,
) -> list[ModelPoint]:
    """Every model's latest result on one dataset variant, with runtime and size: the rows of
    the scatterplot, the query form and the leaderboard. With ``class_label``, that class's
    precision/recall/F1 too (models without the class are left out). Parameter counts and
    weight sizes are read only when asked for."""
    dataset_id, variant = _text(dataset_id), _text(variant) or ORIGINAL
    latest = _latest_points(store, dataset_id, variant)
    runtimes = _runtimes(store, dataset_id, variant)
    per_class: dict[tuple[str, str, str], Doc] | None = None
    if label := _text(class_label):
        per_class = {
            (d["model_id"], d["model_sha"], d["split"]): d
            for d in _indexed(
                store.class_results,
                {"dataset_id": dataset_id, "label": label, "variant": variant},
                CLASS_POINT_FIELDS,
                "space_class_points",
            )
        }
    parameters = _parameters(store) if with_parameters else {}
    weights = _weights_mb(store, latest) if with_weights else {}
    points = []
    for model_id, d in latest.items():
        key = (model_id, d["model_sha"], d["split"])
        rt = runtimes.get(key, {})
        class_metrics: dict[str, float | None] = {}
        if per_class is not None:
            if key not in per_class:
                continue
            class_metrics = {m: _num(per_class[key].get(m)) for m in CLASS_METRICS}
        points.append(
            ModelPoint(
                model_id=model_id,
                model_sha=d["model_sha"],
                split=d["split"],
                metrics={m: _num((d.get("metrics") or {}).get(m)) for m in RESULT_METRICS},
                ece=_num((d.get("calibration") or {}).get("ece")),
                instances_per_s=_num(rt.get("instances_per_s")),
                per_instance_ms=_num(rt.get("per_instance_ms")),
                total_s=_num(rt.get("total_s")),
                num_parameters=parameters.get(model_id),
                size_mb=weights.get(model_id),
                class_metrics=class_metrics,
            )
        )
    return points


def axis_value(point: ModelPoint, axis: str) -> float | None:
    """The value of a whitelisted scatter axis (a metric, ``class:<metric>``, runtime, size)."""
    if axis in RESULT_METRICS:
        return point.metrics.get(axis)
    if axis.startswith("class:") and axis[6:] in CLASS_METRICS:
        return point.class_metrics.get(axis[6:])
    if axis in OTHER_AXES:
        value = getattr(point, axis)
        return None if value is None else float(value)
    return None


@dataclass(frozen=True)
class Balance:
    worst_f1: float | None
    spread: float | None  # best minus worst class F1


def class_balance(
    store: Store, dataset_id: str, *, variant: str = ORIGINAL
) -> dict[tuple[str, str], Balance]:
    """``(model id, sha) -> worst-class F1 and spread`` on a dataset variant, aggregated in
    MongoDB over a covered index (one pass over the class rows, no documents fetched)."""
    pipeline: list[Doc] = [
        {"$match": {"dataset_id": _text(dataset_id), "variant": _text(variant) or ORIGINAL}},
        {"$project": _covered(CLASS_BALANCE_FIELDS)},
        {
            "$group": {
                "_id": {"m": "$model_id", "s": "$model_sha"},
                "lo": {"$min": "$f1"},
                "hi": {"$max": "$f1"},
            }
        },
    ]
    out = {}
    try:
        rows = list(store.class_results.aggregate(pipeline, hint="space_class_balance"))
    except OperationFailure:
        rows = list(store.class_results.aggregate(pipeline))
    for row in rows:
        lo, hi = _num(row.get("lo")), _num(row.get("hi"))
        out[(row["_id"]["m"], row["_id"]["s"])] = Balance(
            worst_f1=lo, spread=None if lo is None or hi is None else hi - lo
        )
    return out


def robustness(store: Store, dataset_id: str, *, metric: str = "accuracy") -> dict[str, float]:
    """``model id -> mean relative drop`` of ``metric`` over the variants, vs the original."""
    metric = metric if metric in RESULT_METRICS else "accuracy"
    by_model: dict[str, dict[str, float | None]] = {}
    docs = _indexed(
        store.results, {"dataset_id": _text(dataset_id)}, RESULT_POINT_FIELDS, "space_points"
    )
    docs.sort(key=lambda d: -(d["created_at"].timestamp() if d.get("created_at") else 0))
    for d in docs:
        variants = by_model.setdefault(d["model_id"], {})
        variants.setdefault(d["variant"], _num((d.get("metrics") or {}).get(metric)))
    out = {}
    for model_id, variants in by_model.items():
        base = variants.get(ORIGINAL)
        drops = [
            (base - v) / base
            for name, v in variants.items()
            if name != ORIGINAL and v is not None and base
        ]
        if drops:
            out[model_id] = sum(drops) / len(drops)
    return out


# -- audit ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    discrepancies: list[ClaimRecord]
    identity: SigningIdentity | None


def audit(store: Store, *, limit: int = 500) -> Audit:
    return Audit(discrepancies=store.discrepancies(limit=limit), identity=store.get_identity())
