from __future__ import annotations

import colorsys

import numpy as np
import pytest
import torch
from PIL import Image

from perturbations import ImageFormatError, get, names

from .conftest import make_images

CORRUPTIONS = ["gaussian_noise", "gaussian_blur", "jpeg", "brightness", "contrast", "pixelate"]
MONOTONE = ["gaussian_noise", "gaussian_blur", "pixelate", "contrast", "brightness"]


def apply(name: str, images: torch.Tensor, seed: int = 0, **params: int) -> torch.Tensor:
    return get(name, **params).apply_images(images, seed=seed)


def mean_abs_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.float() - b.float()).abs().mean().item()


@pytest.mark.parametrize("name", ["mirrored", "flipped", "inverted"])
def test_involutions(images: torch.Tensor, name: str) -> None:
    once = apply(name, images)
    assert not torch.equal(once, images)
    assert torch.equal(apply(name, once), images)


def test_rotated90_four_times_is_identity(images: torch.Tensor) -> None:
    out = images
    for turn in range(1, 5):
        out = apply("rotated90", out)
        assert torch.equal(out, images) == (turn == 4)
    assert apply("rotated90", images).shape == (4, 3, 64, 48)


@pytest.mark.parametrize(
    ("name", "transpose"),
    [
        ("rotated90", Image.Transpose.ROTATE_90),
        ("flipped", Image.Transpose.FLIP_TOP_BOTTOM),
        ("mirrored", Image.Transpose.FLIP_LEFT_RIGHT),
    ],
)
def test_geometry_matches_the_thesis_pil_method(
    images: torch.Tensor, name: str, transpose: Image.Transpose
) -> None:
    pil = Image.fromarray(images[0].permute(1, 2, 0).numpy()).transpose(transpose)
    expected = torch.from_numpy(np.array(pil)).permute(2, 0, 1)
    assert torch.equal(apply(name, images)[0], expected)


def test_inverted_is_255_minus_x(images: torch.Tensor) -> None:
    assert torch.equal(apply("inverted", images), 255 - images)


def test_greyscale_channels_equal_the_luma(images: torch.Tensor) -> None:
    out = apply("greyscale", images)
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])
    r, g, b = images.double().unbind(1)
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    assert (out[:, 0].double() - luma).abs().max().item() <= 1.0
    pil = Image.fromarray(images[0].permute(1, 2, 0).numpy()).convert("L")
    assert torch.equal(out[0, 0], torch.from_numpy(np.array(pil)))
    grey = make_images(channels=1)
    assert torch.equal(apply("greyscale", grey), grey)


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_corruptions_change_the_image_more_at_higher_severity(
    photos: torch.Tensor, name: str
) -> None:
    diffs = [mean_abs_diff(apply(name, photos, severity=s), photos) for s in range(1, 6)]
    assert diffs[0] > 0.5
    assert diffs[4] > diffs[0]
    if name in MONOTONE:
        assert diffs == sorted(diffs) and len(set(diffs)) == 5, diffs


@pytest.mark.parametrize("name", names("image"))
@pytest.mark.parametrize("channels", [1, 3])
def test_dtype_shape_and_batch_equivalence(name: str, channels: int) -> None:
    images = make_images(n=3, channels=channels)
    p = get(name)
    out = p.apply_images(images, seed=7, start=10)
    assert out.dtype == torch.uint8 and out.is_contiguous()
    expected = (3, channels, 64, 48) if name == "rotated90" else images.shape
    assert out.shape == expected
    for i in range(3):
        single = p.apply_image(images[i], seed=7, index=10 + i)
        assert torch.equal(single, out[i]), f"{name}: image {i} differs alone vs in a batch"
    assert torch.equal(images, make_images(n=3, channels=channels)), "input was modified"


@pytest.mark.parametrize("name", names("image"))
def test_seeds(images: torch.Tensor, name: str) -> None:
    p = get(name)
    first = p.apply_images(images, seed=1)
    assert torch.equal(first, p.apply_images(images, seed=1))
    other = p.apply_images(images, seed=2)
    assert torch.equal(first, other) != p.stochastic
    assert p.stochastic == (name == "gaussian_noise")


def test_noise_differs_between_items_and_ignores_batch_split(images: torch.Tensor) -> None:
    p = get("gaussian_noise")
    same = images[:1].expand(4, -1, -1, -1).contiguous()
    out = p.apply_images(same, seed=0)
    assert not torch.equal(out[0], out[1])
    halves = torch.cat(
        [p.apply_images(images[:2], seed=0), p.apply_images(images[2:], seed=0, start=2)]
    )
    assert torch.equal(halves, p.apply_images(images, seed=0))


