"""Detection results on a card: COCO AP in model-index, a COCO summary and per-class AP."""

from __future__ import annotations

import dataclasses

import yaml
from huggingface_hub import ModelCard

from cardgen.card import propose_card
from cardgen.pr import pr_body
from evaluators.coco import METRICS as COCO_KEYS
from store.catalogue import metric_documents, task
from store.types import ClassResult, EvaluationRecord
from tests.cardgen.conftest import emotion_record

REPO = "acme/detr-shapes"
SPACE = "https://huggingface.co/spaces/evalbot/explorer"
COCO = {
    "ap": 0.4321, "ap50": 0.71, "ap75": 0.45, "ap_small": None, "ap_medium": 0.3,
    "ap_large": 0.5, "ar1": 0.3, "ar10": 0.5, "ar100": 0.55, "ar_small": None,
    "ar_medium": 0.35, "ar_large": 0.6,
}  # fmt: skip
# torchmetrics' MeanAveragePrecision keys, which transformers' object-detection example reports
TORCHMETRICS_MAP = [
    "map", "map_50", "map_75", "map_small", "map_medium", "map_large",
    "mar_1", "mar_10", "mar_100", "mar_small", "mar_medium", "mar_large",
]  # fmt: skip


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


def test_detection_card_section_and_pr() -> None:
    records = detection_records()
    change = propose_card(None, records, repo_id=REPO, space_url=SPACE)
    card = ModelCard(change.text)
    ours = [(r.metric_type, r.metric_args, r.metric_value) for r in card.data.eval_results or []]
    assert ours == [
        ("map", None, 0.4321),
        ("map_50", None, 0.71),
        ("map_75", None, 0.45),
        ("mar_100", None, 0.55),
    ]
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
    assert "| AP small | n/a | n/a |" in lines and "| AR large | 0.6000 | n/a |" in lines


def test_model_index_names_and_ids() -> None:
    change = propose_card(None, detection_records(), repo_id=REPO, space_url=SPACE)
    front = yaml.safe_load(change.text.split("---")[1])
    (result,) = front["model-index"][0]["results"]
    assert result["task"] == {"type": "object-detection", "name": "Object Detection"}
    assert result["dataset"]["type"] == "demo/shapes" and result["dataset"]["split"] == "val"
    assert [(m["type"], m["name"]) for m in result["metrics"]] == [
        ("map", "AP (IoU 0.50:0.95)"),
        ("map_50", "AP (IoU 0.50)"),
        ("map_75", "AP (IoU 0.75)"),
        ("mar_100", "AR (100 detections)"),
    ]
    assert all("args" not in m for m in result["metrics"])


def test_older_map_entries_of_evalbot_are_replaced() -> None:
    # A card evalbot wrote before the Hub ids: two `mAP` metrics told apart by `args`.
    old = {
        "task": {"type": "object-detection"},
        "dataset": {"name": "Shapes", "type": "demo/shapes", "split": "val"},
        "metrics": [
            {
                "type": "mAP",
                "value": 0.4,
                "name": "AP (IoU 0.50:0.95)",
                "args": {"iou": "0.50:0.95"},
            },
            {"type": "mAP", "value": 0.7, "name": "AP (IoU 0.50)", "args": {"iou": "0.50"}},
        ],
        "source": {"name": "evalbot", "url": SPACE},
    }
    front = {"model-index": [{"name": "detr-shapes", "results": [old]}]}
    existing = f"---\n{yaml.safe_dump(front, sort_keys=False)}---\n# detr-shapes\n"
    change = propose_card(existing, detection_records(), repo_id=REPO, space_url=SPACE)
    types = [r.metric_type for r in ModelCard(change.text).data.eval_results or []]
    assert types == ["map", "map_50", "map_75", "mar_100"]


def test_catalogue_speaks_hub_ids_for_every_coco_number() -> None:
    detection = task("object-detection").metrics
    assert [m.key for m in detection] == list(COCO_KEYS)
    assert [m.hub_type for m in detection] == TORCHMETRICS_MAP
    entries = {m["name"]: m for m in metric_documents() if m["tasks"] == ["object-detection"]}
    assert list(entries) == TORCHMETRICS_MAP
    assert [e["key"] for e in entries.values()] == list(COCO_KEYS)
