"""Image classification: transformers and timm classifiers over decoded uint8 image tensors.

Images are decoded once per split into RGB ``uint8`` tensors (C, H, W); perturbations work on
those tensors, and each model's own preprocessing (size, crop, mean/std) is applied in batches on
the device, so a variant costs a cheap tensor op, not a decode.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision.transforms.v2.functional as F
from PIL import Image

from evaluators.errors import EvaluationError, InsufficientMetadataError
from evaluators.labels import model_labels
from evaluators.loading import load_config, load_transformers_model
from evaluators.predictions import Predictions
from evaluators.progress import batches
from store.types import FailureReason


def to_tensor(image: Image.Image) -> torch.Tensor:
    """A PIL image as an RGB uint8 tensor (C, H, W)."""
    array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


@dataclass(frozen=True)
class Preprocess:
    """Resize (shorter side), centre-crop, rescale and normalise, as the model was trained."""

    height: int
    width: int
    resize_shorter: int | None  # None: resize straight to (height, width)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    interpolation: F.InterpolationMode = F.InterpolationMode.BILINEAR

    def __call__(self, images: Sequence[torch.Tensor], device: torch.device) -> torch.Tensor:
        if len({tuple(image.shape) for image in images}) == 1:  # usual: one size per split
            batch = self._geometry(torch.stack(list(images)).to(device, non_blocking=True))
        else:
            batch = torch.stack([self._geometry(image.to(device)) for image in images])
        return F.normalize(batch.float().div_(255.0), list(self.mean), list(self.std))

    def _geometry(self, images: torch.Tensor) -> torch.Tensor:
        """Resize and crop one image (C, H, W) or a batch (N, C, H, W)."""
        if self.resize_shorter is None:
            return F.resize(
                images, [self.height, self.width], interpolation=self.interpolation, antialias=True
            )
        images = F.resize(
            images, [self.resize_shorter], interpolation=self.interpolation, antialias=True
        )
        return F.center_crop(images, [self.height, self.width])


def _run(
    model: torch.nn.Module,
    preprocess: Preprocess,
    images: Sequence[torch.Tensor],
    batch_size: int,
    device: torch.device,
    *,
    timm: bool,
) -> Predictions:
    labels = np.empty(len(images), dtype=np.int64)
    confidences = np.empty(len(images), dtype=np.float32)
    start = time.perf_counter()
    with torch.inference_mode():
        for lo in batches(len(images), batch_size):
            pixels = preprocess(images[lo : lo + batch_size], device)
            output = model(pixels) if timm else model(pixel_values=pixels).logits
            probs = torch.softmax(output.float(), dim=-1)
            conf, pred = probs.max(dim=-1)
            labels[lo : lo + len(pred)] = pred.cpu().numpy()
            confidences[lo : lo + len(pred)] = conf.cpu().numpy()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return Predictions(labels=labels, confidences=confidences, seconds=time.perf_counter() - start)


@dataclass
class TransformersImageClassifier:
    repo_id: str
    model: torch.nn.Module
    preprocess: Preprocess
    id2label: dict[int, str]
    device: torch.device

    @classmethod
    def load(cls, repo_id: str, path: Path, device: torch.device) -> TransformersImageClassifier:
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        config = load_config(repo_id, path)
        try:
            processor = AutoImageProcessor.from_pretrained(path, trust_remote_code=False)
        except (OSError, ValueError) as exc:
            raise InsufficientMetadataError(repo_id, f"no usable image processor: {exc}") from exc
        model = load_transformers_model(
            repo_id,
            AutoModelForImageClassification,
            path,
            config,
            kind="an image classifier",
            device=device,
        )
        id2label = model_labels(repo_id, config.id2label)
        return cls(repo_id, model, _processor_preprocess(processor), id2label, device)

    def predict(self, inputs: Sequence[Any], *, batch_size: int, max_length: int) -> Predictions:
        return _run(self.model, self.preprocess, inputs, batch_size, self.device, timm=False)


def _size(value: Any) -> dict[str, int]:
    """A processor size (dict or transformers' SizeDict) as a dict of the fields that are set."""
    if value is None:
        return {}
    items = value.items() if isinstance(value, dict) else vars(value).items()
    return {k: int(v) for k, v in items if isinstance(v, int | float) and v}


_RESAMPLE = {
    2: F.InterpolationMode.BILINEAR,
    3: F.InterpolationMode.BICUBIC,
    0: F.InterpolationMode.NEAREST,
}


def _processor_preprocess(processor: Any) -> Preprocess:
    """The geometry and normalisation of a transformers image processor, as tensor ops.

    Follows the processors' conventions: ``shortest_edge`` with ``crop_pct`` (ConvNeXt: resize to
    224 / 0.875 = 256, then centre-crop 224), ``crop_size`` with ``do_center_crop``, else a plain
    resize to ``height`` x ``width``; the processor's ``resample`` filter.
    """
    size = _size(getattr(processor, "size", None)) or {"height": 224, "width": 224}
    crop = (
        _size(getattr(processor, "crop_size", None))
        if getattr(processor, "do_center_crop", False)
        else {}
    )
    mean = tuple(getattr(processor, "image_mean", None) or (0.5, 0.5, 0.5))
    std = tuple(getattr(processor, "image_std", None) or (0.5, 0.5, 0.5))
    if not getattr(processor, "do_normalize", True):
        mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    resample = getattr(processor, "resample", None)
    mode = _RESAMPLE.get(
        int(getattr(resample, "value", resample) or 2), F.InterpolationMode.BILINEAR
    )
    if crop:
        shorter = size.get("shortest_edge") or size.get("height") or crop["height"]
        return Preprocess(crop["height"], crop["width"], shorter, mean, std, mode)
    if "shortest_edge" in size:
        edge = size["shortest_edge"]
        crop_pct = getattr(processor, "crop_pct", None)
        if crop_pct and edge < 384:
            return Preprocess(edge, edge, int(edge / crop_pct), mean, std, mode)
        return Preprocess(edge, edge, edge, mean, std, mode)
    return Preprocess(size["height"], size["width"], None, mean, std, mode)


@dataclass
class TimmImageClassifier:
    repo_id: str
    model: torch.nn.Module
    preprocess: Preprocess
    id2label: dict[int, str]
    device: torch.device

    @classmethod
    def load(cls, repo_id: str, path: Path, device: torch.device) -> TimmImageClassifier:
        import timm

        try:
            cfg = json.loads((path / "config.json").read_text())
        except (OSError, ValueError) as exc:
            raise InsufficientMetadataError(repo_id, f"unreadable config.json: {exc}") from exc
        if not isinstance(cfg, dict) or "architecture" not in cfg:
            raise InsufficientMetadataError(repo_id, "config.json names no timm architecture")
        try:
            model = timm.create_model(f"local-dir:{path}", pretrained=True)
        except (RuntimeError, ValueError, KeyError, OSError) as exc:
            raise EvaluationError(
                repo_id, f"timm failed to load the model: {exc}", reason=FailureReason.LOAD_ERROR
            ) from exc
        pretrained = cfg.get("pretrained_cfg", cfg)
        names = cfg.get("label_names") or (
            pretrained.get("label_names") if isinstance(pretrained, dict) else None
        )
        if not names:
            raise InsufficientMetadataError(repo_id, "config.json has no label_names")
        if not isinstance(names, list):
            raise InsufficientMetadataError(repo_id, "label_names in config.json is not a list")
        data = timm.data.resolve_data_config({}, model=model)
        _, height, width = data["input_size"]
        crop_pct = float(data.get("crop_pct") or 1.0)
        shorter = math.floor(min(height, width) / crop_pct)
        interpolation = (
            F.InterpolationMode.BICUBIC
            if data.get("interpolation") == "bicubic"
            else F.InterpolationMode.BILINEAR
        )
        preprocess = Preprocess(
            height, width, shorter, tuple(data["mean"]), tuple(data["std"]), interpolation
        )
        return cls(
            repo_id,
            model.eval().to(device),
            preprocess,
            model_labels(repo_id, dict(enumerate(names))),
            device,
        )

    def predict(self, inputs: Sequence[Any], *, batch_size: int, max_length: int) -> Predictions:
        return _run(self.model, self.preprocess, inputs, batch_size, self.device, timm=True)
