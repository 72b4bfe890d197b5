"""The bot's working store as the tables of the public results dataset (``store.tables``).

:func:`export_tables` reads every collection the public record draws on and returns one Arrow
table per :data:`store.tables.TABLES` entry, rows sorted, so the same store exports the same
bytes. Large collections are read in batches with projections; nothing here writes to MongoDB.

The ``scores`` rows come out unsigned (``type``, ``args``, ``key_id`` and ``signature`` empty):
the metric names of model cards and the signing key belong to ``cardgen`` and the bot, which
fill them in (``bot.results_dataset``).

A change token (:func:`change_token`) summarises what the export would read, cheaply, so a
publisher can skip a cycle in which nothing was stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import pyarrow as pa

from store import tables as t
from store.codec import as_utc, doc_to_outcomes
from store.db import RESULT_KEY_FIELDS, Store
from store.label_errors import LabelErrorReport, ModelVotes, export_rows, find_label_errors
from store.outcomes import confidence, predicted, truth
from store.types import join_pair

Doc = dict[str, Any]
Row = dict[str, Any]

_BATCH = 50_000
_WEIGHTS = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack")
_IDENTITY = RESULT_KEY_FIELDS  # an evaluation's identity: the result's unique key


def _ts(value: object) -> datetime | None:
    return as_utc(value) if isinstance(value, datetime) else None


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if value != value else float(value)  # NaN -> null


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _batched(table: t.Table, rows: Iterable[Row]) -> pa.Table:
    """``rows`` as ``table``, converted a batch at a time (no list of every row is kept)."""
    parts: list[pa.Table] = []
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            parts.append(t.to_table(table, batch))
            batch = []
    if batch or not parts:
        parts.append(t.to_table(table, batch))
    arrow = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    if len(parts) > 1:
        arrow = arrow.sort_by([(c, "ascending") for c in table.sort])
    return arrow.combine_chunks()


def _identity(doc: Doc) -> Row:
    return {k: doc.get(k) for k in _IDENTITY}


class _Ids:
    """result ``_id`` -> (evaluation id, identity) for every stored result."""

    def __init__(self, store: Store) -> None:
        self.by_result: dict[Any, str] = {}
        for doc in store.results.find({}, {k: 1 for k in _IDENTITY}):
            self.by_result[doc["_id"]] = t.evaluation_id(_identity(doc))

    def of(self, doc: Doc) -> str | None:
        return self.by_result.get(doc.get("result_id"))


def _models(store: Store) -> Iterator[Row]:
    for d in store.models.find({}, {"evaluated_tasks": 0, "failure_digest": 0}):
        declined = d.get("declined") or {}
        weights = [
            int(v)
            for k, v in (d.get("file_sizes") or {}).items()
            if k.endswith(_WEIGHTS) and isinstance(v, int)
        ]
        yield {
            "repo_id": d["_id"],
            "sha": d.get("sha"),
            "eval_sha": d.get("eval_sha") or d.get("sha"),
            "fingerprint": d.get("fingerprint") or None,
            "origin": d.get("origin") or "huggingface",
            "pipeline_tag": d.get("pipeline_tag"),
            "library_name": d.get("library_name"),
            "datasets": [str(x) for x in d.get("datasets") or []],
            "tags": [str(x) for x in d.get("tags") or []],
            "last_modified": _ts(d.get("last_modified")),
            "num_parameters": _int(d.get("num_parameters")),
            "weights_bytes": sum(weights) if weights else None,
            "hyperparameters": t.dumps(d.get("hyperparameters") or None),
            "reference": d.get("reference"),
            "status": d.get("status") or "pending",
            "failure_reason": d.get("failure_reason"),
            "failure_detail": d.get("failure_detail"),
            "declined_pr": _int(declined.get("num")),
            "declined_by": declined.get("by"),
            "declined_at": _ts(declined.get("at")),
            "file_sizes": t.dumps(d.get("file_sizes") or None),
        }


def sparse_confusion(matrix: Iterable[Iterable[int]]) -> list[list[int]]:
    """A confusion matrix as its non-zero cells ``[true, predicted, count]`` (row-major): a
    1,000-class matrix is a million numbers, its non-zero cells a few thousand."""
    return [[i, j, int(n)] for i, row in enumerate(matrix) for j, n in enumerate(row) if n]


def _evaluations(store: Store, ids: _Ids) -> tuple[list[Row], list[Row]]:
    """The ``evaluations`` rows and the (unsigned) ``scores`` rows."""
    evaluations: list[Row] = []
    scores: list[Row] = []
    for d in store.results.find({}):
        eid = ids.by_result[d["_id"]]
        identity = _identity(d)
        calibration = d.get("calibration") or None
        intervals = d.get("intervals") or {}
        selection = d.get("selection") or {}
        evaluations.append(
            {
                "evaluation_id": eid,
                **identity,
                "fingerprint": d.get("fingerprint") or None,
                "task": d.get("task"),
                "module_id": d.get("module_id"),
                "training_data": selection.get("rule") or "declared",
                "training_evidence": selection.get("evidence") or None,
                "dataset_name": d.get("dataset_name"),
                "num_examples": _int(d.get("num_examples")),
                "created_at": _ts(d.get("created_at")),
                "ece": _num((calibration or {}).get("ece")),
                "calibration": t.dumps(calibration),
                "intervals": t.dumps(intervals or None),
                "label_mapping": t.dumps(d.get("label_mapping") or None),
                "settings": t.dumps(d.get("settings") or None),
                "confusion": sparse_confusion(d.get("confusion") or []),
            }
        )
        for metric, value in sorted((d.get("metrics") or {}).items()):
            interval = intervals.get(metric) or {}
            scores.append(
                {
                    "evaluation_id": eid,
                    **identity,
                    "fingerprint": d.get("fingerprint") or None,
                    "metric": metric,
                    "value": _num(value),
                    "low": _num(interval.get("low")),
                    "high": _num(interval.get("high")),
                }
            )
    return evaluations, scores


def _with_id(ids: _Ids, docs: Iterable[Doc], row: Callable[[Doc], Row]) -> Iterator[Row]:
    for d in docs:
        eid = ids.of(d)
        if eid is not None:  # a row whose result is gone (never the case but for a crash)
            yield {"evaluation_id": eid, **row(d)}


def _cell(kind: pa.DataType, value: object) -> object:
    """A document's value as a column of type ``kind`` holds it (nested values as JSON)."""
    if pa.types.is_integer(kind):
        return _int(value)
    if pa.types.is_floating(kind):
        return _num(value)
    if pa.types.is_timestamp(kind):
        return _ts(value)
    if pa.types.is_list(kind):
        inner = kind.value_type
        return [int(v) if pa.types.is_integer(inner) else str(v) for v in value or []]  # type: ignore[attr-defined]
    if pa.types.is_string(kind) and isinstance(value, dict | list):
        return t.dumps(value or None)
    return value


