"""The short comment on an updated PR: what changed from the card on the PR branch."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import yaml

from cardgen.card import propose_card
from cardgen.pr import parse_marker, parse_markers
from cardgen.update import MAX_CHANGES, update_comment
from store.types import EvaluationRecord
from tests.cardgen.markdown_check import HOSTILE, assert_inert
from tests.cardgen.test_detection_card import REPO as DETR
from tests.cardgen.test_detection_card import detection_records

MakeRecords = Callable[..., list[EvaluationRecord]]

REPO_ID = "acme/distilbert-emotion"
SPACE_URL = "https://huggingface.co/spaces/evalbot/results"
NEW_SHA = "a" * 40


def comment(
    previous: str | None, records: list[EvaluationRecord], *, main: str | None = None
) -> str:
    """The comment on a PR whose branch holds ``previous``, updated from the card ``main``."""
    change = propose_card(main, records, repo_id=REPO_ID, space_url=SPACE_URL)
    text = update_comment(previous, change, records, repo_id=REPO_ID, space_url=SPACE_URL)
    assert parse_markers(text) == [(change.result_hash, records[0].model_sha)]
    assert len(text.splitlines()) < 25
    assert_inert(text, own_headings=set(), own_comments=1)
    return text


def card_for(records: list[EvaluationRecord]) -> str:
    return propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL).text


def bullets(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("- ")]


def test_added_split_moved_value_new_variant_and_revision(make_records: MakeRecords) -> None:
    before = make_records()
    after = make_records(model_sha=NEW_SHA, metrics={**before[0].metrics, "accuracy": 0.81234})
    after.append(dataclasses.replace(after[0], split="validation", metrics={"accuracy": 0.7}))
    after.append(dataclasses.replace(after[1], variant="uppercase"))

    text = comment(card_for(before), after)

    assert text.splitlines()[0] == (
        "evalbot updated this PR: `acme/distilbert-emotion` evaluated at revision `aaaaaaa` "
        "(previously `0123456`)."
    )
    assert bullets(text) == [
        "- Added `dair-ai/emotion` (config `split`), split `validation`: Accuracy 0.7000.",
        "- `dair-ai/emotion` (config `split`), split `test`: Accuracy 0.8000 → 0.8123.",
        "- Robustness table of `dair-ai/emotion`, split `test`: added `uppercase`.",
    ]
    assert f"({SPACE_URL}/?view=model&model={REPO_ID})" in text
    found = parse_marker(text)
    assert found is not None and found[1] == NEW_SHA


def test_removed_split_metric_and_variant(make_records: MakeRecords) -> None:
    before = make_records()
    before.append(dataclasses.replace(before[0], split="validation"))
    after = make_records(metrics={"accuracy": 0.8, "macro_f1": 0.5})
    after = [after[0], dataclasses.replace(after[1], variant="lowercase")]

    text = comment(card_for(before), after)

    assert text.splitlines()[0].endswith("evaluated at revision `0123456`.")  # same revision
    assert bullets(text) == [
        "- Removed `dair-ai/emotion` (config `split`), split `validation`.",
        "- `dair-ai/emotion` (config `split`), split `test`: F1 (macro) 0.7619 → 0.5000, "
        "`Precision (macro)` 0.8750 → n/a, `Recall (macro)` 0.7500 → n/a.",
        "- Robustness table of `dair-ai/emotion`, split `test`: added `lowercase`; removed "
        "`typos`.",
    ]


def test_same_values_say_refreshed(records: list[EvaluationRecord]) -> None:
    old_space = "https://huggingface.co/spaces/evalbot/old"  # the Space moved: new links only
    previous = propose_card(None, records, repo_id=REPO_ID, space_url=old_space).text
    change = propose_card(previous, records, repo_id=REPO_ID, space_url=SPACE_URL)
    assert change.changed

    text = update_comment(previous, change, records, repo_id=REPO_ID, space_url=SPACE_URL)

    assert bullets(text) == []
    assert "The values on the card are unchanged: the results were refreshed" in text
    assert len(text.splitlines()) == 7


def test_no_previous_card_lists_everything_as_added(records: list[EvaluationRecord]) -> None:
    assert bullets(comment(None, records)) == [
        "- Added `dair-ai/emotion` (config `split`), split `test`: Accuracy 0.8000."
    ]


def test_many_changes_are_counted_not_listed(make_records: MakeRecords) -> None:
    splits = [f"split{i:02d}" for i in range(20)]
    after = [r for s in splits for r in make_records(split=s)]

    lines = bullets(comment(card_for(make_records()), after))

    assert len(lines) == MAX_CHANGES
    assert lines[-1] == f"- … and {20 + 1 - MAX_CHANGES + 1} more changes."


def test_hostile_previous_card_stays_inert(records: list[EvaluationRecord]) -> None:
    """Anyone who can push to the PR branch can rewrite our entries there."""
    previous = card_for(records)
    front, body = previous.split("\n---\n", 1)
    data = yaml.safe_load(front.removeprefix("---\n"))
    ours = data["model-index"][0]["results"][0]
    ours["dataset"].update(name=HOSTILE[0], config=HOSTILE[1], split=HOSTILE[2])
    ours["metrics"][0].update(name=HOSTILE[3], value=HOSTILE[1])
    body = body.replace("Model revision `0123456`", f"Model revision `{HOSTILE[0]}`")
    body = body.replace("| `typos` |", f"| `{HOSTILE[2]}` |")
    hostile = f"---\n{yaml.safe_dump(data, sort_keys=False)}---\n{body}"

    text = comment(hostile, records)

    assert bullets(text)[0].startswith("- Added `dair-ai/emotion` (config `split`), split `test`")
    assert bullets(text)[1].startswith("- Removed `dair-ai/emotion` (config `x ‹!--")


def test_unreadable_previous_card_is_said(records: list[EvaluationRecord]) -> None:
    text = comment("---\nlicense: mit\nlicense: mit\n---\n", records)

    assert bullets(text) == [
        "- The card on this PR's branch could not be read: the changes are not listed."
    ]


def test_hand_edited_value_on_the_branch_is_shown_inert(records: list[EvaluationRecord]) -> None:
    previous = card_for(records).replace("value: 0.8\n", "value: '0.8\n\n    # pwned'\n", 1)
    assert "# pwned" in previous

    assert bullets(comment(previous, records)) == [
        "- `dair-ai/emotion` (config `split`), split `test`: Accuracy `0.8 # pwned` → 0.8000."
    ]


def test_detection_on_a_crlf_card() -> None:
    records = detection_records()
    previous = propose_card("# M\r\n", records, repo_id=DETR, space_url=SPACE_URL).text
    assert previous.count("\r\n") == previous.count("\n")
    original, flipped = records
    moved = dataclasses.replace(original, metrics={**original.metrics, "ap": 0.5})
    after = [moved, flipped, dataclasses.replace(flipped, variant="greyscale")]
    change = propose_card(previous, after, repo_id=DETR, space_url=SPACE_URL)

    text = update_comment(previous, change, after, repo_id=DETR, space_url=SPACE_URL)

    assert bullets(text) == [
        "- `demo/shapes`, split `val`: AP (IoU 0.50:0.95) 0.4321 → 0.5000.",
        "- Robustness table of `demo/shapes`, split `val`: added `greyscale`.",
    ]
