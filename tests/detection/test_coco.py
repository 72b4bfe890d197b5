"""COCO metrics: parity with pycocotools (within 1e-4) on synthetic detections, and known answers."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from evaluators.coco import METRICS, Detections, GroundTruth, match, process_detection

LABELS = [f"class{k}" for k in range(6)]


def synthetic(seed: int, images: int = 60) -> tuple[list[GroundTruth], list[Detections]]:
    """Objects of classes 0-4 (class 5 never occurs), some crowd regions, some empty images;
    detections near the objects (some with the wrong class), plus noise; class 4 never
    predicted."""
    rng = np.random.default_rng(seed)
    truths, found = [], []
    for i in range(images):
        n = 0 if i % 7 == 0 else int(rng.integers(1, 9))
        xy = rng.uniform(0, 400, (n, 2))
        wh = rng.uniform(4, 200, (n, 2))
        boxes = np.concatenate([xy, xy + wh], axis=1)
        labels = rng.integers(0, 5, n)
        crowd = rng.random(n) < 0.1
        truths.append(GroundTruth.of(boxes, labels, crowd))
        det_boxes, det_labels, det_scores = [], [], []
        for box, label in zip(boxes, labels, strict=True):
            for _ in range(int(rng.integers(0, 3))):
                jitter = rng.normal(0, 0.12 * (box[2:] - box[:2]).min(), 4)
                det_boxes.append(box + jitter)
                det_labels.append(label if rng.random() < 0.85 else rng.integers(0, 4))
                det_scores.append(rng.random())
        for _ in range(int(rng.integers(0, 6))):
            xy = rng.uniform(0, 400, 2)
            det_boxes.append(np.concatenate([xy, xy + rng.uniform(4, 150, 2)]))
            det_labels.append(rng.integers(0, 4))
            det_scores.append(rng.random() * 0.6)
        det_labels = [int(v) if v != 4 else 3 for v in det_labels]
        found.append(Detections.of(np.reshape(det_boxes, (-1, 4)), det_labels, det_scores))
    return truths, found


def pycocotools_eval(
    truths: list[GroundTruth], found: list[Detections], cat_ids: list[int] | None = None
) -> COCOeval:
    """pycocotools on its own inputs (xywh, 1-based ids), built here independently."""
    annotations, results = [], []
    for i, t in enumerate(truths):
        for box, label, crowd in zip(t.boxes, t.labels, t.is_crowd(), strict=True):
            x1, y1, x2, y2 = (float(v) for v in box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i + 1,
                    "category_id": int(label) + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": int(crowd),
                }
            )
    for i, d in enumerate(found):
        for box, label, score in zip(d.boxes, d.labels, d.scores, strict=True):
            x1, y1, x2, y2 = (float(v) for v in box)
            results.append(
                {
                    "image_id": i + 1,
                    "category_id": int(label) + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": float(score),
                }
            )
    gt = COCO()
    gt.dataset = {
        "images": [{"id": i + 1} for i in range(len(truths))],
        "annotations": annotations,
        "categories": [{"id": k + 1} for k in range(len(LABELS))],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        evaluator = COCOeval(gt, gt.loadRes(results), "bbox")
        if cat_ids is not None:
            evaluator.params.catIds = cat_ids
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator


def as_stats(metrics: dict[str, float | None]) -> np.ndarray:
    return np.array([-1.0 if metrics[m] is None else metrics[m] for m in METRICS])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dataset_metrics_equal_pycocotools(seed: int) -> None:
    truths, found = synthetic(seed)
    assert any(len(t.labels) == 0 for t in truths) and any(t.is_crowd().any() for t in truths)
    ours = process_detection(truths, found, LABELS)
    reference = pycocotools_eval(truths, found)
    assert np.abs(as_stats(ours.metrics) - reference.stats).max() < 1e-4
    assert 0.05 < ours.metrics["ap"] < 0.95  # type: ignore[operator]


def test_per_class_metrics_equal_pycocotools_per_category() -> None:
    truths, found = synthetic(3)
    ours = process_detection(truths, found, LABELS)
    for k in range(5):
        reference = pycocotools_eval(truths, found, cat_ids=[k + 1])
        assert np.abs(as_stats(ours.classes[k].metrics) - reference.stats).max() < 1e-4, k
    never_predicted = ours.classes[4].metrics
    assert never_predicted["ap"] == 0.0 and never_predicted["ar100"] == 0.0
    absent = ours.classes[5]  # no ground truth: undefined, not 0
    assert absent.support == 0 and absent.metrics["ap"] is None and absent.recall is None


def test_matching_equals_pycocotools_at_iou_50() -> None:
    """Our TP counts (threshold 0) are pycocotools' matches at IoU 0.5, area all, crowd ignored."""
    truths, found = synthetic(4)
    reference = pycocotools_eval(truths, found)
    expected = np.zeros(len(LABELS), dtype=int)
    ignored = 0
    for item in reference.evalImgs:
        if item is None or item["aRng"] != [0, 1e10]:
            continue
        hit = (item["dtMatches"][0] > 0) & ~item["dtIgnore"][0]
        expected[item["category_id"] - 1] += int(hit.sum())
        ignored += int(item["dtIgnore"][0].sum())
    ours = process_detection(truths, found, LABELS, score_threshold=0.0)
    assert [c.tp for c in ours.classes] == expected.tolist()
    crowd_hits = sum(int(match(t, d)[1].sum()) for t, d in zip(truths, found, strict=True))
    assert crowd_hits == ignored > 0


