"""Box transforms matching the geometric image perturbations.

Boxes are (K, 4) xyxy in pixel-edge coordinates: a box (x1, y1, x2, y2) covers pixel columns
x1..x2-1 and rows y1..y2-1 of an image ``width`` wide and ``height`` high (before the transform).
"""

from __future__ import annotations

import torch


def flipped(boxes: torch.Tensor, width: int, height: int) -> torch.Tensor:
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack([x1, height - y2, x2, height - y1], dim=-1)


def mirrored(boxes: torch.Tensor, width: int, height: int) -> torch.Tensor:
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack([width - x2, y1, width - x1, y2], dim=-1)


def rotated90(boxes: torch.Tensor, width: int, height: int) -> torch.Tensor:
    # Counter-clockwise: point (x, y) goes to (y, width - x); the new image is height x width.
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack([y1, width - x2, y2, width - x1], dim=-1)
