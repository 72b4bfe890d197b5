"""Image classification: transformers and timm classifiers over streamed uint8 image batches.

A split's images are read in batches by decode worker processes (:func:`evaluators.streaming.
stream`): each decodes its batch into RGB ``uint8`` tensors (C, H, W), applies the variant's
perturbation at the image's own size, then the model's resize and crop (:meth:`Preprocess.
geometry`); the evaluating process rescales, normalises and runs the model on the device, so only
one batch per worker is ever decoded at a time.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision.transforms.v2.functional as F
from PIL import Image

from evaluators.errors import InsufficientMetadataError
from evaluators.labels import model_labels
from evaluators.limits import load_json
from evaluators.loading import load_config, load_timm_model, load_transformers_model
from evaluators.metadata import thumbnail_png
from evaluators.predictions import Options, Predictions, autocast
from evaluators.processing import check_scores
from evaluators.streaming import Span, spans, stream
from evaluators.timm_labels import timm_label_names


def to_tensor(image: Image.Image) -> torch.Tensor:
    """A PIL image as an RGB uint8 tensor (C, H, W)."""
    array = np.asarray(image.convert("RGB"), dtype=np.uint8)
    # numpy's transposing copy: torch's uint8 permute-copy is ~10x slower, more so on 2 threads
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


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
        """``images`` (uint8, C, H, W) as the model's input batch on ``device``."""
        return self.normalize(self.geometry(images).to(device, non_blocking=True))

    def geometry(self, images: Sequence[torch.Tensor]) -> torch.Tensor:
        """Resize and crop ``images`` (uint8, C, H, W) into one uint8 batch (N, C, h, w)."""
        if len({tuple(image.shape) for image in images}) == 1:  # usual: one size per split
            return self._geometry(torch.stack(list(images)))
        return torch.stack([self._geometry(image) for image in images])

    def normalize(self, batch: torch.Tensor) -> torch.Tensor:
        """A uint8 batch as the model's float input: rescaled to [0, 1], then normalised."""
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


@dataclass(frozen=True)
class _Prepare:
    """What the decode workers do to a batch: the model's geometry, and the thumbnails of the
    examples the executor wants shown (made from the same decoded images)."""

    preprocess: Preprocess
    thumbnails: frozenset[int]

    def __call__(
        self, images: list[torch.Tensor], part: Span
    ) -> tuple[torch.Tensor, dict[int, bytes]]:
        shown: dict[int, bytes] = {}
        if self.thumbnails:
            rows = range(part.start, part.stop) if isinstance(part, slice) else part.tolist()
            shown = {
                int(i): thumbnail_png(image)
                for i, image in zip(rows, images, strict=True)
                if i in self.thumbnails
            }
        return self.preprocess.geometry(images), shown


def _run(
    repo_id: str,
    forward: Callable[[torch.Tensor], torch.Tensor],
    preprocess: Preprocess,
    images: Sequence[torch.Tensor],
    options: Options,
    device: torch.device,
) -> Predictions:
    """Stream ``images`` through the decode workers (geometry there), normalise on ``device``,
    forward (under bf16 autocast on CUDA when ``options.precision`` allows), softmax.

    Raises:
        EvaluationError: the model's scores are not finite (see :func:`check_scores`).
    """
    n = len(images)
    labels = np.empty(n, dtype=np.int64)
    confidences = np.empty(n, dtype=np.float32)
    thumbnails: dict[int, bytes] = {}
    parts = spans(n, options.batch_size)
    prepare = _Prepare(preprocess, frozenset(options.thumbnails))
    start = time.perf_counter()
    with torch.inference_mode(), autocast(device, options.precision):
        for part, (batch, shown) in zip(
            parts, stream(images, parts, loading=options.loading, transform=prepare), strict=True
        ):
            pixels = preprocess.normalize(batch.to(device, non_blocking=True))
            probs = torch.softmax(forward(pixels).float(), dim=-1)
            conf, pred = probs.max(dim=-1)
            assert isinstance(part, slice)
            labels[part] = pred.cpu().numpy()
            confidences[part] = conf.cpu().numpy()
            thumbnails.update(shown)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    check_scores(repo_id, confidences)
    return Predictions(
        labels=labels,
        confidences=confidences,
        seconds=time.perf_counter() - start,
        thumbnails=thumbnails,
        batch_size=options.batch_size,
    )


