"""Perturbed variants of an evaluation split: the seed every variant is drawn with, and a whole
list perturbed at once (the reference the streamed variants of :mod:`evaluators.streaming` equal).

The executor never perturbs a whole split: it reads a :class:`~evaluators.streaming.Perturbed`
view batch by batch. :func:`perturb` is for lists already in memory (benchmarks, tests, tools).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

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
