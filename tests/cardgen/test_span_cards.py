"""Cards, PRs and the claims audit for the span tasks: every name and layout comes from the
catalogue entry of the result's task (token classification, extractive QA)."""

from __future__ import annotations

import dataclasses

import yaml
from huggingface_hub import ModelCard

from cardgen.audit import audit
from cardgen.card import propose_card
from cardgen.pr import pr_body
from store.types import ClassResult, EvaluationRecord
from tests.cardgen.conftest import emotion_record

SPACE = "https://huggingface.co/spaces/evalbot/results"
REPO = "acme/bert-ner"


def ner_record(**changes: object) -> EvaluationRecord:
    record = dataclasses.replace(
        emotion_record(),
        model_id=REPO,
        task="token-classification",
        module_id="conll2003",
        dataset_id="eriktks/conll2003",
        dataset_name="CoNLL-2003",
        dataset_config=None,
        num_examples=3453,
        metrics={
            "overall_f1": 0.9012,
            "overall_precision": 0.8953,
            "overall_recall": 0.9072,
            "overall_accuracy": 0.9811,
            "macro_f1": 0.8744,
            "weighted_f1": 0.9001,
        },
        classes=(
            ClassResult(0, "PER", 1560, 70, 57, 1617, 0.957, 0.9647, 0.9608),
            ClassResult(1, "ORG", 1450, 240, 211, 1661, 0.858, 0.873, 0.8654),
            ClassResult(2, "LOC", 0, 0, 0, 0, None, None, None),
        ),
        label_mapping={"B-PER": "B-PER"},
    )
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


def qa_record() -> EvaluationRecord:
    return dataclasses.replace(
        emotion_record(),
        model_id="acme/bert-squad",
        task="question-answering",
        module_id="squad",
        dataset_id="rajpurkar/squad",
        dataset_name="SQuAD",
        dataset_config=None,
        split="validation",
        num_examples=10570,
        metrics={"exact_match": 0.8112, "f1": 0.8845},
        classes=(
            ClassResult(
                0, "answer: number", 800, 0, 200, 1000, None, None, None, {"exact_match": 0.8}
            ),
            ClassResult(1, "question: who", 90, 0, 10, 100, None, None, None, {"f1": 0.95}),
        ),
        label_mapping={},
    )


def claimed(metric: dict[str, object], dataset: str = "conll2003") -> str:
    front = {
        "model-index": [
            {
                "name": "bert-ner",
                "results": [
                    {
                        "task": {"type": "token-classification"},
                        "dataset": {"name": "conll2003", "type": dataset, "split": "test"},
                        "metrics": [metric],
                    }
                ],
            }
        ]
    }
    return f"---\n{yaml.safe_dump(front, sort_keys=False)}---\n# bert-ner\n"


def test_a_ner_card_carries_entity_scores_under_the_hubs_ids() -> None:
    change = propose_card(None, [ner_record()], repo_id=REPO, space_url=SPACE)

    results = ModelCard(change.text).data.eval_results or []
    assert [(r.metric_type, r.metric_name, r.metric_value) for r in results] == [
        ("f1", "F1 (entities)", 0.9012),
        ("precision", "Precision (entities)", 0.8953),
        ("recall", "Recall (entities)", 0.9072),
        ("accuracy", "Accuracy (words)", 0.9811),
    ]
    assert "| entity type | precision | recall | F1 | entities | TP | FP | FN |" in change.text
    assert "| `PER` | 0.957 | 0.965 | 0.961 | 1,617 | 1,560 | 70 | 57 |" in change.text
    assert "| `LOC` | n/a | n/a | n/a | 0 | 0 | 0 | 0 |" in change.text
    assert "| F1 (macro over entity types) | 0.8744 |" in change.text


def test_a_qa_card_shows_exact_match_and_groups() -> None:
    change = propose_card(None, [qa_record()], repo_id="acme/bert-squad", space_url=SPACE)

    results = ModelCard(change.text).data.eval_results or []
    assert [(r.metric_type, r.metric_value) for r in results] == [
        ("exact_match", 0.8112),
        ("f1", 0.8845),
    ]
    assert "| group | exact match | F1 | questions | TP | FP | FN |" in change.text
    assert "| `answer: number` | 0.800 | n/a | 1,000 |" in change.text


def test_a_self_reported_conll2003_f1_is_audited_against_entity_f1() -> None:
    records = [ner_record()]

    (claim,) = audit(claimed({"type": "f1", "value": 0.95}), records)
    assert (claim.dataset, claim.metric, claim.claimed, claim.measured) == (
        "eriktks/conll2003",
        "overall_f1",
        0.95,
        0.9012,
    )
    assert claim.verdict == "claims 4.9 points more than measured"
    (percent,) = audit(claimed({"type": "accuracy", "value": 98.1}), records)
    assert (percent.metric, percent.verdict) == ("overall_accuracy", "agrees (within rounding)")
    assert audit(claimed({"type": "f1", "value": 0.9}, dataset="wnut_17"), records) == []

    change = propose_card(
        claimed({"type": "f1", "value": 0.95}), records, repo_id=REPO, space_url=SPACE
    )
    body = pr_body(
        change,
        records,
        repo_id=REPO,
        space_url=SPACE,
        code_version="1",
        claims=[claim],
    )
    assert "| dataset | split | F1 | precision | recall | word accuracy |" in body
    assert "| `eriktks/conll2003` | `test` | F1 (entities) | 0.9500 | 0.9012 |" in body
