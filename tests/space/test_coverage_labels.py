"""The Coverage and Label errors pages (``space.pages.coverage``, ``space.pages.label_errors``)
over a results snapshot written as the bot publishes its Parquet tables: the census counts as
``bot.coverage`` publishes them, and a split's likely label errors with some of its examples."""

from __future__ import annotations

import csv
import html as htmllib
import inspect
import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from bot.coverage import Coverage, Covered, Disagreement, Row
from space import queries as q
from space.data import Snapshot
from space.pages.coverage import coverage_view
from space.pages.label_errors import MIN_MODELS, PER_PAGE, label_errors_view
from store import tables as t
from store.label_errors import find_label_errors

EMOTION = "dair-ai/emotion"
SHAPES = "demo/shapes"
LABELS = ("sadness", "joy", "love", "anger")
# example id -> (given, suggested, agree, models, confidence): 30 issues on the test split
ISSUES = {i: (LABELS[i % 4], LABELS[(i + 1) % 4], 5 + i % 3, 7, 0.5 + i / 100) for i in range(30)}
TEXTS = {0: "i feel sad", 7: "what a joy", 12: "so angry"}  # the stored examples
NARROW = "validation"  # a split three models were evaluated on, with no issue listed


def _score(i: int) -> float:
    _, _, agree, models, confidence = ISSUES[i]
    return agree / models * confidence


def _coverage_rows() -> list[dict[str, Any]]:
    views = {
        "overall": [
            Row(
                "overall",
                "all",
                found=8,
                queued=5,
                evaluated=3,
                failed=1,
                pending=1,
                self_reports=2,
                not_queued={"unsupported task": 2, "no training dataset": 1},
                failed_by={"unknown labels": 1},
            )
        ],
        "task": [
            Row(
                "task",
                "text-classification",
                found=5,
                queued=5,
                evaluated=3,
                failed=1,
                pending=1,
                self_reports=2,
                failed_by={"unknown labels": 1},
            ),
            Row(
                "task",
                "fill-mask",
                found=2,
                not_queued={"unsupported task": 2},
            ),
            Row("task", "(none)", found=1, not_queued={"no training dataset": 1}),
        ],
        "week": [
            Row("week", "2026-W09", found=3, queued=3, evaluated=3),
            Row("week", "2025-W52", found=5, queued=2, pending=2, not_queued={"gated": 3}),
        ],
    }
    coverage = Coverage(
        views=views,
        covered=[
            Covered("variant", "greyscale", 2, 4, 3),
            Covered("compatible", "emotion-compat", 1, 1, 3),
        ],
        claims=[Disagreement("all", 4, 1), Disagreement(EMOTION, 3, 1), Disagreement("x/y", 1, 0)],
    )
    return coverage.rows()


def _evaluation(model: str, dataset: str, split: str, task: str) -> dict[str, Any]:
    identity = {
        "model_id": model,
        "model_sha": "a" * 40,
        "dataset_id": dataset,
        "dataset_config": None,
        "dataset_revision": "r" * 40,
        "split": split,
        "variant": "original",
        "config_version": 1,
        "code_version": "0.1",
    }
    return {"evaluation_id": t.evaluation_id(identity), **identity, "task": task}


def _rows(*, coverage: bool = True) -> dict[str, list[dict[str, Any]]]:
    evaluations = [
        *(_evaluation(f"demo/m{k}", EMOTION, "test", "text-classification") for k in range(7)),
        *(_evaluation(f"demo/m{k}", EMOTION, NARROW, "text-classification") for k in range(3)),
        _evaluation("demo/detr", SHAPES, "test", "object-detection"),
    ]
    method = "An example is listed when at least 5 models predicted it."
    issues = [
        {
            "dataset_id": EMOTION,
            "dataset_config": None,
            "split": "test",
            "dataset_revision": "r" * 40,
            "example_id": i,
            "given": given,
            "suggested": suggested,
            "agree": agree,
            "models": models,
            "share": agree / models,
            "confidence": confidence,
            "score": _score(i),
            "evaluated_models": 7,
            "method": method,
        }
        for i, (given, suggested, agree, models, confidence) in ISSUES.items()
    ]
    examples = [
        {
            "dataset_id": EMOTION,
            "split": "test",
            "class_id": LABELS.index(ISSUES[i][0]),
            "label": ISSUES[i][0],
            "example_id": i,
            "text": text,
        }
        for i, text in TEXTS.items()
    ]
    datasets = [
        {"dataset_id": EMOTION, "name": "Emotion", "task": "text-classification"},
        {"dataset_id": SHAPES, "name": "Shapes", "task": "object-detection"},
    ]
    return {
        "evaluations": evaluations,
        "label_issues": issues,
        "examples": examples,
        "datasets": datasets,
        "coverage": _coverage_rows() if coverage else [],
    }


