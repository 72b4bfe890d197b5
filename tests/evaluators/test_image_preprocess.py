"""Our batched tensor preprocessing against the transformers image processors it replaces."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_sample_images
from transformers import ConvNextImageProcessor, ViTImageProcessor

from evaluators.image_classification import _processor_preprocess, to_tensor

IMAGES = [Image.fromarray(a) for a in load_sample_images().images]  # two real photos, 427x640


@pytest.mark.parametrize(
    ("processor", "tolerance"),
    [
        (ViTImageProcessor(size={"height": 64, "width": 64}), 1e-6),
        # resize to 256 (224 / crop_pct 0.875) bicubic, centre-crop 224; the processor resizes
        # floats, we resize uint8: a small rounding difference on the normalised scale
        (ConvNextImageProcessor(size={"shortest_edge": 224}), 0.1),
    ],
)
def test_matches_the_processor(processor, tolerance: float) -> None:  # type: ignore[no-untyped-def]
    reference = processor(images=IMAGES, return_tensors="pt")["pixel_values"]
    ours = _processor_preprocess(processor)([to_tensor(i) for i in IMAGES], torch.device("cpu"))
    assert ours.shape == reference.shape
    assert float((ours - reference).abs().mean()) < tolerance


def test_ragged_and_batched_sizes_agree() -> None:
    pre = _processor_preprocess(ViTImageProcessor(size={"height": 32, "width": 32}))
    small = to_tensor(IMAGES[0].resize((100, 80)))
    big = to_tensor(IMAGES[1])
    ragged = pre([small, big], torch.device("cpu"))
    assert torch.equal(ragged[0], pre([small], torch.device("cpu"))[0])
    assert torch.equal(ragged[1], pre([big, big], torch.device("cpu"))[1])
    assert np.isfinite(ragged.numpy()).all()
