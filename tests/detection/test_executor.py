"""Object detection through the Executor: the sandbox's COCO stand-in and two tiny detectors,
every configured variant, results stored and read back, AP checked against pycocotools."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from huggingface_hub import HfApi
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from transformers import AutoImageProcessor, AutoModelForObjectDetection

from bot.discovery import to_record
from evaluators.config import load_module
from evaluators.detection_labels import COCO_CATEGORY_IDS
from evaluators.executor import EvaluationTask, Executor
from evaluators.object_detection import DetectionSplit
from perturbations import get
from sandbox.world import World
from sandbox.world_detection import COCO_ID, DETR_ID, YOLOS_ID
from store.db import Store

ROOT = Path(__file__).resolve().parents[2]
COCO_MODULE = load_module(ROOT / "config" / "tasks" / "object-detection" / "coco.yaml")
METRIC_ORDER = ("ap", "ap50", "ap75", "ap_small", "ap_medium", "ap_large", "ar1", "ar10", "ar100")


def independent_stats(repo_id: str, revision: str) -> np.ndarray:
    """transformers' own processor on PIL images, post-processed, scored by pycocotools."""
    processor = AutoImageProcessor.from_pretrained(repo_id)
    model = AutoModelForObjectDetection.from_pretrained(repo_id).eval()
    data = datasets.load_dataset(COCO_ID, split="val", revision=revision)
    annotations, results = [], []
    for i, row in enumerate(data):
        for obj in row["objects"]:
            x1, y1, x2, y2 = obj["bbox"]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i + 1,
                    "iscrowd": 0,
                    "area": obj["area"],
                    "category_id": COCO_CATEGORY_IDS[obj["category"]],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                }
            )
        image = row["image"].convert("RGB")
        with torch.no_grad():
            outputs = model(**processor(images=[image], return_tensors="pt"))
        (found,) = processor.post_process_object_detection(
            outputs, threshold=0.0, target_sizes=[(image.height, image.width)]
        )
        for box, label, score in zip(found["boxes"], found["labels"], found["scores"], strict=True):
            name = model.config.id2label[int(label)]
            if name == "N/A":
                continue
            x1, y1, x2, y2 = box.tolist()
            category = COCO_CATEGORY_IDS[list(COCO_MODULE.dataset.labels).index(name)]
            results.append(
                {
                    "image_id": i + 1,
                    "category_id": category,
                    "score": float(score),
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                }
            )
    gt = COCO()
    gt.dataset = {
        "images": [{"id": i + 1} for i in range(len(data))],
        "annotations": annotations,
        "categories": [{"id": c} for c in COCO_CATEGORY_IDS],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        evaluator = COCOeval(gt, gt.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return np.asarray(evaluator.stats[:9])


@pytest.mark.parametrize("repo_id", [DETR_ID, YOLOS_ID])
def test_detectors_are_evaluated_on_every_variant_and_stored(
    world: World, store: Store, repo_id: str
) -> None:
    api = HfApi()
    model = to_record(api.model_info(repo_id))
    assert model.pipeline_tag == "object-detection" and COCO_ID in model.datasets
    executor = Executor([COCO_MODULE], api=api, store=store)
    report = executor.evaluate(model)
    expected = {"original", *(p.variant_id for p in COCO_MODULE.variants())}
    assert {r.variant for r in report.records} == expected
    for record in report.records:
        store.save_result(record)
    for split in report.splits:
        store.upsert_split(split)
    stored = {r.variant: r for r in store.results_for(repo_id, model.sha)}
    assert set(stored) == expected
    clean = stored["original"]
    assert clean.task == "object-detection" and clean.num_examples == 48
    assert set(METRIC_ORDER) <= set(clean.metrics) and clean.metrics["ap"] is not None
    assert len(clean.classes) == 80
    shapes = {c.label: c for c in clean.classes if c.support}
    assert set(shapes) == {"sports ball", "book", "kite"}
    assert all(c.metrics["ap"] is not None for c in shapes.values())
    assert all(c.metrics["ap"] is None for c in clean.classes if not c.support)
    assert sum(c.tp + c.fn for c in shapes.values()) == sum(c.support for c in shapes.values())
    errors = clean.detection_errors
    assert errors and {e.kind for e in errors} <= {"false positive", "missed"}
    assert sum(e.kind == "missed" for e in errors) == sum(c.fn for c in clean.classes)
    made = next(r for r in report.records if r.variant == "original")
    assert clean == dataclasses.replace(made, created_at=clean.created_at)  # stored as made
    assert len(clean.label_mapping) == 80 and "N/A" not in clean.label_mapping
    assert clean.runtime.instances_per_s > 0
    # the same split and model scored independently: transformers + pycocotools
    ours = np.array([-1.0 if clean.metrics[m] is None else clean.metrics[m] for m in METRIC_ORDER])
    assert np.abs(ours - independent_stats(repo_id, clean.dataset_revision)).max() < 1e-4
    # nothing left to do on a second run
    again = executor.plan(model)
    assert again[0] == [] and len(again[1]) == len(expected)


def test_flipped_split_moves_the_ground_truth(world: World, store: Store) -> None:
    executor = Executor([COCO_MODULE], api=HfApi(), store=store)
    revision = HfApi().dataset_info(COCO_ID).sha
    assert revision is not None
    clean = executor.split(EvaluationTask(COCO_MODULE, revision))
    flipped = executor.split(EvaluationTask(COCO_MODULE, revision, get("flipped")))
    assert isinstance(clean, DetectionSplit) and isinstance(flipped, DetectionSplit)
    for before, after in zip(clean.targets, flipped.targets, strict=True):
        assert np.allclose(after.boxes[:, [1, 3]], 96 - before.boxes[:, [3, 1]])
        assert np.array_equal(after.boxes[:, [0, 2]], before.boxes[:, [0, 2]])
    assert sum(clean.class_counts(80)) == sum(len(t.labels) for t in clean.targets) > 48
