"""The Task and Metric entities (thesis table 3.3d): what evalbot computes, and how."""

from __future__ import annotations

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
]

_CLS = ["text-classification", "image-classification"]

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
        "range": "0 to 1, higher is better",
        "description": "Harmonic mean of precision and recall.",
        "calculation": "2 * precision * recall / (precision + recall); 0 when either is 0 or undefined",
    },
    {
        "name": "macro_f1",
        "per_class": False,
        "tasks": _CLS,
        "range": "0 to 1, higher is better",
        "description": "Unweighted mean of per-class F1 over the classes present in the split.",
        "calculation": "mean(F1_c) over classes with support > 0 (scikit-learn, zero_division=0)",
    },
    {
        "name": "weighted_f1",
        "per_class": False,
        "tasks": _CLS,
        "range": "0 to 1, higher is better",
        "description": "Per-class F1 weighted by the class's support.",
        "calculation": "sum(F1_c * support_c) / examples",
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
]
