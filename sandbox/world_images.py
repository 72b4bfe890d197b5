"""The image part of the demo world: `ylecun/mnist` and two small digit classifiers.

The dataset has MNIST's Hub id and schema (28×28 greyscale PNGs, class labels "0".."9") but
holds scikit-learn's real handwritten digits (`load_digits`: 1,797 8×8 images), upscaled and
centred the way MNIST centres its digits in a 20×20 box. Two classifiers are trained on its
train split: a transformers ViT (`demo/vit-digits`) and a timm ResNet saved in timm's own Hub
format (`demo/timm-digits`). `sandbox.world.build_world` calls `build_images`, caches the files
and adds them to the `World`.

Loading `demo/timm-digits` from a local folder (a `snapshot_download` or the world's own folder):

    >>> model = timm.create_model(f"local-dir:{folder}", pretrained=True)
    >>> config = timm.data.resolve_data_config(model=model)  # 28×28, bilinear, crop_pct 1.0
    >>> transform = timm.data.create_transform(**config)  # feed it image.convert("RGB")

Example:
    >>> splits = digit_splits()
    >>> [len(splits[s][0]) for s in IMAGE_SPLITS], splits["test"][0][0].size
    ([1437, 360], (28, 28))
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from sandbox.world import DatasetSpec, ModelSpec

MNIST_ID = "ylecun/mnist"
MNIST_CONFIG = "mnist"  # the real repo's only config name
DIGIT_LABELS = tuple(str(i) for i in range(10))
IMAGE_SPLITS = ("train", "test")
VIT_ID = "demo/vit-digits"
TIMM_ID = "demo/timm-digits"


@dataclass(frozen=True)
class ImageTrainParams:
    """Hyperparameters of one image-classifier training run (AdamW, linear warmup and decay)."""

    seed: int
    epochs: int
    lr: float
    batch_size: int = 64
    weight_decay: float = 0.05
    warmup_ratio: float = 0.1


@dataclass(frozen=True)
class ImageRecipe:
    """Every parameter of the image part; part of `sandbox.world.Recipe` and so of its digest."""

    split_seed: int = 20261125
    test_size: int = 360
    digit_size: int = 20  # the 8×8 digit is resized to this box, then padded to image_size
    image_size: int = 28
    vit: ImageTrainParams = ImageTrainParams(seed=4, epochs=15, lr=3e-3)
    vit_hidden: int = 64
    vit_layers: int = 2
    vit_heads: int = 4
    vit_intermediate: int = 128
    vit_patch: int = 7
    timm_architecture: str = "resnet10t"
    timm: ImageTrainParams = ImageTrainParams(seed=5, epochs=3, lr=3e-3)
    # Models this small gain nothing from a second thread, and on a busy 2-core machine two
    # threads ran their training 3–10 times slower than one.
    threads: int = 1


IMAGE_RECIPE = ImageRecipe()

ImageSplits = dict[str, tuple[list["Image.Image"], list[int]]]

# --------------------------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------------------------


def _mnist_image(pixels: Any, recipe: ImageRecipe) -> Image.Image:
    """An 8×8 `load_digits` image (values 0–16) as a 28×28 mode "L" image, white on black."""
    import numpy as np
    from PIL import Image

    grey = np.clip(np.rint(pixels * (255 / 16)), 0, 255).astype(np.uint8)
    digit = Image.fromarray(grey, mode="L").resize(
        (recipe.digit_size, recipe.digit_size), Image.Resampling.BILINEAR
    )
    canvas = Image.new("L", (recipe.image_size, recipe.image_size), 0)
    offset = (recipe.image_size - recipe.digit_size) // 2
    canvas.paste(digit, (offset, offset))
    return canvas


def digit_splits(recipe: ImageRecipe = IMAGE_RECIPE) -> ImageSplits:
    """scikit-learn's digits as MNIST-style images, split stratified into train and test.

    Each split keeps `load_digits` order. Deterministic for a given recipe.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    rows = list(range(len(digits.target)))
    train, test = train_test_split(
        rows, test_size=recipe.test_size, stratify=digits.target, random_state=recipe.split_seed
    )
    return {
        name: (
            [_mnist_image(digits.images[i], recipe) for i in sorted(part)],
            [int(digits.target[i]) for i in sorted(part)],
        )
        for name, part in (("train", train), ("test", test))
    }


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _dataset_card(splits: ImageSplits) -> str:
    meta = {
        "license": "cc-by-4.0",
        "pretty_name": "MNIST (evalbot stand-in from scikit-learn's digits)",
        "size_categories": ["1K<n<10K"],
        "task_categories": ["image-classification"],
        "task_ids": ["multi-class-image-classification"],
        "tags": ["digits", "handwritten"],
        "dataset_info": {
            "config_name": MNIST_CONFIG,
            "features": [
                {"name": "image", "dtype": "image"},
                {
                    "name": "label",
                    "dtype": {"class_label": {"names": {n: n for n in DIGIT_LABELS}}},
                },
            ],
        },
        "configs": [
            {
                "config_name": MNIST_CONFIG,
                "data_files": [{"split": s, "path": f"data/{s}-*"} for s in IMAGE_SPLITS],
                "default": True,
            }
        ],
    }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    sizes = ", ".join(f"{len(splits[s][0])} {s}" for s in IMAGE_SPLITS)
    return f"""---
{front}---

# MNIST (stand-in built from scikit-learn's digits)

A small stand-in with the Hub id and schema of
[ylecun/mnist](https://huggingface.co/datasets/ylecun/mnist), built by evalbot
(`sandbox/world_images.py`) for its demo and tests. Its images are **real handwritten digits**,
but not MNIST's: they are the 1,797 digits that scikit-learn ships as `load_digits` (the UCI
"Optical Recognition of Handwritten Digits" test set, 8×8 pixels, 16 grey levels), each scaled
to 0–255, resized bilinearly to 20×20 and centred on a black 28×28 canvas, the way MNIST
centres its digits. Sizes: {sizes} (a stratified split).

## Dataset structure

- `image` (image): a 28×28 greyscale PNG (mode "L"), white digit on black.
- `label` (class label): the digit, names "0" … "9" (class id i is digit i).

Upscaled 8×8 digits are blurrier and far fewer than MNIST's: results on this dataset are not
results on MNIST.
"""


