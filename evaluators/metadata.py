"""Metadata gathered while evaluating (thesis section 3.2): the model's files, configuration and
reference; the dataset, its split's class counts, examples per class, and the variants used.

Gathered by the evaluators, stored by the caller.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from evaluators.config import EvaluationModule, modality
from evaluators.datasets_io import EvalSplit
from evaluators.limits import load_json
from perturbations import Perturbation
from store.types import (
    DatasetExampleRecord,
    DatasetRecord,
    DatasetSplitRecord,
    ReferenceRecord,
    VariantRecord,
)

EXAMPLES_PER_CLASS = 20
THUMBNAIL = 64  # pixels, longer side
SNIPPET = 300  # characters
_ARXIV = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})(?:v\d+)?", re.IGNORECASE)
_SKIP = {
    "id2label",
    "label2id",
    "_name_or_path",
    "transformers_version",
    "pretrained_cfg",
    "label_names",
}


@dataclass(frozen=True)
class ModelMetadata:
    file_sizes: dict[str, int]
    hyperparameters: dict[str, object]
    num_parameters: int | None
    reference: ReferenceRecord | None


def hyperparameters(config_path: Path, limit: int = 40) -> dict[str, object]:
    """Scalar (and short list) settings of ``config.json``: architecture, sizes, layers ...;
    empty when it cannot be read within its cap (``evaluators.limits``) or is not a mapping."""
    try:
        config = load_json(config_path, "config.json")
    except (OSError, ValueError):
        return {}
    if not isinstance(config, dict):
        return {}
    out: dict[str, object] = {}
    for key, value in config.items():
        if key in _SKIP or len(out) >= limit or len(str(key)) > MAX_SETTING_CHARS:
            continue
        if _plain(value) or (
            isinstance(value, list) and len(value) <= 8 and all(_plain(v) for v in value)
        ):
            out[key] = value
    pretrained = config.get("pretrained_cfg")
    size = pretrained.get("input_size") if isinstance(pretrained, dict) else None
    if isinstance(size, list) and len(size) <= 4 and all(_plain(v) for v in size):
        out["input_size"] = size
    return out


MAX_SETTING_CHARS = 200  # a longer string (or key) is not a setting to show: left out


def _plain(value: object) -> bool:
    """A short string, a finite number or a bool: what a stored setting may be."""
    if isinstance(value, str):
        return len(value) <= MAX_SETTING_CHARS
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int | bool)


def find_reference(tags: Sequence[str], card: str | None) -> ReferenceRecord | None:
    """The first arXiv paper named by the model's tags (``arxiv:ID``) or card text."""
    for tag in tags:
        if tag.startswith("arxiv:"):
            ident = tag.split(":", 1)[1]
            return ReferenceRecord(
                key=f"arxiv:{ident}", arxiv=ident, url=f"https://arxiv.org/abs/{ident}"
            )
    match = _ARXIV.search(card or "")
    if match:
        ident = match.group(1)
        return ReferenceRecord(
            key=f"arxiv:{ident}", arxiv=ident, url=f"https://arxiv.org/abs/{ident}"
        )
    return None


def count_parameters(model: Any) -> int | None:
    inner = getattr(model, "model", None)
    if isinstance(inner, torch.nn.Module):
        return int(sum(p.numel() for p in inner.parameters()))
    return None


def dataset_record(module: EvaluationModule, modules: Sequence[EvaluationModule]) -> DatasetRecord:
    ref = module.dataset
    by_id = {m.id: m for m in modules}
    compatible = tuple(by_id[o].dataset.repo for o in module.also_evaluate_on if o in by_id)
    reference = None
    if ref.reference is not None:
        reference = (
            f"arxiv:{ref.reference.arxiv}"
            if ref.reference.arxiv
            else (ref.reference.url or ref.reference.title)
        )
    return DatasetRecord(
        dataset_id=ref.repo,
        name=ref.name,
        modality=modality(module.task),
        task=module.task,
        labels=tuple(ref.labels),
        description=ref.description,
        homepage=ref.homepage,
        reference=reference,
        compatible=compatible,
        variants=("original", *(p.variant_id for p in module.variants())),
        class_groups={group: tuple(labels) for group, labels in module.class_groups.items()},
    )


