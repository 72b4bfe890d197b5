"""propose_card over the 40 real Hub model cards in shared/cards (see its SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard
from huggingface_hub.repocard import REGEX_YAML_BLOCK

from cardgen.card import propose_card
from cardgen.errors import CardError, Refusal
from cardgen.section import END, START
from store.types import EvaluationRecord

CARDS = Path(__file__).resolve().parents[2].parent / "shared" / "cards"
PATHS = sorted(p for p in CARDS.glob("*.md") if p.name != "SOURCES.md")
REPO_ID = "acme/distilbert-emotion"
SPACE_URL = "https://huggingface.co/spaces/evalbot/results"

# The cards evalbot refuses to edit, and why. Every other card must be edited.
REFUSED = {
    "11-senticgcn-multi-model.md": Refusal.SEVERAL_MODELS,
    "24-facial-emo-split-result.md": Refusal.MALFORMED_MODEL_INDEX,  # task/metrics split apart
    "26-results-flow-garbage.md": Refusal.MALFORMED_MODEL_INDEX,  # results: [a string]
    "28-layoutlmv3-trailing-tab.md": Refusal.INVALID_YAML,  # PyYAML rejects the tab
    "29-whisper-nob-norway-tab.md": Refusal.INVALID_YAML,
    "30-urdu-null-keys-unclosed.md": Refusal.UNCLOSED_FRONT_MATTER,
    "31-squad-unclosed.md": Refusal.UNCLOSED_FRONT_MATTER,
    "37-greek-sts-tabs.md": Refusal.INVALID_YAML,
    "38-front-matter-list.md": Refusal.NOT_A_MAPPING,
    "39-tags-no-space.md": Refusal.NOT_A_MAPPING,
}


def read(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as f:  # keep CRLF as it is
        return f.read()


def split(text: str) -> tuple[dict, str]:
    """(front matter as PyYAML reads it, body), as huggingface_hub and the Hub split a card."""
    match = REGEX_YAML_BLOCK.search(text)
    if match is None:
        return {}, text
    return yaml.safe_load(match.group(2)) or {}, text[match.end() :]


def test_corpus_is_there() -> None:
    assert len(PATHS) == 40, f"expected the 40 cards of {CARDS}"
    assert set(REFUSED) <= {p.name for p in PATHS}


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_card_is_edited_or_refused(path: Path, records: list[EvaluationRecord]) -> None:
    old = read(path)
    if path.name in REFUSED:
        with pytest.raises(CardError) as error:
            propose_card(old, records, repo_id=REPO_ID, space_url=SPACE_URL)
        assert error.value.reason == REFUSED[path.name]
        return

    change = propose_card(old, records, repo_id=REPO_ID, space_url=SPACE_URL)
    assert change.changed
    new_card = ModelCard(change.text)

    # Our results are there, once, and never marked verified.
    ours = [r for r in new_card.data.eval_results if r.source_name == "evalbot"]
    assert len(ours) == 4
    assert all(r.verified is None and r.verify_token is None for r in ours)
    # The author's results, as huggingface_hub reads them, are kept.
    old_results = ModelCard(old, ignore_metadata_errors=True).data.eval_results or []
    assert [r for r in new_card.data.eval_results if r.source_name != "evalbot"] == old_results

    # Other front-matter keys are kept (null values aside: huggingface_hub drops those).
    old_front, old_body = split(old)
    new_front, new_body = split(change.text)
    for key, value in old_front.items():
        if key != "model-index" and value is not None:
            assert new_front[key] == value, key

    # The body is kept byte for byte; our section follows it after a blank line.
    newline = "\r\n" if old.count("\r\n") == old.count("\n") > 0 else "\n"
    assert new_body.startswith(old_body)
    added = new_body[len(old_body) :]
    assert added.lstrip("\r\n").startswith(START)
    assert added.endswith(END + newline)
    assert (old_body + added[: added.index(START)]).endswith(2 * newline) or not old_body
    assert change.text.count(START) == change.text.count(END) == 1
    if newline == "\r\n":
        assert change.text.count("\r\n") == change.text.count("\n")

    # A second run with the same records proposes nothing.
    again = propose_card(change.text, records, repo_id=REPO_ID, space_url=SPACE_URL)
    assert not again.changed
    assert again.text == change.text


def test_crlf_card_stays_crlf(records: list[EvaluationRecord]) -> None:
    old = read(CARDS / "04-distilbert-sst2-crlf.md")
    assert old.count("\r\n") == old.count("\n")

    text = propose_card(old, records, repo_id=REPO_ID, space_url=SPACE_URL).text

    assert text.count("\r\n") == text.count("\n") > old.count("\n")
    assert f"{START}\r\n\r\n## Evaluation results (evalbot)\r\n" in text


def test_refused_and_edited_counts(records: list[EvaluationRecord]) -> None:
    refused = 0
    for path in PATHS:
        try:
            propose_card(read(path), records, repo_id=REPO_ID, space_url=SPACE_URL)
        except CardError:
            refused += 1
    assert (len(PATHS) - refused, refused) == (30, 10)