def _write_dataset(root: Path, splits: ImageSplits) -> DatasetSpec:
    from datasets import ClassLabel, Dataset, Features
    from datasets import Image as ImageFeature

    from sandbox.world import DatasetSpec

    path = root / "datasets" / MNIST_ID
    features = Features({"image": ImageFeature(), "label": ClassLabel(names=list(DIGIT_LABELS))})
    for split in IMAGE_SPLITS:
        images, labels = splits[split]
        rows = {"image": [{"bytes": _png(im), "path": None} for im in images], "label": labels}
        Dataset.from_dict(rows, features=features).to_parquet(
            str(path / "data" / f"{split}-00000-of-00001.parquet")
        )
    (path / "README.md").write_text(_dataset_card(splits), encoding="utf-8")
    return DatasetSpec(MNIST_ID, path)


def pixel_stats(images: Sequence[Image.Image]) -> tuple[float, float]:
    """Mean and standard deviation of the pixels (scaled to 0–1), rounded to 4 digits."""
    import numpy as np

    pixels = np.stack([np.asarray(im, dtype=np.float64) / 255 for im in images])
    return round(float(pixels.mean()), 4), round(float(pixels.std()), 4)


# --------------------------------------------------------------------------------------------
# Training and measuring
# --------------------------------------------------------------------------------------------


def _fit(
    model: torch.nn.Module,
    logits: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    labels: list[int],
    params: ImageTrainParams,
) -> None:
    """Trains `model` (whose forward pass is `logits`) with cross-entropy on ready tensors."""
    import torch

    targets = torch.tensor(labels)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=params.lr, weight_decay=params.weight_decay
    )
    steps = params.epochs * -(-len(labels) // params.batch_size)
    warmup = max(1, int(steps * params.warmup_ratio))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup)))
    )
    generator = torch.Generator().manual_seed(params.seed)
    model.train()
    for _ in range(params.epochs):
        for rows in torch.randperm(len(labels), generator=generator).split(params.batch_size):
            loss = torch.nn.functional.cross_entropy(logits(inputs[rows]), targets[rows])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    model.eval()


def _argmax(logits: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor) -> list[int]:
    import torch

    with torch.no_grad():
        return [i for batch in inputs.split(128) for i in logits(batch).argmax(-1).tolist()]


def _share(predicted: Sequence[int], labels: Sequence[int]) -> float:
    hits = sum(p == y for p, y in zip(predicted, labels, strict=True))
    return round(hits / len(labels), 6)


