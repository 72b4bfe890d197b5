"""The Task and Metric entities (thesis table 3.3d): what evalbot computes, and how.

Classification metrics are named by their key in a result's ``metrics`` (or a class result's
field). Object detection's COCO box metrics are named as the Hub's tooling names them
(torchmetrics' ``MeanAveragePrecision``, which transformers' object-detection example reports and
Trainer cards carry: ``map``, ``map_50`` ... ``mar_large``); their ``key`` is where evalbot
stores the value (:data:`evaluators.coco.METRICS`: ``ap``, ``ap50`` ... ``ar_large``).
"""

from __future__ import annotations

from typing import NamedTuple

TASKS: list[dict[str, object]] = [
    {
        "name": "text-classification",
        "modality": "text",
        "description": "Assign one class to a text.",
    },
    {
        "name": "image-classification",
        "modality": "image",
        "description": "Assign one class to an image.",
    },
    {
        "name": "object-detection",
        "modality": "image",
        "description": "Find the objects of each class in an image, as scored boxes.",
    },
]


class DetectionMetric(NamedTuple):
    """One COCO box metric: our stored key, the Hub's metric id and a readable name."""

    key: str  # in EvaluationRecord.metrics and ClassResult.metrics
    hub_type: str  # the model-index ``type`` (torchmetrics' MeanAveragePrecision key)
    name: str  # the model-index ``name`` and the card's label
    description: str


# The 12 numbers pycocotools prints, in its order.
DETECTION_METRICS: tuple[DetectionMetric, ...] = (
    DetectionMetric("ap", "map", "AP (IoU 0.50:0.95)", "AP averaged over IoU 0.50 to 0.95"),
    DetectionMetric("ap50", "map_50", "AP (IoU 0.50)", "AP at IoU 0.50"),
    DetectionMetric("ap75", "map_75", "AP (IoU 0.75)", "AP at IoU 0.75"),
    DetectionMetric("ap_small", "map_small", "AP small", "AP on objects under 32² pixels"),
    DetectionMetric("ap_medium", "map_medium", "AP medium", "AP on objects of 32² to 96² pixels"),
    DetectionMetric("ap_large", "map_large", "AP large", "AP on objects over 96² pixels"),
    DetectionMetric("ar1", "mar_1", "AR (1 detection)", "AR with 1 detection per image"),
    DetectionMetric("ar10", "mar_10", "AR (10 detections)", "AR with 10 detections per image"),
    DetectionMetric("ar100", "mar_100", "AR (100 detections)", "AR with 100 detections per image"),
    DetectionMetric("ar_small", "mar_small", "AR small", "AR on objects under 32² pixels"),
    DetectionMetric("ar_medium", "mar_medium", "AR medium", "AR on objects of 32² to 96² pixels"),
    DetectionMetric("ar_large", "mar_large", "AR large", "AR on objects over 96² pixels"),
)
HUB_DETECTION_TYPES = {m.hub_type: m.key for m in DETECTION_METRICS}  # Hub id -> our key
DETECTION_NAMES = {m.key: m.name for m in DETECTION_METRICS}  # our key -> readable name

_CLS = ["text-classification", "image-classification"]
_MACRO = (
    "mean({}) over the classes in the references or the predictions, undefined as 0: "
    'as scikit-learn\'s default average="macro" (zero_division=0)'
)

METRICS: list[dict[str, object]] = [
    {
        "name": "accuracy",
        "per_class": False,
        "tasks": _CLS,
        "range": "0 to 1, higher is better",
        "description": "Share of examples whose predicted class is the true class.",
        "calculation": "correct / examples",
    },
    {
        "name": "precision",
        "per_class": True,
        "tasks": _CLS,
        "range": "0 to 1, higher is better; n/a when the class is never predicted",
        "description": "Of the examples predicted as the class, the share that are the class.",
        "calculation": "TP / (TP + FP)",
    },
    {
        "name": "recall",
        "per_class": True,
        "tasks": _CLS,
        "range": "0 to 1, higher is better; n/a when the class has no examples",
        "description": "Of the examples of the class, the share predicted as the class.",
        "calculation": "TP / (TP + FN)",
    },
    {
        "name": "f1",
        "per_class": True,
        "tasks": _CLS,
        "range": "0 to 1, higher is better; n/a when the class has no examples",
        "description": "Harmonic mean of precision and recall.",
        "calculation": (
            "2 * precision * recall / (precision + recall); 0 when both are 0 or the class is "
            "never predicted"
        ),
    },
    {
        "name": "macro_f1",
        "per_class": False,
        "tasks": _CLS,
        "range": "0 to 1, higher is better",
        "description": (
            "Unweighted mean of per-class F1 over the classes in the references or the "
            "predictions, an undefined F1 counting as 0."
        ),
        "calculation": _MACRO.format("F1_c"),
    },
    {
        "name": "macro_precision",
        "per_class": False,
        "tasks": _CLS,
        "range": "0 to 1, higher is better",
        "description": (
            "Unweighted mean of per-class precision over the classes in the references or the "
            "predictions, an undefined precision (class never predicted) counting as 0."
        ),
        "calculation": _MACRO.format("precision_c"),
    },
    {
        "name": "macro_recall",
        "per_class": False,
        "tasks": _CLS,
        "range": "0 to 1, higher is better",
        "description": (
            "Unweighted mean of per-class recall over the classes in the references or the "
            "predictions, an undefined recall (class without examples) counting as 0."
        ),
        "calculation": _MACRO.format("recall_c"),
    },
    {
        "name": "weighted_f1",
        "per_class": False,
        "tasks": _CLS,
        "range": "0 to 1, higher is better",
        "description": "Per-class F1 weighted by the class's support.",
        "calculation": (
            "sum(F1_c * support_c) / examples, an undefined F1 counting as 0 "
            '(scikit-learn\'s f1_score(average="weighted"))'
        ),
    },
    {
        "name": "ece",
        "per_class": False,
        "tasks": _CLS,
        "range": "0 to 1, lower is better",
        "description": "Expected calibration error: how far confidence is from accuracy.",
        "calculation": "sum over 15 equal-width confidence bins of (n_b / N) * |accuracy_b - confidence_b|",
    },
    {
        "name": "ci95",
        "per_class": False,
        "tasks": _CLS,
        "range": "an interval",
        "description": "95% bootstrap confidence interval of accuracy and macro F1.",
        "calculation": "percentile method over 1,000 resamples of the examples (seed 0)",
    },
    {
        "name": "instances_per_s",
        "per_class": False,
        "tasks": _CLS,
        "range": "higher is faster",
        "description": "Examples evaluated per second, preprocessing included.",
        "calculation": "examples / (preprocessing + forward time)",
    },
    *(
        {
            "name": m.hub_type,
            "key": m.key,
            "per_class": True,
            "tasks": ["object-detection"],
            "range": "0 to 1, higher is better; n/a for a class without ground truth",
            "description": f"{m.name}: COCO's {m.description}.",
            "calculation": "pycocotools' COCOeval (bbox, 101 recall points), via faster-coco-eval",
        }
        for m in DETECTION_METRICS
    ),
]