def _row(table: t.Table, d: Doc) -> Row:
    """The row of ``table`` from a document holding its columns under the same names."""
    return {
        field.name: _cell(field.type, d.get(field.name))
        for field in table.schema
        if field.name != "evaluation_id"
    }


def _outcomes_row(d: Doc) -> Row:
    row = _row(t.OUTCOMES, d)
    for name in ("correct", "truth", "predicted", "confidence"):
        row[name] = bytes(d.get(name) or b"")
    return row


def _box_row(d: Doc) -> Row:
    x1, y1, x2, y2 = ([_num(v) for v in d.get("box") or []] + [None] * 4)[:4]
    return {
        "dataset_id": d.get("dataset_id"),
        "split": d.get("split"),
        "example_id": _int(d.get("example_id")),
        "kind": d.get("kind"),
        "label": d.get("label"),
        "confidence": _num(d.get("confidence")),
        "x1": x1,
        "y1": y1,
        "x2": x2,
        "y2": y2,
    }


def _datasets(store: Store) -> Iterator[Row]:
    labels: dict[str, list[str]] = {}
    for c in store.dataset_classes.find({}, {"_id": 0}).sort([("dataset_id", 1), ("class_id", 1)]):
        labels.setdefault(c["dataset_id"], []).append(str(c["label"]))
    for d in store.datasets.find({}):
        yield {
            "dataset_id": d["_id"],
            "name": d.get("name") or d["_id"],
            "modality": d.get("modality"),
            "task": d.get("task"),
            "labels": labels.get(d["_id"], []),
            "description": d.get("description"),
            "homepage": d.get("homepage"),
            "reference": d.get("reference"),
            "compatible": [str(x) for x in d.get("compatible") or []],
            "variants": [str(x) for x in d.get("variants") or []],
            "class_groups": t.dumps(d.get("class_groups") or None),
        }


