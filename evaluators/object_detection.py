"""Object detection: transformers detectors (DETR, Conditional/Deformable DETR, YOLOS, RT-DETR ...)
over decoded uint8 images, each with its own image processor and post-processing, batched.

A split holds the images as RGB uint8 tensors and the boxes of each image (xyxy pixels, dataset
class ids). A perturbed variant moves the boxes with the image (flipped, mirrored, rotated90) or
keeps them (colour changes and corruptions); see ``perturbations.Perturbation.apply_boxes``.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import datasets
import numpy as np
import torch

from evaluators.coco import Detections, GroundTruth
from evaluators.config import EvaluationModule, ObjectColumns
from evaluators.datasets_io import DatasetError, EvalSplit, load_rows
from evaluators.detection_labels import map_detector_labels
from evaluators.errors import InsufficientMetadataError
from evaluators.labels import normalize
from evaluators.loading import load_transformers_model
from evaluators.predictions import Options, autocast
from evaluators.streaming import CHUNK, Column, spans, stream
from perturbations import Perturbation
from store.types import DatasetExampleRecord


@dataclass(frozen=True)
class DetectionSplit(EvalSplit):
    """An evaluation split for detection: ``labels`` holds one class id per (non-crowd) object,
    so ``class_counts`` counts objects; ``targets`` holds the boxes of each image and ``sizes``
    its (width, height), read from the image headers (the pixels are read in batches)."""

    targets: tuple[GroundTruth, ...] = ()
    sizes: tuple[tuple[int, int], ...] = ()

    def perturbed(self, perturbation: Perturbation, *, seed: int) -> DetectionSplit:
        variant = super().perturbed(perturbation, seed=seed)
        assert isinstance(variant, DetectionSplit)
        if not perturbation.moves_boxes:
            return variant
        moved, sizes = [], []
        for (width, height), target in zip(self.sizes, self.targets, strict=True):
            boxes = perturbation.apply_boxes(
                torch.from_numpy(target.boxes), width=width, height=height
            )
            moved.append(dataclasses.replace(target, boxes=boxes.numpy()))
            # the whole image, moved as a box, gives the variant's size (rotated90 swaps sides)
            frame = perturbation.apply_boxes(
                torch.tensor([[0.0, 0.0, width, height]]), width=width, height=height
            )[0]
            sizes.append((round(float(frame[2] - frame[0])), round(float(frame[3] - frame[1]))))
        return dataclasses.replace(variant, targets=tuple(moved), sizes=tuple(sizes))


@dataclass(frozen=True)
class DetectorOutput:
    detections: list[Detections]  # per image, in the model's class ids
    seconds: float  # preprocessing + forward + post-processing


@runtime_checkable
class Detector(Protocol):
    """A loaded detector: its label names and batched detection."""

    repo_id: str
    id2label: dict[int, str]

    def detect(self, images: Sequence[torch.Tensor], options: Options) -> DetectorOutput: ...


def _class_names(feature: Any, key: str) -> list[str] | None:
    """The ClassLabel names of ``key`` inside a list-of-objects feature, if it has them."""
    while not isinstance(feature, datasets.ClassLabel):
        if isinstance(feature, dict):
            feature = feature.get(key)
        elif isinstance(feature, list) and feature:
            feature = feature[0]
        elif hasattr(feature, "feature"):
            feature = feature.feature
        else:
            return None
    return list(feature.names)


def _objects(value: Any) -> list[dict[str, Any]]:
    """A row's objects as a list of dicts (``datasets`` gives a dict of lists for a Sequence)."""
    if isinstance(value, dict):
        keys = list(value)
        return [dict(zip(keys, row, strict=True)) for row in zip(*value.values(), strict=True)]
    return list(value or [])


def _target(objects: list[dict[str, Any]], spec: ObjectColumns, remap: Any) -> GroundTruth:
    boxes = np.array([o[spec.bbox] for o in objects], dtype=np.float64).reshape(-1, 4)
    if spec.format == "xywh":
        boxes[:, 2:] += boxes[:, :2]
    return GroundTruth.of(
        boxes,
        [remap(o[spec.category]) for o in objects],
        None if spec.iscrowd is None else [bool(o[spec.iscrowd]) for o in objects],
        None if spec.area is None else [float(o[spec.area]) for o in objects],
    )


def load_detection_split(module: EvaluationModule, revision: str) -> DetectionSplit:
    """Load ``module.dataset`` at ``revision``: images decoded once, boxes as xyxy pixels."""
    ref, spec = module.dataset, module.dataset.objects
    assert spec is not None  # the schema requires it for object detection
    ds = load_rows(module, revision)
    wanted = {normalize(name): i for i, name in enumerate(ref.labels)}
    names = _class_names(ds.features[ref.columns.label], spec.category)
    if names is not None and sorted(map(normalize, names)) != sorted(wanted):
        raise DatasetError(
            f"{ref.repo}: class names {names[:12]} differ from dataset.labels {ref.labels[:12]} "
            f"in the module '{module.id}'",
            module=module.id,
        )

    def remap(value: Any) -> int:
        name = names[int(value)] if names is not None else str(value)
        if normalize(name) not in wanted:
            raise DatasetError(
                f"{ref.repo}: class {name!r} is not in dataset.labels of '{module.id}'",
                module=module.id,
            )
        return wanted[normalize(name)]

    targets = tuple(_target(_objects(v), spec, remap) for v in ds[ref.columns.label])
    counted = [t.labels[~t.is_crowd()] for t in targets]
    images = Column(ds, ref.columns.input, image=True)
    return DetectionSplit(
        dataset_id=ref.repo,
        revision=revision,
        split=ref.split,
        inputs=images,
        labels=np.concatenate(counted) if counted else np.zeros(0, dtype=np.int64),
        targets=targets,
        sizes=image_sizes(images),
    )


