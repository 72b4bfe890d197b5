"""Load an evaluation split from the Hub with ``datasets`` (or, for a COCO zip in the repo,
:mod:`evaluators.coco_zip`) and check it against its module."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import datasets
import numpy as np
import numpy.typing as npt
from datasets.exceptions import DatasetNotFoundError
from huggingface_hub import file_exists, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from evaluators.config import PARQUET_EXPORT, EvaluationModule, modality
from evaluators.labels import normalize

if TYPE_CHECKING:
    from perturbations import Perturbation

log = logging.getLogger(__name__)


class DatasetError(RuntimeError):
    """The dataset on the Hub does not match its module YAML (columns or labels), or is gone.

    This is a configuration problem, not the model's: fix the module YAML. ``module`` names it.
    """

    def __init__(self, message: str, *, module: str | None = None) -> None:
        super().__init__(message)
        self.module = module


@dataclass(frozen=True)
class EvalSplit:
    """A split to evaluate on: its labels in memory, its inputs read on access.

    ``inputs`` is a :class:`~evaluators.streaming.Column` of the Arrow-backed dataset (texts as
    ``str``, pairs of texts as ``(text, text_pair)``, images as RGB uint8 tensors C, H, W,
    decoded when read) or, for a variant, a
    :class:`~evaluators.streaming.Perturbed` view of it; any sequence does (tests pass lists).
    """

    dataset_id: str
    revision: str
    split: str
    inputs: Sequence[Any]
    labels: npt.NDArray[np.int64]  # dataset class indices, in module label order
    perturbation: Perturbation | None = None

    def __len__(self) -> int:
        return len(self.inputs)

    def class_counts(self, num_classes: int) -> list[int]:
        return [int(n) for n in np.bincount(self.labels, minlength=num_classes)]

    def perturbed(self, perturbation: Perturbation, *, seed: int) -> EvalSplit:
        """This split as ``perturbation`` makes it, read lazily (a detection split also moves
        its boxes)."""
        from evaluators.streaming import Perturbed

        return dataclasses.replace(
            self, inputs=Perturbed(self.inputs, perturbation, seed=seed), perturbation=perturbation
        )


def labels_of(module: EvaluationModule, ds: datasets.Dataset) -> npt.NDArray[np.int64]:
    ref = module.dataset
    raw = ds[ref.columns.label]
    feature = ds.features[ref.columns.label]
    wanted = {normalize(name): i for i, name in enumerate(ref.labels)}
    if isinstance(feature, datasets.ClassLabel):
        names = [normalize(n) for n in feature.names]
        if sorted(names) != sorted(wanted):
            raise DatasetError(
                f"{ref.repo}: class names {feature.names[:12]} differ from dataset.labels "
                f"{ref.labels[:12]} in the module '{module.id}'",
                module=module.id,
            )
        remap = np.array([wanted[n] for n in names], dtype=np.int64)
        ids = np.asarray(raw, dtype=np.int64)
        # -1: a row without a gold label (SNLI's unresolved pairs, GLUE's hidden test labels)
        return np.where(ids >= 0, remap[np.clip(ids, 0, None)], -1)
    unknown = sorted({normalize(str(v)) for v in raw} - set(wanted))
    if unknown:
        raise DatasetError(
            f"{ref.repo}: label values {unknown[:10]} are not in dataset.labels of '{module.id}'",
            module=module.id,
        )
    return np.array([wanted[normalize(str(v))] for v in raw], dtype=np.int64)


def load_dataset(
    module: EvaluationModule, revision: str, *, token: str | None = None
) -> datasets.Dataset:
    """``datasets.load_dataset`` of the module's split at ``revision``; for ``format:
    parquet-export`` the config's folder of the Hub's Parquet conversion at ``revision`` (a
    commit of ``refs/convert/parquet``), read with ``data_dir``; for ``format: coco-zip``, the zip
    ``dataset.files`` read by :mod:`evaluators.coco_zip`.

    Raises:
        DatasetError: the dataset, its config, split, file or revision does not exist, or the
            zip is not a COCO export (a problem of the module, not of any model). Outages
            propagate unchanged.
    """
    ref = module.dataset
    if ref.format == "coco-zip":
        return _load_coco_zip(module, revision, token=token)
    if ref.format == "parquet-export":
        return _load_parquet_export(module, revision, token=token)
    try:
        ds = datasets.load_dataset(
            ref.repo, ref.config, split=ref.split, revision=revision, token=token
        )
    except (DatasetNotFoundError, RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise DatasetError(
            f"{ref.repo}@{revision[:8]}: the dataset cannot be found ({type(exc).__name__}); "
            f"fix dataset.repo or dataset.revision in the module '{module.id}'",
            module=module.id,
        ) from exc
    except (ValueError, FileNotFoundError) as exc:  # an unknown config, split or folder
        # `datasets` answers a loading script with its cache of another load, when it has one
        if ref.format == "datasets" and has_loading_script(ref.repo, revision, token=token):
            raise _script_error(module, revision) from exc
        raise DatasetError(
            f"{ref.repo}@{revision[:8]}: {str(exc)[:300]}; fix dataset.config or dataset.split "
            f"in the module '{module.id}'",
            module=module.id,
        ) from exc
    except RuntimeError as exc:
        if not is_loading_script_error(exc):
            raise
        raise _script_error(module, revision) from exc
    if not isinstance(ds, datasets.Dataset):
        raise DatasetError(f"{ref.repo}: not a single split", module=module.id)
    return ds


def _load_parquet_export(
    module: EvaluationModule, revision: str, *, token: str | None
) -> datasets.Dataset:
    """The split's folder of the Hub's Parquet conversion at ``revision`` (a commit of
    ``refs/convert/parquet``): its files downloaded into the Hub cache (or found there, as an
    offline isolated child finds them) and read with ``Dataset.from_parquet``, which keeps the
    ``datasets`` features the files carry."""
    ref = module.dataset
    folder = f"{ref.config or 'default'}/{ref.split}"
    where = f"{ref.repo}@{revision[:8]} ({PARQUET_EXPORT})"
    try:
        root = snapshot_download(
            ref.repo,
            repo_type="dataset",
            revision=revision,
            allow_patterns=[f"{folder}/*.parquet"],
            token=token,
        )
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise DatasetError(
            f"{where}: the dataset or the commit cannot be found ({type(exc).__name__}); fix "
            f"dataset.repo or dataset.revision (a commit of {PARQUET_EXPORT}) in the module "
            f"'{module.id}'",
            module=module.id,
        ) from exc
    files = sorted(str(f) for f in Path(root).glob(f"{folder}/*.parquet"))
    if not files:
        raise DatasetError(
            f"{where}: no parquet files in {folder}/; fix dataset.config (the config's folder "
            f"there) or dataset.split in the module '{module.id}'",
            module=module.id,
        )
    ds = datasets.Dataset.from_parquet(files)
    assert isinstance(ds, datasets.Dataset)
    return ds


def has_loading_script(repo: str, revision: str, *, token: str | None) -> bool:
    """Whether the repo holds a loading script at ``revision`` (``<name>.py`` at its root)."""
    script = f"{repo.rsplit('/', 1)[-1]}.py"
    return bool(file_exists(repo, script, repo_type="dataset", revision=revision, token=token))


def is_loading_script_error(exc: RuntimeError) -> bool:
    """Whether ``datasets`` refused the repo for its loading script."""
    return "scripts are no longer supported" in str(exc)


def loading_script_fix() -> str:
    """What a module reading a loading-script repo should say instead."""
    return (
        f"it holds a loading script, which datasets {datasets.__version__} does not run; set "
        f"dataset.format: parquet-export to read the Hub's Parquet conversion of it "
        f"({PARQUET_EXPORT}), with dataset.config the config's folder there"
    )


def _script_error(module: EvaluationModule, revision: str) -> DatasetError:
    return DatasetError(
        f"{module.dataset.repo}@{revision[:8]}: {loading_script_fix()} (module '{module.id}')",
        module=module.id,
    )


def _load_coco_zip(
    module: EvaluationModule, revision: str, *, token: str | None
) -> datasets.Dataset:
    """The COCO zip ``dataset.files`` of the repo at ``revision``, downloaded (or found in the
    Hub cache) and read once into Arrow under the ``datasets`` cache, keyed on repo, commit and
    path: a second load, here or in an isolated child, reads the Arrow files."""
    from evaluators.coco_zip import READER_VERSION, CocoZipError, read_coco_zip

    ref = module.dataset
    assert ref.files is not None  # the schema requires it for coco-zip
    where = f"{ref.repo}@{revision[:8]} {ref.files}"
    try:
        path = hf_hub_download(
            ref.repo, ref.files, repo_type="dataset", revision=revision, token=token
        )
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise DatasetError(
            f"{where}: the dataset cannot be found ({type(exc).__name__}); fix dataset.repo or "
            f"dataset.revision in the module '{module.id}'",
            module=module.id,
        ) from exc
    except RemoteEntryNotFoundError as exc:
        raise DatasetError(
            f"{where}: the dataset repo has no such file; fix dataset.files in the module "
            f"'{module.id}' (a path in the repo, e.g. data/test.zip)",
            module=module.id,
        ) from exc
    key = f"{ref.repo}@{revision}:{ref.files}:{READER_VERSION}"
    folder = re.sub(r"[^\w.-]+", "-", f"{ref.repo.replace('/', '___')}--{ref.files}")
    try:
        return read_coco_zip(
            Path(path),
            name=where,
            cache_dir=Path(datasets.config.HF_DATASETS_CACHE) / f"{folder}.coco-zip",
            fingerprint=hashlib.sha256(key.encode()).hexdigest()[:16],
        )
    except CocoZipError as exc:
        raise DatasetError(
            f"{exc} (the file dataset.files names in the module '{module.id}')", module=module.id
        ) from exc


def load_rows(module: EvaluationModule, revision: str) -> datasets.Dataset:
    """The rows of ``module.dataset`` at ``revision``, checked to have the module's columns and
    cut to ``module.limit``.

    Raises:
        DatasetError: When a configured column is missing.
    """
    ref = module.dataset
    ds = load_dataset(module, revision)
    # a role may name a field of a struct column (translation.en): its column must be there
    wanted = {
        c.split(".")[0] if c not in ds.column_names else c for c in ref.columns.roles().values()
    }
    missing = sorted(c for c in wanted if c not in ds.column_names)
    if missing:
        raise DatasetError(
            f"{ref.repo}@{revision[:8]} split {ref.split}: columns {missing} not found "
            f"(it has {ds.column_names}); fix dataset.columns in the module '{module.id}'",
            module=module.id,
        )
    if module.limit is not None and len(ds) > module.limit:
        ds = ds.select(range(module.limit))
    return ds


def drop_unlabelled(
    module: EvaluationModule, ds: datasets.Dataset, labels: npt.NDArray[np.int64], revision: str
) -> tuple[datasets.Dataset, npt.NDArray[np.int64]]:
    """The rows that have a gold label and their labels: a label of -1 (``datasets``' "no label":
    SNLI's unresolved pairs, GLUE's hidden test labels) is left out, as every scorer does.

    Raises:
        DatasetError: no row has a label (a split whose labels are hidden).
    """
    ref = module.dataset
    if not (labels < 0).any():
        return ds, labels
    kept = np.flatnonzero(labels >= 0)
    if not len(kept):
        raise DatasetError(
            f"{ref.repo}@{revision[:8]} split {ref.split}: no row has a label (all are -1, "
            f"hidden labels such as a test split's); evaluate a split with labels "
            f"(dataset.split in the module '{module.id}')",
            module=module.id,
        )
    log.info(
        "%s split %s: %d rows without a label (-1) left out",
        ref.repo,
        ref.split,
        len(ds) - len(kept),
    )
    return ds.select(kept), labels[kept]


def load_split(module: EvaluationModule, revision: str) -> EvalSplit:
    """``module.dataset`` at ``revision`` (a commit sha), limited to ``module.limit`` rows.

    Only the labels are read here; inputs are read (images decoded) when a batch asks for them.
    """
    from evaluators.streaming import Column

    ref = module.dataset
    ds = load_rows(module, revision)
    labels = labels_of(module, ds)
    ds, labels = drop_unlabelled(module, ds, labels, revision)
    return EvalSplit(
        dataset_id=ref.repo,
        revision=revision,
        split=ref.split,
        inputs=Column(
            ds,
            ref.columns.input,
            image=modality(module.task) == "image",
            pair=ref.columns.roles().get("text_pair"),
        ),
        labels=labels,
    )