def _snapshot(root: Path, rows: dict[str, list[dict[str, Any]]]) -> Snapshot:
    t.write_tables({x.name: t.to_table(x, rows.get(x.name, [])) for x in t.TABLES}, root)
    return Snapshot.open(root, revision="r")


@pytest.fixture
def data(tmp_path: Path) -> Snapshot:
    return _snapshot(tmp_path, _rows())


def _cells(html: str, elem_id: str) -> list[list[str]]:
    """The body cells of the table ``elem_id`` of ``html``, as text."""
    body = html.split(f'id="{elem_id}"', 1)[1].split("</tbody>", 1)[0]
    return [
        [
            htmllib.unescape(re.sub(r"<[^>]+>", "", cell))
            for cell in re.findall(r"<td>(.*?)</td>", row)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1])
    ]


def _headers(html: str, elem_id: str) -> list[str]:
    head = html.split(f'id="{elem_id}"', 1)[1].split("</thead>", 1)[0]
    return [htmllib.unescape(h) for h in re.findall(r"<th>(.*?)</th>", head)]


def _text(html: str) -> str:
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", html))


# -- Coverage ---------------------------------------------------------------------------------


def test_coverage_by_task_counts_and_reasons(data: Snapshot) -> None:
    view = coverage_view(data, {"by": "task"})
    assert _headers(view.html, "coverage-table") == [
        "task",
        "found",
        "queued",
        "evaluated",
        "failed",
        "pending",
        "not queued",
        "self-report",
    ]
    # sorted by key, a model naming no task last
    assert _cells(view.html, "coverage-table") == [
        ["fill-mask", "2", "0", "0", "0", "0", "2", "0 (0.0%)"],
        ["text-classification", "5", "5", "3", "1", "1", "0", "2 (40.0%)"],
        ["(none)", "1", "0", "0", "0", "0", "1", "0 (0.0%)"],
    ]
    assert _headers(view.html, "coverage-reasons") == [
        "task",
        "not queued: no training dataset",
        "not queued: unsupported task",
        "failed: unknown labels",
    ]
    assert _cells(view.html, "coverage-reasons") == [
        ["fill-mask", "0", "2", "0"],
        ["text-classification", "0", "0", "1"],
        ["(none)", "1", "0", "0"],
    ]
    text = _text(view.html)
    assert "Discovery found 8 models: 5 queued, 3 evaluated, 1 failed; 2 (25.0%)" in text
    assert view.figure is not None
    bars = {bar.name: list(bar.y) for bar in view.figure.data}
    keys = list(view.figure.data[0].x)
    assert keys == ["text-classification", "fill-mask", "(none)"]  # the most found first
    assert bars == {
        "evaluated": [3, 0, 0],
        "failed": [1, 0, 0],
        "pending": [1, 0, 0],
        "not queued": [0, 2, 1],
    }


def test_coverage_variants_and_claims(data: Snapshot) -> None:
    view = coverage_view(data, {})
    assert _cells(view.html, "coverage-table")[0][:6] == ["all", "8", "5", "3", "1", "1"]
    assert _cells(view.html, "coverage-variants") == [
        ["compatible dataset", "emotion-compat", "1", "1 (33.3%)"],
        ["variant", "greyscale", "2", "2 (66.7%)"],
    ]
    # all datasets first: SCORED's share of disagreeing self-reported values
    assert _cells(view.html, "coverage-claims") == [
        ["all datasets", "4", "1", "25.0%"],
        [EMOTION, "3", "1", "33.3%"],
        ["x/y", "1", "0", "0.0%"],
    ]


def test_coverage_weeks_in_time_order_and_unknown_view(data: Snapshot) -> None:
    weeks = coverage_view(data, {"by": "week"})
    assert [r[0] for r in _cells(weeks.html, "coverage-table")] == ["2025-W52", "2026-W09"]
    assert weeks.figure is not None and list(weeks.figure.data[0].x) == ["2025-W52", "2026-W09"]
    assert _cells(weeks.html, "coverage-reasons") == [["2025-W52", "3"], ["2026-W09", "0"]]
    # an unknown view is the overall one; a view without rows says so
    assert coverage_view(data, {"by": "'; DROP"}).html == coverage_view(data, {}).html
    library = coverage_view(data, {"by": "library"})
    assert "No model has been counted by library yet." in library.html
    assert library.figure is None
    assert "coverage-claims" in library.html


