"""The COCO Processor: AP/AR for the whole dataset and per class, plus per-class counts and errors.

AP and AR are computed by faster-coco-eval (the COCO API's ``evaluate``/``accumulate`` in C++),
equal to pycocotools' numbers; they are not re-implemented here. Per class we slice its
``precision``/``recall`` arrays as pycocotools' ``summarize`` does for all classes.

Besides the AP/AR numbers, each class keeps sufficient statistics at one operating point: TP, FP
and FN at IoU 0.5 over the detections scoring at least ``score_threshold``, matched with the COCO
rule (highest score first, each detection to the unmatched ground truth it overlaps most; a
detection on a crowd region is neither a hit nor an error). The false positives and missed
objects are the detection errors, stored like misclassifications.

Boxes are ``(K, 4)`` xyxy pixel arrays; class ids are the dataset's (module label order).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from store.catalogue import OBJECT_DETECTION
from store.types import ClassResult, DetectionError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MATCH_IOU = 0.5
MAX_DETS = 100
# Our keys of the 12 numbers pycocotools prints, in COCOeval.stats' order (the catalogue's).
METRICS = tuple(m.key for m in OBJECT_DETECTION.metrics)


@dataclass(frozen=True)
class GroundTruth:
    """The objects of one image. ``areas`` (COCO's segment areas) default to the box areas."""

    boxes: FloatArray  # (K, 4) xyxy pixels
    labels: IntArray  # (K,) dataset class ids
    crowd: BoolArray | None = None  # (K,) COCO ``iscrowd``
    areas: FloatArray | None = None  # (K,)

    @classmethod
    def of(
        cls,
        boxes: npt.ArrayLike,
        labels: npt.ArrayLike,
        crowd: npt.ArrayLike | None = None,
        areas: npt.ArrayLike | None = None,
    ) -> GroundTruth:
        return cls(
            np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
            np.asarray(labels, dtype=np.int64).ravel(),
            None if crowd is None else np.asarray(crowd, dtype=bool).ravel(),
            None if areas is None else np.asarray(areas, dtype=np.float64).ravel(),
        )

    def is_crowd(self) -> BoolArray:
        return self.crowd if self.crowd is not None else np.zeros(len(self.labels), dtype=bool)

    def object_areas(self) -> FloatArray:
        return self.areas if self.areas is not None else _box_areas(self.boxes)


@dataclass(frozen=True)
class Detections:
    """What a detector found in one image, in dataset class ids."""

    boxes: FloatArray  # (D, 4) xyxy pixels
    labels: IntArray  # (D,)
    scores: FloatArray  # (D,)

    @classmethod
    def of(cls, boxes: npt.ArrayLike, labels: npt.ArrayLike, scores: npt.ArrayLike) -> Detections:
        return cls(
            np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
            np.asarray(labels, dtype=np.int64).ravel(),
            np.asarray(scores, dtype=np.float64).ravel(),
        )


@dataclass(frozen=True)
class CocoResult:
    """Everything stored for one detection run.

    Attributes:
        metrics: The 12 COCO numbers (``ap``, ``ap50`` ... ``ar_large``), ``None`` when undefined,
            plus ``precision``/``recall``/``f1`` (micro) at IoU 0.5 and the score threshold.
        classes: Per-class TP/FP/FN/support at that operating point, and the class's COCO
            numbers in ``ClassResult.metrics``.
        errors: False positives and missed objects, most confident first (missed last).
    """

    metrics: dict[str, float | None]
    classes: tuple[ClassResult, ...]
    errors: tuple[DetectionError, ...]


def _box_areas(boxes: FloatArray) -> FloatArray:
    return np.asarray((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), dtype=np.float64)


def _xywh(boxes: FloatArray) -> FloatArray:
    out = boxes.copy()
    out[:, 2:] -= boxes[:, :2]
    return out


def coco_dicts(
    truths: Sequence[GroundTruth], detections: Sequence[Detections], num_classes: int
) -> tuple[dict[str, list[dict[str, object]]], list[dict[str, object]]]:
    """The ground truth as a COCO dataset dict and the detections as a COCO results list.

    Image ``i`` gets id ``i + 1`` and dataset class ``k`` category id ``k + 1``; every class is a
    category, so a class absent from the ground truth has AP ``-1`` (undefined), as in pycocotools.
    """
    images: list[dict[str, object]] = [{"id": i + 1} for i in range(len(truths))]
    categories: list[dict[str, object]] = [
        {"id": k + 1, "name": str(k)} for k in range(num_classes)
    ]
    annotations: list[dict[str, object]] = []
    for i, truth in enumerate(truths):
        boxes, areas, crowd = _xywh(truth.boxes).tolist(), truth.object_areas(), truth.is_crowd()
        for j, label in enumerate(truth.labels.tolist()):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i + 1,
                    "category_id": label + 1,
                    "bbox": boxes[j],
                    "area": float(areas[j]),
                    "iscrowd": int(crowd[j]),
                }
            )
    results: list[dict[str, object]] = []
    for i, found in enumerate(detections):
        boxes = _xywh(found.boxes).tolist()
        for j, (label, score) in enumerate(
            zip(found.labels.tolist(), found.scores.tolist(), strict=True)
        ):
            results.append(
                {"image_id": i + 1, "category_id": label + 1, "bbox": boxes[j], "score": score}
            )
    return {"images": images, "annotations": annotations, "categories": categories}, results