def vit_inputs(processor: Any, images: Sequence[Image.Image]) -> torch.Tensor:
    """`pixel_values` of `images` through a transformers image processor (it converts to RGB)."""
    pixel_values: torch.Tensor = processor(images=list(images), return_tensors="pt")["pixel_values"]
    return pixel_values


def vit_accuracy(
    model: Any, processor: Any, images: Sequence[Image.Image], labels: Sequence[int]
) -> float:
    """Accuracy of a transformers image classifier, the way the world measured it.

    Example:
        >>> model = AutoModelForImageClassification.from_pretrained(folder)
        >>> vit_accuracy(model, AutoImageProcessor.from_pretrained(folder), images, labels)
        0.95
    """
    model.eval()
    return _share(
        _argmax(lambda x: model(pixel_values=x).logits, vit_inputs(processor, images)), labels
    )


def timm_inputs(model: Any, images: Sequence[Image.Image]) -> torch.Tensor:
    """`images` through timm's eval transform for `model`'s data config, converted to RGB first."""
    from timm.data import resolve_data_config

    return _timm_tensors(resolve_data_config(model=model), images)


def _timm_tensors(data_config: dict[str, Any], images: Sequence[Image.Image]) -> torch.Tensor:
    import torch
    from timm.data import create_transform

    transform = create_transform(**data_config)
    return torch.stack([transform(im.convert("RGB")) for im in images])


def timm_accuracy(model: Any, images: Sequence[Image.Image], labels: Sequence[int]) -> float:
    """Accuracy of a timm classifier through its own data config, the way the world measured it.

    Example:
        >>> timm_accuracy(timm.create_model("hf-hub:demo/timm-digits", pretrained=True), images, labels)
        0.98
    """
    model.eval()
    return _share(_argmax(model, timm_inputs(model, images)), labels)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def _card(card_data: Any, body: str) -> str:
    return f"---\n{card_data.to_yaml()}\n---\n\n{body.strip()}\n"


def _vit_card(recipe: ImageRecipe, n_train: int, params: int) -> str:
    from huggingface_hub import ModelCardData

    data = ModelCardData(
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="image-classification",
        datasets=[MNIST_ID],
        tags=["image-classification", "vision", "vit", "digits"],
    )
    p = recipe.vit
    body = f"""
# vit-digits

## Model description

A tiny Vision Transformer (`ViTForImageClassification`, {params / 1e3:.0f}K parameters) that
reads a handwritten digit and answers "0" … "9". Input 28×28 RGB (greyscale images are
converted by the image processor), patches of {recipe.vit_patch}×{recipe.vit_patch},
{recipe.vit_layers} layers, hidden size {recipe.vit_hidden}, {recipe.vit_heads} attention heads.

## Training procedure

Trained from scratch on the train split of
[{MNIST_ID}](https://huggingface.co/datasets/{MNIST_ID}) ({n_train} images) on CPU with
PyTorch: AdamW (learning rate {p.lr}, weight decay {p.weight_decay}), batch size
{p.batch_size}, {p.epochs} epochs, linear warmup ({p.warmup_ratio}) and decay, seed {p.seed}.

## How to use

```python
from transformers import pipeline

classifier = pipeline("image-classification", model="{VIT_ID}")
classifier("digit.png")
```
"""
    return _card(data, body)


def _build_vit(root: Path, splits: ImageSplits, recipe: ImageRecipe) -> ModelSpec:
    import torch
    from transformers import (
        AutoImageProcessor,
        AutoModelForImageClassification,
        ViTConfig,
        ViTForImageClassification,
        ViTImageProcessor,
    )

    from sandbox.world import ModelSpec

    images, labels = splits["train"]
    mean, std = pixel_stats(images)
    size = recipe.image_size
    processor = ViTImageProcessor(
        do_convert_rgb=True,
        do_resize=True,
        size={"height": size, "width": size},
        image_mean=[mean] * 3,
        image_std=[std] * 3,
    )
    config = ViTConfig(
        image_size=size,
        patch_size=recipe.vit_patch,
        num_channels=3,
        hidden_size=recipe.vit_hidden,
        num_hidden_layers=recipe.vit_layers,
        num_attention_heads=recipe.vit_heads,
        intermediate_size=recipe.vit_intermediate,
        id2label=dict(enumerate(DIGIT_LABELS)),
        label2id={n: i for i, n in enumerate(DIGIT_LABELS)},
    )
    torch.manual_seed(recipe.vit.seed)
    model = ViTForImageClassification(config)
    _fit(
        model,
        lambda x: model(pixel_values=x).logits,
        vit_inputs(processor, images),
        labels,
        recipe.vit,
    )
    path = root / "models" / VIT_ID
    model.save_pretrained(path, safe_serialization=True)
    processor.save_pretrained(path)
    params = sum(p.numel() for p in model.parameters())
    (path / "README.md").write_text(_vit_card(recipe, len(labels), params), encoding="utf-8")
    # Measured through what was saved, as any user of the repo loads it.
    acc = vit_accuracy(
        AutoModelForImageClassification.from_pretrained(path),
        AutoImageProcessor.from_pretrained(path),
        *splits["test"],
    )
    return ModelSpec(VIT_ID, path, "transformers ViT image classifier, digit labels", acc)