def image_sizes(images: Column) -> tuple[tuple[int, int], ...]:
    """Each image's (width, height) as decoded (EXIF orientation applied), from its header."""
    sizes = []
    for lo in range(0, len(images), CHUNK):
        for value in images.raw(slice(lo, lo + CHUNK)):
            sizes.append(_header_size(value))
    return tuple(sizes)


def _header_size(value: Any) -> tuple[int, int]:
    from PIL import Image

    if not isinstance(value, dict):  # already an image
        return tuple(value.size)
    source = io.BytesIO(value["bytes"]) if value.get("bytes") is not None else value["path"]
    with Image.open(source) as image:
        width, height = image.size
        orientation = image.getexif().get(Image.ExifTags.Base.Orientation)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


@dataclass
class TransformersDetector:
    """``AutoModelForObjectDetection`` with its image processor (resize, normalise, pad) and its
    ``post_process_object_detection`` (threshold 0: every query's box counts for AP)."""

    repo_id: str
    model: torch.nn.Module
    processor: Any
    id2label: dict[int, str]
    device: torch.device

    @classmethod
    def load(cls, repo_id: str, path: Path, device: torch.device) -> TransformersDetector:
        from transformers import AutoConfig, AutoImageProcessor, AutoModelForObjectDetection

        try:
            config = AutoConfig.from_pretrained(path, trust_remote_code=False)
            processor = AutoImageProcessor.from_pretrained(path, trust_remote_code=False)
        except (OSError, ValueError) as exc:
            raise InsufficientMetadataError(
                repo_id, f"no usable config or image processor: {exc}"
            ) from exc
        model = load_transformers_model(
            repo_id, AutoModelForObjectDetection, path, config, kind="a detector", device=device
        )
        id2label = {int(k): str(v) for k, v in (config.id2label or {}).items()}
        return cls(repo_id, model, processor, id2label, device)

    def detect(self, images: Sequence[torch.Tensor], options: Options) -> DetectorOutput:
        accepted = set(inspect.signature(self.model.forward).parameters)
        found: list[Detections] = []
        parts = spans(len(images), options.batch_size)
        start = time.perf_counter()
        with torch.inference_mode(), autocast(self.device, options.precision):
            for batch in stream(images, parts, loading=options.loading):
                inputs = self.processor(images=batch, return_tensors="pt")
                inputs = {k: v.to(self.device) for k, v in inputs.items() if k in accepted}
                outputs = self.model(**inputs)
                sizes = [tuple(image.shape[-2:]) for image in batch]
                for item in self.processor.post_process_object_detection(
                    outputs, threshold=0.0, target_sizes=sizes
                ):
                    found.append(
                        Detections.of(
                            item["boxes"].float().cpu().numpy(),
                            item["labels"].cpu().numpy(),
                            item["scores"].float().cpu().numpy(),
                        )
                    )
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return DetectorOutput(found, time.perf_counter() - start)


def to_dataset_ids(found: Detections, mapping: dict[int, int]) -> Detections:
    """Detections in dataset class ids; those of unmapped model ids (``N/A``) are dropped."""
    table = np.full(max([*mapping, int(found.labels.max(initial=0))]) + 1, -1, dtype=np.int64)
    for model_id, dataset_id in mapping.items():
        table[model_id] = dataset_id
    labels = table[found.labels]
    keep = labels >= 0
    return Detections(found.boxes[keep], labels[keep], found.scores[keep])


def predict_split(
    detector: Detector, module: EvaluationModule, split: DetectionSplit, options: Options
) -> tuple[list[Detections], dict[int, int], float]:
    """(detections in dataset class ids, the label mapping, seconds) of ``detector`` on ``split``.

    Raises:
        InsufficientMetadataError, LabelMappingError: labels that cannot be mapped.
    """
    mapping = map_detector_labels(
        detector.repo_id, detector.id2label, module.dataset.labels, aliases=module.label_aliases
    )
    output = detector.detect(split.inputs, options)
    return [to_dataset_ids(found, mapping) for found in output.detections], mapping, output.seconds


def detection_examples(
    module: EvaluationModule, split: DetectionSplit, per_class: int = 20
) -> list[DatasetExampleRecord]:
    """Up to ``per_class`` images showing each class (an image counts for its first class)."""
    labels = module.dataset.labels
    taken = [0] * len(labels)
    out = []
    for index, target in enumerate(split.targets):
        present = [k for k in dict.fromkeys(target.labels.tolist()) if taken[k] < per_class]
        if not present:
            continue
        taken[present[0]] += 1
        out.append(_image_example(module, split, index, present[0]))
    return out


def detection_error_examples(
    module: EvaluationModule, split: DetectionSplit, example_ids: Iterable[int]
) -> list[DatasetExampleRecord]:
    """The images behind stored detection errors (the Space draws the errors' boxes on them),
    each under its first object's class (-1 for an image without objects)."""
    out = []
    for index in sorted(set(example_ids)):
        if 0 <= index < len(split.targets):
            objects = split.targets[index].labels.tolist()
            out.append(_image_example(module, split, index, int(objects[0]) if objects else -1))
    return out


def _image_example(
    module: EvaluationModule, split: DetectionSplit, index: int, class_id: int
) -> DatasetExampleRecord:
    from evaluators.metadata import thumbnail_png

    width, height = split.sizes[index] if index < len(split.sizes) else (None, None)
    return DatasetExampleRecord(
        dataset_id=split.dataset_id,
        split=split.split,
        class_id=class_id,
        label=module.dataset.labels[class_id] if class_id >= 0 else "",
        example_id=index,
        thumbnail_png=thumbnail_png(split.inputs[index]),
        width=width,
        height=height,
    )
