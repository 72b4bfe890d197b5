"""Coverage: how many models discovery found, queued, evaluated and why the rest were not.

Counts the census (``Store.sightings``: every model repo a discovery source looked at, at its
head) per source, task, training dataset, library and week of first sighting, the way the
thesis's chapter 5 reports its model zoo (Tables 5.2 and 5.4, Figures 5.1 to 5.3): found, queued
and what became of the queued (evaluated, failed by reason, pending), the share of cards that
self-report results, the models evaluated on each variant and on each compatible dataset, and
the share of self-reported values that disagree with evalbot's measurement (the claims audit).

The numbers add up in every row: ``found = queued + not queued`` (by reason) and
``queued = evaluated + failed + pending``. A model the store holds that no source recorded
(stored before the census existed, or by ``evalbot evaluate``) counts as found and queued.
A model with several training datasets counts once under each in the ``dataset`` view.

Example:
    >>> coverage = measure(store, modules)  # doctest: +SKIP
    >>> print(coverage.text())  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from evaluators.config import EvaluationModule
from evaluators.identity import dataset_aliases, hub_dataset_id, normalise
from store.db import Store
from store.types import CoverageOutcome, ModelStatus, Sighting

VIEWS = ("overall", "source", "task", "dataset", "library", "week")
NONE = "(none)"  # the key of a model that names no task, dataset or library
ORIGINAL = "original"


@dataclass
class Row:
    """One key of one view: counts of models."""

    view: str
    key: str
    found: int = 0
    queued: int = 0
    evaluated: int = 0
    failed: int = 0
    pending: int = 0
    self_reports: int = 0  # cards with a model-index
    not_queued: dict[str, int] = field(default_factory=dict)  # outcome -> models
    failed_by: dict[str, int] = field(default_factory=dict)  # failure reason -> models


@dataclass(frozen=True)
class Covered:
    """Models evaluated on a variant, or on a compatible dataset (module), of ``of`` evaluated."""

    view: str  # "variant" or "compatible"
    key: str
    models: int
    evaluations: int
    of: int


@dataclass(frozen=True)
class Disagreement:
    """Self-reported values (claims) on a dataset, and how many disagree with ours."""

    key: str  # a dataset id, or "all"
    values: int
    disagree: int


@dataclass(frozen=True)
class Coverage:
    views: dict[str, list[Row]]
    covered: list[Covered]
    claims: list[Disagreement]

    def as_json(self) -> dict[str, Any]:
        return {
            "views": {v: [asdict(r) for r in rows] for v, rows in self.views.items()},
            "covered": [asdict(c) for c in self.covered],
            "claims": [asdict(c) for c in self.claims],
        }

    def text(self) -> str:
        """Plain-text tables, one per view."""
        return "\n\n".join(_render(title, head, body) for title, head, body in self._tables())

    def _tables(self) -> Iterable[tuple[str, list[str], list[list[str]]]]:
        for view, rows in self.views.items():
            reasons = sorted({r for row in rows for r in row.not_queued})
            failures = sorted({r for row in rows for r in row.failed_by})
            head = [view, "found", "queued", "evaluated", "failed", "pending"]
            head += reasons + [f"failed: {r}" for r in failures]
            body = [
                [row.key, *map(str, (row.found, row.queued, row.evaluated, row.failed))]
                + [str(row.pending)]
                + [str(row.not_queued.get(r, 0)) for r in reasons]
                + [str(row.failed_by.get(r, 0)) for r in failures]
                + [_share(row.self_reports, row.found)]
                for row in rows
            ]
            title = "models overall" if view == "overall" else f"models by {view}"
            if reasons:
                title += f" (not queued: {', '.join(reasons)})"
            yield title, [*head, "self-reports"], body
        for view in ("variant", "compatible"):
            rows_ = [c for c in self.covered if c.view == view]
            yield (
                f"models evaluated per {view}",
                [view, "models", "of evaluated", "evaluations"],
                [[c.key, str(c.models), _share(c.models, c.of), str(c.evaluations)] for c in rows_],
            )
        yield (
            "self-reported values that disagree with our measurement",
            ["dataset", "values", "disagree", "share"],
            [
                [c.key, str(c.values), str(c.disagree), _share(c.disagree, c.values)]
                for c in self.claims
            ],
        )

    def rows(self) -> list[dict[str, Any]]:
        """The rows of the results dataset's ``coverage`` table (``store.tables.COVERAGE``):
        one per view, key and measure, as ``count`` of ``total``."""
        out: list[dict[str, Any]] = []

        def add(view: str, key: str, measure: str, count: int, total: int) -> None:
            out.append(dict(view=view, key=key, measure=measure, count=count, total=total))

        for view, rows in self.views.items():
            for r in rows:
                for measure, count in (
                    ("found", r.found),
                    ("queued", r.queued),
                    ("evaluated", r.evaluated),
                    ("failed", r.failed),
                    ("pending", r.pending),
                    ("self-reports results", r.self_reports),
                    *((f"not queued: {k}", n) for k, n in r.not_queued.items()),
                    *((f"failed: {k}", n) for k, n in r.failed_by.items()),
                ):
                    add(view, r.key, measure, count, r.found)
        for c in self.covered:
            add(c.view, c.key, "models evaluated", c.models, c.of)
        for d in self.claims:
            add("claims", d.key, "self-reported values disagreeing", d.disagree, d.values)
        return out


def measure(store: Store, modules: Sequence[EvaluationModule] = ()) -> Coverage:
    """The coverage of ``store`` (see the module docstring). ``modules``, the configured ones,
    spell the training datasets of models no source recorded as Hub ids (the census recorded
    the others' already); without them those keep their card's spelling."""
    aliases = dataset_aliases(modules)
    docs = {
        d["_id"]: d
        for d in store.models.find(
            {},
            {"planning": 0, "file_sizes": 0, "hyperparameters": 0, "evaluated_tasks": 0},
        )
    }
    sightings = {s.repo_id: s for s in store.sightings()}
    for repo_id, doc in docs.items():
        if repo_id not in sightings:  # held by the store, recorded by no source
            sightings[repo_id] = _from_model(doc, aliases)
    views: dict[str, dict[str, Row]] = {v: {} for v in VIEWS}
    for s in sightings.values():
        for view in VIEWS:
            for key in _keys(view, s):
                row = views[view].setdefault(key, Row(view, key))
                _count(row, s, docs.get(s.repo_id))
    return Coverage(
        views={v: [rows[k] for k in sorted(rows)] for v, rows in views.items()},
        covered=_covered(store, docs),
        claims=_claims(store),
    )


def _from_model(doc: dict[str, Any], aliases: dict[str, str]) -> Sighting:
    datasets = tuple(
        dict.fromkeys(hub_dataset_id(str(d), aliases) for d in doc.get("datasets") or ())
    )
    created = doc.get("created_at")
    return Sighting(
        repo_id=doc["_id"],
        sha=doc.get("sha") or "",
        source=doc.get("origin") or "huggingface",
        outcome=CoverageOutcome.QUEUED,
        pipeline_tag=doc.get("pipeline_tag"),
        library_name=doc.get("library_name"),
        datasets=datasets,
        self_reports=bool(doc.get("model_index")),
        first_seen=created if isinstance(created, datetime) else None,
    )


def _keys(view: str, s: Sighting) -> list[str]:
    if view == "overall":
        return ["all"]
    if view == "source":
        return [s.source]
    if view == "task":
        return [s.pipeline_tag or NONE]
    if view == "dataset":
        return list(s.datasets) or [NONE]
    if view == "library":
        return [s.library_name or NONE]
    if s.first_seen is None:
        return [NONE]
    year, week, _ = s.first_seen.isocalendar()
    return [f"{year}-W{week:02d}"]


def _count(row: Row, s: Sighting, doc: dict[str, Any] | None) -> None:
    row.found += 1
    row.self_reports += s.self_reports
    if s.outcome is not CoverageOutcome.QUEUED:
        row.not_queued[s.outcome.value] = row.not_queued.get(s.outcome.value, 0) + 1
        return
    row.queued += 1
    status = (doc or {}).get("status")
    if status == ModelStatus.EVALUATED.value:
        row.evaluated += 1
    elif status == ModelStatus.FAILED.value:
        row.failed += 1
        reason = str((doc or {}).get("failure_reason") or "unknown")
        row.failed_by[reason] = row.failed_by.get(reason, 0) + 1
    else:
        row.pending += 1


def _covered(store: Store, docs: dict[str, dict[str, Any]]) -> list[Covered]:
    """Models evaluated on each variant, and on each compatible dataset: one a dataset they
    were evaluated on lists as ``compatible`` (its module's ``also_evaluate_on``) and that
    their card does not name as a training dataset."""
    fields = {"model_id": 1, "dataset_id": 1, "variant": 1, "_id": 0}
    results = list(store.results.find({}, fields))
    evaluated = len({r["model_id"] for r in results})
    variants: dict[str, set[str]] = defaultdict(set)
    variant_n: Counter[str] = Counter()
    by_model: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        by_model[r["model_id"]][r["dataset_id"]] += 1
        if r["variant"] != ORIGINAL:
            variants[r["variant"]].add(r["model_id"])
            variant_n[r["variant"]] += 1
    lists = {
        d["_id"]: set(d.get("compatible") or ())
        for d in store.datasets.find({"compatible.0": {"$exists": True}}, {"compatible": 1})
    }
    compatible: dict[str, set[str]] = defaultdict(set)
    compatible_n: Counter[str] = Counter()
    for model_id, counts in by_model.items():
        named = {normalise(str(n)) for n in (docs.get(model_id) or {}).get("datasets") or ()}
        for dataset_id in {c for d in counts for c in lists.get(d, ())} & set(counts):
            if not {normalise(dataset_id), normalise(dataset_id.split("/")[-1])} & named:
                compatible[dataset_id].add(model_id)
                compatible_n[dataset_id] += counts[dataset_id]
    return [
        *(
            Covered("variant", k, len(v), variant_n[k], evaluated)
            for k, v in sorted(variants.items())
        ),
        *(
            Covered("compatible", k, len(v), compatible_n[k], evaluated)
            for k, v in sorted(compatible.items())
        ),
    ]


def _claims(store: Store) -> list[Disagreement]:
    values: Counter[str] = Counter()
    disagree: Counter[str] = Counter()
    for doc in store.claims.find({}, {"dataset_id": 1, "agrees": 1, "_id": 0}):
        for key in ("all", str(doc["dataset_id"])):
            values[key] += 1
            disagree[key] += not doc["agrees"]
    keys = sorted(values, key=lambda k: (k != "all", k))
    return [Disagreement(k, values[k], disagree[k]) for k in keys]


def _share(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.1f}%)" if whole else f"{part} (n/a)"


def _render(title: str, head: list[str], body: list[list[str]]) -> str:
    if not body:
        return f"{title}: none"
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(line.rstrip() for line in lines)


def census_token(store: Store) -> list[object]:
    """What changes when the census does (for the results dataset's change detection): its
    size and the newest sighting."""
    newest = store.census.find_one({}, {"last_seen": 1}, sort=[("last_seen", -1)])
    stamp = newest.get("last_seen") if newest else None
    return [store.census.estimated_document_count(), stamp.isoformat() if stamp else None]
