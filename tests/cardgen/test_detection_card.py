"""Detection results on a card: COCO AP in model-index, a COCO summary and per-class AP."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from huggingface_hub import ModelCard

from bot.verify import Status, check_card
from cardgen.card import propose_card
from cardgen.pr import pr_body
from cardgen.signing import Signer
from store.types import ClassResult, EvaluationRecord
from tests.cardgen.conftest import emotion_record

REPO = "acme/detr-shapes"
SPACE = "https://huggingface.co/spaces/evalbot/explorer"
COCO = {
    "ap": 0.4321, "ap50": 0.71, "ap75": 0.45, "ap_small": None, "ap_medium": 0.3,
    "ap_large": 0.5, "ar1": 0.3, "ar10": 0.5, "ar100": 0.55,
}  # fmt: skip


def detection_records() -> list[EvaluationRecord]:
    classes = (
        ClassResult(0, "circle", 8, 2, 1, 9, 0.8, 0.889, 0.842, metrics={"ap": 0.6, "ap50": 0.9, "ar100": 0.7}),
        ClassResult(1, "square", 0, 0, 0, 0, None, None, None, metrics={"ap": None}),
    )  # fmt: skip
    original = dataclasses.replace(
        emotion_record(model_id=REPO),
        task="object-detection",
        module_id="shapes",
        dataset_id="demo/shapes",
        dataset_name="Shapes",
        dataset_config=None,
        split="val",
        metrics=COCO,
        classes=classes,
        label_mapping={},
    )
    flipped = dataclasses.replace(original, variant="flipped", metrics={**COCO, "ap": 0.3321})
    return [original, flipped]


def test_detection_card_section_and_pr(tmp_path: Path) -> None:
    signer = Signer.load_or_create(tmp_path / "key.pem")
    records = detection_records()
    change = propose_card(None, records, repo_id=REPO, space_url=SPACE, signer=signer)
    card = ModelCard(change.text)
    ours = [(r.metric_type, r.metric_args, r.metric_value) for r in card.data.eval_results or []]
    assert ours == [("mAP", {"iou": "0.50:0.95"}, 0.4321), ("mAP", {"iou": "0.50"}, 0.71)]
    checks = check_card(change.text, repo_id=REPO, public_keys={signer.key_id: signer.public_key})
    assert [c.status for c in checks] == [Status.OK, Status.OK]
    lines = change.text.splitlines()
    assert "| AP (IoU 0.50:0.95) | 0.4321 | n/a |" in lines
    assert "| AP small | n/a | n/a |" in lines
    assert "| `circle` | 0.600 | 0.900 | 0.700 | 9 | 8 | 2 | 1 |" in lines
    assert "| `square` | n/a | n/a | n/a | 0 | 0 | 0 | 0 |" in lines
    assert "| `flipped` | 0.3321 | -10.0 points | 0.7100 |" in lines
    assert "| accuracy |" not in change.text
    body = pr_body(change, records, repo_id=REPO, space_url=SPACE, code_version="0.1.0")
    assert "| dataset | split | AP | AP50 | AP75 | AR100 |" in body
    assert "| `demo/shapes` | `val` | 0.4321 | 0.7100 | 0.4500 | 0.5500 |" in body
    assert "| accuracy |" not in body
