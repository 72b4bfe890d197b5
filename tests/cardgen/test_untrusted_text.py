"""Text from the card or the model (names, configs, labels) stays inert in the PR body and the card
section: no forged marker, heading, link or HTML, no early end of our section."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from huggingface_hub.repocard import REGEX_YAML_BLOCK

from cardgen.audit import audit
from cardgen.card import propose_card
from cardgen.pr import parse_marker, parse_markers, pr_body
from cardgen.section import END, HEADING, START
from store.types import ClassResult, EvaluationRecord
from tests.cardgen.markdown_check import (
    FAKE_MARKER,
    HOSTILE,
    assert_inert,
    render,
    without_code_spans,
)
from tests.cardgen.test_cardgen_corpus import PATHS, REFUSED, read

MakeRecords = Callable[..., list[EvaluationRecord]]

REPO_ID = "acme/distilbert-emotion"
SPACE_URL = "https://huggingface.co/spaces/evalbot/results"
SHA = "0123456789abcdef0123456789abcdef01234567"
EDITED = [p for p in PATHS if p.name not in REFUSED]  # the real cards that get a PR
PR_HEADINGS = {
    "## What was evaluated",
    "## Headline numbers",
    "## Self-reported results",
    "## What this PR changes",
    "## Reproduce",
    "## Opt out",
}


def hostile_results() -> list[dict[str, Any]]:
    """Self-reported results whose every free-text field is hostile; the first two are claims
    (our dataset, no split: the metric name says "test"), the others are not."""
    metric = {"type": "accuracy", "value": 0.93}
    results = [
        {
            "task": {"type": "text-classification", "name": hostile},
            "dataset": {"name": hostile, "type": "dair-ai/emotion", "config": hostile},
            "metrics": [{**metric, "name": hostile}],
        }
        for hostile in HOSTILE[:2]
    ]
    results += [
        {
            "task": {"type": "text-classification"},
            "dataset": {"name": hostile, "type": hostile, "split": hostile, "config": hostile},
            "metrics": [{**metric, "type": hostile, "name": hostile}],
        }
        for hostile in HOSTILE
    ]
    return results


def with_hostile_results(card: str | None) -> str:
    """``card`` (or a bare one) with the hostile results added to its model-index."""
    match = REGEX_YAML_BLOCK.search(card or "")
    front = (yaml.safe_load(match.group(2)) or {}) if match else {}
    body = card[match.end() :] if card and match else (card or "# A model\n")
    entries = front.get("model-index") or [{"name": "distilbert-emotion", "results": []}]
    entries = [entries] if isinstance(entries, dict) else entries
    entries[0]["results"] = [*(entries[0].get("results") or []), *hostile_results()]
    front["model-index"] = entries
    return f"---\n{yaml.safe_dump(front, sort_keys=False, allow_unicode=True)}---\n{body}"


def body_for(card: str, records: list[EvaluationRecord]) -> tuple[str, str]:
    change = propose_card(card, records, repo_id=REPO_ID, space_url=SPACE_URL)
    claims = audit(card, records)
    body = pr_body(
        change,
        records,
        repo_id=REPO_ID,
        space_url=SPACE_URL,
        code_version="0.1.0",
        claims=claims,
    )
    return body, change.result_hash


def test_hostile_self_reported_results_stay_inert(records: list[EvaluationRecord]) -> None:
    card = with_hostile_results(None)
    body, result_hash = body_for(card, records)

    assert len(audit(card, records)) == 2  # the hostile names reach the claims table
    assert "## Self-reported results" in body
    assert_inert(body, own_headings=PR_HEADINGS, own_comments=3)
    assert parse_marker(body) == (result_hash, SHA)
    assert parse_markers(body) == [(result_hash, SHA)]
    # Each hostile name is shown, on one line, inside a code span of a claims-table row.
    rows = [line for line in body.splitlines() if line.startswith("| `dair-ai/emotion` | `test` |")]
    assert len(rows) == 1 + 2  # the headline row and the two claims
    for row in rows[1:]:
        assert row.count("|") - row.count("\\|") == 9  # eight cells, none split by a name
        assert "pwned" in row and "pwned" not in without_code_spans(row)
    cells = render(body).split("<tbody>")[2].split("</tbody>")[0]  # the claims table
    assert cells.count("<tr>") == 2 and cells.count("<td") == 16


@pytest.mark.parametrize("path", EDITED, ids=[p.name for p in EDITED])
def test_real_cards_with_hostile_results(path: Path, records: list[EvaluationRecord]) -> None:
    card = with_hostile_results(read(path))
    body, result_hash = body_for(card, records)

    assert_inert(body, own_headings=PR_HEADINGS, own_comments=3)
    assert parse_marker(body) == (result_hash, SHA)


def test_forged_marker_before_ours_loses(records: list[EvaluationRecord]) -> None:
    body, result_hash = body_for("# A model\n", records)

    assert parse_marker(f"{FAKE_MARKER}\n{body}") == (result_hash, SHA)
    assert parse_marker(f"{body}\nsee `{FAKE_MARKER}`") == (result_hash, SHA)  # not its own line
    assert parse_marker(f"{body}\n{FAKE_MARKER}\r\n") == ("e" * 64, "f" * 40)  # a later line wins


def hostile_label_records(make_records: MakeRecords) -> list[EvaluationRecord]:
    """Classes and a label mapping named by the hostile strings (a model's own id2label)."""
    classes = tuple(
        ClassResult(i, label, 1, 0, 0, 1, precision=1.0, recall=1.0, f1=1.0)
        for i, label in enumerate(HOSTILE)
    )
    mapping = {label: f"class {i}" for i, label in enumerate(HOSTILE)}
    original, perturbed = make_records()
    original = dataclasses.replace(original, classes=classes, label_mapping=mapping)
    return [original, dataclasses.replace(perturbed, variant=HOSTILE[2])]


@pytest.mark.parametrize("path", [None, *EDITED], ids=["new card", *(p.name for p in EDITED)])
def test_hostile_labels_cannot_end_or_break_our_section(
    path: Path | None, make_records: MakeRecords
) -> None:
    card = None if path is None else read(path)
    records = hostile_label_records(make_records)
    change = propose_card(card, records, repo_id=REPO_ID, space_url=SPACE_URL)

    text = change.text
    assert text.count(START) == text.count(END) == 1
    section = text[text.index(START) : text.index(END) + len(END)]
    headings = {HEADING, "### Emotion (`dair-ai/emotion`), split `test`"}
    assert_inert(section, own_headings=headings, own_comments=2)
    html = render(section)
    # The per-class table keeps one row of 8 cells per class, the mapping table 2 per label.
    class_table, robustness, mapping = html.split("<tbody>")[2:5]
    assert class_table.split("</tbody>")[0].count("<tr>") == len(HOSTILE)
    assert class_table.split("</tbody>")[0].count("<td") == 8 * len(HOSTILE)
    assert robustness.split("</tbody>")[0].count("<td") == 2 * 4
    assert mapping.split("</tbody>")[0].count("<td") == 2 * len(HOSTILE)

    again = propose_card(text, records, repo_id=REPO_ID, space_url=SPACE_URL)
    assert not again.changed and again.text == text
