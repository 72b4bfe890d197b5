"""Image perturbations on uint8 batches shaped (N, C, H, W), C = 1 or 3.

All are whole-batch tensor ops (device-agnostic) except JPEG, which goes image by image through
Pillow on the CPU, as ImageNet-C does.

Every function takes ``(images, generators, **params)``; ``generators`` holds one seeded CPU
`torch.Generator` per image and only the random ones read it. Corruption tables follow ImageNet-C
(Hendrycks & Dietterich 2019, ``make_imagenet_c.py``), indexed by severity 1–5.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as tvf

NOISE_SIGMA = (0.08, 0.12, 0.18, 0.26, 0.38)  # on [0, 1] pixel values
BLUR_SIGMA = (1.0, 2.0, 3.0, 4.0, 6.0)  # pixels at a 224-pixel short side
JPEG_QUALITY = (25, 18, 15, 10, 7)
BRIGHTNESS_SHIFT = (0.1, 0.2, 0.3, 0.4, 0.5)  # added to HSV value on [0, 1]
CONTRAST_FACTOR = (0.4, 0.3, 0.2, 0.1, 0.05)
PIXELATE_SCALE = (0.6, 0.5, 0.4, 0.3, 0.25)
REFERENCE_SIDE = 224  # ImageNet-C's image size; blur sigma scales with the short side


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Float pixels on [0, 1] to uint8, rounded (in place: ``x`` must be a scratch tensor)."""
    return x.clamp_(0.0, 1.0).mul_(255.0).round_().to(torch.uint8)


def _separable(images: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``rows @ image @ cols.T`` per image and channel: a linear filter along H, then W."""
    return (rows @ images.float() @ cols.T).round_().clamp_(0, 255).to(torch.uint8)


def greyscale(images: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
    if images.shape[1] == 1:
        return images.clone()
    r, g, b = images.to(torch.int32).unbind(1)
    luma = r.mul(19595).add_(g, alpha=38470).add_(b, alpha=7471).add_(32768) >> 16
    return luma.to(torch.uint8).unsqueeze(1).expand_as(images).contiguous()


def flipped(images: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
    return tvf.vertical_flip(images)


def mirrored(images: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
    return tvf.horizontal_flip(images)


def inverted(images: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
    return tvf.invert(images)


def rotated90(images: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
    return torch.rot90(images, k=1, dims=(-2, -1)).contiguous()


def gaussian_noise(
    images: torch.Tensor, generators: list[torch.Generator], *, severity: int
) -> torch.Tensor:
    noise = torch.stack([torch.randn(images.shape[1:], generator=g) for g in generators])
    x = images.float().div_(255.0).add_(noise.to(images.device), alpha=NOISE_SIGMA[severity - 1])
    return _to_uint8(x)


def gaussian_blur(
    images: torch.Tensor, generators: list[torch.Generator], *, severity: int
) -> torch.Tensor:
    height, width = images.shape[-2:]
    sigma = BLUR_SIGMA[severity - 1] * min(height, width) / REFERENCE_SIDE
    rows = _gaussian_matrix(height, sigma, images.device)
    cols = _gaussian_matrix(width, sigma, images.device)
    return _separable(images, rows, cols)


def _gaussian_matrix(size: int, sigma: float, device: torch.device) -> torch.Tensor:
    """A (size, size) matrix convolving with a Gaussian truncated at 4 sigma, borders replicated."""
    radius = int(4.0 * sigma + 0.5)  # scipy/skimage truncate=4
    offsets = torch.arange(-radius, radius + 1, device=device)
    kernel = torch.exp(-0.5 * (offsets / max(sigma, 1e-12)) ** 2)
    kernel = (kernel / kernel.sum()).expand(size, -1)
    sources = (torch.arange(size, device=device)[:, None] + offsets).clamp(0, size - 1)
    return torch.zeros((size, size), device=device).scatter_add_(1, sources, kernel)


def jpeg(images: torch.Tensor, generators: list[torch.Generator], *, severity: int) -> torch.Tensor:
    quality = JPEG_QUALITY[severity - 1]
    decoded = [_jpeg_round_trip(image, quality) for image in images.cpu()]
    return torch.stack(decoded).to(images.device)


def _jpeg_round_trip(image: torch.Tensor, quality: int) -> torch.Tensor:
    """Saves and reloads one (C, H, W) image with Pillow, as ImageNet-C does."""
    array = image.permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(array[..., 0] if image.shape[0] == 1 else array).save(
        buffer, format="JPEG", quality=quality
    )
    decoded = torch.from_numpy(np.array(Image.open(buffer)))
    return decoded.unsqueeze(0) if decoded.ndim == 2 else decoded.permute(2, 0, 1)


def brightness(
    images: torch.Tensor, generators: list[torch.Generator], *, severity: int
) -> torch.Tensor:
    # V += c in HSV keeps hue and saturation, so RGB scales by V'/V (black becomes grey V').
    x = images.float()
    value = x.amax(dim=1, keepdim=True)
    new_value = value.add(255.0 * BRIGHTNESS_SHIFT[severity - 1]).clamp_(max=255.0)
    x.mul_(new_value / value.clamp(min=1.0)).add_((value == 0) * new_value)
    return x.round_().clamp_(0, 255).to(torch.uint8)


def contrast(
    images: torch.Tensor, generators: list[torch.Generator], *, severity: int
) -> torch.Tensor:
    x = images.float().div_(255.0)
    means = x.mean(dim=(-2, -1), keepdim=True)
    return _to_uint8(x.sub_(means).mul_(CONTRAST_FACTOR[severity - 1]).add_(means))


def pixelate(
    images: torch.Tensor, generators: list[torch.Generator], *, severity: int
) -> torch.Tensor:
    # PIL's BOX resize down then up (ImageNet-C) in one step: rows and columns fall into blocks
    # (pixel k of n into block ((2k + 1) m) // 2n of m) and each pixel takes its block's mean.
    height, width = images.shape[-2:]
    scale = PIXELATE_SCALE[severity - 1]
    rows = _block_of(height, max(1, math.floor(height * scale)), images.device)
    cols = _block_of(width, max(1, math.floor(width * scale)), images.device)
    return _separable(images, _block_mean(rows), _block_mean(cols))


def _block_of(size: int, blocks: int, device: torch.device) -> torch.Tensor:
    return (torch.arange(size, device=device) * 2 + 1) * blocks // (2 * size)


def _block_mean(block_of: torch.Tensor) -> torch.Tensor:
    """A (size, size) matrix replacing each pixel by the mean of its block."""
    same = (block_of[:, None] == block_of[None, :]).float()
    return same / same.sum(dim=1, keepdim=True)
