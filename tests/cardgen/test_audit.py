"""Claims audit: the card's self-reported values next to ours, and the PR section listing them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from cardgen.audit import Claim, audit, claims_to_dicts, verdict
from cardgen.card import propose_card
from cardgen.pr import pr_body
from store.types import EvaluationRecord, Interval
from tests.cardgen.test_cardgen_corpus import CARDS, PATHS, REFUSED, read
from tests.cardgen.test_detection_card import REPO as DETECTOR
from tests.cardgen.test_detection_card import detection_records

MakeRecords = Callable[..., list[EvaluationRecord]]

REPO_ID = "acme/distilbert-emotion"
SPACE_URL = "https://huggingface.co/spaces/evalbot/results"
# measured (conftest): accuracy 0.8, macro F1 0.7619, macro precision 0.875, macro recall 0.75
INTERVALS = {"accuracy": Interval(0.7, 0.9), "macro_f1": Interval(0.65, 0.85)}


@pytest.fixture
def records(make_records: MakeRecords) -> list[EvaluationRecord]:
    return make_records(intervals=INTERVALS)


@pytest.fixture
def detection() -> list[EvaluationRecord]:
    return detection_records()


def card(*metrics: dict[str, Any], dataset: dict[str, Any] | None = None) -> str:
    """A card with one self-reported result on ``dataset`` (default: dair-ai/emotion, test)."""
    dataset = dataset or {"name": "Emotion", "type": "dair-ai/emotion", "split": "test"}
    front = {
        "license": "mit",
        "model-index": [
            {
                "name": "distilbert-emotion",
                "results": [
                    {
                        "task": {"type": "text-classification"},
                        "dataset": dataset,
                        "metrics": list(metrics),
                    }
                ],
            }
        ],
    }
    return f"---\n{yaml.safe_dump(front, sort_keys=False)}---\n# A model\n"


def one(text: str, records: list[EvaluationRecord]) -> Claim:
    claims = audit(text, records)
    assert len(claims) == 1, claims
    return claims[0]


def test_agrees_within_the_interval(records: list[EvaluationRecord]) -> None:
    claim = one(card({"type": "accuracy", "value": 0.85}), records)

    assert claim == Claim(
        dataset="dair-ai/emotion",
        split="test",
        metric="accuracy",
        claimed=0.85,
        measured=0.8,
        low=0.7,
        high=0.9,
        verdict="agrees",
        note="",
    )
    assert claim.agrees


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.93, "claims 13.0 points more than measured"),
        (0.6, "claims 20.0 points less than measured"),
        (0.9234, "claims 12.3 points more than measured"),
    ],
)
def test_differs_by_points(value: float, expected: str, records: list[EvaluationRecord]) -> None:
    claim = one(card({"type": "accuracy", "value": value}), records)

    assert claim.verdict == expected
    assert not claim.agrees


def test_verdict_without_an_interval_allows_rounding() -> None:
    assert verdict(0.8, 0.8034, None, None) == "agrees (within rounding)"
    assert verdict(0.805, 0.8, None, None) == "agrees (within rounding)"
    assert verdict(0.81, 0.8, None, None) == "claims 1.0 points more than measured"
    assert verdict(0.79, 0.8, None, None) == "claims 1.0 points less than measured"
    # A narrow interval (a large test set) still lets a rounded claim agree.
    assert verdict(0.80, 0.8034, 0.802, 0.805) == "agrees (within rounding)"
    assert verdict(0.79, 0.8034, 0.802, 0.805) == "claims 1.3 points less than measured"
    assert verdict(0.8, 0.8, 0.8, 0.8) == "agrees"


@pytest.mark.parametrize(
    ("value", "claimed", "note"),
    [
        (85.0, 0.85, "given as a percentage (85.0); read as 0.85"),
        (94.13, 0.9413, "given as a percentage (94.13); read as 0.9413"),
        ("85%", 0.85, "given as a percentage (`85%`); read as 0.85"),
        ("0.85", 0.85, ""),
        (1, 1.0, ""),
    ],
)
def test_percentages_are_normalised(
    value: object, claimed: float, note: str, records: list[EvaluationRecord]
) -> None:
    claim = one(card({"type": "accuracy", "value": value}), records)

    assert claim.claimed == claimed
    assert claim.note == note


@pytest.mark.parametrize(
    "value", [None, "0,857", "500.00 +/- 0.00", [], {"f1": 0.8}, 250, -1, True]
)
def test_values_that_are_not_fractions_are_skipped(
    value: object, records: list[EvaluationRecord]
) -> None:
    assert audit(card({"type": "accuracy", "value": value}), records) == []


def test_no_split_is_compared_with_ours_and_said(
    make_records: MakeRecords, records: list[EvaluationRecord]
) -> None:
    dataset = {"name": "Emotion", "type": "dair-ai/emotion"}
    claim = one(card({"type": "accuracy", "value": 0.85}, dataset=dataset), records)
    assert claim.split == "test"
    assert claim.note == "the card gives no split; compared with our test split"

    both = records + make_records(split="validation", metrics={"accuracy": 0.5})
    assert one(card({"type": "accuracy", "value": 0.85}, dataset=dataset), both).split == "test"

    named = {"type": "accuracy", "value": 0.5, "name": "Validation Accuracy"}
    claim = one(card(named, dataset=dataset), both)
    assert (claim.split, claim.measured, claim.verdict) == (
        "validation",
        0.5,
        "agrees (within rounding)",
    )
    assert "its metric name `Validation Accuracy` says validation" in claim.note
    assert audit(card(named, dataset=dataset), records) == []  # we have no validation result


@pytest.mark.parametrize(
    "text",
    [
        None,
        "# No front matter\n",
        "---\nlicense: mit\n---\n# No model-index\n",
        card({"type": "accuracy", "value": 0.8}, dataset={"name": "X", "type": "imdb"}),
        card({"type": "accuracy", "value": 0.8}, dataset={"name": "X", "type": "other/emotion"}),
        card(
            {"type": "accuracy", "value": 0.8},
            dataset={"name": "E", "type": "dair-ai/emotion", "split": "train"},
        ),
        card({"type": "wer", "value": 0.8}, {"type": "bleu", "value": 30.2}),
    ],
)
def test_no_claims(text: str | None, records: list[EvaluationRecord]) -> None:
    assert audit(text, records) == []


def test_our_own_results_are_not_claims(records: list[EvaluationRecord]) -> None:
    text = propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL).text
    assert audit(text, records) == []


@pytest.mark.parametrize(
    ("metric", "key", "note"),
    [
        ({"type": "f1", "args": {"average": "macro"}}, "macro_f1", ""),
        ({"type": "F1", "args": "macro"}, "macro_f1", ""),
        ({"type": "f1", "name": "F1 Macro"}, "macro_f1", ""),
        (
            {"type": "f1"},
            "macro_f1",
            "the card gives no average for f1; compared with our macro f1",
        ),
        ({"type": "precision", "args": {"average": "macro"}}, "macro_precision", ""),
        ({"type": "recall", "args": {"average": "macro"}}, "macro_recall", ""),
        ({"type": "accuracy", "args": {"normalize": True}}, "accuracy", ""),
        ({"type": "f1", "args": {"average": "weighted"}}, None, ""),
        ({"type": "f1", "args": {"average": "micro"}}, None, ""),
        ({"type": "precision", "name": "Precision Micro"}, None, ""),
        ({"type": "recall", "name": "Recall Weighted"}, None, ""),
        ({"type": "matthews_correlation"}, None, ""),
    ],
)
def test_metric_args_mapping(
    metric: dict[str, Any], key: str | None, note: str, records: list[EvaluationRecord]
) -> None:
    claims = audit(card({**metric, "value": 0.8}), records)

    assert [c.metric for c in claims] == ([key] if key else [])
    if key:
        assert claims[0].note == note


def test_metrics_without_an_interval_use_rounding(records: list[EvaluationRecord]) -> None:
    claims = audit(
        card(
            {"type": "precision", "args": {"average": "macro"}, "value": 0.8774},
            {"type": "recall", "args": {"average": "macro"}, "value": 0.9},
        ),
        records,
    )

    assert [(c.metric, c.low, c.high, c.verdict) for c in claims] == [
        ("macro_precision", None, None, "agrees (within rounding)"),
        ("macro_recall", None, None, "claims 15.0 points more than measured"),
    ]


def test_legacy_dataset_name_and_other_config_are_noted(records: list[EvaluationRecord]) -> None:
    dataset = {"name": "emotion", "type": "emotion", "config": "default", "split": "test"}
    claim = one(card({"type": "accuracy", "value": 0.8}, dataset=dataset), records)

    assert claim.dataset == "dair-ai/emotion"
    assert (
        claim.note
        == "the card names the dataset `emotion`; the card's config `default` is not ours"
    )


def test_real_card_with_self_reported_and_hub_verified_results(
    records: list[EvaluationRecord],
) -> None:
    text = read(CARDS / "02-roberta-base-emotion-verified.md")
    claims = audit(text, records)

    # The "Validation" results (94.1 / 94.13, percentages, no split) name a split we lack; the
    # Hub-verified test results are compared, micro and weighted averages left out.
    assert [(c.metric, c.claimed, c.verdict) for c in claims] == [
        ("accuracy", 0.931, "claims 13.1 points more than measured"),
        ("macro_precision", 0.8833042147663716, "claims 0.8 points more than measured"),
        ("macro_recall", 0.9087144572668905, "claims 15.9 points more than measured"),
        ("macro_f1", 0.8949974527433656, "claims 13.3 points more than measured"),
    ]


def test_corpus_cards_audit_without_errors(records: list[EvaluationRecord]) -> None:
    for path in PATHS:
        if path.name not in REFUSED:
            for claim in audit(read(path), records):
                assert 0 <= claim.claimed <= 1


def test_claims_to_dicts(records: list[EvaluationRecord]) -> None:
    claims = audit(card({"type": "accuracy", "value": 0.93}), records)

    assert claims_to_dicts(claims) == [
        {
            "dataset": "dair-ai/emotion",
            "split": "test",
            "metric": "accuracy",
            "claimed": 0.93,
            "measured": 0.8,
            "low": 0.7,
            "high": 0.9,
            "verdict": "claims 13.0 points more than measured",
            "note": "",
            "task": "text-classification",
            "agrees": False,
        }
    ]


def test_pr_body_lists_claims(records: list[EvaluationRecord]) -> None:
    existing = card(
        {"type": "accuracy", "value": 93.0},
        {"type": "recall", "args": {"average": "macro"}, "value": 0.75},
    )
    change = propose_card(existing, records, repo_id=REPO_ID, space_url=SPACE_URL)
    claims = audit(existing, records)
    body = pr_body(
        change,
        records,
        repo_id=REPO_ID,
        space_url=SPACE_URL,
        code_version="0.1.0",
        claims=claims,
    )

    assert "## Self-reported results" in body
    assert (
        "| `dair-ai/emotion` | `test` | accuracy | 0.9300 | 0.8000 | 0.7000–0.9000 "
        "| claims 13.0 points more than measured "
        "| given as a percentage (93.0); read as 0.93 |"
    ) in body
    assert (
        "| `dair-ai/emotion` | `test` | recall (macro) | 0.7500 | 0.7500 | n/a "
        "| agrees (within rounding) |  |"
    ) in body
    assert body.index("## Headline numbers") < body.index("## Self-reported results")
    assert body.index("## Self-reported results") < body.index("## What this PR changes")


def test_pr_body_without_claims_has_no_section(records: list[EvaluationRecord]) -> None:
    change = propose_card(None, records, repo_id=REPO_ID, space_url=SPACE_URL)
    body = pr_body(change, records, repo_id=REPO_ID, space_url=SPACE_URL, code_version="0.1.0")

    assert "Self-reported" not in body
    assert "verifyToken" not in change.text  # evalbot's values carry no token
    assert "\n\n\n" not in body


# --- detection: the Hub's COCO ids, and the older `mAP` with its IoU in args ------------------

SHAPES = {"name": "Shapes", "type": "demo/shapes", "split": "val"}


@pytest.mark.parametrize(
    ("metric", "key", "note"),
    [
        ({"type": "map"}, "ap", ""),
        ({"type": "map_50"}, "ap50", ""),
        ({"type": "map_75"}, "ap75", ""),
        ({"type": "mar_100"}, "ar100", ""),
        ({"type": "map_medium", "name": "mAP (medium objects)"}, "ap_medium", ""),
        ({"type": "map_small"}, None, ""),  # we measured none: no small objects
        ({"type": "mAP", "args": {"iou": "0.50:0.95"}}, "ap", ""),
        ({"type": "mAP", "args": {"iou": "0.50"}}, "ap50", ""),
        ({"type": "mAP", "args": {"iou": 0.75}}, "ap75", ""),
        ({"type": "mAP", "args": "0.5"}, "ap50", ""),
        ({"type": "mAP50"}, "ap50", ""),
        ({"type": "mAP@0.5:0.95"}, "ap", ""),
        ({"type": "mAP", "name": "mAP@[.5:.05:.95]"}, "ap", ""),
        ({"type": "mAP", "name": "mAP @ IoU 0.75"}, "ap75", ""),
        (
            {"type": "mAP"},
            "ap",
            "the card gives no IoU for `mAP`; compared with our AP (IoU 0.50:0.95)",
        ),
        ({"type": "mAP", "args": {"iou": "0.6"}}, None, ""),
        ({"type": "mAP", "name": "COCO 2017 mAP"}, None, ""),
        ({"type": "map_coco"}, None, ""),
    ],
)
def test_detection_metric_ids(
    metric: dict[str, Any], key: str | None, note: str, detection: list[EvaluationRecord]
) -> None:
    claims = audit(card({**metric, "value": 0.4}, dataset=SHAPES), detection)

    assert [c.metric for c in claims] == ([key] if key else [])
    if key:
        assert claims[0].note == note


def test_detector_card_claims_against_measured_ap(detection: list[EvaluationRecord]) -> None:
    # measured (test_detection_card): ap 0.4321, ap50 0.71, ap75 0.45
    existing = card(
        {"type": "map", "value": 43.2, "name": "mAP"},
        {"type": "map_50", "value": 0.80, "name": "mAP@50"},
        {"type": "map_75", "value": 0.451},
        dataset=SHAPES,
    )
    claims = audit(existing, detection)

    assert [(c.metric, c.claimed, c.measured, c.low, c.verdict) for c in claims] == [
        ("ap", 0.432, 0.4321, None, "agrees (within rounding)"),
        ("ap50", 0.8, 0.71, None, "claims 9.0 points more than measured"),
        ("ap75", 0.451, 0.45, None, "agrees (within rounding)"),
    ]
    change = propose_card(existing, detection, repo_id=DETECTOR, space_url=SPACE_URL)
    body = pr_body(
        change,
        detection,
        repo_id=DETECTOR,
        space_url=SPACE_URL,
        code_version="0.1.0",
        claims=claims,
    )
    assert (
        "| `demo/shapes` | `val` | AP (IoU 0.50) | 0.8000 | 0.7100 | n/a "
        "| claims 9.0 points more than measured |  |"
    ) in body


def test_detection_ids_are_no_claim_on_a_classifier(records: list[EvaluationRecord]) -> None:
    assert (
        audit(card({"type": "map", "value": 0.8}, {"type": "map_50", "value": 0.9}), records) == []
    )
