"""Object detection: evalbot's COCO evaluation against pycocotools, and the detector pipeline
against its bare forward (CPU).

- COCO evaluation, on the same detections in one run: 500 synthetic images with 80 classes
  (0-12 objects each, some crowd regions, some empty images) and up to 100 detections per image
  (jittered copies of the objects, some with a wrong class, plus noise);
  ``pycocotools``: the COCO dicts, ``COCO`` + ``loadRes``, ``evaluate``, ``accumulate``,
  ``summarize`` and the per-class slices of its ``precision``/``recall``;
  ``evalbot``: ``evaluators.coco.process_detection`` (the same 12 numbers overall and per
  class, plus per-class TP/FP/FN and the error list). The 12 numbers must agree within 1e-4.
- pipeline: a random DETR (transformers ``ResNetConfig`` backbone, 91 COCO ids, 100 queries,
  images resized to 320 on the short side) on the demo world's COCO stand-in (96×96 shapes);
  ``bare``: ``model(**inputs)`` over inputs made by the image processor beforehand;
  ``evalbot``: ``TransformersDetector.detect`` on the uint8 tensors (processor, forward,
  ``post_process_object_detection``, boxes to numpy).

Prints ``BENCH coco_eval_speedup`` (pycocotools time / evalbot time) and
``BENCH detection_vs_forward`` (evalbot images/s / bare forward images/s).
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import datasets
import numpy as np
import torch

from bench.common import Report, fastest, quiet, timed
from evaluators.coco import METRICS, Detections, GroundTruth, process_detection
from evaluators.detection_labels import coco91_id2label
from evaluators.image_classification import to_tensor
from evaluators.object_detection import TransformersDetector
from evaluators.predictions import Options
from sandbox.world_detection import SPLIT, build_detection_world

NUM_CLASSES = 80


def synthetic(images: int, seed: int = 0) -> tuple[list[GroundTruth], list[Detections]]:
    rng = np.random.default_rng(seed)
    truths, found = [], []
    for i in range(images):
        n = 0 if i % 25 == 0 else int(rng.integers(1, 13))
        xy = rng.uniform(0, 560, (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(4, 300, (n, 2))], axis=1)
        labels = rng.integers(0, NUM_CLASSES, n)
        truths.append(GroundTruth.of(boxes, labels, rng.random(n) < 0.03))
        det_boxes = [boxes + rng.normal(0, 6, boxes.shape) for _ in range(4)]
        det_labels = [np.where(rng.random(n) < 0.8, labels, rng.integers(0, NUM_CLASSES, n))]
        det_labels = det_labels * 4
        noise = 100 - 4 * n
        xy = rng.uniform(0, 560, (noise, 2))
        det_boxes.append(np.concatenate([xy, xy + rng.uniform(4, 200, (noise, 2))], axis=1))
        det_labels.append(rng.integers(0, NUM_CLASSES, noise))
        scores = rng.random(100)
        found.append(Detections.of(np.concatenate(det_boxes), np.concatenate(det_labels), scores))
    return truths, found


def pycocotools_eval(
    truths: Sequence[GroundTruth], found: Sequence[Detections]
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """pycocotools from the same arrays: dicts, COCO, loadRes, evaluate, accumulate, summarize."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    annotations: list[dict[str, object]] = []
    results: list[dict[str, object]] = []
    for i, t in enumerate(truths):
        xywh = t.boxes.copy()
        xywh[:, 2:] -= xywh[:, :2]
        for box, label, crowd, area in zip(
            xywh.tolist(),
            t.labels.tolist(),
            t.is_crowd().tolist(),
            t.object_areas().tolist(),
            strict=True,
        ):
            annotations.append(
                {"id": len(annotations) + 1, "image_id": i + 1, "category_id": label + 1,
                 "bbox": box, "area": area, "iscrowd": int(crowd)}
            )  # fmt: skip
    for i, d in enumerate(found):
        xywh = d.boxes.copy()
        xywh[:, 2:] -= xywh[:, :2]
        for box, label, score in zip(
            xywh.tolist(), d.labels.tolist(), d.scores.tolist(), strict=True
        ):
            results.append(
                {"image_id": i + 1, "category_id": label + 1, "bbox": box, "score": score}
            )
    gt = COCO()
    gt.dataset = {
        "images": [{"id": i + 1} for i in range(len(truths))],
        "annotations": annotations,
        "categories": [{"id": k + 1} for k in range(NUM_CLASSES)],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        evaluator = COCOeval(gt, gt.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    precision, recall = evaluator.eval["precision"], evaluator.eval["recall"]
    per_class = []
    for k in range(NUM_CLASSES):
        p = precision[:, :, k, 0, 2]
        r = recall[:, k, 0, 2]
        per_class.append(
            {"ap": float(p[p > -1].mean()) if (p > -1).any() else -1.0,
             "ar100": float(r[r > -1].mean()) if (r > -1).any() else -1.0}
        )  # fmt: skip
    return np.asarray(evaluator.stats), per_class


def coco_speed(report: Report, *, images: int = 500, repeats: int = 3) -> None:
    truths, found = synthetic(images)
    ours = process_detection(truths, found, [str(k) for k in range(NUM_CLASSES)])
    stats, per_class = pycocotools_eval(truths, found)
    mine = np.array([-1.0 if ours.metrics[m] is None else ours.metrics[m] for m in METRICS])
    worst = float(np.abs(mine - stats).max())
    for k, c in enumerate(ours.classes):
        for name in ("ap", "ar100"):
            value = c.metrics[name]
            worst = max(worst, abs((-1.0 if value is None else value) - per_class[k][name]))
    assert worst < 1e-4, f"evalbot and pycocotools differ by {worst}"
    report.note(
        f"coco: AP {ours.metrics['ap']:.4f}, AP50 {ours.metrics['ap50']:.4f}; largest difference "
        f"to pycocotools over the 12 numbers and per-class AP/AR100: {worst:.1e}"
    )
    labels = [str(k) for k in range(NUM_CLASSES)]
    best = fastest(
        {
            "pycocotools": [timed(lambda: pycocotools_eval(truths, found))],
            "evalbot": [timed(lambda: process_detection(truths, found, labels))],
        },
        repeats=repeats,
        budget_s=120,
    )
    report.row("coco", f"pycocotools ({images} images, 100 dets each)", images, best["pycocotools"])
    report.row("coco", "evalbot process_detection (faster-coco-eval)", images, best["evalbot"])
    report.add("coco_eval_speedup", best["pycocotools"] / best["evalbot"])


def build_detr(folder: Path) -> int:
    from transformers import DetrConfig, DetrForObjectDetection, DetrImageProcessor, ResNetConfig

    torch.manual_seed(0)
    id2label = coco91_id2label()
    config = DetrConfig(
        backbone_config=ResNetConfig(
            embedding_size=32,
            hidden_sizes=[32, 64, 128],
            depths=[1, 1, 1],
        ),
        d_model=128,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=256,
        decoder_ffn_dim=256,
        num_queries=100,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items() if v != "N/A"},
    )
    model = DetrForObjectDetection(config).eval()
    model.save_pretrained(folder)
    DetrImageProcessor(size={"shortest_edge": 320, "longest_edge": 512}).save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def pipeline_speed(report: Report, *, batch_size: int = 8, repeats: int = 3) -> None:
    world = build_detection_world()
    files = str(world.datasets[0].path / "data" / f"{SPLIT}-*.parquet")
    data = datasets.load_dataset("parquet", data_files=files, split="train")
    assert isinstance(data, datasets.Dataset)
    images = [to_tensor(image) for image in data["image"]]
    n = len(images)
    cpu = torch.device("cpu")
    with tempfile.TemporaryDirectory(prefix="evalbot-bench-") as tmp:
        params = build_detr(Path(tmp))
        detector = TransformersDetector.load("bench/detr", Path(tmp), cpu)
    print(
        f"detection: random DETR {params / 1e6:.1f}M params, short side 320, {n} images, "
        f"batch size {batch_size}",
        flush=True,
    )
    batches = [images[i : i + batch_size] for i in range(0, n, batch_size)]

    def bare(batch: Sequence[torch.Tensor]) -> Callable[[], float]:
        inputs = detector.processor(images=list(batch), return_tensors="pt")
        return timed(lambda: _forward(detector.model, inputs))

    def ours(batch: Sequence[torch.Tensor]) -> Callable[[], float]:
        return timed(lambda: detector.detect(batch, Options(batch_size=batch_size)))

    best = fastest(
        {"bare": [bare(b) for b in batches], "ours": [ours(b) for b in batches]},
        repeats=repeats,
        budget_s=60,
    )
    bare_rate = report.row("detection", "bare forward (pre-processed inputs)", n, best["bare"])
    ours_rate = report.row("detection", "evalbot .detect (uint8 tensors)", n, best["ours"])
    report.add("detection_vs_forward", ours_rate / bare_rate)


def _forward(model: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> object:
    with torch.inference_mode():
        return model(**inputs)


def main(report: Report) -> None:
    coco_speed(report)
    pipeline_speed(report)


if __name__ == "__main__":
    quiet()
    r = Report()
    main(r)
    r.print()
