"""Malformed cards through cardgen: a valid card change or a typed `CardError`, nothing else.

A card change must read back with huggingface_hub's `ModelCard`, hold our results once, keep the
author's bytes outside our section and the author's front-matter keys, and be stable on a re-run.
"""

from __future__ import annotations

import pytest
import yaml
from huggingface_hub import ModelCard
from huggingface_hub.repocard import REGEX_YAML_BLOCK

from cardgen.audit import Claim, audit
from cardgen.card import _Loader, decode_card, propose_card
from cardgen.errors import CardError, Refusal
from cardgen.section import END, START
from store.types import EvaluationRecord
from tests.corpus import cards
from tests.corpus.conftest import REPO_ID, SPACE_URL

CASES = cards.generate()
# The size-stress cards (megabyte values, thousands of keys, deep nesting) take a second or two
# each: the slow lane's.
STRESS = {
    "huge_value",
    "many_keys",
    "deep_nesting",
    "long-line",
    "deep-flow",
    "deep-block",
    "huge-front-list",
}
PARAMS = [
    pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.id.rsplit(":", 1)[-1] in STRESS else [])
    for c in CASES
]
# What some cases must give: the refusal, or None for a card change.
EXPECTED: dict[str, Refusal | None] = {
    "bytes:latin1": Refusal.NOT_UTF8,
    "bytes:utf16": Refusal.NOT_UTF8,
    "bytes:only-dashes-newline": Refusal.UNCLOSED_FRONT_MATTER,
    "bytes:unterminated-flow": Refusal.INVALID_YAML,
    "bytes:python-object": Refusal.INVALID_YAML,
    "bytes:deep-flow": Refusal.INVALID_YAML,
    "bytes:deep-block": Refusal.INVALID_YAML,
    "bytes:yaml-list": Refusal.NOT_A_MAPPING,
    "bytes:number-keys-only": Refusal.NON_STRING_KEYS,
    "bytes:dup-keys": Refusal.DUPLICATE_KEYS,
    "bytes:dup-nested-keys": Refusal.DUPLICATE_KEYS,
    "bytes:tags-int": Refusal.INVALID_METADATA,
    "bytes:eval-results-key": Refusal.INVALID_METADATA,
    "bytes:self-key": Refusal.INVALID_METADATA,
    "bytes:model-index-string": Refusal.MALFORMED_MODEL_INDEX,
    "bytes:results-null-entries": Refusal.MALFORMED_MODEL_INDEX,
    "bytes:two-models": Refusal.SEVERAL_MODELS,
    "bytes:markers-twice": Refusal.UNBALANCED_MARKERS,
    "bytes:markers-reversed": Refusal.UNBALANCED_MARKERS,
    "bytes:marker-start-only": Refusal.UNBALANCED_MARKERS,
    "bytes:opted-out": Refusal.OPTED_OUT,
    "bytes:empty": None,
    "bytes:billion-laughs": None,
    "bytes:anchor-recursive": None,
    "bytes:huge-body": None,
    "bytes:markers-only": None,
    "bytes:metric-value-nan-string": None,
    "bytes:metric-value-huge": None,
    "bytes:crlf-only": None,
}


def _front(text: str) -> dict[str, object]:
    """The front matter as cardgen reads it (YAML 1.2 booleans: `no` stays a string)."""
    match = REGEX_YAML_BLOCK.search(text.removeprefix("\ufeff"))
    return (yaml.load(match.group(2), Loader=_Loader) or {}) if match else {}


def _body(text: str) -> str:
    """The card's body as the Hub splits it (a leading BOM is not part of the card)."""
    text = text.removeprefix("\ufeff")
    match = REGEX_YAML_BLOCK.search(text)
    return text[match.end() :] if match else text


def _check_change(old: str, new: str, records: list[EvaluationRecord]) -> None:
    card = ModelCard(new)  # reads back as huggingface_hub reads it
    ours = [r for r in card.data.eval_results or [] if r.source_name == "evalbot"]
    assert len(ours) == 4
    assert new.count(START) == new.count(END) == 1
    old_body, new_body = _body(old), _body(new)
    start, end = new_body.index(START), new_body.index(END) + len(END)
    if START in old_body:  # our section replaced in place
        before, after = (
            old_body[: old_body.index(START)],
            old_body[old_body.index(END) + len(END) :],
        )
        assert (new_body[:start], new_body[end:]) == (before, after)
    else:  # appended after the author's bytes
        assert new_body.startswith(old_body)
        assert new_body[len(old_body) : start].strip("\r\n") == ""
    front, kept = _front(old), _front(new)
    for key, value in front.items():
        if key == "tags":  # huggingface_hub makes a list of unique tags
            value = list(dict.fromkeys(value if isinstance(value, list) else [value]))
        if key != "model-index" and value is not None:
            assert _dump(kept.get(key)) == _dump(value), key
    again = propose_card(new, records, repo_id=REPO_ID, space_url=SPACE_URL)
    assert not again.changed


def _dump(value: object) -> str:
    """YAML with anchors: compares alias bombs and recursive values without expanding them."""
    return yaml.dump(value, Dumper=yaml.SafeDumper, sort_keys=True)


def _check_refusal(error: CardError) -> None:
    assert isinstance(error.reason, Refusal)
    assert str(error).startswith(f"cannot edit the model card of {REPO_ID}: {error.reason}")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", PARAMS)
def test_card_is_edited_or_refused_typed(
    case: cards.CardCase, records: list[EvaluationRecord]
) -> None:
    try:
        old = decode_card(case.data, repo_id=REPO_ID)
    except CardError as error:
        assert error.reason is Refusal.NOT_UTF8
        assert "save the card as UTF-8" in str(error)
        assert EXPECTED.get(case.id, Refusal.NOT_UTF8) is Refusal.NOT_UTF8
        return
    try:
        change = propose_card(old, records, repo_id=REPO_ID, space_url=SPACE_URL)
    except CardError as error:
        _check_refusal(error)
        assert EXPECTED.get(case.id, error.reason) is error.reason, str(error)
    else:
        assert change.changed
        assert EXPECTED.get(case.id) is None
        _check_change(old, change.text, records)
    try:
        claims = audit(old, records)
    except CardError as error:
        _check_refusal(error)
    else:
        assert all(isinstance(c, Claim) and 0 <= c.claimed <= 1 for c in claims)


def test_expectations_name_real_cases() -> None:
    assert set(EXPECTED) <= {c.id for c in CASES}
    assert set(EXPECTED.values()) >= set(Refusal) - {Refusal.NO_ROUND_TRIP}