def test_known_answers() -> None:
    truths = [
        GroundTruth.of([[0, 0, 10, 10], [20, 20, 40, 40]], [0, 1]),
        GroundTruth.of(np.zeros((0, 4)), []),  # an empty image
        GroundTruth.of([[0, 0, 50, 50], [5, 5, 15, 15]], [0, 0], crowd=[True, False]),
    ]
    found = [
        Detections.of([[0, 0, 10, 10], [20, 20, 40, 40]], [0, 1], [0.9, 0.8]),
        Detections.of([[1, 1, 5, 5]], [1], [0.7]),  # a false positive on the empty image
        Detections.of([[5, 5, 15, 15], [30, 30, 45, 45]], [0, 0], [0.95, 0.6]),  # 2nd: crowd
    ]
    result = process_detection(truths, found, ["a", "b", "c"])
    a, b, c = result.classes
    assert (a.tp, a.fp, a.fn, a.support) == (2, 0, 0, 2)  # the crowd detection is ignored
    assert (b.tp, b.fp, b.fn, b.support) == (1, 1, 0, 1)
    assert c.support == 0 and c.metrics["ap"] is None and c.precision is None
    assert a.metrics["ap"] == pytest.approx(1.0)
    kinds = [(e.kind, e.example_id, e.label, e.confidence) for e in result.errors]
    assert kinds == [("false positive", 1, "b", 0.7)]
    assert result.errors[0].box == (1.0, 1.0, 5.0, 5.0)
    reference = pycocotools_eval(truths, found)
    assert np.abs(as_stats(result.metrics) - reference.stats).max() < 1e-4


def test_nothing_detected() -> None:
    truths = [GroundTruth.of([[0, 0, 10, 10]], [0]), GroundTruth.of([[0, 0, 100, 100]], [1])]
    found = [Detections.of(np.zeros((0, 4)), [], []) for _ in truths]
    result = process_detection(truths, found, ["a", "b"])
    assert result.metrics["ap"] == 0.0 and result.metrics["ap_medium"] is None
    assert [(e.kind, e.label) for e in result.errors] == [("missed", "a"), ("missed", "b")]
    assert result.metrics["recall"] == 0.0 and result.metrics["precision"] is None


def test_threshold_keeps_low_scores_out_of_the_counts_only() -> None:
    truths = [GroundTruth.of([[0, 0, 10, 10]], [0])]
    found = [Detections.of([[0, 0, 10, 10]], [0], [0.3])]
    result = process_detection(truths, found, ["a"], score_threshold=0.5)
    assert result.metrics["ap"] == pytest.approx(1.0)
    assert (result.classes[0].tp, result.classes[0].fn) == (0, 1)
