"""Read-only queries behind the Space's views (thesis chapter 6), over the results dataset.

Every function takes a :class:`space.data.Snapshot` (one published version of the tables of
``store.tables``) and answers one view with typed dataclasses. What a page sends is only ever
a value: it reaches DuckDB as a bound parameter; sort fields, metrics and axes come from
whitelists, and strings are checked to be strings. The big tables are filtered on their sort
columns (dataset, variant, model), so a query reads the few row groups that can match.

Example:
    >>> page = list_models(snapshot, ModelFilter(search="emotion"))  # doctest: +SKIP
    >>> [row.repo_id for row in page.rows]  # doctest: +SKIP
    ['demo/minilm-emotion', 'demo/tiny-emotion']
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from space import tasks
from space.data import ReadError, Snapshot
from store import catalogue
from store.catalogue import TaskSpec
from store.outcomes import correct, predicted
from store.outcomes import truth as truth_of
from store.significance import McNemar, PairedBootstrap, mcnemar, paired_bootstrap, verdict
from store.types import (
    Calibration,
    CalibrationBin,
    ClaimRecord,
    ClassResult,
    DatasetExampleRecord,
    DatasetSplitRecord,
    DetectionError,
    FailureReason,
    Misclassification,
    ModelRecord,
    ModelStatus,
    Outcomes,
    ReferenceRecord,
    SigningIdentity,
    VariantRecord,
)

Row = dict[str, Any]
#: what every query here raises when the data cannot be read (the Space shows it as a sentence)
DataError = ReadError

ORIGINAL = "original"
#: scatter axes besides the metrics (which come from the catalogue entry of the dataset's task)
OTHER_AXES = ("instances_per_s", "per_instance_ms", "total_s", "num_parameters", "size_mb", "ece")
MODEL_SORTS = {
    "name": "repo_id",
    "task": "pipeline_tag",
    "status": "status",
    "parameters": "num_parameters",
    "updated": "last_modified",
}
MAX_PER_PAGE = 100
_NEWEST = "created_at DESC NULLS LAST, evaluation_id"


def _text(value: object, *, limit: int = 200) -> str:
    """A page value as a plain string (anything else, e.g. a dict, becomes empty)."""
    return value.strip()[:limit] if isinstance(value, str) else ""


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def _json(text: object) -> Any:
    return json.loads(text) if isinstance(text, str) and text else None


def _marks(values: Sequence[object]) -> str:
    """``?, ?, ?`` for an IN list of ``values`` (never empty: an empty list matches nothing)."""
    return ", ".join("?" for _ in values) or "NULL"


def _variant_order(variant: str) -> tuple[int, str]:
    return (0 if variant == ORIGINAL else 1, variant)


def _headline_key(task_column: str) -> tuple[str, list[object]]:
    """A SQL expression of the headline metric key of the task in ``task_column`` (an unknown
    task's: :data:`space.tasks.FALLBACK`'s), and its parameters."""
    specs = catalogue.tasks()
    whens = " ".join("WHEN ? THEN ?" for _ in specs)
    params: list[object] = [x for s in specs for x in (s.name, s.headline.key)]
    return f"(CASE {task_column} {whens} ELSE ? END)", [*params, tasks.FALLBACK.headline.key]


def dataset_task(data: Snapshot, dataset_id: str) -> TaskSpec:
    """The catalogue entry of the task of ``dataset_id``: its ``datasets`` row's, else its
    newest evaluation's (:data:`space.tasks.FALLBACK` when neither names one); for a task with
    several scoring schemes (token classification: entities or word tags), the scheme of the
    metrics its results store (:func:`store.catalogue.of`)."""
    dataset_id = _text(dataset_id)

    def compute() -> TaskSpec:
        found = data.rows(
            "SELECT task FROM (SELECT task, 0 AS o FROM datasets WHERE dataset_id = ?"
            " UNION ALL SELECT * FROM (SELECT task, 1 FROM evaluations WHERE dataset_id = ?"
            f" ORDER BY {_NEWEST} LIMIT 1)) WHERE coalesce(task, '') <> '' ORDER BY o LIMIT 1",
            [dataset_id, dataset_id],
        )
        task = found[0][0] if found else None
        if not tasks.has_schemes(task):
            return tasks.spec(task)
        stored = data.rows(
            "SELECT DISTINCT s.metric FROM scores s JOIN evaluations e USING (evaluation_id)"
            " WHERE e.dataset_id = ?",
            [dataset_id],
        )
        return tasks.spec(task, {metric: None for (metric,) in stored})

    spec: TaskSpec = data.memo(("dataset-task", dataset_id), compute)
    return spec


def has_results(data: Snapshot) -> bool:
    """Whether anything has been published yet."""
    return not data.empty


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
    # the headline metric (accuracy, entity F1, exact match, AP ...) of its result on the first
    # dataset it was evaluated on, original variant, and that metric's key
    score: float | None
    declined: int | None = None  # the evalbot PR the author closed (no further PRs)
    score_metric: str = "accuracy"
    score_label: str = "accuracy"  # the metric's short name

    @property
    def accuracy(self) -> float | None:
        """The score where it is accuracy (a classification model's), else None."""
        return self.score if self.score_metric == "accuracy" else None


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


def model_facets(data: Snapshot) -> Facets:
    def compute() -> Facets:
        def values(sql: str) -> list[str]:
            return sorted(str(v) for (v,) in data.rows(sql) if isinstance(v, str) and v)

        return Facets(
            origins=values("SELECT DISTINCT origin FROM models"),
            tasks=values("SELECT DISTINCT pipeline_tag FROM models"),
            trained_on=values("SELECT DISTINCT unnest(datasets) FROM models"),
            evaluated_on=values("SELECT dataset_id FROM datasets"),
            failures=values("SELECT DISTINCT failure_reason FROM models"),
        )

    facets: Facets = data.memo("facets", compute)
    return facets


def model_where(f: ModelFilter) -> tuple[str, list[object]]:
    """The SQL condition on ``models`` of ``f`` and its parameters (page values are bound,
    never spliced into the SQL)."""
    clauses: list[str] = []
    params: list[object] = []
    if search := _text(f.search):
        clauses.append("strpos(lower(repo_id), lower(?)) > 0")
        params.append(search)
    for column, value in (
        ("origin", f.origin),
        ("pipeline_tag", f.task),
        ("failure_reason", f.failure),
    ):
        if text := _text(value):
            clauses.append(f"{column} = ?")
            params.append(text)
    if trained := _text(f.trained_on):
        clauses.append("list_contains(datasets, ?)")
        params.append(trained)
    if f.metrics == "yes":
        clauses.append("status = 'evaluated'")
    elif f.metrics == "no":
        clauses.append("status IS DISTINCT FROM 'evaluated'")
    if f.pr == "declined":
        clauses.append("declined_pr IS NOT NULL")
    if dataset := _text(f.evaluated_on):
        clauses.append(
            "repo_id IN (SELECT model_id FROM evaluations WHERE dataset_id = ? AND variant = ?)"
        )
        params.extend([dataset, ORIGINAL])
    return " AND ".join(clauses) or "true", params


def list_models(data: Snapshot, f: ModelFilter) -> ModelPage:
    """One page of models matching ``f``, sorted by a whitelisted column (unknown last)."""
    where, params = model_where(f)
    per_page = max(1, min(int(f.per_page), MAX_PER_PAGE))
    ((total,),) = data.rows(f"SELECT count(*) FROM models WHERE {where}", params)
    pages = max(1, math.ceil(total / per_page))
    page = max(1, min(int(f.page), pages))
    column = MODEL_SORTS.get(f.sort, "repo_id")
    order = "DESC" if f.descending else "ASC"
    found = data.dicts(
        "SELECT repo_id, origin, pipeline_tag, datasets, status, failure_reason, declined_pr,"
        " coalesce(eval_sha, sha) AS eval_sha FROM models"
        f" WHERE {where} ORDER BY {column} {order} NULLS LAST, repo_id LIMIT ? OFFSET ?",
        [*params, per_page, (page - 1) * per_page],
    )
    evaluated: dict[str, dict[str, tuple[catalogue.Metric, float | None]]] = {
        r["repo_id"]: {} for r in found
    }
    shas = {r["repo_id"]: r["eval_sha"] for r in found}
    headline, headline_params = _headline_key("e.task")
    for model_id, model_sha, dataset_id, task, score in data.rows(
        "SELECT e.model_id, e.model_sha, e.dataset_id, e.task, s.value FROM evaluations e"
        f" LEFT JOIN scores s ON s.evaluation_id = e.evaluation_id AND s.metric = {headline}"
        f" WHERE e.model_id IN ({_marks(list(evaluated))}) AND e.variant = ?"
        " ORDER BY e.created_at NULLS FIRST, e.evaluation_id",
        [*headline_params, *evaluated, ORIGINAL],
    ):
        if model_sha == shas.get(model_id):
            evaluated[model_id][dataset_id] = (tasks.spec(task).headline, _num(score))
    rows = []
    for r in found:
        on = evaluated[r["repo_id"]]
        first = sorted(on)[0] if on else None
        metric, score = on[first] if first else (tasks.FALLBACK.headline, None)
        rows.append(
            ModelRow(
                repo_id=r["repo_id"],
                origin=r["origin"] or "huggingface",
                task=r["pipeline_tag"] or "unknown",
                trained_on=tuple(r["datasets"] or ()),
                evaluated_on=tuple(sorted(on)),
                has_metrics=bool(on),
                status=r["status"] or "pending",
                failure_reason=r["failure_reason"],
                score=score,
                declined=r["declined_pr"],
                score_metric=metric.key,
                score_label=metric.short,
            )
        )
    return ModelPage(rows=rows, total=total, page=page, pages=pages)


# -- one model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultSummary:
    """One evaluation without its per-class rows: headline metrics, CIs, runtime."""

    result_id: str  # the evaluation id (``evaluation_id`` of the tables)
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
    task: str = ""  # e.g. ``text-classification``: its catalogue entry names the metrics

    @property
    def spec(self) -> TaskSpec:
        """The catalogue entry of this result's task (and scoring scheme)."""
        return tasks.spec(self.task, self.metrics)


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


def _enum(kind: Any, value: object, default: Any) -> Any:
    try:
        return kind(value) if value else default
    except ValueError:  # a value a newer bot publishes: shown as unknown
        return default


def _model(r: Row) -> ModelRecord:
    return ModelRecord(
        repo_id=r["repo_id"],
        sha=r["sha"] or "",
        pipeline_tag=r["pipeline_tag"],
        library_name=r["library_name"],
        datasets=tuple(r["datasets"] or ()),
        tags=tuple(r["tags"] or ()),
        last_modified=r["last_modified"],
        origin=r["origin"] or "huggingface",
        file_sizes=dict(_json(r["file_sizes"]) or {}),
        hyperparameters=dict(_json(r["hyperparameters"]) or {}),
        num_parameters=r["num_parameters"],
        reference=r["reference"],
        status=_enum(ModelStatus, r["status"], ModelStatus.PENDING),
        failure_reason=_enum(FailureReason, r["failure_reason"], None),
        failure_detail=r["failure_detail"],
        fingerprint=r["fingerprint"] or "",
        eval_sha=r["eval_sha"] or "",
        declined_pr=r["declined_pr"],
    )


def _model_row(data: Snapshot, repo_id: object) -> Row | None:
    found = data.dicts("SELECT * FROM models WHERE repo_id = ?", [_text(repo_id, limit=300)])
    return found[0] if found else None


def _evaluated_sha(data: Snapshot, repo_id: object) -> tuple[str, str] | None:
    """``(repo id, the revision whose results stand for its head)``, or None."""
    found = data.rows(
        "SELECT repo_id, coalesce(eval_sha, sha) FROM models WHERE repo_id = ?",
        [_text(repo_id, limit=300)],
    )
    return (found[0][0], found[0][1] or "") if found else None


def _reference(data: Snapshot, key: str | None) -> ReferenceRecord | None:
    if not key:
        return None
    found = data.dicts(
        'SELECT key, title, authors, year, url, arxiv FROM "references" WHERE key = ?', [key]
    )
    return ReferenceRecord(**found[0]) if found else None


def _claim(r: Row) -> ClaimRecord:
    return ClaimRecord(
        model_id=r["model_id"],
        model_sha=r["model_sha"] or "",
        dataset_id=r["dataset_id"],
        split=r["split"] or "",
        metric=r["metric"],
        claimed=float(r["claimed"] or 0.0),
        measured=float(r["measured"] or 0.0),
        low=r["low"],
        high=r["high"],
        agrees=bool(r["agrees"]),
        verdict=r["verdict"] or "",
        note=r["note"] or "",
        **({"created_at": r["created_at"]} if r["created_at"] else {}),
    )


_SUMMARY_SQL = (
    "SELECT e.evaluation_id, e.dataset_id, e.dataset_name, e.split, e.variant, e.num_examples,"
    " e.ece, e.dataset_revision, e.created_at, e.task, r.total_s, r.per_instance_ms, r.instances_per_s,"
    " r.device, r.batch_size FROM evaluations e LEFT JOIN runtimes r USING (evaluation_id)"
)


def _summaries(data: Snapshot, where: str, params: Sequence[object]) -> list[ResultSummary]:
    """The evaluations matching ``where`` (on ``evaluations e``), oldest first."""
    found = data.dicts(
        f"{_SUMMARY_SQL} WHERE {where} ORDER BY e.created_at NULLS FIRST, e.evaluation_id", params
    )
    ids = [r["evaluation_id"] for r in found]
    metrics: dict[str, dict[str, float | None]] = {i: {} for i in ids}
    intervals: dict[str, dict[str, tuple[float, float]]] = {i: {} for i in ids}
    for eid, metric, value, low, high in data.rows(
        f"SELECT evaluation_id, metric, value, low, high FROM scores"
        f" WHERE evaluation_id IN ({_marks(ids)}) ORDER BY evaluation_id, metric",
        ids,
    ):
        metrics[eid][metric] = _num(value)
        if low is not None and high is not None:
            intervals[eid][metric] = (float(low), float(high))
    return [
        ResultSummary(
            result_id=r["evaluation_id"],
            dataset_id=r["dataset_id"],
            dataset_name=r["dataset_name"] or r["dataset_id"],
            split=r["split"] or "",
            variant=r["variant"] or ORIGINAL,
            num_examples=int(r["num_examples"] or 0),
            metrics=metrics[r["evaluation_id"]],
            intervals=intervals[r["evaluation_id"]],
            ece=_num(r["ece"]),
            total_s=_num(r["total_s"]),
            per_instance_ms=_num(r["per_instance_ms"]),
            instances_per_s=_num(r["instances_per_s"]),
            device=r["device"] or "unknown",
            batch_size=r["batch_size"],
            dataset_revision=r["dataset_revision"] or "",
            created_at=r["created_at"],
            task=r["task"] or "",
        )
        for r in found
    ]


def claims_for(data: Snapshot, model_id: str) -> list[ClaimRecord]:
    """The claims audit of one model, in a stable order (dataset, split, metric)."""
    return [
        _claim(r)
        for r in data.dicts(
            "SELECT * FROM claims WHERE model_id = ? ORDER BY dataset_id, split, metric",
            [model_id],
        )
    ]


def model_detail(data: Snapshot, repo_id: str) -> ModelDetail | None:
    """A model, its reference, its evaluated revision's results (summaries) and claims audit."""
    row = _model_row(data, repo_id)
    if row is None:
        return None
    model = _model(row)
    results = _summaries(
        data, "e.model_id = ? AND e.model_sha = ?", [model.repo_id, model.evaluated_sha]
    )
    results.sort(key=lambda s: (s.dataset_id, s.split, _variant_order(s.variant)))
    return ModelDetail(
        model=model,
        reference=_reference(data, model.reference),
        results=results,
        claims=claims_for(data, model.repo_id),
        declined=(
            Declined(num=int(row["declined_pr"]), by=row["declined_by"], at=row["declined_at"])
            if row["declined_pr"] is not None
            else None
        ),
    )


# -- one evaluation result ------------------------------------------------------------------


@dataclass(frozen=True)
class ExampleView:
    """A misclassified example with what the dataset holds of it (text or thumbnail)."""

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
    # the confusion matrix's rows and columns: ``labels``, then "(none)" where the task keeps a
    # row and column for nothing matched (token classification's missed and spurious entities)
    confusion_labels: list[str] = field(default_factory=list)

    @property
    def spec(self) -> TaskSpec:
        """The catalogue entry of this result's task (and scoring scheme)."""
        return tasks.spec(self.task, self.summary.metrics)


#: the name of a confusion matrix's row and column past the units (nothing matched)
NO_MATCH = "(none)"


def _latest(data: Snapshot, model_id: str, dataset_id: str, split: str, variant: str) -> Row | None:
    """The newest evaluation of a model's evaluated revision on a dataset split and variant."""
    model = _evaluated_sha(data, model_id)
    if model is None:
        return None
    where = "model_id = ? AND model_sha = ? AND dataset_id = ? AND variant = ?"
    params: list[object] = [*model, _text(dataset_id), _text(variant) or ORIGINAL]
    if split := _text(split):
        where += " AND split = ?"
        params.append(split)
    found = data.dicts(
        "SELECT evaluation_id, model_id, model_sha, dataset_id, split, variant, task"
        f" FROM evaluations WHERE {where} ORDER BY {_NEWEST} LIMIT 1",
        params,
    )
    return found[0] if found else None


def _class_results(data: Snapshot, e: Row) -> list[ClassResult]:
    """The class rows of evaluation ``e``: the filter names every sort column of the table, so
    only the row groups holding them are read."""
    return [
        ClassResult(
            class_id=int(r["class_id"]),
            label=r["label"] or str(r["class_id"]),
            tp=int(r["tp"] or 0),
            fp=int(r["fp"] or 0),
            fn=int(r["fn"] or 0),
            support=int(r["support"] or 0),
            precision=_num(r["precision"]),
            recall=_num(r["recall"]),
            f1=_num(r["f1"]),
            metrics=dict(_json(r["metrics"]) or {}),
        )
        for r in data.dicts(
            "SELECT class_id, label, tp, fp, fn, support, precision, recall, f1, metrics"
            " FROM class_results WHERE dataset_id = ? AND variant = ? AND model_id = ?"
            " AND model_sha = ? AND split = ? AND evaluation_id = ? ORDER BY class_id",
            [
                e["dataset_id"],
                e["variant"],
                e["model_id"],
                e["model_sha"],
                e["split"],
                e["evaluation_id"],
            ],
        )
    ]


def _misclassified(data: Snapshot, e: Row, labels: list[str]) -> list[ExampleView]:
    misses = [
        Misclassification(int(i), str(t), str(p), float(c or 0.0))
        for i, t, p, c in data.rows(
            "SELECT example_id, true_label, predicted_label, confidence FROM misclassifications"
            " WHERE evaluation_id = ?",
            [e["evaluation_id"]],
        )
    ]
    misses.sort(key=lambda m: (-m.confidence, m.example_id))
    ids = sorted({m.example_id for m in misses})
    stored: dict[tuple[int, int], tuple[str | None, bytes | None]] = {
        (int(cid), int(eid)): (text, png)
        for cid, eid, text, png in data.rows(
            "SELECT class_id, example_id, text, thumbnail_png FROM examples"
            f" WHERE dataset_id = ? AND split = ? AND example_id IN ({_marks(ids)})",
            [e["dataset_id"], e["split"], *ids],
        )
    }
    class_ids = {label: i for i, label in enumerate(labels)}
    by_example = {eid: found for (_, eid), found in sorted(stored.items(), reverse=True)}
    out = []
    for m in misses:
        text, png = stored.get(
            (class_ids.get(m.true_label, -1), m.example_id),
            by_example.get(m.example_id, (None, None)),  # stored under another unit
        )
        out.append(ExampleView(item=m, text=text, thumbnail_png=png))
    return out


def _matrix(cells: Sequence[Sequence[int]] | None, n: int) -> list[list[int]]:
    """The dense confusion matrix of its non-zero ``[true, predicted, count]`` cells."""
    cells = cells or []
    size = max([n, *(max(c[0], c[1]) + 1 for c in cells)])
    matrix = [[0] * size for _ in range(size)]
    for t, p, count in cells:
        matrix[t][p] = int(count)
    return matrix if cells else []


def _calibration(text: object) -> Calibration | None:
    cal = _json(text)
    if not isinstance(cal, dict) or cal.get("ece") is None:
        return None
    return Calibration(
        ece=float(cal["ece"]),
        mce=float(cal.get("mce") or 0.0),
        bins=tuple(
            CalibrationBin(
                lower=float(b["lower"]),
                upper=float(b["upper"]),
                count=int(b.get("count") or 0),
                accuracy=b.get("accuracy"),
                confidence=b.get("confidence"),
            )
            for b in cal.get("bins") or ()
        ),
    )


def result_detail(
    data: Snapshot, model_id: str, dataset_id: str, *, split: str = "", variant: str = ORIGINAL
) -> ResultDetail | None:
    """One result with its classes, confusion matrix, misclassifications and sibling variants."""
    e = _latest(data, model_id, dataset_id, split, variant)
    if e is None:
        return None
    (summary,) = _summaries(data, "e.evaluation_id = ?", [e["evaluation_id"]])
    classes = _class_results(data, e)
    if tasks.spec(e["task"]).unit == "class":
        labels = dataset_labels(data, e["dataset_id"]) or [c.label for c in classes]
    else:  # entity types, question groups ...: the dataset's labels are something else
        labels = _unit_labels({c.class_id: c.label for c in classes})
    confusion, calibration = data.rows(
        "SELECT confusion, calibration FROM evaluation_details"
        " WHERE model_id = ? AND dataset_id = ? AND evaluation_id = ?",
        [e["model_id"], e["dataset_id"], e["evaluation_id"]],
    )[0]
    siblings = _summaries(
        data,
        "e.model_id = ? AND e.model_sha = ? AND e.dataset_id = ? AND e.split = ?",
        [e["model_id"], e["model_sha"], e["dataset_id"], e["split"]],
    )
    siblings.sort(key=lambda s: _variant_order(s.variant))
    matrix = _matrix(confusion, len(labels))
    return ResultDetail(
        model_id=e["model_id"],
        model_sha=e["model_sha"],
        task=e["task"] or "",
        summary=summary,
        labels=labels,
        classes=classes,
        confusion=matrix,
        calibration=_calibration(calibration),
        misclassifications=_misclassified(data, e, labels),
        variants=siblings,
        confusion_labels=[*labels, *[NO_MATCH] * (len(matrix) - len(labels))],
    )


def _unit_labels(units: dict[int, str]) -> list[str]:
    """The names of units by class id (``0 .. max id``; an id without a name reads as itself)."""
    return [units.get(i, str(i)) for i in range(max(units, default=-1) + 1)]


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
    metric: str  # a per-unit metric key of the task
    labels: list[str]  # the units (classes, entity types, groups), by class id
    variants: list[str]  # original first
    values: dict[str, list[float | None]]  # variant -> per-unit value (as ``labels``)
    overall: dict[str, float | None]  # variant -> whole-dataset value of the metric
    task: str = ""

    @property
    def spec(self) -> TaskSpec:
        """The catalogue entry of the compared results' task."""
        return tasks.spec(self.task)


def _per_class(
    data: Snapshot,
    dataset_id: str,
    model_ids: Sequence[str],
    ids: Sequence[str],
    metric: str,
    *,
    variant: str | None = None,
) -> dict[str, dict[int, tuple[str, float | None]]]:
    """evaluation id -> class id -> (label, ``metric``), for the evaluations ``ids`` of
    ``model_ids`` on ``dataset_id`` (``metric`` is a per-unit catalogue key). The filter
    names the table's leading sort columns, so only the row groups holding them are read."""
    out: dict[str, dict[int, tuple[str, float | None]]] = {i: {} for i in ids}
    where = "dataset_id = ?" + (" AND variant = ?" if variant is not None else "")
    for eid, cid, label, value in data.rows(
        f"SELECT evaluation_id, class_id, label, {tasks.class_sql(metric)} FROM class_results"
        f" WHERE {where} AND model_id IN ({_marks(model_ids)})"
        f" AND evaluation_id IN ({_marks(ids)})",
        [dataset_id, *([variant] if variant is not None else []), *model_ids, *ids],
    ):
        out[eid][int(cid)] = (label or str(cid), _num(value))
    return out


def _units(
    data: Snapshot,
    spec: TaskSpec,
    dataset_id: str,
    per_class: dict[str, dict[int, tuple[str, float | None]]],
) -> tuple[list[int], list[str]]:
    """The class ids and names of the units compared: a classification dataset's classes, else
    the units the results hold (entity types, question groups ...), by class id."""
    labels = dataset_labels(data, dataset_id) if spec.unit == "class" else []
    if labels:
        return list(range(len(labels))), labels
    found = {cid: label for rows in per_class.values() for cid, (label, _) in rows.items()}
    ids = sorted(found)
    return ids, [found[i] for i in ids]


def variant_comparison(
    data: Snapshot, model_id: str, dataset_id: str, *, metric: str = "", split: str = ""
) -> VariantComparison | None:
    """Per unit (class, entity type ...), one metric for every variant of a dataset the model
    was evaluated on; an empty or unknown ``metric`` is the task's default (F1, else its first
    per-unit metric)."""
    model = _evaluated_sha(data, model_id)
    if model is None:
        return None
    dataset_id = _text(dataset_id)
    found = _summaries(
        data, "e.model_id = ? AND e.model_sha = ? AND e.dataset_id = ?", [*model, dataset_id]
    )
    split = _text(split) or (found[0].split if found else "")
    latest = {s.variant: s for s in found if s.split == split}  # oldest first: the newest wins
    if not latest:
        return None
    variants = sorted(latest, key=_variant_order)
    spec = latest[variants[0]].spec
    metric = metric if metric in spec.class_columns else tasks.default_class_key(spec)
    ids = [latest[v].result_id for v in variants]
    per_class = _per_class(data, dataset_id, [model[0]], ids, metric)
    class_ids, labels = _units(data, spec, dataset_id, per_class)
    values = {
        v: [per_class[latest[v].result_id].get(i, ("", None))[1] for i in class_ids]
        for v in variants
    }
    overall_key = tasks.overall_key(spec, metric)
    overall = {v: latest[v].metrics.get(overall_key) if overall_key else None for v in variants}
    return VariantComparison(
        model_id=model[0],
        dataset_id=dataset_id,
        split=split,
        metric=metric,
        labels=labels,
        variants=variants,
        values=values,
        overall=overall,
        task=spec.name,
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
    metric: str  # a per-unit metric key of the task
    labels: list[str]  # the units (classes, entity types, groups)
    models: list[ComparedModel]
    missing: list[str]  # asked for, but not evaluated on this dataset and variant
    task: str = ""

    @property
    def spec(self) -> TaskSpec:
        """The catalogue entry of the dataset's task."""
        return tasks.spec(self.task)


def compare_models(
    data: Snapshot,
    dataset_id: str,
    model_ids: Sequence[str],
    *,
    metric: str = "",
    variant: str = ORIGINAL,
) -> ModelComparison:
    """Two or more models on one dataset: speed and a per-unit metric side by side (an empty
    or unknown ``metric`` is the task's default, as in :func:`variant_comparison`)."""
    dataset_id, variant = _text(dataset_id), _text(variant) or ORIGINAL
    spec = dataset_task(data, dataset_id)
    metric = metric if metric in spec.class_columns else tasks.default_class_key(spec)
    wanted = [m for m in dict.fromkeys(_text(m, limit=300) for m in model_ids) if m][:8]
    shas = dict(
        data.rows(
            f"SELECT repo_id, coalesce(eval_sha, sha) FROM models WHERE repo_id IN ({_marks(wanted)})",
            wanted,
        )
    )
    chosen: dict[str, str] = {}  # model id -> its newest evaluation here, at its eval_sha
    for eid, model_id, model_sha in data.rows(
        "SELECT evaluation_id, model_id, model_sha FROM evaluations"
        f" WHERE model_id IN ({_marks(list(shas))}) AND dataset_id = ? AND variant = ?"
        " ORDER BY created_at NULLS FIRST, evaluation_id",
        [*shas, dataset_id, variant],
    ):
        if model_sha == shas[model_id]:
            chosen[model_id] = eid
    found = {
        s.result_id: s
        for s in _summaries(
            data, f"e.evaluation_id IN ({_marks(list(chosen.values()))})", list(chosen.values())
        )
    }
    summaries = {m: found[eid] for m, eid in chosen.items()}
    ids = [s.result_id for s in summaries.values()]
    per_class = _per_class(data, dataset_id, list(summaries), ids, metric, variant=variant)
    class_ids, labels = _units(data, spec, dataset_id, per_class)
    models = [
        ComparedModel(
            model_id=m,
            summary=summaries[m],
            per_class=[per_class[summaries[m].result_id].get(i, ("", None))[1] for i in class_ids],
        )
        for m in wanted
        if m in summaries
    ]
    return ModelComparison(
        dataset_id=dataset_id,
        variant=variant,
        metric=metric,
        labels=labels,
        models=models,
        missing=[m for m in wanted if m not in summaries],
        task=spec.name,
    )


@dataclass(frozen=True)
class PairedTest:
    """Model ``b`` against model ``a`` on the same examples: McNemar's exact test of accuracy and
    the paired bootstrap of macro F1 (differences are B − A); ``problem`` says why there is no
    test (no per-example outcomes, different examples)."""

    a: str
    b: str
    n: int = 0
    accuracy: McNemar | None = None
    macro_f1: PairedBootstrap | None = None
    problem: str = ""

    def verdicts(self, alpha: float = 0.05) -> list[str]:
        """The tests in words (empty without a test)."""
        short_a, short_b = self.a.split("/")[-1], self.b.split("/")[-1]
        if short_a == short_b:
            short_a, short_b = self.a, self.b
        out = []
        if self.accuracy is not None:
            out.append(
                verdict("accuracy", short_a, short_b, self.accuracy.p_value, self.accuracy.diff)
            )
        if self.macro_f1 is not None:
            out.append(
                verdict("macro F1", short_a, short_b, self.macro_f1.p_value, self.macro_f1.observed)
            )
        return out


#: bootstrap resamples of a comparison in the Space (its p-values go down to 2 / 1001)
PAIRED_RESAMPLES = 1000
#: the tasks whose results keep per-example outcomes, so two models can be tested pairwise
PAIRED_TASKS = frozenset(
    spec.name
    for spec in (
        catalogue.TEXT_CLASSIFICATION,
        catalogue.IMAGE_CLASSIFICATION,
        catalogue.AUDIO_CLASSIFICATION,
    )
)


def _outcomes_of(
    data: Snapshot, dataset_id: str, models: Sequence[ComparedModel]
) -> dict[str, Outcomes]:
    """The per-example outcomes of ``models``' evaluations on ``dataset_id``, by evaluation id,
    in one read (not kept: a big split's outcomes are tens of kilobytes per result). The filter
    names the models too: the table's small row groups are sorted by model, so only theirs are
    read."""
    chosen = {m.summary.result_id: m.model_id for m in models if m.summary.result_id}
    if not chosen:
        return {}
    ids, names = list(chosen), list(dict.fromkeys(chosen.values()))
    return {
        str(eid): Outcomes(
            count=int(count),
            correct=bytes(right or b""),
            truth=bytes(truth or b""),
            predicted=bytes(predicted or b""),
            confidence=bytes(confidence or b""),
        )
        for eid, count, right, truth, predicted, confidence in data.rows(
            "SELECT evaluation_id, count, correct, truth, predicted, confidence FROM outcomes"
            f" WHERE dataset_id = ? AND model_id IN ({_marks(names)})"
            f" AND evaluation_id IN ({_marks(ids)})",
            [_text(dataset_id), *names, *ids],
        )
    }


def correct_bits(
    data: Snapshot, dataset_id: str, models: Sequence[ComparedModel]
) -> dict[str, tuple[int, bytes]]:
    """Per evaluation of ``models`` that has outcomes: its example count and its packed
    right-or-wrong bits (a bit per example: what McNemar's test needs), kept per snapshot; those
    not yet kept are read in one query."""
    chosen = {m.summary.result_id: m.model_id for m in models if m.summary.result_id}
    missing = [i for i in chosen if not data.remembers(("correct-bits", dataset_id, i))]
    if missing:
        names = list(dict.fromkeys(chosen[i] for i in missing))
        found = {
            str(eid): (int(count), bytes(right or b""))
            for eid, count, right in data.rows(
                "SELECT evaluation_id, count, correct FROM outcomes"
                f" WHERE dataset_id = ? AND model_id IN ({_marks(names)})"
                f" AND evaluation_id IN ({_marks(missing)})",
                [_text(dataset_id), *names, *missing],
            )
        }
        for eid in missing:
            data.memo(("correct-bits", dataset_id, eid), partial(found.get, eid))
    out = {}
    for eid in chosen:
        bits = data.memo(("correct-bits", dataset_id, eid), lambda: None)
        if bits is not None:
            out[eid] = bits
    return out


def _compare(a: ComparedModel, b: ComparedModel, first: Outcomes, second: Outcomes) -> PairedTest:
    if a.summary.dataset_revision != b.summary.dataset_revision or first.count != second.count:
        return PairedTest(
            a.model_id,
            b.model_id,
            problem="evaluated on different revisions of the dataset: not the same examples",
        )
    test = mcnemar(correct(first), correct(second))
    truth, pred_a, pred_b = truth_of(first), predicted(first), predicted(second)
    boot = None
    if truth is not None and pred_a is not None and pred_b is not None:
        boot = paired_bootstrap(
            "macro_f1", truth, pred_a, pred_b, resamples=PAIRED_RESAMPLES, seed=0
        )
    return PairedTest(a.model_id, b.model_id, n=first.count, accuracy=test, macro_f1=boot)


def paired_tests(
    data: Snapshot, reference: ComparedModel, others: Sequence[ComparedModel], dataset_id: str
) -> list[PairedTest]:
    """Each of ``others`` against ``reference`` on the examples both were evaluated on (their
    outcomes read in one query; each test kept per snapshot)."""
    keys = {
        o.model_id: ("paired", dataset_id, reference.summary.result_id, o.summary.result_id)
        for o in others
    }
    todo = [o for o in others if not data.remembers(keys[o.model_id])]
    packed = _outcomes_of(data, dataset_id, [reference, *todo]) if todo else {}
    tests = []
    for other in others:

        def compute(other: ComparedModel = other) -> PairedTest:
            first = packed.get(reference.summary.result_id)
            second = packed.get(other.summary.result_id)
            if first is None or second is None:
                missing = reference.model_id if first is None else other.model_id
                return PairedTest(
                    reference.model_id,
                    other.model_id,
                    problem=f"no per-example outcomes of {missing} here",
                )
            return _compare(reference, other, first, second)

        tests.append(data.memo(keys[other.model_id], compute))
    return tests


def paired_test(data: Snapshot, a: ComparedModel, b: ComparedModel, dataset_id: str) -> PairedTest:
    """Whether ``b`` differs from ``a`` for real on the examples both were evaluated on."""
    return paired_tests(data, a, [b], dataset_id)[0]


def models_evaluated_on(
    data: Snapshot, dataset_id: str, *, variant: str = ORIGINAL, search: str = "", limit: int = 200
) -> list[str]:
    """Names of models with a result on ``dataset_id`` (for pickers), filtered by name."""
    where = "dataset_id = ? AND variant = ?"
    params: list[object] = [_text(dataset_id), _text(variant) or ORIGINAL]
    if needle := _text(search):
        where += " AND strpos(lower(model_id), lower(?)) > 0"
        params.append(needle)
    return [
        m
        for (m,) in data.rows(
            f"SELECT DISTINCT model_id FROM evaluations WHERE {where} ORDER BY 1 LIMIT ?",
            [*params, limit],
        )
    ]


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
    """The dataset of an evaluation module cannot be used (the bot recorded it): jobs that
    need the module wait for a fix of its YAML."""

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
    # what results are disaggregated by, as (class id, name): the classes (``labels``) of a
    # classification dataset, else the units its results hold (entity types, question groups)
    units: list[tuple[int, str]] = field(default_factory=list)

    @property
    def spec(self) -> TaskSpec:
        """The catalogue entry of the dataset's task."""
        return tasks.spec(self.task)


def list_datasets(data: Snapshot) -> list[DatasetSummary]:
    return [
        DatasetSummary(d, name or d, modality or "", task or "")
        for d, name, modality, task in data.rows(
            "SELECT dataset_id, name, modality, task FROM datasets ORDER BY dataset_id"
        )
    ]


def dataset_labels(data: Snapshot, dataset_id: str) -> list[str]:
    found = data.rows("SELECT labels FROM datasets WHERE dataset_id = ?", [_text(dataset_id)])
    return [str(x) for x in (found[0][0] or [])] if found else []


def dataset_variants(data: Snapshot, dataset_id: str) -> list[str]:
    found = data.rows("SELECT variants FROM datasets WHERE dataset_id = ?", [_text(dataset_id)])
    if not found:
        return []
    return sorted(set(found[0][0] or ()) | {ORIGINAL}, key=_variant_order)


def dataset_problem(data: Snapshot, dataset_id: str) -> ModuleProblem | None:
    """The open problem of the module evaluating ``dataset_id`` (the module of its newest
    evaluation), if it has one."""
    found = data.dicts(
        "SELECT p.* FROM problems p WHERE p.module_id = (SELECT module_id FROM evaluations"
        f" WHERE dataset_id = ? ORDER BY {_NEWEST} LIMIT 1)",
        [_text(dataset_id)],
    )
    if not found:
        return None
    p = found[0]
    return ModuleProblem(
        module_id=str(p["module_id"]),
        error=str(p["error"] or ""),
        since=p["since"],
        waiting=int(p["waiting"] or 0),
    )


def _examples(
    data: Snapshot, dataset_id: str, *, per_class: int, max_classes: int
) -> dict[int, list[DatasetExampleRecord]]:
    out: dict[int, list[DatasetExampleRecord]] = {}
    for r in data.dicts(
        "SELECT dataset_id, split, class_id, label, example_id, text, thumbnail_png FROM ("
        " SELECT *, row_number() OVER (PARTITION BY class_id ORDER BY example_id, split) AS n"
        " FROM examples WHERE dataset_id = ? AND class_id < ?) WHERE n <= ?"
        " ORDER BY class_id, n",
        [dataset_id, max_classes, per_class],
    ):
        out.setdefault(int(r["class_id"]), []).append(DatasetExampleRecord(**r))
    return out


def _evaluated(data: Snapshot, dataset_id: str, variants: list[str]) -> list[VariantCount]:
    described = dict(
        data.rows(
            f"SELECT variant_id, description FROM variants WHERE variant_id IN ({_marks(variants)})",
            variants,
        )
    )
    counts = {
        v: (int(models), int(trained))
        for v, models, trained in data.rows(
            "SELECT e.variant, count(DISTINCT e.model_id), count(DISTINCT e.model_id)"
            " FILTER (WHERE list_has_any(m.datasets, [?, ?])) FROM evaluations e"
            " LEFT JOIN models m ON m.repo_id = e.model_id WHERE e.dataset_id = ?"
            " GROUP BY e.variant",
            [dataset_id, dataset_id.split("/")[-1], dataset_id],
        )
    }
    return [
        VariantCount(
            variant=v,
            description=described.get(v) or ("The dataset as published." if v == ORIGINAL else ""),
            models=counts.get(v, (0, 0))[0],
            trained_on=counts.get(v, (0, 0))[1],
        )
        for v in variants
    ]


def _dataset_units(data: Snapshot, dataset_id: str) -> list[tuple[int, str]]:
    """The units of a dataset whose results are not per class: those its results name (else
    its examples), by class id."""
    for table in ("class_results", "examples"):
        found = data.rows(
            f"SELECT class_id, min(label) FROM {table} WHERE dataset_id = ?"
            " GROUP BY class_id ORDER BY class_id",
            [dataset_id],
        )
        if found:
            return [(int(cid), str(label or cid)) for cid, label in found]
    return []


def unit_names(data: Snapshot, dataset_id: str) -> list[str]:
    """The names of what a dataset's results are disaggregated by (for pickers): its classes,
    else the entity types, question groups ... its results hold."""
    dataset_id = _text(dataset_id)
    if dataset_task(data, dataset_id).unit == "class":
        return dataset_labels(data, dataset_id)
    return [name for _, name in _dataset_units(data, dataset_id)]


def dataset_detail(
    data: Snapshot, dataset_id: str, *, examples_per_class: int = 4, max_classes: int = 100
) -> DatasetDetail | None:
    """A dataset: description, reference, classes with examples, splits, variants, counts."""
    found = data.dicts("SELECT * FROM datasets WHERE dataset_id = ?", [_text(dataset_id)])
    if not found:
        return None
    d = found[0]
    dataset_id = d["dataset_id"]
    variants = dataset_variants(data, dataset_id)
    labels = [str(x) for x in d["labels"] or []]
    spec = tasks.spec(d["task"]) if d["task"] else dataset_task(data, dataset_id)
    units = list(enumerate(labels)) if spec.unit == "class" else _dataset_units(data, dataset_id)
    splits = [
        DatasetSplitRecord(
            dataset_id=s["dataset_id"],
            revision=s["revision"] or "",
            split=s["split"] or "",
            num_examples=int(s["num_examples"] or 0),
            class_counts=tuple(int(c) for c in s["class_counts"] or ()),
        )
        for s in data.dicts(
            "SELECT * FROM splits WHERE dataset_id = ? ORDER BY split, revision", [dataset_id]
        )
    ]
    return DatasetDetail(
        dataset_id=dataset_id,
        name=d["name"] or dataset_id,
        modality=d["modality"] or "",
        task=d["task"] or spec.name,
        description=d["description"],
        homepage=d["homepage"],
        reference=_reference(data, d["reference"]),
        compatible=list(d["compatible"] or []),
        variants=variants,
        labels=labels,
        examples=_examples(data, dataset_id, per_class=examples_per_class, max_classes=max_classes),
        splits=splits,
        evaluated=_evaluated(data, dataset_id, variants),
        problem=dataset_problem(data, dataset_id),
        units=units,
    )


def variant_record(data: Snapshot, variant_id: str) -> VariantRecord | None:
    found = data.dicts("SELECT * FROM variants WHERE variant_id = ?", [_text(variant_id)])
    if not found:
        return None
    d = found[0]
    return VariantRecord(
        variant_id=d["variant_id"],
        name=str(d["name"] or d["variant_id"]),
        modality=d["modality"] or "",
        description=d["description"] or "",
        method=d["method"] or "",
        params=dict(_json(d["params"]) or {}),
    )


# -- per-dataset tables: scatterplot, leaderboard, the query form ---------------------------


@dataclass(frozen=True)
class ModelPoint:
    """One model's latest result on a dataset variant."""

    model_id: str
    model_sha: str
    split: str
    metrics: dict[str, float | None]  # the task's result metrics (``tasks.result_keys``)
    ece: float | None
    instances_per_s: float | None = None
    per_instance_ms: float | None = None
    total_s: float | None = None
    num_parameters: int | None = None
    size_mb: float | None = None
    class_metrics: dict[str, float | None] = field(default_factory=dict)  # one unit's
    training_data: str = "declared"  # or the rule that inferred the dataset (``evaluations``)
    training_evidence: str = ""


def _column(key: str) -> str:
    return '"' + key.replace('"', '""') + '"'


def _points_table(data: Snapshot) -> str:
    """The derived table ``points``: one row per evaluation with its whole-dataset metrics
    (pivoted from ``scores``: a column per result metric of any catalogue task) and runtime,
    made once per snapshot."""

    def make() -> str:
        keys = tasks.all_result_keys()
        metrics = ", ".join(
            f"max(value) FILTER (WHERE metric = '{k}') AS {_column(k)}" for k in keys
        )
        data.execute(
            "CREATE TABLE points AS SELECT e.evaluation_id, e.model_id, e.model_sha, e.split,"
            " e.dataset_id, e.variant, e.created_at, e.ece,"
            " coalesce(e.training_data, 'declared') AS training_data, e.training_evidence, "
            + ", ".join(f"s.{_column(k)}" for k in keys)
            + ", r.instances_per_s, r.per_instance_ms, r.total_s FROM evaluations e"
            f" LEFT JOIN (SELECT evaluation_id, {metrics} FROM scores GROUP BY evaluation_id) s"
            " USING (evaluation_id) LEFT JOIN runtimes r USING (evaluation_id)"
        )
        return "points"

    name: str = data.memo("points-table", make)
    return name


def model_points(
    data: Snapshot,
    dataset_id: str,
    *,
    variant: str = ORIGINAL,
    class_label: str = "",
    with_parameters: bool = False,
    with_weights: bool = False,
    training: str = "",
) -> list[ModelPoint]:
    """Every model's latest result on one dataset variant, with runtime and size: the rows of
    the scatterplot, the query form and the leaderboard; its metrics are those of the dataset's
    task. With ``class_label``, that unit's (class, entity type ...) per-unit metrics too (models
    without it are left out). Parameter counts and weight sizes are read only when asked for.
    ``training`` ``declared`` keeps the models whose card names the dataset, ``inferred`` those
    whose training data evalbot inferred (``training_data`` of ``evaluations``); else all."""
    dataset_id, variant = _text(dataset_id), _text(variant) or ORIGINAL
    label = _text(class_label)
    spec = dataset_task(data, dataset_id)
    keys, unit_keys = tasks.result_keys(spec), tasks.class_keys(spec)
    size = "m.num_parameters, m.weights_bytes" if with_parameters or with_weights else "NULL, NULL"
    unit_values = ", ".join(f"{tasks.class_sql(k)} AS {_column(k)}" for k in unit_keys)
    sql = (
        "SELECT p.model_id, p.model_sha, p.split, p.ece, p.instances_per_s, p.per_instance_ms,"
        f" p.total_s, {size}, p.training_data, p.training_evidence, "
        + ", ".join(f"p.{_column(k)}" for k in keys)
        + ("".join(f", c.{_column(k)}" for k in unit_keys) if label else "")
        + f" FROM (SELECT * FROM {_points_table(data)} WHERE dataset_id = ? AND variant = ?"
        f" QUALIFY row_number() OVER (PARTITION BY model_id ORDER BY {_NEWEST}) = 1) p"
        + (" LEFT JOIN models m ON m.repo_id = p.model_id" if size != "NULL, NULL" else "")
        + (
            f" JOIN (SELECT evaluation_id, {unit_values} FROM class_results"
            " WHERE dataset_id = ? AND variant = ? AND label = ?) c USING (evaluation_id)"
            if label
            else ""
        )
        + {
            "declared": " WHERE p.training_data = 'declared'",
            "inferred": " WHERE p.training_data <> 'declared'",
        }.get(_text(training), "")
        + " ORDER BY p.model_id"
    )
    params = [dataset_id, variant, *([dataset_id, variant, label] if label else [])]
    n = len(keys)
    out = []
    for row in data.rows(sql, params):
        model_id, model_sha, split, ece, speed, per_ms, total, parameters, weights = row[:9]
        training_data, evidence = row[9:11]
        values = [_value(x) for x in row[11:]]
        out.append(
            ModelPoint(
                model_id=model_id,
                model_sha=model_sha,
                split=split or "",
                metrics=dict(zip(keys, values[:n], strict=True)),
                ece=_value(ece),
                instances_per_s=_value(speed),
                per_instance_ms=_value(per_ms),
                total_s=_value(total),
                num_parameters=(parameters or None) if with_parameters else None,
                size_mb=weights / 1e6 if with_weights and weights else None,
                class_metrics=dict(zip(unit_keys, values[n:], strict=True)) if label else {},
                training_data=training_data or "declared",
                training_evidence=evidence or "",
            )
        )
    return out


def _value(x: float | None) -> float | None:
    """A DOUBLE of the tables as a value (NaN, which the bot never writes, as None)."""
    return None if x is None or x != x else x


def axis_value(point: ModelPoint, axis: str) -> float | None:
    """The value of a scatter axis (a result metric, ``class:<metric>``, runtime, size)."""
    if axis in point.metrics:
        return point.metrics[axis]
    if axis.startswith("class:"):
        return point.class_metrics.get(axis[6:])
    if axis in OTHER_AXES:
        value = getattr(point, axis)
        return None if value is None else float(value)
    return None


@dataclass(frozen=True)
class Balance:
    worst_f1: float | None  # the worst unit's value of the task's balance metric (F1, AP ...)
    spread: float | None  # best minus worst unit


def class_balance(
    data: Snapshot, dataset_id: str, *, variant: str = ORIGINAL
) -> dict[tuple[str, str], Balance]:
    """``(model id, sha) -> worst-unit value and spread`` of the task's balance metric
    (:func:`space.tasks.balance_key`: F1 for classes, entity types and question groups, AP for
    detected classes) on a dataset variant: one pass over the row groups of that dataset and
    variant."""
    dataset_id = _text(dataset_id)
    value = tasks.class_sql(tasks.balance_key(dataset_task(data, dataset_id)))
    out = {}
    for model_id, model_sha, lo, hi in data.rows(
        f"SELECT model_id, model_sha, min({value}), max({value}) FROM class_results"
        " WHERE dataset_id = ? AND variant = ? GROUP BY model_id, model_sha",
        [dataset_id, _text(variant) or ORIGINAL],
    ):
        lo, hi = _num(lo), _num(hi)
        out[(model_id, model_sha)] = Balance(
            worst_f1=lo, spread=None if lo is None or hi is None else hi - lo
        )
    return out


def robustness(data: Snapshot, dataset_id: str, *, metric: str = "") -> dict[str, float]:
    """``model id -> mean relative drop`` of ``metric`` (default: the task's headline metric)
    over the variants, vs the original (each model's newest evaluation of each variant)."""
    dataset_id = _text(dataset_id)
    spec = dataset_task(data, dataset_id)
    metric = metric if metric in tasks.result_keys(spec) else spec.headline.key
    by_model: dict[str, dict[str, float | None]] = {}
    for model_id, variant, value in data.rows(
        f"SELECT model_id, variant, {_column(metric)} FROM {_points_table(data)}"
        f" WHERE dataset_id = ? QUALIFY row_number() OVER"
        f" (PARTITION BY model_id, variant ORDER BY {_NEWEST}) = 1",
        [dataset_id],
    ):
        by_model.setdefault(model_id, {})[variant] = _num(value)
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


def audit(data: Snapshot, *, limit: int = 500) -> Audit:
    """Claims that disagree with the measurement (newest first) and the newest signing key."""
    discrepancies = [
        _claim(r)
        for r in data.dicts(
            "SELECT * FROM claims WHERE agrees = false"
            " ORDER BY created_at DESC NULLS LAST, model_id, dataset_id, split, metric LIMIT ?",
            [limit],
        )
    ]
    keys = data.dicts(
        "SELECT key_id, public_key_pem, updated_at FROM keys"
        " ORDER BY updated_at DESC NULLS LAST, key_id LIMIT 1"
    )
    identity = (
        SigningIdentity(
            key_id=keys[0]["key_id"],
            public_key_pem=keys[0]["public_key_pem"] or "",
            **({"updated_at": keys[0]["updated_at"]} if keys[0]["updated_at"] else {}),
        )
        if keys
        else None
    )
    return Audit(discrepancies=discrepancies, identity=identity)


# -- object detection -----------------------------------------------------------------------

#: the kinds of detection errors the bot stores (``detection_errors.kind``)
DETECTION_KINDS = ("false positive", "missed")
MAX_ERROR_IMAGES = 48  # images per page of the detection errors gallery


@dataclass(frozen=True)
class ErrorImage:
    """One image behind a result's detection errors: its errors matching a filter (boxes in
    pixels of the evaluated image) and the thumbnail the dataset's examples hold of it."""

    example_id: int
    errors: list[DetectionError]
    thumbnail_png: bytes | None
    size: tuple[int, int] | None = None  # the evaluated image's (width, height), when stored


@dataclass(frozen=True)
class ErrorPage:
    """One page of the images behind a result's detection errors, most confident error first."""

    images: list[ErrorImage]
    total_images: int  # images with an error matching the filter
    total_errors: int  # errors matching the filter
    page: int
    pages: int


@dataclass(frozen=True)
class ErrorFilter:
    """Which detection errors a page asks for. ``kind``: ``false positive``, ``missed`` or empty
    (both); ``label``: a class or empty (all); ``min_confidence`` keeps the false positives
    scoring at least that (missed objects have no score: it leaves them in)."""

    kind: str = ""
    label: str = ""
    min_confidence: float = 0.0
    page: int = 1
    per_page: int = 12


def _evaluation(data: Snapshot, result_id: str) -> Row | None:
    """The identity of evaluation ``result_id`` (the sort columns of the tables holding its rows)."""
    found = data.dicts(
        "SELECT evaluation_id, model_id, model_sha, dataset_id, split, variant, task, settings"
        " FROM evaluations WHERE evaluation_id = ?",
        [_text(result_id)],
    )
    return found[0] if found else None


def result_summary(data: Snapshot, result_id: str) -> ResultSummary | None:
    """Evaluation ``result_id``: its whole-result metrics, runtime and identity."""
    found = _summaries(data, "e.evaluation_id = ?", [_text(result_id)])
    return found[0] if found else None


def result_classes(data: Snapshot, result_id: str) -> list[ClassResult]:
    """The per-unit rows of evaluation ``result_id`` (a detector's: counts and COCO numbers per
    class), by class id."""
    e = _evaluation(data, result_id)
    return _class_results(data, e) if e is not None else []


def result_settings(data: Snapshot, result_id: str) -> dict[str, Any]:
    """How evaluation ``result_id``'s numbers were produced, where its task records it (e.g. a
    detector's ``score_threshold``); empty when nothing is recorded."""
    e = _evaluation(data, result_id)
    found = _json(e["settings"]) if e is not None else None
    return dict(found) if isinstance(found, dict) else {}


def detection_variants(data: Snapshot, model_id: str, dataset_id: str) -> list[ResultSummary]:
    """The newest result of the model's evaluated revision on each variant of ``dataset_id``,
    original first, on the split of its newest original result (else of its newest result)."""
    model = _evaluated_sha(data, model_id)
    if model is None:
        return []
    found = _summaries(
        data,
        "e.model_id = ? AND e.model_sha = ? AND e.dataset_id = ?",
        [*model, _text(dataset_id)],
    )
    if not found:
        return []
    originals = [s for s in found if s.variant == ORIGINAL]
    split = (originals or found)[-1].split
    latest = {s.variant: s for s in found if s.split == split}  # oldest first: the newest wins
    return [latest[v] for v in sorted(latest, key=_variant_order)]


def detection_error_choices(data: Snapshot, result_id: str) -> tuple[list[str], list[str]]:
    """The kinds and the classes of evaluation ``result_id``'s detection errors, sorted."""
    found = data.rows(
        "SELECT DISTINCT kind, label FROM detection_errors WHERE evaluation_id = ?",
        [_text(result_id)],
    )
    kinds = sorted({str(k) for k, _ in found if k}, key=lambda k: (k not in DETECTION_KINDS, k))
    return kinds, sorted({str(label) for _, label in found if label})


def _error_where(result_id: str, f: ErrorFilter) -> tuple[str, list[object]]:
    where = "evaluation_id = ?"
    params: list[object] = [_text(result_id)]
    if f.kind in DETECTION_KINDS:
        where += " AND kind = ?"
        params.append(f.kind)
    if label := _text(f.label):
        where += " AND label = ?"
        params.append(label)
    if (least := _num(f.min_confidence)) is not None and least > 0:
        where += " AND (kind <> ? OR confidence >= ?)"
        params.extend([DETECTION_KINDS[0], least])
    return where, params


def detection_errors(data: Snapshot, result_id: str, f: ErrorFilter) -> ErrorPage:
    """One page of the images behind evaluation ``result_id``'s detection errors that match
    ``f``, ordered by their most confident false positive (images with missed objects only
    last), each with its matching errors and its stored thumbnail (None where the dataset's
    examples do not hold the image)."""
    e = _evaluation(data, result_id)
    if e is None:
        return ErrorPage(images=[], total_images=0, total_errors=0, page=1, pages=1)
    where, params = _error_where(e["evaluation_id"], f)
    ((images, errors),) = data.rows(
        f"SELECT count(DISTINCT example_id), count(*) FROM detection_errors WHERE {where}", params
    )
    per_page = max(1, min(int(f.per_page), MAX_ERROR_IMAGES))
    pages = max(1, math.ceil(images / per_page))
    page = max(1, min(int(f.page), pages))
    ids = [
        int(i)
        for (i,) in data.rows(
            f"SELECT example_id FROM detection_errors WHERE {where} GROUP BY example_id"
            " ORDER BY max(confidence) DESC NULLS LAST, example_id LIMIT ? OFFSET ?",
            [*params, per_page, (page - 1) * per_page],
        )
    ]
    by_image: dict[int, list[DetectionError]] = {i: [] for i in ids}
    for eid, kind, label, confidence, x1, y1, x2, y2 in data.rows(
        "SELECT example_id, kind, label, confidence, x1, y1, x2, y2 FROM detection_errors"
        f" WHERE {where} AND example_id IN ({_marks(ids)})"
        " ORDER BY example_id, confidence DESC NULLS LAST, kind, label, x1, y1",
        [*params, *ids],
    ):
        box = (float(x1 or 0.0), float(y1 or 0.0), float(x2 or 0.0), float(y2 or 0.0))
        by_image[int(eid)].append(
            DetectionError(int(eid), str(kind), str(label or ""), _num(confidence), box)
        )
    thumbnails: dict[int, tuple[bytes, tuple[int, int] | None]] = {
        int(eid): (png, (int(w), int(h)) if w and h else None)
        for eid, png, w, h in data.rows(
            "SELECT example_id, any_value(thumbnail_png), any_value(width), any_value(height)"
            " FROM examples WHERE dataset_id = ?"
            f" AND split = ? AND example_id IN ({_marks(ids)}) AND thumbnail_png IS NOT NULL"
            " GROUP BY example_id",
            [e["dataset_id"], e["split"], *ids],
        )
    }
    return ErrorPage(
        images=[ErrorImage(i, by_image[i], *thumbnails.get(i, (None, None))) for i in ids],
        total_images=int(images),
        total_errors=int(errors),
        page=page,
        pages=pages,
    )


# -- class groups and the leaderboard's groups ------------------------------------------------


def class_groups(data: Snapshot, dataset_id: str) -> dict[str, list[str]]:
    """The groups of classes ``dataset_id``'s module declares (group name -> labels, in the
    module's order); empty when it declares none."""
    found = data.rows("SELECT class_groups FROM datasets WHERE dataset_id = ?", [_text(dataset_id)])
    parsed = _json(found[0][0]) if found else None
    if not isinstance(parsed, dict):
        return {}
    return {
        str(name): [str(label) for label in labels]
        for name, labels in parsed.items()
        if isinstance(labels, list)
    }


def latest_results(
    data: Snapshot, dataset_id: str, model_ids: Sequence[str], *, variant: str = ORIGINAL
) -> dict[str, ComparedModel]:
    """Each model's newest result on one dataset variant (the result :func:`model_points`
    reads), as a :class:`ComparedModel` for :func:`paired_test`; models without one are left
    out."""
    dataset_id, variant = _text(dataset_id), _text(variant) or ORIGINAL
    wanted = [m for m in dict.fromkeys(_text(m, limit=300) for m in model_ids) if m]
    if not wanted:
        return {}
    chosen = dict(
        data.rows(
            f"SELECT model_id, evaluation_id FROM {_points_table(data)}"
            f" WHERE dataset_id = ? AND variant = ? AND model_id IN ({_marks(wanted)})"
            f" QUALIFY row_number() OVER (PARTITION BY model_id ORDER BY {_NEWEST}) = 1",
            [dataset_id, variant, *wanted],
        )
    )
    ids = list(chosen.values())
    found = {s.result_id: s for s in _summaries(data, f"e.evaluation_id IN ({_marks(ids)})", ids)}
    return {
        m: ComparedModel(model_id=m, summary=found[eid], per_class=[])
        for m, eid in chosen.items()
        if eid in found
    }


def with_outcomes(data: Snapshot, dataset_id: str, models: Sequence[ComparedModel]) -> set[str]:
    """The evaluation ids of ``models`` whose per-example outcomes the results dataset holds."""
    return set(correct_bits(data, dataset_id, models))


def paired_p(
    data: Snapshot, a: ComparedModel, b: ComparedModel, dataset_id: str, metric: str
) -> float | None:
    """The p-value of the difference between ``a`` and ``b`` on the examples both were evaluated
    on: McNemar's exact test for ``accuracy`` (from the kept right-or-wrong bits, no
    resampling), the paired bootstrap of :func:`paired_test` for ``macro_f1``; None for another
    metric or without a test (no outcomes, different examples). Memoised per snapshot."""
    if metric == "macro_f1":
        boot = paired_test(data, a, b, dataset_id).macro_f1
        return None if boot is None else boot.p_value
    if metric != "accuracy":
        return None

    def compute() -> float | None:
        bits = correct_bits(data, dataset_id, [a, b])
        first, second = bits.get(a.summary.result_id), bits.get(b.summary.result_id)
        if (
            first is None
            or second is None
            or first[0] != second[0]
            or a.summary.dataset_revision != b.summary.dataset_revision
        ):
            return None
        right_a = correct(Outcomes(count=first[0], correct=first[1]))
        right_b = correct(Outcomes(count=second[0], correct=second[1]))
        return mcnemar(right_a, right_b).p_value

    key = ("paired-p", dataset_id, a.summary.result_id, b.summary.result_id)
    found: float | None = data.memo(key, compute)
    return found


# -- coverage of discovery (thesis chapter 5) -------------------------------------------------

#: the ``coverage`` table's views of the census, in the order the Coverage page offers them
COVERAGE_VIEWS = ("overall", "source", "task", "dataset", "library", "week")
#: the measures every key of a census view has, in the order the Coverage page shows them
COVERAGE_MEASURES = ("found", "queued", "evaluated", "failed", "pending", "self-reports results")


@dataclass(frozen=True)
class CoverageRow:
    """One key of a census view (a source, task, dataset, library or week): models counted by
    each measure (``found``, ``queued``, ..., ``not queued: <reason>``, ``failed: <reason>``)."""

    key: str
    counts: dict[str, int]

    def count(self, measure: str) -> int:
        return self.counts.get(measure, 0)


@dataclass(frozen=True)
class CoverageShare:
    """One ``count`` of ``total`` of the coverage table: models evaluated on a variant or a
    compatible dataset (of the evaluated models), or self-reported values disagreeing with
    evalbot's measurement (of those on a dataset, or ``all``)."""

    view: str
    key: str
    count: int
    total: int


def coverage_rows(data: Snapshot, view: str) -> list[CoverageRow]:
    """The keys of one census view of the ``coverage`` table (:data:`COVERAGE_VIEWS`), by key
    (``(none)``, a model naming no task, dataset or library, last; weeks in time order)."""
    view = _text(view)
    grouped: dict[str, dict[str, int]] = {}
    for key, measure, count in data.rows(
        "SELECT key, measure, count FROM coverage WHERE view = ? ORDER BY key, measure", [view]
    ):
        grouped.setdefault(str(key), {})[str(measure)] = int(count or 0)
    keys = sorted(grouped, key=lambda k: (k == "(none)", k))
    return [CoverageRow(k, grouped[k]) for k in keys]


def coverage_shares(data: Snapshot) -> list[CoverageShare]:
    """The coverage table's variant, compatible-dataset and claims rows (``all`` first among
    the claims), by view and key."""
    return [
        CoverageShare(str(v), str(k), int(c or 0), int(n or 0))
        for v, k, c, n in data.rows(
            "SELECT view, key, count, total FROM coverage"
            " WHERE view IN ('variant', 'compatible', 'claims')"
            " ORDER BY view, key <> 'all', key"
        )
    ]


# -- likely label errors ----------------------------------------------------------------------


@dataclass(frozen=True)
class LabelIssue:
    """One example of a split whose given label most models contradict (``label_issues``),
    with the example itself where the ``examples`` table stores it."""

    example_id: int
    given: str
    suggested: str
    agree: int
    models: int
    share: float
    confidence: float
    score: float
    text: str | None = None
    thumbnail_png: bytes | None = None


@dataclass(frozen=True)
class LabelIssuePage:
    """One page of a split's likely label errors, most likely first (score, then example).

    ``splits`` are the dataset's splits with listed issues or original-variant evaluations;
    ``evaluated_models`` and ``method`` come from the listed rows (0 and "" when none are
    listed), ``evaluations`` counts the models with an original-variant result on the split.
    """

    dataset_id: str
    split: str
    splits: list[str]
    rows: list[LabelIssue]
    total: int
    page: int
    pages: int
    evaluated_models: int
    method: str
    evaluations: int


_ISSUE_COLUMNS = "example_id, given, suggested, agree, models, share, confidence, score"


def label_issue_splits(data: Snapshot, dataset_id: str) -> list[str]:
    """The splits of ``dataset_id`` with listed label issues or original-variant results."""
    dataset_id = _text(dataset_id)
    return [
        str(s)
        for (s,) in data.rows(
            "SELECT DISTINCT split FROM (SELECT split FROM label_issues WHERE dataset_id = ?"
            " UNION ALL SELECT split FROM evaluations WHERE dataset_id = ? AND variant = ?)"
            " WHERE split IS NOT NULL ORDER BY split",
            [dataset_id, dataset_id, ORIGINAL],
        )
    ]


def evaluated_models(data: Snapshot, dataset_id: str, split: str) -> int:
    """Models with a result on the original variant of one split of ``dataset_id``."""
    found = data.rows(
        "SELECT count(DISTINCT model_id) FROM evaluations"
        " WHERE dataset_id = ? AND split = ? AND variant = ?",
        [_text(dataset_id), _text(split), ORIGINAL],
    )
    return int(found[0][0]) if found else 0


def label_issues(
    data: Snapshot, dataset_id: str, *, split: str = "", page: int = 1, per_page: int = 25
) -> LabelIssuePage:
    """One page of the likely label errors of a split of ``dataset_id`` (``split`` empty or
    unknown: the first split with listed issues, else the first evaluated one)."""
    dataset_id = _text(dataset_id)
    per_page = max(1, min(MAX_PER_PAGE, per_page))
    splits = label_issue_splits(data, dataset_id)
    listed = [
        str(s)
        for (s,) in data.rows(
            "SELECT DISTINCT split FROM label_issues WHERE dataset_id = ? ORDER BY split",
            [dataset_id],
        )
    ]
    split = _text(split)
    if split not in splits:
        split = (listed or splits or [""])[0]
    head = data.rows(
        "SELECT count(*), max(evaluated_models), any_value(method) FROM label_issues"
        " WHERE dataset_id = ? AND split = ?",
        [dataset_id, split],
    )
    total, models, method = head[0] if head else (0, None, None)
    pages = max(1, math.ceil(total / per_page))
    page = max(1, min(page, pages))
    rows = data.dicts(
        f"SELECT {_ISSUE_COLUMNS}, x.text, x.thumbnail_png FROM label_issues i"
        " LEFT JOIN (SELECT example_id, any_value(text) AS text,"
        " any_value(thumbnail_png) AS thumbnail_png FROM examples"
        " WHERE dataset_id = ? AND split = ? GROUP BY example_id) x USING (example_id)"
        " WHERE i.dataset_id = ? AND i.split = ?"
        " ORDER BY score DESC, example_id LIMIT ? OFFSET ?",
        [dataset_id, split, dataset_id, split, per_page, (page - 1) * per_page],
    )
    return LabelIssuePage(
        dataset_id=dataset_id,
        split=split,
        splits=splits,
        rows=[LabelIssue(**r) for r in rows],
        total=int(total),
        page=page,
        pages=pages,
        evaluated_models=int(models or 0),
        method=str(method or ""),
        evaluations=evaluated_models(data, dataset_id, split) if split else 0,
    )


def label_issues_csv(data: Snapshot, dataset_id: str, split: str) -> str:
    """Every listed label issue of one split of ``dataset_id``, most likely first, as CSV."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["dataset_id", "split", *_ISSUE_COLUMNS.split(", ")])
    for row in data.rows(
        f"SELECT dataset_id, split, {_ISSUE_COLUMNS} FROM label_issues"
        " WHERE dataset_id = ? AND split = ? ORDER BY score DESC, example_id",
        [_text(dataset_id), _text(split)],
    ):
        writer.writerow(row)
    return out.getvalue()
