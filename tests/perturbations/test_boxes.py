from __future__ import annotations

import pytest
import torch

from perturbations import get

WIDTH, HEIGHT = 40, 30
BOXES = torch.tensor([[3, 5, 17, 12], [0, 0, 40, 1], [25, 10, 40, 30]])


def draw(box: torch.Tensor, width: int, height: int) -> torch.Tensor:
    x1, y1, x2, y2 = (int(v) for v in box)
    canvas = torch.zeros((1, height, width), dtype=torch.uint8)
    canvas[:, y1:y2, x1:x2] = 255
    return canvas


@pytest.mark.parametrize("name", ["flipped", "mirrored", "rotated90", "greyscale", "jpeg"])
def test_boxes_move_with_the_image(name: str) -> None:
    p = get(name)
    moved = p.apply_boxes(BOXES, width=WIDTH, height=HEIGHT)
    new_height, new_width = (WIDTH, HEIGHT) if name == "rotated90" else (HEIGHT, WIDTH)
    for box, new_box in zip(BOXES, moved, strict=True):
        image = p.apply_image(draw(box, WIDTH, HEIGHT), seed=0) if p.moves_boxes else None
        if image is not None:
            assert torch.equal(image, draw(new_box, new_width, new_height))
    if not p.moves_boxes:
        assert torch.equal(moved, BOXES) and moved is not BOXES


@pytest.mark.parametrize("name", ["flipped", "mirrored"])
def test_flips_twice_restore_the_boxes(name: str) -> None:
    p = get(name)
    boxes = BOXES.float() + 0.25
    twice = p.apply_boxes(
        p.apply_boxes(boxes, width=WIDTH, height=HEIGHT), width=WIDTH, height=HEIGHT
    )
    assert torch.equal(twice, boxes)


def test_rotated90_four_times_restores_the_boxes() -> None:
    p = get("rotated90")
    boxes, width, height = BOXES.float(), WIDTH, HEIGHT
    for _ in range(4):
        boxes = p.apply_boxes(boxes, width=width, height=height)
        width, height = height, width
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    assert torch.equal(boxes, BOXES.float())


def test_empty_boxes() -> None:
    empty = torch.zeros((0, 4))
    assert get("mirrored").apply_boxes(empty, width=5, height=5).shape == (0, 4)


def test_bad_boxes() -> None:
    with pytest.raises(ValueError, match=r"\(K, 4\)"):
        get("mirrored").apply_boxes(torch.zeros(4), width=5, height=5)