def _timm_card(recipe: ImageRecipe, n_train: int, params: int) -> str:
    from huggingface_hub import ModelCardData

    data = ModelCardData(
        license="apache-2.0",
        library_name="timm",
        pipeline_tag="image-classification",
        datasets=[MNIST_ID],
        tags=["timm", "image-classification"],
    )
    p, arch = recipe.timm, recipe.timm_architecture
    body = f"""
# Model card for timm-digits

A `{arch}` image classification model (timm), trained from scratch on handwritten digits.

## Model Details

- **Model Type:** Image classification
- **Params (M):** {params / 1e6:.1f}
- **Image size:** {recipe.image_size} x {recipe.image_size} (RGB; convert greyscale images)
- **Classes:** 10, label names "0" … "9"
- **Dataset:** [{MNIST_ID}](https://huggingface.co/datasets/{MNIST_ID}), train split
  ({n_train} images)
- **Training:** AdamW (learning rate {p.lr}, weight decay {p.weight_decay}), batch size
  {p.batch_size}, {p.epochs} epochs, linear warmup and decay, seed {p.seed}, on CPU.

## Model Usage

```python
import timm
from PIL import Image

model = timm.create_model("hf-hub:{TIMM_ID}", pretrained=True).eval()
config = timm.data.resolve_data_config(model=model)
transform = timm.data.create_transform(**config)
logits = model(transform(Image.open("digit.png").convert("RGB")).unsqueeze(0))
```
"""
    return _card(data, body)


def _build_timm(root: Path, splits: ImageSplits, recipe: ImageRecipe) -> ModelSpec:
    import timm
    import torch
    from timm.models import save_for_hf

    from sandbox.world import ModelSpec

    images, labels = splits["train"]
    mean, std = pixel_stats(images)
    size = recipe.image_size
    data_config = {
        "input_size": (3, size, size),
        "interpolation": "bilinear",
        "crop_pct": 1.0,
        "crop_mode": "center",
        "mean": (mean,) * 3,
        "std": (std,) * 3,
    }
    torch.manual_seed(recipe.timm.seed)
    model = timm.create_model(recipe.timm_architecture, num_classes=len(DIGIT_LABELS), in_chans=3)
    _fit(model, model, _timm_tensors(data_config, images), labels, recipe.timm)
    path = root / "models" / TIMM_ID
    save_for_hf(  # writes data_config as the pretrained_cfg that loaders resolve
        model,
        str(path),
        # The default cfg's tag names ImageNet weights these are not.
        model_config={"label_names": list(DIGIT_LABELS), "pretrained_cfg": {"tag": "digits"}},
        data_config=data_config,
        safe_serialization=True,
    )
    params = sum(p.numel() for p in model.parameters())
    (path / "README.md").write_text(_timm_card(recipe, len(labels), params), encoding="utf-8")
    saved = timm.create_model(f"local-dir:{path}", pretrained=True)
    acc = timm_accuracy(saved, *splits["test"])
    return ModelSpec(TIMM_ID, path, f"timm {recipe.timm_architecture}, timm's Hub format", acc)


def build_images(
    root: Path, recipe: ImageRecipe = IMAGE_RECIPE
) -> tuple[DatasetSpec, tuple[ModelSpec, ...]]:
    """Writes the `ylecun/mnist` stand-in and trains the two digit classifiers under `root`.

    Called by `sandbox.world.build_world`, which caches the result and sets torch's thread
    count to `recipe.threads` around this call; about 20 s on one CPU core.

    Returns:
        The dataset spec and the model specs (`demo/vit-digits`, `demo/timm-digits`).
    """
    splits = digit_splits(recipe)
    dataset = _write_dataset(root, splits)
    return dataset, (_build_vit(root, splits, recipe), _build_timm(root, splits, recipe))
