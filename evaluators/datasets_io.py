"""Load an evaluation split from the Hub with ``datasets`` and check it against its module."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import datasets
import numpy as np
import numpy.typing as npt

from evaluators.config import MODALITY, EvaluationModule
from evaluators.labels import normalize

if TYPE_CHECKING:
    from perturbations import Perturbation


class DatasetError(RuntimeError):
    """The dataset on the Hub does not match its module YAML (columns or labels).

    This is a configuration problem, not the model's: fix the module YAML.
    """


@dataclass(frozen=True)
class EvalSplit:
    dataset_id: str
    revision: str
    split: str
    inputs: Sequence[Any]  # texts (str) or images (uint8 tensors C, H, W)
    labels: npt.NDArray[np.int64]  # dataset class indices, in module label order

    def class_counts(self, num_classes: int) -> list[int]:
        return [int(n) for n in np.bincount(self.labels, minlength=num_classes)]

    def perturbed(self, inputs: Sequence[Any], perturbation: Perturbation) -> EvalSplit:
        """This split with ``inputs`` perturbed by ``perturbation`` (a detection split also
        moves its boxes)."""
        return dataclasses.replace(self, inputs=inputs)


def _labels(module: EvaluationModule, ds: datasets.Dataset) -> npt.NDArray[np.int64]:
    ref = module.dataset
    raw = ds[ref.columns.label]
    feature = ds.features[ref.columns.label]
    wanted = {normalize(name): i for i, name in enumerate(ref.labels)}
    if isinstance(feature, datasets.ClassLabel):
        names = [normalize(n) for n in feature.names]
        if sorted(names) != sorted(wanted):
            raise DatasetError(
                f"{ref.repo}: class names {feature.names[:12]} differ from dataset.labels "
                f"{ref.labels[:12]} in the module '{module.id}'"
            )
        remap = np.array([wanted[n] for n in names], dtype=np.int64)
        return remap[np.asarray(raw, dtype=np.int64)]
    unknown = sorted({normalize(str(v)) for v in raw} - set(wanted))
    if unknown:
        raise DatasetError(
            f"{ref.repo}: label values {unknown[:10]} are not in dataset.labels of '{module.id}'"
        )
    return np.array([wanted[normalize(str(v))] for v in raw], dtype=np.int64)


def load_rows(module: EvaluationModule, revision: str) -> datasets.Dataset:
    """The rows of ``module.dataset`` at ``revision``, checked to have the module's columns and
    cut to ``module.limit``.

    Raises:
        DatasetError: When a configured column is missing.
    """
    ref = module.dataset
    ds = datasets.load_dataset(ref.repo, ref.config, split=ref.split, revision=revision)
    assert isinstance(ds, datasets.Dataset)
    missing = [c for c in (ref.columns.input, ref.columns.label) if c not in ds.column_names]
    if missing:
        raise DatasetError(
            f"{ref.repo}@{revision[:8]} split {ref.split}: columns {missing} not found "
            f"(it has {ds.column_names}); fix dataset.columns in the module '{module.id}'"
        )
    if module.limit is not None and len(ds) > module.limit:
        ds = ds.select(range(module.limit))
    return ds


def load_split(module: EvaluationModule, revision: str) -> EvalSplit:
    """Load ``module.dataset`` at ``revision`` (a commit sha), limited to ``module.limit`` rows.

    Images are decoded once, here, into RGB uint8 tensors.
    """
    ref = module.dataset
    ds = load_rows(module, revision)
    labels = _labels(module, ds)
    column = ds[ref.columns.input]
    inputs: list[Any]
    if MODALITY[module.task] == "image":
        from evaluators.image_classification import to_tensor

        inputs = [to_tensor(image) for image in column]
    else:
        inputs = [str(t) for t in column]
    return EvalSplit(
        dataset_id=ref.repo, revision=revision, split=ref.split, inputs=inputs, labels=labels
    )
