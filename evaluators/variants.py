"""Perturbed variants of an evaluation split, made once and reused by later models.

The cache key is (dataset, revision, split, limit, variant id): the variant id names the
perturbation and all its parameters, so a changed parameter is another variant.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import torch

from evaluators.datasets_io import EvalSplit
from perturbations import Perturbation

SEED = 0  # every variant is drawn with this seed; stored in the Variant's method


def perturb(inputs: Sequence[Any], perturbation: Perturbation, *, seed: int = SEED) -> list[Any]:
    """Apply ``perturbation`` to texts or to uint8 image tensors (batched when sizes agree)."""
    if perturbation.modality == "text":
        return perturbation.apply_texts(list(inputs), seed=seed)
    shapes = {tuple(image.shape) for image in inputs}
    if len(shapes) == 1:
        out: list[Any] = []
        chunk = 512
        for lo in range(0, len(inputs), chunk):
            batch = torch.stack(list(inputs[lo : lo + chunk]))
            out.extend(perturbation.apply_images(batch, seed=seed, start=lo).unbind(0))
        return out
    return [perturbation.apply_image(image, seed=seed, index=i) for i, image in enumerate(inputs)]


class VariantCache:
    """An LRU of perturbed splits (default: 8 variants held)."""

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str, str, int, str], EvalSplit] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, split: EvalSplit, perturbation: Perturbation) -> EvalSplit:
        key = (
            split.dataset_id,
            split.revision,
            split.split,
            len(split.inputs),
            perturbation.variant_id,
        )
        if key in self._items:
            self.hits += 1
            self._items.move_to_end(key)
            return self._items[key]
        self.misses += 1
        variant = split.perturbed(perturb(split.inputs, perturbation), perturbation)
        self._items[key] = variant
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return variant