def test_ragged_and_tiny_images() -> None:
    for height, width in [(1, 1), (2, 3), (8, 8)]:
        image = make_images(n=1, height=height, width=width)[0]
        for name in names("image"):
            p = get(name, severity=5) if get(name).params else get(name)
            out = p.apply_image(image, seed=0)
            assert out.dtype == torch.uint8
            assert out.shape[0] == 3 and sorted(out.shape[1:]) == sorted((height, width))


def test_empty_batch() -> None:
    empty = torch.zeros((0, 3, 4, 4), dtype=torch.uint8)
    for name in names("image"):
        assert get(name).apply_images(empty, seed=0).shape[0] == 0


@pytest.mark.parametrize(
    "bad",
    [
        torch.zeros((2, 3, 4, 4), dtype=torch.float32),
        torch.zeros((3, 4, 4), dtype=torch.uint8),
        torch.zeros((2, 4, 4, 4), dtype=torch.uint8),
    ],
)
def test_bad_image_batches(bad: torch.Tensor) -> None:
    with pytest.raises(ImageFormatError, match=r"uint8 tensor shaped \(N, C, H, W\)"):
        get("greyscale").apply_images(bad, seed=0)


def test_bad_single_image() -> None:
    with pytest.raises(ImageFormatError, match=r"\(C, H, W\)"):
        get("greyscale").apply_image(torch.zeros((1, 3, 4, 4), dtype=torch.uint8), seed=0)


# Fidelity to the ImageNet-C reference code (Hendrycks & Dietterich 2019), within rounding.


@pytest.mark.parametrize("severity", [1, 3, 5])
def test_pixelate_matches_pil_box_resize(photos: torch.Tensor, severity: int) -> None:
    scale = (0.6, 0.5, 0.4, 0.3, 0.25)[severity - 1]
    out = apply("pixelate", photos, severity=severity)
    for image, ours in zip(photos, out, strict=True):
        pil = Image.fromarray(image.permute(1, 2, 0).numpy())
        width, height = pil.size
        small = pil.resize((int(width * scale), int(height * scale)), Image.Resampling.BOX)
        ref = torch.from_numpy(np.array(small.resize((width, height), Image.Resampling.BOX)))
        assert (ours.permute(1, 2, 0).int() - ref.int()).abs().max() <= 1


@pytest.mark.parametrize("severity", [1, 5])
def test_gaussian_blur_matches_scipy(photos: torch.Tensor, severity: int) -> None:
    from scipy import ndimage  # scipy comes with scikit-learn (pinned)

    sigma = (1, 2, 3, 4, 6)[severity - 1]  # photos have the reference 224-pixel short side
    out = apply("gaussian_blur", photos[:1], severity=severity)[0]
    ref = ndimage.gaussian_filter(
        photos[0].double().numpy(), sigma=(0, sigma, sigma), mode="nearest", truncate=4.0
    )
    assert (out.double() - torch.from_numpy(ref).round()).abs().max() <= 1


def test_brightness_matches_hsv(images: torch.Tensor) -> None:
    image = images[0, :, :6, :6].clone()
    image[:, 0, 0] = 0  # black: becomes grey
    image[:, 0, 1] = 255  # white: stays white
    out = apply("brightness", image[None], severity=4)[0]
    for y in range(6):
        for x in range(6):
            h, s, v = colorsys.rgb_to_hsv(*(image[:, y, x].double() / 255).tolist())
            ref = colorsys.hsv_to_rgb(h, s, min(v + 0.4, 1.0))
            expected = torch.tensor(ref, dtype=torch.float64) * 255
            assert (out[:, y, x].double() - expected).abs().max() <= 0.5 + 1e-9


def test_contrast_matches_imagenet_c(images: torch.Tensor) -> None:
    x = images.double() / 255
    means = x.mean(dim=(-2, -1), keepdim=True)
    ref = ((x - means) * 0.2 + means).clamp(0, 1) * 255
    assert (apply("contrast", images, severity=3).double() - ref).abs().max() <= 0.5 + 1e-6


@pytest.mark.parametrize(("severity", "sigma"), [(1, 0.08), (2, 0.12)])
def test_gaussian_noise_has_the_table_sigma(severity: int, sigma: float) -> None:
    grey = torch.full((2, 3, 200, 200), 128, dtype=torch.uint8)  # clipping is > 4 sigma away
    noise = apply("gaussian_noise", grey, severity=severity).double() - 128
    assert noise.std().item() == pytest.approx(sigma * 255, rel=0.02)
    assert abs(noise.mean().item()) < 0.5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", names("image"))
def test_cuda_matches_cpu(images: torch.Tensor, name: str) -> None:
    p = get(name)
    on_cpu = p.apply_images(images, seed=3)
    on_gpu = p.apply_images(images.cuda(), seed=3)
    assert on_gpu.device.type == "cuda"
    assert (on_gpu.cpu().int() - on_cpu.int()).abs().max() <= 1
