"""Test images: seeded synthetic batches (smooth structure plus texture, non-square) and two real
photographs that ship with scikit-learn."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional as nnf

PHOTOS = ("china.jpg", "flower.jpg")


def make_images(n: int = 4, channels: int = 3, height: int = 48, width: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(1234)
    coarse = torch.rand((n, channels, 6, 8), generator=g) * 200 + 20
    smooth = nnf.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
    texture = torch.randn((n, channels, height, width), generator=g) * 15
    return (smooth + texture).round().clamp(0, 255).to(torch.uint8)


@pytest.fixture(scope="session")
def images() -> torch.Tensor:
    return make_images()  # shared: tests must not modify it


@pytest.fixture(scope="session")
def photos() -> torch.Tensor:
    """scikit-learn's two sample photographs (china, flower), area-downscaled to 224 x 336."""
    spec = importlib.util.find_spec("sklearn")  # locates the files without importing sklearn
    assert spec is not None and spec.origin is not None
    folder = Path(spec.origin).parent / "datasets" / "images"
    arrays = [np.array(Image.open(folder / name).convert("RGB")) for name in PHOTOS]
    batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    small = nnf.interpolate(batch.float(), size=(224, 336), mode="area")
    return small.round().clamp(0, 255).to(torch.uint8)