MAX_IMAGE_SIDE = 4096  # pixels: real classifiers take 224-518, the largest about 1,024


def checked(repo_id: str, preprocess: Preprocess, source: str) -> Preprocess:
    """``preprocess`` when its sizes and normalisation are ones a classifier can be fed.

    A config can ask for anything: a 100000 x 100000 resize allocates 120 GB per image, a
    negative or zero size fails deep in torchvision, a ``crop_pct`` near 0 makes the resize
    before the crop as large.

    Raises:
        InsufficientMetadataError: a size outside 1..``MAX_IMAGE_SIDE`` pixels, or a mean and
            std that are not one finite value per channel (std non-zero); ``source`` names the
            file they come from.
    """
    sides = {"height": preprocess.height, "width": preprocess.width}
    if preprocess.resize_shorter is not None:
        sides["resize"] = preprocess.resize_shorter
    wrong = {k: str(v)[:12] for k, v in sides.items() if not 1 <= v <= MAX_IMAGE_SIDE}
    if wrong:
        raise InsufficientMetadataError(
            repo_id,
            f"{source} asks for images of {wrong} pixels; evalbot feeds classifiers images of "
            f"1 to {MAX_IMAGE_SIDE} pixels a side: fix the sizes there",
        )
    stats = (*preprocess.mean, *preprocess.std)
    if (
        len(preprocess.mean) not in (1, 3)
        or len(preprocess.std) != len(preprocess.mean)
        or not all(isinstance(v, int | float) and math.isfinite(v) for v in stats)
        or 0 in preprocess.std
    ):
        raise InsufficientMetadataError(
            repo_id,
            f"{source} normalises with mean {list(preprocess.mean)[:6]} and std "
            f"{list(preprocess.std)[:6]}: give one finite value per colour channel, std non-zero",
        )
    return preprocess


PROBE_FACTOR = 8  # a probed batch is at most this many times the module's
PROBE_MEMORY_SHARE = 0.7  # of the GPU's memory, at the peak of the probing forward


def sized(
    probed: dict[int, int],
    forward: Callable[[torch.Tensor], torch.Tensor],
    preprocess: Preprocess,
    device: torch.device,
    options: Options,
) -> Options:
    """``options`` with the probed batch size on CUDA when asked (probed once per model and
    starting size: ``probed`` is the model's memo)."""
    if not options.probe or device.type != "cuda":
        return options
    if options.batch_size not in probed:
        probed[options.batch_size] = probe_batch_size(forward, preprocess, device, options)
    return dataclasses.replace(options, batch_size=probed[options.batch_size])


def probe_batch_size(
    forward: Callable[[torch.Tensor], torch.Tensor],
    preprocess: Preprocess,
    device: torch.device,
    options: Options,
) -> int:
    """The largest batch, doubling from ``options.batch_size`` up to ``PROBE_FACTOR`` times it,
    whose forward (on zeros of the model's input size) peaks under ``PROBE_MEMORY_SHARE`` of the
    GPU's memory: a short probe, a few forwards, before a split is predicted."""
    total = torch.cuda.get_device_properties(device).total_memory
    best = size = options.batch_size
    while size * 2 <= options.batch_size * PROBE_FACTOR:
        size *= 2
        pixels = None
        try:
            torch.cuda.reset_peak_memory_stats(device)
            pixels = torch.zeros((size, 3, preprocess.height, preprocess.width), device=device)
            with torch.inference_mode(), autocast(device, options.precision):
                forward(pixels)
            torch.cuda.synchronize(device)
            if torch.cuda.max_memory_allocated(device) > PROBE_MEMORY_SHARE * total:
                break
            best = size
        except torch.cuda.OutOfMemoryError:
            break
        finally:
            del pixels
            torch.cuda.empty_cache()
    return best


