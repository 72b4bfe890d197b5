"""Perturbed detection splits: geometric variants move the boxes with the pixels, others keep them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evaluators.coco import GroundTruth
from evaluators.object_detection import DetectionSplit
from evaluators.variants import SEED, perturb
from perturbations import get

BOXES = [[[3, 5, 17, 12], [20, 0, 40, 30]], [], [[0, 0, 40, 1]]]


def split() -> DetectionSplit:
    """Three 40x30 images; each object is a filled box, so its pixels show where it is."""
    images, targets = [], []
    for boxes in BOXES:
        image = torch.zeros((3, 30, 40), dtype=torch.uint8)
        for x1, y1, x2, y2 in boxes:
            image[0, y1:y2, x1:x2] = 255 if x1 != 20 else 128  # the second box is darker
            image[1, y1:y2, x1:x2] = 60  # and every box is coloured
        images.append(image)
        targets.append(GroundTruth.of(np.array(boxes, dtype=float), [0] * len(boxes)))
    labels = np.zeros(sum(len(b) for b in BOXES), dtype=np.int64)
    return DetectionSplit(
        "d", "r", "val", images, labels, targets=tuple(targets), sizes=((40, 30),) * len(images)
    )


def pixels_of(image: torch.Tensor, box: np.ndarray, value: int) -> bool:
    """The box covers exactly the pixels of one drawn object (value), nothing more or less."""
    x1, y1, x2, y2 = (int(v) for v in box)
    mask = torch.zeros(image.shape[-2:], dtype=torch.bool)
    mask[y1:y2, x1:x2] = True
    return bool((image[0][mask] == value).all()) and not bool((image[0][~mask] == value).any())


@pytest.mark.parametrize("name", ["flipped", "mirrored", "rotated90"])
def test_geometric_variants_move_the_boxes_with_the_pixels(name: str) -> None:
    clean = split()
    variant = clean.perturbed(get(name), seed=SEED)
    assert isinstance(variant, DetectionSplit)
    for image, target in zip(variant.inputs, variant.targets, strict=True):
        for box, value in zip(target.boxes, (255, 128), strict=False):
            assert pixels_of(image, box, value)
    if name == "rotated90":
        assert variant.inputs[0].shape == (3, 40, 30)
    assert [len(t.labels) for t in variant.targets] == [2, 0, 1]
    assert variant.sizes == tuple((image.shape[-1], image.shape[-2]) for image in variant.inputs)
    # read lazily, item by item or in one batch: the same pixels as a whole perturbed copy
    whole = perturb(clean.inputs, get(name))
    assert all(torch.equal(a, b) for a, b in zip(variant.inputs[0:3], whole, strict=True))
    assert all(torch.equal(variant.inputs[i], whole[i]) for i in range(3))


@pytest.mark.parametrize("name", ["greyscale", "inverted", "gaussian_noise"])
def test_colour_variants_keep_the_boxes(name: str) -> None:
    clean = split()
    variant = clean.perturbed(get(name), seed=SEED)
    assert isinstance(variant, DetectionSplit)
    for before, after in zip(clean.targets, variant.targets, strict=True):
        assert np.array_equal(before.boxes, after.boxes)
    assert not torch.equal(variant.inputs[0], clean.inputs[0])


@pytest.mark.parametrize(("name", "times"), [("flipped", 2), ("mirrored", 2), ("rotated90", 4)])
def test_boxes_round_trip(name: str, times: int) -> None:
    clean = split()
    current = clean
    perturbation = get(name)
    for _ in range(times):
        current = current.perturbed(perturbation, seed=SEED)
    for before, after in zip(clean.targets, current.targets, strict=True):
        assert np.array_equal(before.boxes, after.boxes)
    assert current.sizes == clean.sizes
    for before, after in zip(clean.inputs, current.inputs, strict=True):
        assert torch.equal(before, after)
