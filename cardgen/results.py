"""Which evaluation records go on a model card, and the hash that identifies them."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence

from store.types import EvaluationRecord

ORIGINAL = "original"  # the unperturbed variant; perturbed variants stay on the Space


def card_records(records: Sequence[EvaluationRecord]) -> list[EvaluationRecord]:
    """The records a card shows: original variant only, one per (dataset, config, split), sorted.

    Args:
        records: Every record of one model revision (perturbed variants are skipped).

    Returns:
        The original-variant records sorted by dataset id, config and split.

    Raises:
        ValueError: When the records mix models or model revisions, hold no original variant, or
            hold two original results for the same dataset, config and split.

    Example:
        >>> [r.split for r in card_records(records)]  # doctest: +SKIP
        ['test', 'validation']
    """
    models = {(r.model_id, r.model_sha) for r in records}
    if len(models) > 1:
        raise ValueError(f"records of several model revisions: {sorted(models)}")
    selected = sorted((r for r in records if r.variant == ORIGINAL), key=result_key)
    if not selected:
        raise ValueError("no result on an original (unperturbed) dataset")
    keys = [result_key(r) for r in selected]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"several original results for (dataset, config, split) {duplicates}")
    return selected


def result_key(record: EvaluationRecord) -> tuple[str, str, str]:
    return (record.dataset_id, record.dataset_config or "", record.split)


def number(value: float | None) -> float | None:
    """A plain float, or None ("n/a") for a missing or non-finite value."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def rounded(value: float | None, digits: int = 4) -> float | None:
    value = number(value)
    return None if value is None else round(value, digits)


def result_hash(records: Sequence[EvaluationRecord]) -> str:
    """sha256 of a canonical JSON of the results a card shows.

    Rounded to 4 decimals; timestamps, runtime, model sha and versions are left out, so an
    identical evaluation always hashes the same. Perturbed variants count by their metrics (the
    card's robustness table).
    """
    variants: dict[tuple[str, str, str], list[dict[str, object]]] = {}
    for r in sorted(records, key=lambda r: r.variant):
        if r.variant != ORIGINAL:
            variants.setdefault(result_key(r), []).append(
                {
                    "variant": r.variant,
                    "metrics": {name: rounded(value) for name, value in r.metrics.items()},
                }
            )
    payload = [
        {
            "task": r.task,
            "dataset": r.dataset_id,
            "config": r.dataset_config,
            "revision": r.dataset_revision,
            "split": r.split,
            "examples": int(r.num_examples),
            "metrics": {name: rounded(value) for name, value in r.metrics.items()},
            "classes": [
                {
                    "id": int(c.class_id),
                    "label": c.label,
                    "tp": int(c.tp),
                    "fp": int(c.fp),
                    "fn": int(c.fn),
                    "support": int(c.support),
                    "precision": rounded(c.precision),
                    "recall": rounded(c.recall),
                    "f1": rounded(c.f1),
                }
                for c in sorted(r.classes, key=lambda c: c.class_id)
            ],
            **({"variants": variants[result_key(r)]} if result_key(r) in variants else {}),
        }
        for r in card_records(records)
    ]
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