def test_coverage_empty(tmp_path: Path) -> None:
    view = coverage_view(_snapshot(tmp_path, _rows(coverage=False)), {"by": "task"})
    assert "has not been published yet" in view.html
    assert view.figure is None and "coverage-table" not in view.html


# -- Label errors -----------------------------------------------------------------------------


def test_label_errors_most_likely_first_with_examples(data: Snapshot) -> None:
    view = label_errors_view(data, {"dataset": EMOTION})
    assert view.split == "test" and view.splits == ["test", NARROW]
    order = sorted(ISSUES, key=lambda i: (-_score(i), i))
    rows = _cells(view.html, "label-errors-table")
    assert len(rows) == PER_PAGE
    assert [int(r[0]) for r in rows] == order[:PER_PAGE]
    for row in rows:
        i = int(row[0])
        given, suggested, agree, models, confidence = ISSUES[i]
        shown = f"“{TEXTS[i]}”" if i in TEXTS else "not stored"
        assert row[1:] == [
            shown,
            given,
            suggested,
            f"{agree} of {models}",
            f"{confidence:.3f}",
            f"{_score(i):.3f}",
        ]
    method = _text(view.html.split('id="label-errors-method"', 1)[1].split("</p>", 1)[0])
    assert "at least 5 models predicted it" in method and "7 models evaluated" in method
    assert view.info == f"Page 1 / 2 · {len(ISSUES)} examples"


def test_label_errors_paging(data: Snapshot) -> None:
    second = label_errors_view(data, {"dataset": EMOTION, "page": "2"})
    order = sorted(ISSUES, key=lambda i: (-_score(i), i))
    assert [int(r[0]) for r in _cells(second.html, "label-errors-table")] == order[PER_PAGE:]
    assert second.page == 2
    past = label_errors_view(data, {"dataset": EMOTION, "page": "99"})
    assert past.page == 2 and past.html == second.html
    assert label_errors_view(data, {"dataset": EMOTION, "page": "x"}).page == 1


def test_label_errors_csv_holds_every_row(data: Snapshot) -> None:
    view = label_errors_view(data, {"dataset": EMOTION})
    href = re.search(r'id="label-errors-csv" download="([^"]+)" href="([^"]+)"', view.html)
    assert href is not None
    assert href.group(1) == "label-errors-dair-ai_emotion-test.csv"
    prefix = "data:text/csv;charset=utf-8,"
    uri = htmllib.unescape(href.group(2))
    assert uri.startswith(prefix)
    rows = list(csv.DictReader(io.StringIO(unquote(uri[len(prefix) :]))))
    assert [int(r["example_id"]) for r in rows] == sorted(ISSUES, key=lambda i: (-_score(i), i))
    first = rows[0]
    i = int(first["example_id"])
    assert first["dataset_id"] == EMOTION and first["split"] == "test"
    assert (first["given"], first["suggested"]) == ISSUES[i][:2]
    assert float(first["score"]) == pytest.approx(_score(i))
    assert q.label_issues_csv(data, EMOTION, "test") == unquote(uri[len(prefix) :])


def test_label_errors_too_few_models(data: Snapshot) -> None:
    view = label_errors_view(data, {"dataset": EMOTION, "split": NARROW})
    assert view.split == NARROW
    assert "label-errors-table" not in view.html and "label-errors-csv" not in view.html
    method = _text(view.html.split('id="label-errors-method"', 1)[1].split("</p>", 1)[0])
    assert inspect.signature(find_label_errors).parameters["min_models"].default == MIN_MODELS
    assert f"need at least {MIN_MODELS} models evaluated on the split; 3 are." in method


def test_label_errors_empty_states(data: Snapshot) -> None:
    assert "Pick a dataset" in label_errors_view(data, {}).html
    assert (
        "no result on nobody/nothing" in label_errors_view(data, {"dataset": "nobody/nothing"}).html
    )
    shapes = label_errors_view(data, {"dataset": SHAPES})
    assert "classification datasets only" in _text(shapes.html)
    assert "object-detection" in shapes.html
    # an unknown split reads as the first split with listed issues
    assert label_errors_view(data, {"dataset": EMOTION, "split": "nope"}).split == "test"
