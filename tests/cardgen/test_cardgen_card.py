"""propose_card on hand-written cards: fresh cards, re-runs, merges and refusals."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from huggingface_hub import ModelCard

from cardgen.card import propose_card
from cardgen.errors import CardError, Refusal
from cardgen.section import END, START
from store.types import EvaluationRecord

MakeRecords = Callable[..., list[EvaluationRecord]]

REPO_ID = "acme/distilbert-emotion"
SPACE_URL = "https://huggingface.co/spaces/evalbot/results"

AUTHOR_CARD = """\
---
license: apache-2.0
tags:
- generated_from_trainer
model-index:
- name: distilbert-emotion
  results:
  - task:
      type: text-classification
      name: Text Classification
    dataset:
      name: emotion
      type: emotion
      split: validation
    metrics:
    - type: accuracy
      value: 0.9265
      name: Accuracy
---

# distilbert-emotion

Trained by the author. Trailing spaces stay.\x20\x20
\tTabs too.
"""


def ours(card: ModelCard) -> list:
    return [r for r in card.data.eval_results or [] if r.source_name == "evalbot"]


def authors(card: ModelCard) -> list:
    return [r for r in card.data.eval_results or [] if r.source_name != "evalbot"]


def test_fresh_card(records: list[EvaluationRecord]) -> None:
    change = propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL)

    card = ModelCard(change.text)
    assert change.changed
    assert card.data.model_name == "distilbert-emotion"
    assert card.text.startswith("\n# distilbert-emotion\n\n" + START)
    assert card.text.endswith(END + "\n")
    results = ours(card)
    assert {(r.metric_type, r.metric_value) for r in results} == {
        ("accuracy", 0.8),
        ("f1", 0.7619),
        ("precision", 0.875),
        ("recall", 0.75),
    }
    assert {r.dataset_split for r in results} == {"test"}  # the perturbed variant stays off
    result = results[0]
    assert (result.dataset_type, result.dataset_name, result.dataset_config) == (
        "dair-ai/emotion",
        "Emotion",
        "split",
    )
    assert result.dataset_revision == "cab853a1dbdf4c42c2b3ef2173804746df8825fe"
    assert result.task_name == "Text Classification"
    assert result.source_url == f"{SPACE_URL}/?view=model&model={REPO_ID}"
    f1 = next(r for r in results if r.metric_type == "f1")
    assert (f1.metric_name, f1.metric_args) == ("F1 (macro)", {"average": "macro"})


def test_model_index_field_is_our_entries_without_verified(records: list[EvaluationRecord]) -> None:
    change = propose_card(AUTHOR_CARD, records, repo_id=REPO_ID, space_url=SPACE_URL)

    assert len(change.model_index) == 1
    assert change.model_index[0]["source"] == {
        "name": "evalbot",
        "url": f"{SPACE_URL}/?view=model&model={REPO_ID}",
    }
    assert "verified" not in json.dumps(change.model_index)
    assert all(r.verified is None and r.verify_token is None for r in ours(ModelCard(change.text)))


def test_same_records_twice_changes_nothing(records: list[EvaluationRecord]) -> None:
    first = propose_card(AUTHOR_CARD, records, repo_id=REPO_ID, space_url=SPACE_URL)
    second = propose_card(first.text, records, repo_id=REPO_ID, space_url=SPACE_URL)

    assert first.changed
    assert not second.changed
    assert second.text == first.text
    assert second.result_hash == first.result_hash


@pytest.mark.parametrize("existing", [None, AUTHOR_CARD])
def test_new_numbers_replace_ours(existing: str | None, make_records: MakeRecords) -> None:
    text = existing
    for accuracy, split in [(0.5, "test"), (0.6, "validation"), (0.7, "test")]:
        records = make_records(metrics={"accuracy": accuracy}, split=split)
        change = propose_card(text, records, repo_id=REPO_ID, space_url=SPACE_URL)
        assert change.changed
        text = change.text

    assert text is not None
    card = ModelCard(text)
    assert [(r.metric_type, r.metric_value, r.dataset_split) for r in ours(card)] == [
        ("accuracy", 0.7, "test")
    ]
    assert text.count(START) == text.count(END) == 1
    assert text.count("## Evaluation results (evalbot)") == 1
    if existing is not None:
        assert authors(card) == authors(ModelCard(existing))


def test_author_entries_and_keys_kept(records: list[EvaluationRecord]) -> None:
    change = propose_card(AUTHOR_CARD, records, repo_id=REPO_ID, space_url=SPACE_URL)

    card, old = ModelCard(change.text), ModelCard(AUTHOR_CARD)
    assert authors(card) == old.data.eval_results
    assert card.data.model_name == "distilbert-emotion"
    assert card.data.license == "apache-2.0"
    assert card.data.tags == ["generated_from_trainer"]
    old_body = AUTHOR_CARD.split("---\n", 2)[2]
    assert card.text.startswith(old_body + "\n" + START)


def test_section_is_replaced_in_place(records: list[EvaluationRecord]) -> None:
    card = AUTHOR_CARD + f"\n{START}\nold numbers\n{END}\n\n## Citation\n\nKeep me.\n"
    change = propose_card(card, records, repo_id=REPO_ID, space_url=SPACE_URL)

    before, rest = change.text.split(START)
    section, after = rest.split(END)
    assert before.endswith("\tTabs too.\n\n")
    assert "old numbers" not in section
    assert after == "\n\n## Citation\n\nKeep me.\n"


def test_evalbot_results_on_another_dataset_are_replaced(records: list[EvaluationRecord]) -> None:
    old = propose_card(AUTHOR_CARD, records, repo_id=REPO_ID, space_url=SPACE_URL).text
    old = old.replace("dair-ai/emotion", "dair-ai/old-emotion")

    card = ModelCard(propose_card(old, records, repo_id=REPO_ID, space_url=SPACE_URL).text)
    assert {r.dataset_type for r in ours(card)} == {"dair-ai/emotion"}


@pytest.mark.parametrize(
    ("card", "reason"),
    [
        ("---\n- a\n- b\n---\nbody\n", Refusal.NOT_A_MAPPING),
        ("---\ntags:text-classification\n---", Refusal.NOT_A_MAPPING),
        ("---\nlicense: mit\nbody without closing delimiter\n", Refusal.UNCLOSED_FRONT_MATTER),
        ("---\nlicense: mit\nlicense: apache-2.0\n---\n", Refusal.DUPLICATE_KEYS),
        ("---\n1: one\n---\n", Refusal.NON_STRING_KEYS),
        ("---\nvalue: 0.9\t\n---\n", Refusal.INVALID_YAML),
        ("---\nmodel-index: a string\n---\n", Refusal.MALFORMED_MODEL_INDEX),
        ("---\nmodel-index:\n- name: a\n- name: b\n---\n", Refusal.SEVERAL_MODELS),
        ("---\ntags:\n- no-evalbot\n---\n", Refusal.OPTED_OUT),
        ("---\ntags: No-Evalbot\n---\n", Refusal.OPTED_OUT),
        (f"---\nlicense: mit\n---\n{START}\n{START}\n{END}\n", Refusal.UNBALANCED_MARKERS),
        (f"---\nlicense: mit\n---\n{END}\n{START}\n", Refusal.UNBALANCED_MARKERS),
    ],
)
def test_refusals(card: str, reason: Refusal, records: list[EvaluationRecord]) -> None:
    with pytest.raises(CardError) as error:
        propose_card(card, records, repo_id=REPO_ID, space_url=SPACE_URL)
    assert error.value.reason == reason
    assert error.value.repo_id == REPO_ID
    assert isinstance(error.value, ValueError)


def test_norwegian_language_code_stays_a_string(records: list[EvaluationRecord]) -> None:
    card = "---\nlanguage:\n- no\n- nb\nsome_flag: yes\n---\n# Norsk modell\n"
    change = propose_card(card, records, repo_id=REPO_ID, space_url=SPACE_URL)

    data = ModelCard(change.text).data
    assert data.language == ["no", "nb"]
    assert data["some_flag"] == "yes"


def test_card_without_front_matter(records: list[EvaluationRecord]) -> None:
    card = "# A model\n\n---\n\nA horizontal rule above, no front matter.\n"
    change = propose_card(card, records, repo_id=REPO_ID, space_url=SPACE_URL)

    assert ModelCard(change.text).text.startswith(card + "\n" + START)


def test_byte_order_mark_is_dropped(records: list[EvaluationRecord]) -> None:
    change = propose_card("\ufeff" + AUTHOR_CARD, records, repo_id=REPO_ID, space_url=SPACE_URL)

    assert (
        change.text == propose_card(AUTHOR_CARD, records, repo_id=REPO_ID, space_url=SPACE_URL).text
    )


def test_mapping_model_index_becomes_a_list(records: list[EvaluationRecord]) -> None:
    card = "---\nmodel-index:\n  name: early-trainer-card\n---\nbody\n"
    change = propose_card(card, records, repo_id=REPO_ID, space_url=SPACE_URL)

    data = ModelCard(change.text).data
    assert data.model_name == "early-trainer-card"
    assert len(ours(ModelCard(change.text))) == 4


def test_missing_metric_is_left_out(make_records: MakeRecords) -> None:
    records = make_records(metrics={"accuracy": 0.8, "macro_f1": None})
    change = propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL)

    assert [m["type"] for m in change.model_index[0]["metrics"]] == ["accuracy"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"variant": "typos"}, "no result on an original"),
        ({"model_id": "someone/else"}, "not acme/distilbert-emotion"),
    ],
)
def test_inconsistent_records(changes: dict, message: str, make_records: MakeRecords) -> None:
    with pytest.raises(ValueError, match=message):
        propose_card(None, make_records(**changes)[:1], repo_id=REPO_ID, space_url=SPACE_URL)


def test_records_of_two_revisions_or_duplicates(make_records: MakeRecords) -> None:
    with pytest.raises(ValueError, match="several model revisions"):
        records = make_records() + make_records(model_sha="f" * 40)
        propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL)
    with pytest.raises(ValueError, match="several original results"):
        records = make_records() + make_records(dataset_revision="e" * 40)
        propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL)


def test_result_hash_ignores_runtime_time_and_order(make_records: MakeRecords) -> None:
    base = make_records()
    rerun = make_records(runtime=base[0].runtime.__class__(9.0, 1.0, 1000.0, "cuda", 64))
    other = make_records(metrics={**base[0].metrics, "accuracy": 0.81})

    def digest(records: list[EvaluationRecord]) -> str:
        return propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL).result_hash

    assert digest(base) == digest(rerun) == digest(base[::-1])
    assert digest(base) != digest(other)
    assert len(digest(base)) == 64