def _problems(store: Store) -> Iterator[Row]:
    for d in store.module_problems.find({}):
        yield {
            "module_id": d["_id"],
            "error": str(d.get("error") or ""),
            "since": _ts(d.get("since")),
            "waiting": store.jobs.count_documents({"status": "blocked", "module": d["_id"]}),
        }


def _keys(store: Store) -> Iterator[Row]:
    identity = store.get_identity()
    if identity is not None:
        yield {
            "key_id": identity.key_id,
            "public_key_pem": identity.public_key_pem,
            "updated_at": _ts(identity.updated_at),
        }


def export_tables(store: Store) -> dict[str, pa.Table]:
    """Every table of the results dataset, from the store (``scores`` unsigned)."""
    ids = _Ids(store)
    evaluations, scores = _evaluations(store, ids)
    context = {"_id": 0}
    out = {
        t.MODELS.name: _batched(t.MODELS, _models(store)),
        t.EVALUATIONS.name: _batched(t.EVALUATIONS, evaluations),
        t.SCORES.name: _batched(t.SCORES, scores),
        t.CLASS_RESULTS.name: _batched(
            t.CLASS_RESULTS,
            _with_id(ids, store.class_results.find({}, context), partial(_row, t.CLASS_RESULTS)),
        ),
        t.RUNTIMES.name: _batched(
            t.RUNTIMES,
            _with_id(ids, store.runtimes.find({}, context), partial(_row, t.RUNTIMES)),
        ),
        t.MISCLASSIFICATIONS.name: _batched(
            t.MISCLASSIFICATIONS,
            _with_id(
                ids, store.misclassifications.find({}, context), partial(_row, t.MISCLASSIFICATIONS)
            ),
        ),
        t.DETECTION_ERRORS.name: _batched(
            t.DETECTION_ERRORS,
            _with_id(ids, store.detection_errors.find({}, context), _box_row),
        ),
        t.OUTCOMES.name: _batched(
            t.OUTCOMES,
            _with_id(ids, store.outcomes.find({}, context), _outcomes_row),
        ),
        t.LABEL_ISSUES.name: _batched(
            t.LABEL_ISSUES, (row for found in label_errors(store) for row in found.rows())
        ),
        t.EXAMPLES.name: _batched(
            t.EXAMPLES,
            (
                _row(t.EXAMPLES, {**d, "text": join_pair(d.get("text"), d.get("text_pair"))})
                for d in store.dataset_examples.find({}, context)
            ),
        ),
        t.DATASETS.name: _batched(t.DATASETS, _datasets(store)),
        t.SPLITS.name: _batched(
            t.SPLITS,
            (_row(t.SPLITS, d) for d in store.dataset_splits.find({}, context)),
        ),
        t.VARIANTS.name: _batched(
            t.VARIANTS,
            (
                _row(t.VARIANTS, {**d, "variant_id": d["_id"], "name": d.get("name") or d["_id"]})
                for d in store.variants.find({})
            ),
        ),
        t.CLAIMS.name: _batched(
            t.CLAIMS,
            (_row(t.CLAIMS, d) for d in store.claims.find({}, context)),
        ),
        t.REFERENCES.name: _batched(
            t.REFERENCES,
            (_row(t.REFERENCES, {**d, "key": d["_id"]}) for d in store.references.find({})),
        ),
        t.PROBLEMS.name: _batched(t.PROBLEMS, _problems(store)),
        t.KEYS.name: _batched(t.KEYS, _keys(store)),
    }
    return out


def change_token(store: Store) -> str:
    """A digest that changes whenever something :func:`export_tables` reads may have changed:
    counts and newest timestamps of the collections, and the small collections whole. Cheap
    (indexed counts and a few small reads); equal tokens mean an export would be the same."""
    parts: Mapping[str, object] = {
        "results": [
            store.results.estimated_document_count(),
            _newest(store.results.find({}, {"created_at": 1}).sort("created_at", -1).limit(1)),
        ],
        "class_results": store.class_results.estimated_document_count(),
        "misclassifications": store.misclassifications.estimated_document_count(),
        "detection_errors": store.detection_errors.estimated_document_count(),
        "outcomes": store.outcomes.estimated_document_count(),
        "examples": store.dataset_examples.estimated_document_count(),
        "models": list(
            store.models.find(
                {},
                {
                    "sha": 1,
                    "eval_sha": 1,
                    "status": 1,
                    "failure_reason": 1,
                    "declined": 1,
                    "fingerprint": 1,
                },
            ).sort("_id", 1)
        ),
        "claims": list(store.claims.find({}, {"_id": 0}).sort("created_at", -1).limit(1)),
        "claims_n": store.claims.estimated_document_count(),
        "small": [
            list(c.find({}).sort("_id", 1))
            for c in (
                store.datasets,
                store.dataset_classes,
                store.dataset_splits,
                store.variants,
                store.references,
                store.module_problems,
                store.identity,
            )
        ],
        "blocked": store.jobs.count_documents({"status": "blocked"}),
    }
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _newest(cursor: Iterable[Doc]) -> str | None:
    for d in cursor:
        value = d.get("created_at")
        return value.isoformat() if isinstance(value, datetime) else None
    return None


