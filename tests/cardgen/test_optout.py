"""One opt-out rule (repo tags, card tags, the front-matter key) and the explicit opt-in tag."""

from __future__ import annotations

import pytest

from cardgen import OPT_OUT_TAG
from cardgen.card import propose_card
from cardgen.errors import CardError, Refusal
from cardgen.optout import card_opt_out, opted_in, opted_out
from store.types import EvaluationRecord
from tests.cardgen.test_cardgen_corpus import PATHS, read

REPO_ID = "acme/distilbert-emotion"
SPACE_URL = "https://huggingface.co/spaces/evalbot/results"

OUT_CARDS = [
    "---\ntags:\n- no-evalbot\n---\n",
    "---\ntags: No-Evalbot\n---\n",
    "---\ntags: [nlp, evalbot:false]\n---\n",
    "---\ntags:\n- Evalbot: False\n---\n",  # a mapping in YAML, meant as the tag
    "---\nevalbot: false\n---\n# M\n",
    "---\nlicense: mit\nevalbot: False\n---\n",
    "---\nevalbot: no\n---\n",  # YAML 1.1's false
    "\ufeff---\r\nevalbot: false\r\n---\r\n# M\r\n",
]
NOT_OUT_CARDS = [
    None,
    "",
    "# No front matter\n\nevalbot: false\n",
    "---\nlicense: mit\n---\n\nevalbot: false in the body\n",
    "---\ndescription: |\n  evalbot: false\n---\n",  # a substring, not the key
    "---\nevalbot: true\n---\n",
    "---\ntags: [evalbot, no-evalbots, evalbot-false]\n---\n",
    "---\nevalbot: false\nevalbot: false\n---\n",  # unreadable (duplicate keys)
    "---\nevalbot: false\n",  # unreadable (not closed)
]


@pytest.mark.parametrize("card", OUT_CARDS)
def test_card_opts_out(card: str) -> None:
    assert opted_out([], card)
    assert not opted_in(["evalbot"], card)


@pytest.mark.parametrize("card", NOT_OUT_CARDS)
def test_card_does_not_opt_out(card: str | None) -> None:
    assert not opted_out([], card)
    assert not opted_out(["text-classification", "evalbot"], card)


@pytest.mark.parametrize(
    "tags", [["no-evalbot"], ["NO-EVALBOT"], ["evalbot:false"], ["x", "Evalbot: False"]]
)
def test_repo_tags_opt_out_whatever_the_card(tags: list[str]) -> None:
    assert opted_out(tags, None)
    assert opted_out(tags, "---\nevalbot: false\n")  # an unreadable card does not cancel them
    assert opted_out(tags, "---\ntags: [evalbot]\n---\n")
    assert not opted_in([*tags, "evalbot"], None)


@pytest.mark.parametrize(
    ("tags", "card", "expected"),
    [
        (["evalbot"], None, True),
        (["Evalbot"], None, True),
        ([], "---\ntags: [evalbot]\n---\n", True),
        ([], "---\ntags: evalbot\n---\n", True),
        ([], None, False),
        (["evalbot-fan"], "---\ntags: [text-classification]\n---\n", False),
        ([], "---\nevalbot: true\n---\n", False),  # only the tag opts in
        ([], "# evalbot\n", False),
        (["evalbot"], "---\ntags: [no-evalbot]\n---\n", False),  # an opt-out wins
    ],
)
def test_opted_in(tags: list[str], card: str | None, expected: bool) -> None:
    assert opted_in(tags, card) is expected


def test_card_opt_out_says_how() -> None:
    assert card_opt_out({"tags": ["nlp", "No-Evalbot"]}) == "tag 'no-evalbot'"
    assert card_opt_out({"evalbot": False}) == "key 'evalbot: false'"
    assert card_opt_out({"tags": "evalbot", "evalbot": True}) is None
    assert OPT_OUT_TAG == "no-evalbot"


@pytest.mark.parametrize("card", OUT_CARDS)
def test_propose_card_refuses_an_opted_out_card(card: str, records: list[EvaluationRecord]) -> None:
    with pytest.raises(CardError) as error:
        propose_card(card, records, repo_id=REPO_ID, space_url=SPACE_URL)
    assert error.value.reason == Refusal.OPTED_OUT
    assert error.value.detail in ("tag 'no-evalbot'", "tag 'evalbot:false'", "key 'evalbot: false'")


def test_real_cards_do_not_opt_out() -> None:
    for path in PATHS:
        assert not opted_out([], read(path)), path.name
        assert opted_out([OPT_OUT_TAG], read(path))