@dataclass
class TransformersImageClassifier:
    repo_id: str
    model: torch.nn.Module
    preprocess: Preprocess
    id2label: dict[int, str]
    device: torch.device
    probed: dict[int, int] = dataclasses.field(default_factory=dict)  # batch size -> probed

    @classmethod
    def load(cls, repo_id: str, path: Path, device: torch.device) -> TransformersImageClassifier:
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        config = load_config(repo_id, path)
        try:
            processor = AutoImageProcessor.from_pretrained(path, trust_remote_code=False)
        except (OSError, ValueError) as exc:
            raise InsufficientMetadataError(repo_id, f"no usable image processor: {exc}") from exc
        try:
            preprocess = _processor_preprocess(processor)
        except (KeyError, ValueError, OverflowError) as exc:  # a size of 0, NaN or inf pixels
            raise InsufficientMetadataError(
                repo_id, f"preprocessor_config.json has unusable sizes: {exc!r}"
            ) from exc
        preprocess = checked(repo_id, preprocess, "preprocessor_config.json")
        model = load_transformers_model(
            repo_id,
            AutoModelForImageClassification,
            path,
            config,
            kind="an image classifier",
            device=device,
        )
        id2label = model_labels(repo_id, config.id2label)
        return cls(repo_id, model, preprocess, id2label, device)

    def predict(self, inputs: Sequence[Any], options: Options) -> Predictions:
        def forward(pixels: torch.Tensor) -> torch.Tensor:
            return self.model(pixel_values=pixels).logits

        options = sized(self.probed, forward, self.preprocess, self.device, options)
        return _run(self.repo_id, forward, self.preprocess, inputs, options, self.device)


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
    probed: dict[int, int] = dataclasses.field(default_factory=dict)  # batch size -> probed

    @classmethod
    def load(cls, repo_id: str, path: Path, device: torch.device) -> TimmImageClassifier:
        import timm

        try:
            cfg = load_json(path / "config.json")
        except (OSError, ValueError) as exc:
            raise InsufficientMetadataError(repo_id, f"unreadable config.json: {exc}") from exc
        if not isinstance(cfg, dict) or "architecture" not in cfg:
            raise InsufficientMetadataError(repo_id, "config.json names no timm architecture")
        names = timm_label_names(repo_id, cfg)
        if names is None:
            raise InsufficientMetadataError(
                repo_id,
                "config.json has no label_names and its pretrained tag names no ImageNet subset "
                "timm knows: add label_names (one class name per output, in class-index order)",
            )
        model = load_timm_model(repo_id, path, device)
        data = timm.data.resolve_data_config({}, model=model)
        interpolation = (
            F.InterpolationMode.BICUBIC
            if data.get("interpolation") == "bicubic"
            else F.InterpolationMode.BILINEAR
        )
        try:
            _, height, width = (int(n) for n in data["input_size"])
            shorter = math.floor(min(height, width) / float(data.get("crop_pct") or 1.0))
            mean, std = tuple(data["mean"]), tuple(data["std"])
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
            raise InsufficientMetadataError(
                repo_id, f"config.json's pretrained_cfg has unusable sizes: {exc!r}"
            ) from exc
        preprocess = Preprocess(height, width, shorter, mean, std, interpolation)
        preprocess = checked(repo_id, preprocess, "config.json (pretrained_cfg)")
        return cls(
            repo_id,
            model,
            preprocess,
            model_labels(repo_id, dict(enumerate(names))),
            device,
        )

    def predict(self, inputs: Sequence[Any], options: Options) -> Predictions:
        options = sized(self.probed, self.model, self.preprocess, self.device, options)
        return _run(self.repo_id, self.model, self.preprocess, inputs, options, self.device)