def _none(value: float) -> float | None:
    return None if value < 0 else float(value)


def _mean_valid(values: npt.NDArray[np.float64]) -> float | None:
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else None


def _class_metrics(precision: FloatArray, recall: FloatArray, k: int) -> dict[str, float | None]:
    """pycocotools' ``summarize`` for class ``k`` only (areas: all, small, medium, large)."""
    p, r = precision[:, :, k], recall[:, k]  # (T, R, A, M), (T, A, M)
    return {
        "ap": _mean_valid(p[:, :, 0, 2]),
        "ap50": _mean_valid(p[0, :, 0, 2]),
        "ap75": _mean_valid(p[5, :, 0, 2]),
        "ap_small": _mean_valid(p[:, :, 1, 2]),
        "ap_medium": _mean_valid(p[:, :, 2, 2]),
        "ap_large": _mean_valid(p[:, :, 3, 2]),
        "ar1": _mean_valid(r[:, 0, 0]),
        "ar10": _mean_valid(r[:, 0, 1]),
        "ar100": _mean_valid(r[:, 0, 2]),
        "ar_small": _mean_valid(r[:, 1, 2]),
        "ar_medium": _mean_valid(r[:, 2, 2]),
        "ar_large": _mean_valid(r[:, 3, 2]),
    }


def coco_metrics(
    truths: Sequence[GroundTruth], detections: Sequence[Detections], num_classes: int
) -> tuple[dict[str, float | None], list[dict[str, float | None]]]:
    """The 12 COCO box metrics over the dataset and for each class (faster-coco-eval).

    Returns:
        ``(dataset metrics, [class metrics for class 0, 1, ...])``; ``None`` where pycocotools
        reports -1 (no ground truth in that class or area range).
    """
    from faster_coco_eval import COCO, COCOeval_faster

    if len(truths) != len(detections):
        raise ValueError(f"{len(truths)} images of ground truth but {len(detections)} predicted")
    gt_dict, results = coco_dicts(truths, detections, num_classes)
    for n, ann in enumerate(results):
        ann["id"] = n + 1
        box = ann["bbox"]
        assert isinstance(box, list)
        ann["area"] = box[2] * box[3]
        ann["iscrowd"] = 0
    silent = logging.getLogger("faster_coco_eval").debug
    gt = COCO(gt_dict, print_function=silent)
    dt = COCO(
        {"images": gt_dict["images"], "annotations": results, "categories": gt_dict["categories"]},
        print_function=silent,
    )
    evaluator = COCOeval_faster(gt, dt, "bbox", print_function=silent)
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    stats = [_none(float(v)) for v in evaluator.stats[: len(METRICS)]]
    precision = np.asarray(evaluator.eval["precision"], dtype=np.float64)
    recall = np.asarray(evaluator.eval["recall"], dtype=np.float64)
    per_class = [_class_metrics(precision, recall, k) for k in range(num_classes)]
    return dict(zip(METRICS, stats, strict=True)), per_class


def iou_matrix(dets: FloatArray, gts: FloatArray, crowd: BoolArray) -> FloatArray:
    """IoU of xyxy boxes as the COCO API computes it; for a crowd box, intersection / det area."""
    if len(dets) == 0 or len(gts) == 0:
        return np.zeros((len(dets), len(gts)))
    lo = np.maximum(dets[:, None, :2], gts[None, :, :2])
    hi = np.minimum(dets[:, None, 2:], gts[None, :, 2:])
    inter = np.clip(hi - lo, 0, None).prod(axis=-1)
    det_area = _box_areas(dets)[:, None]
    union = np.where(crowd[None, :], det_area, det_area + _box_areas(gts)[None, :] - inter)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match(
    truth: GroundTruth, found: Detections, *, iou: float = MATCH_IOU
) -> tuple[IntArray, BoolArray]:
    """The COCO matching of one image at one IoU threshold (area range "all").

    Per class, detections go highest score first (at most ``MAX_DETS``, ties in input order) and
    each takes the unmatched ground truth it overlaps most with IoU >= ``iou``, preferring real
    objects to crowd regions; a crowd region takes any number of detections.

    Returns:
        ``(match, crowd_hit)``: for each detection the index of its ground truth or -1, and
        whether that match is a crowd region (such a detection is ignored, not an error).
    """
    matched = np.full(len(found.labels), -1, dtype=np.int64)
    crowd_hit = np.zeros(len(found.labels), dtype=bool)
    is_crowd = truth.is_crowd()
    for label in np.unique(found.labels):
        det_idx = np.flatnonzero(found.labels == label)
        det_idx = det_idx[np.argsort(-found.scores[det_idx], kind="mergesort")][:MAX_DETS]
        gt_idx = np.flatnonzero(truth.labels == label)
        if gt_idx.size == 0:
            continue
        gt_idx = gt_idx[np.argsort(is_crowd[gt_idx], kind="mergesort")]  # real objects first
        ious = iou_matrix(found.boxes[det_idx], truth.boxes[gt_idx], is_crowd[gt_idx])
        crowd = is_crowd[gt_idx]
        taken = np.zeros(gt_idx.size, dtype=bool)
        for d in range(det_idx.size):
            best, m = min(iou, 1 - 1e-10), -1
            for g in range(gt_idx.size):
                if taken[g] and not crowd[g]:
                    continue
                if m > -1 and not crowd[m] and crowd[g]:
                    break
                if ious[d, g] < best:
                    continue
                best, m = ious[d, g], g
            if m > -1:
                taken[m] = True
                matched[det_idx[d]] = gt_idx[m]
                crowd_hit[det_idx[d]] = bool(crowd[m])
    return matched, crowd_hit