def dataset_reference(module: EvaluationModule) -> ReferenceRecord | None:
    ref = module.dataset.reference
    if ref is None:
        return None
    key = f"arxiv:{ref.arxiv}" if ref.arxiv else (ref.url or ref.title)
    return ReferenceRecord(
        key=key, title=ref.title, authors=ref.authors, year=ref.year, url=ref.url, arxiv=ref.arxiv
    )


def split_record(module: EvaluationModule, split: EvalSplit) -> DatasetSplitRecord:
    return DatasetSplitRecord(
        dataset_id=split.dataset_id,
        revision=split.revision,
        split=split.split,
        num_examples=len(split.inputs),
        class_counts=tuple(split.class_counts(len(module.dataset.labels))),
    )


def thumbnail_png(image: torch.Tensor) -> bytes:
    """A PNG thumbnail of a uint8 image (C, H, W), ``THUMBNAIL`` pixels on its longer side."""
    from PIL import Image

    array = image.permute(1, 2, 0).cpu().numpy()
    pil = Image.fromarray(array)
    pil.thumbnail((THUMBNAIL, THUMBNAIL))
    buffer = io.BytesIO()
    pil.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def example_ids(
    module: EvaluationModule, split: EvalSplit, per_class: int = EXAMPLES_PER_CLASS
) -> list[int]:
    """The examples shown for each class: the first ``per_class`` of it, in split order."""
    out: list[int] = []
    taken = [0] * len(module.dataset.labels)
    for index, class_id in enumerate(split.labels.tolist()):
        if taken[class_id] >= per_class:
            continue
        taken[class_id] += 1
        out.append(index)
        if min(taken) >= per_class:
            break
    return out


def examples(
    module: EvaluationModule,
    split: EvalSplit,
    per_class: int = EXAMPLES_PER_CLASS,
    *,
    made: Mapping[int, bytes] | None = None,
) -> list[DatasetExampleRecord]:
    """Up to ``per_class`` examples of every class: text snippets or PNG thumbnails (those in
    ``made`` were made while the split streamed by; the others are read now)."""
    made = made or {}
    return [
        _example(module, split, index, made.get(index))
        for index in example_ids(module, split, per_class)
    ]


def error_examples(
    module: EvaluationModule, split: EvalSplit, example_ids: Iterable[int]
) -> list[DatasetExampleRecord]:
    """The examples a model got wrong (its stored misclassifications), for the Space's gallery."""
    return [_example(module, split, index) for index in sorted(set(example_ids))]


def _example(
    module: EvaluationModule, split: EvalSplit, index: int, png: bytes | None = None
) -> DatasetExampleRecord:
    class_id = int(split.labels[index])
    item = None if png is not None else split.inputs[index]  # a thumbnail made: no read
    text = text_pair = None
    if isinstance(item, str):
        text = item[:SNIPPET]
    elif isinstance(item, tuple):  # the two texts of a pair
        text, text_pair = item[0][:SNIPPET], item[1][:SNIPPET]
    elif item is not None:
        png = thumbnail_png(item)
    return DatasetExampleRecord(
        dataset_id=split.dataset_id,
        split=split.split,
        class_id=class_id,
        label=module.dataset.labels[class_id],
        example_id=index,
        text=text,
        thumbnail_png=png,
        text_pair=text_pair,
    )


def variant_record(perturbation: Perturbation, seed: int) -> VariantRecord:
    return VariantRecord(
        variant_id=perturbation.variant_id,
        name=perturbation.name,
        modality=perturbation.modality,
        description=perturbation.description,
        method=f"{perturbation.method} Seed {seed}.",
        params=dict(perturbation.params),
    )