@dataclass(frozen=True)
class SplitLabelErrors:
    """The likely label errors of one dataset split at one revision, found from the stored
    outcomes of every model evaluated on its original variant (:mod:`store.label_errors`)."""

    dataset_id: str
    dataset_config: str | None
    split: str
    dataset_revision: str
    labels: tuple[str, ...]
    report: LabelErrorReport

    def rows(self) -> list[Row]:
        """The ``label_issues`` rows: the report's issues with the split's identity."""
        identity = {
            "dataset_id": self.dataset_id,
            "dataset_config": self.dataset_config,
            "split": self.split,
            "dataset_revision": self.dataset_revision,
            "method": self.report.method,
            "evaluated_models": self.report.models,
        }
        return [{**identity, **row} for row in export_rows(self.report, self.labels)]


def _version(text: object) -> tuple[int, ...]:
    """A code version's numbers, for ordering (``"0.10.0"`` -> ``(0, 10, 0)``; not a number: 0).

    Example:
        >>> _version("0.10.0") > _version("0.9.1")
        True
    """
    return tuple(int(p) if p.isdigit() else 0 for p in str(text).split("."))


def label_errors(
    store: Store,
    *,
    dataset_id: str | None = None,
    min_models: int = 5,
    min_share: float = 0.5,
) -> list[SplitLabelErrors]:
    """Every classification split's likely label errors (or only ``dataset_id``'s).

    Each model counts once per split: its newest stored result on the split's original
    variant (by code version). A result whose example count differs from the split's (never
    the case for the same dataset revision) is left out.
    """
    match: Doc = {"variant": "original", "truth": {"$ne": b""}, "predicted": {"$ne": b""}}
    if dataset_id is not None:
        match["dataset_id"] = dataset_id
    keys = ("dataset_id", "dataset_config", "split", "dataset_revision")
    splits = sorted(
        (
            tuple(d["_id"].get(k) for k in keys)
            for d in store.outcomes.aggregate(
                [{"$match": match}, {"$group": {"_id": {k: f"${k}" for k in keys}}}]
            )
        ),
        key=lambda k: tuple(str(v or "") for v in k),
    )
    found = []
    for ds, config, split, revision in splits:
        docs = store.outcomes.find(
            {
                **match,
                "dataset_id": ds,
                "dataset_config": config,
                "split": split,
                "dataset_revision": revision,
            },
            {"_id": 0},
        ).sort("model_id", 1)
        newest: dict[str, Doc] = {}
        for doc in docs:  # a version order: 0.10.0 comes after 0.9.0 (text order says before)
            kept = newest.get(doc["model_id"])
            if kept is None or _version(doc["code_version"]) > _version(kept["code_version"]):
                newest[doc["model_id"]] = doc
        if not newest:
            continue

        packed = {model: doc_to_outcomes(doc) for model, doc in newest.items()}
        given = truth(next(iter(packed.values())))
        assert given is not None  # the match asks for it
        dataset = store.get_dataset(ds) or {}
        labels = tuple(str(x) for x in dataset.get("labels") or ())
        num_classes = max(len(labels), int(given.max(initial=-1)) + 1)
        for o in packed.values():
            p = predicted(o)
            if p is not None:
                num_classes = max(num_classes, int(p.max(initial=-1)) + 1)
        labels = labels + tuple(str(i) for i in range(len(labels), num_classes))
        votes = []
        for model, o in packed.items():
            p, c = predicted(o), confidence(o)
            if o.count != len(given) or p is None or c is None:
                continue
            votes.append(ModelVotes(model, p, c))
        report = find_label_errors(
            given, votes, num_classes=num_classes, min_models=min_models, min_share=min_share
        )
        found.append(SplitLabelErrors(ds, config, split, revision, labels, report))
    return found