def _box(values: Sequence[float]) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (round(float(v), 2) for v in values)
    return (x1, y1, x2, y2)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if recall is None:
        return None
    if precision is None or precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def process_detection(
    truths: Sequence[GroundTruth],
    detections: Sequence[Detections],
    labels: Sequence[str],
    *,
    score_threshold: float = 0.5,
    max_errors: int = 500,
) -> CocoResult:
    """COCO metrics over the dataset and per class, counts at one operating point, and errors.

    Args:
        truths: The ground truth of each image.
        detections: The detections of each image (all of them: AP uses every score).
        labels: Class names, indexed by dataset class id.
        score_threshold: Detections scoring below it are not counted as TP/FP nor listed.
        max_errors: Keep at most this many detection errors (false positives by score first).

    Example:
        >>> truth = GroundTruth.of([[0, 0, 10, 10]], [0])
        >>> found = Detections.of([[0, 0, 10, 10], [20, 20, 30, 30]], [0, 1], [0.9, 0.8])
        >>> result = process_detection([truth], [found], ["cat", "dog"])
        >>> result.metrics["ap"], [(c.tp, c.fp, c.fn) for c in result.classes]
        (1.0, [(1, 0, 0), (0, 1, 0)])
    """
    num_classes = len(labels)
    metrics, per_class = coco_metrics(truths, detections, num_classes)
    tp = np.zeros(num_classes, dtype=np.int64)
    fp = np.zeros(num_classes, dtype=np.int64)
    support = np.zeros(num_classes, dtype=np.int64)
    false_pos: list[DetectionError] = []
    missed: list[DetectionError] = []
    for image, (truth, found) in enumerate(zip(truths, detections, strict=True)):
        keep = found.scores >= score_threshold
        kept = Detections(found.boxes[keep], found.labels[keep], found.scores[keep])
        matched, crowd_hit = match(truth, kept)
        hits = (matched >= 0) & ~crowd_hit
        wrong = matched < 0
        np.add.at(tp, kept.labels[hits], 1)
        np.add.at(fp, kept.labels[wrong], 1)
        real = ~truth.is_crowd()
        np.add.at(support, truth.labels[real], 1)
        found_gt = np.zeros(len(truth.labels), dtype=bool)
        found_gt[matched[hits]] = True
        for d in np.flatnonzero(wrong):
            false_pos.append(
                DetectionError(
                    example_id=image,
                    kind="false positive",
                    label=labels[int(kept.labels[d])],
                    confidence=float(kept.scores[d]),
                    box=_box(kept.boxes[d]),
                )
            )
        for g in np.flatnonzero(real & ~found_gt):
            missed.append(
                DetectionError(
                    example_id=image,
                    kind="missed",
                    label=labels[int(truth.labels[g])],
                    confidence=None,
                    box=_box(truth.boxes[g]),
                )
            )
    false_pos.sort(key=lambda e: (-(e.confidence or 0.0), e.example_id))
    classes = []
    for k, name in enumerate(labels):
        fn = int(support[k] - tp[k])
        precision = _ratio(int(tp[k]), int(tp[k] + fp[k]))
        recall = _ratio(int(tp[k]), int(support[k]))
        classes.append(
            ClassResult(
                class_id=k,
                label=name,
                tp=int(tp[k]),
                fp=int(fp[k]),
                fn=fn,
                support=int(support[k]),
                precision=precision,
                recall=recall,
                f1=_f1(precision, recall),
                metrics=per_class[k],
            )
        )
    total_tp, total_fp, total = int(tp.sum()), int(fp.sum()), int(support.sum())
    precision = _ratio(total_tp, total_tp + total_fp)
    recall = _ratio(total_tp, total)
    metrics.update(precision=precision, recall=recall, f1=_f1(precision, recall))
    return CocoResult(
        metrics=metrics, classes=tuple(classes), errors=tuple((false_pos + missed)[:max_errors])
    )
