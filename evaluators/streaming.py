"""Read an evaluation split in batches, never whole: lazy columns, perturbed views, and a loader
that decodes (and perturbs, and resizes) in worker processes ahead of the model.

A split's inputs are a :class:`Column` over the Arrow-backed ``datasets.Dataset`` (memory-mapped
from the ``datasets`` cache): an item is read and decoded when it is asked for. A perturbed
variant is a :class:`Perturbed` view of that column: item ``i`` is perturbed with the generator
seeded by ``(seed, i)`` as it is read, batched when the images of a batch share one size, so a
variant gives the numbers a whole perturbed copy would, and no such copy ever exists.

:func:`stream` hands batches (spans of item indices) to a torch ``DataLoader`` whose workers read,
decode, perturb and ``transform`` them (an image model's resize and crop), in order, ``prefetch``
batches ahead per worker; the evaluating process keeps only what it predicts.

Example:
    >>> loading = Loading.for_device(torch.device("cpu"))  # doctest: +SKIP
    >>> for pixels in stream(split.inputs, spans(len(split.inputs), 64), loading=loading):
    ...     model(pixels)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import datasets
import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from evaluators.progress import tracked

if TYPE_CHECKING:
    from perturbations import Perturbation

WORKERS_ENV = "EVALBOT_DECODE_WORKERS"  # decode worker processes; bot.yaml compute.decode_workers
CHUNK = 1024  # rows read at once when a column of texts (or raw values) is iterated
IMAGE_CHUNK = 64  # decoded images at once when a column of images is iterated
Index = int | slice | Sequence[int] | npt.NDArray[np.integer[Any]]
Span = slice | npt.NDArray[np.intp]


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Loading:
    """How a split is read: decode worker processes, batches prepared ahead, pinned memory.

    ``workers`` 0 reads in the evaluating process (small splits, or one core).
    """

    workers: int = 0
    prefetch: int = 2
    pin_memory: bool = False

    @classmethod
    def for_device(cls, device: torch.device, workers: int | None = None) -> Loading:
        """From the machine: ``workers`` (else ``EVALBOT_DECODE_WORKERS``, else every core but
        one on a GPU host, where the CPU only feeds the GPU, and half the cores on a CPU-only
        one, where the model's torch threads need the rest); pinned memory on CUDA."""
        if workers is None:
            env = os.environ.get(WORKERS_ENV, "").strip()
            if env:
                try:
                    workers = int(env)
                except ValueError:
                    raise ValueError(
                        f"{WORKERS_ENV} must be a whole number (got {env!r})"
                    ) from None
        if workers is None:
            n = cores()
            workers = min(16, n - 1) if device.type == "cuda" else min(8, n // 2)
        if workers < 0:
            raise ValueError(f"decode workers must be 0 or more (got {workers})")
        return cls(workers=workers, pin_memory=device.type == "cuda")


class Column(Sequence[Any]):
    """One column of a ``datasets.Dataset``, read on access: texts as ``str``, images as RGB
    uint8 tensors (C, H, W), decoded as ``datasets`` decodes them. Items, slices and index
    lists are each one Arrow read.

    With ``pair`` (a second text column, e.g. an NLI hypothesis), an item is the pair of texts
    ``(text, text_pair)``.
    """

    def __init__(
        self, ds: datasets.Dataset, name: str, *, image: bool, pair: str | None = None
    ) -> None:
        self._rows = ds.select_columns([name] if pair is None else [name, pair]).with_format(
            "arrow"
        )
        self._name = name
        self._pair = pair
        self._feature = ds.features[name] if image else None
        self._len = len(ds)

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(
        self, index: slice | Sequence[int] | npt.NDArray[np.integer[Any]]
    ) -> list[Any]: ...

    def __getitem__(self, index: Index) -> Any:
        if isinstance(index, int | np.integer):
            i = int(index)
            if not -self._len <= i < self._len:
                raise IndexError(f"index {i} out of range for {self._len} rows")
            return self._read(i % self._len if i < 0 else i)[0]
        if isinstance(index, slice):
            return self._read(index)
        rows = [int(i) for i in index]
        return self._read(rows) if rows else []

    def _read(self, key: int | slice | list[int]) -> list[Any]:
        table = self._rows[key]
        values = table.column(self._name).to_pylist()
        if self._pair is not None:
            seconds = table.column(self._pair).to_pylist()
            return [(str(a), str(b)) for a, b in zip(values, seconds, strict=True)]
        if self._feature is None:
            return [str(v) for v in values]
        return [decode_image(self._feature, v) for v in values]

    def __iter__(self) -> Iterator[Any]:
        chunk = CHUNK if self._feature is None else IMAGE_CHUNK
        for lo in range(0, self._len, chunk):
            yield from self._read(slice(lo, lo + chunk))

    def raw(self, key: int | slice | list[int]) -> list[Any]:
        """The stored values, undecoded (images: ``{"bytes", "path"}``)."""
        return self._rows[key].column(self._name).to_pylist()


def decode_image(feature: Any, value: Any) -> torch.Tensor:
    """A stored image as ``datasets`` decodes it (EXIF orientation applied), as RGB uint8.

    An image of more pixels than PIL's ``MAX_IMAGE_PIXELS`` (89M: a 9,459 x 9,459 square) is
    refused before it is decoded: a PNG of 50,000 x 50,000 pixels compresses to kilobytes and
    decodes to 7.5 GB.

    Raises:
        DatasetError: the image is that large, or not an image PIL can read (the dataset's
            problem, not the model's).
    """
    from PIL import Image, UnidentifiedImageError

    from evaluators.datasets_io import DatasetError
    from evaluators.image_classification import to_tensor

    if not isinstance(value, dict):
        return to_tensor(value)
    try:
        with warnings.catch_warnings():  # PIL only warns up to twice its limit
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return to_tensor(feature.decode_example(value))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DatasetError(
            f"an image of the split is too large to decode ({exc}); drop it from the dataset "
            "or evaluate another split"
        ) from exc
    except UnidentifiedImageError as exc:
        raise DatasetError(f"an image of the split cannot be read: {exc}") from exc


class Perturbed(Sequence[Any]):
    """``inputs`` as ``perturbation`` makes them: item ``i`` drawn with the seed ``(seed, i)``.

    Images are perturbed in one batch when those read together share a size (as a whole-split
    perturbation does), else one by one; texts one by one, each with its own generator; both
    texts of a pair (:meth:`perturbations.Perturbation.apply_pair`).
    """

    def __init__(self, inputs: Sequence[Any], perturbation: Perturbation, *, seed: int) -> None:
        self.base = inputs
        self.perturbation = perturbation
        self.seed = seed

    def __len__(self) -> int:
        return len(self.base)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(
        self, index: slice | Sequence[int] | npt.NDArray[np.integer[Any]]
    ) -> list[Any]: ...

    def __getitem__(self, index: Index) -> Any:
        if isinstance(index, int | np.integer):
            i = int(index) % len(self.base) if int(index) < 0 else int(index)
            return self._apply([self.base[i]], [i])[0]
        if isinstance(index, slice):
            rows = list(range(*index.indices(len(self.base))))
            items = list(self.base[index])
        else:
            rows = [int(i) for i in index]
            items = read(self.base, rows)
        return self._apply(items, rows)

    def __iter__(self) -> Iterator[Any]:
        chunk = CHUNK if self.perturbation.modality == "text" else IMAGE_CHUNK
        for lo in range(0, len(self.base), chunk):
            yield from self[lo : lo + chunk]

    def _apply(self, items: list[Any], rows: list[int]) -> list[Any]:
        p, seed = self.perturbation, self.seed
        if not items:
            return []
        if p.modality == "text" and isinstance(items[0], tuple):  # pairs of texts
            return [p.apply_pair(*t, seed=seed, index=i) for t, i in zip(items, rows, strict=True)]
        if p.modality == "text":
            return [
                p.apply_texts([t], seed=seed, start=i)[0] for t, i in zip(items, rows, strict=True)
            ]
        contiguous = rows == list(range(rows[0], rows[0] + len(rows)))
        if contiguous and len({tuple(x.shape) for x in items}) == 1:
            return list(p.apply_images(torch.stack(items), seed=seed, start=rows[0]).unbind(0))
        return [p.apply_image(x, seed=seed, index=i) for x, i in zip(items, rows, strict=True)]


def read(inputs: Sequence[Any], rows: Sequence[int] | npt.NDArray[np.integer[Any]]) -> list[Any]:
    """``inputs`` at ``rows``: one read from a lazy column, item by item from a list."""
    if isinstance(inputs, Column | Perturbed):
        return list(inputs[rows]) if len(rows) else []
    return [inputs[int(i)] for i in rows]


def spans(total: int, size: int, order: npt.NDArray[np.intp] | None = None) -> list[Span]:
    """The batches over ``total`` items: contiguous slices, or cuts of ``order``."""
    if order is None:
        return [slice(lo, min(lo + size, total)) for lo in range(0, total, size)]
    return [order[lo : lo + size] for lo in range(0, total, size)]


class _Batches(TorchDataset[Any]):
    """A map-style dataset whose item ``b`` is batch ``b``: read, then ``transform``-ed."""

    def __init__(
        self,
        inputs: Sequence[Any],
        parts: Sequence[Span],
        transform: Callable[[list[Any], Span], Any] | None,
    ) -> None:
        self.inputs = inputs
        self.parts = parts
        self.transform = transform

    def __len__(self) -> int:
        return len(self.parts)

    def __getitem__(self, b: int) -> Any:
        part = self.parts[b]
        items = list(self.inputs[part]) if isinstance(part, slice) else read(self.inputs, part)
        return items if self.transform is None else self.transform(items, part)


def stream(
    inputs: Sequence[Any],
    parts: Sequence[Span],
    *,
    loading: Loading,
    transform: Callable[[list[Any], Span], Any] | None = None,
) -> Iterator[Any]:
    """Each part of ``inputs`` in order, read (and ``transform``-ed) by ``loading.workers``
    processes ahead of the caller, reporting progress (:func:`evaluators.progress.batches`).

    ``transform(items, part)`` runs in the workers: keep it picklable (a module-level function
    or a dataclass), and make it return tensors (sent through shared memory) or small values.
    """
    total = sum(_span_len(p) for p in parts)
    workers = min(loading.workers, len(parts) - 1)  # one batch: no process is worth starting
    loader: Any
    if workers <= 0:
        loader = (_Batches(inputs, parts, transform)[b] for b in range(len(parts)))
    else:
        loader = DataLoader(
            _Batches(inputs, parts, transform),
            batch_size=None,
            shuffle=False,
            num_workers=workers,
            prefetch_factor=loading.prefetch,
            pin_memory=loading.pin_memory,
            persistent_workers=False,
        )
    with tracked(total) as advance:
        for part, batch in zip(parts, loader, strict=True):
            yield batch
            advance(_span_len(part))


def _span_len(part: Span) -> int:
    if isinstance(part, slice):
        return max(0, part.stop - part.start)
    return len(part)
