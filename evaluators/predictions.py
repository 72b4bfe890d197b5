"""What every classifier returns, whatever its task or library."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import torch

from evaluators.device import Precision
from evaluators.streaming import Loading


@dataclass(frozen=True)
class Predictions:
    """Model class indices and their softmax confidence, in dataset order."""

    labels: npt.NDArray[np.int64]
    confidences: npt.NDArray[np.float32]
    seconds: float  # reading, decoding, preprocessing and forward passes
    thumbnails: dict[int, bytes] = field(default_factory=dict)  # example id -> PNG, as asked
    batch_size: int = 0  # the batch size used, when the classifier chose it (0: as asked)


@dataclass(frozen=True)
class Options:
    """How a classifier predicts a split: batch size, text length, how the split is read,
    which examples to make thumbnails of on the way, and the precision on CUDA."""

    batch_size: int
    max_length: int = 128
    loading: Loading = field(default_factory=Loading)
    thumbnails: frozenset[int] = frozenset()
    precision: Precision = "auto"
    probe: bool = False  # on CUDA, an image classifier may raise batch_size to what fits


def autocast_dtype(device: torch.device, precision: Precision) -> torch.dtype | None:
    """The autocast dtype on ``device``: on CUDA, ``auto`` is bf16 where the GPU has it, else
    fp16; the CPU always computes in fp32 (its results are the reference)."""
    if device.type != "cuda" or precision == "fp32":
        return None
    if precision == "fp16":
        return torch.float16
    if precision == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


@contextlib.contextmanager
def autocast(device: torch.device, precision: Precision) -> Iterator[None]:
    dtype = autocast_dtype(device, precision)
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


class Classifier(Protocol):
    """A loaded model: its label names and batched prediction."""

    repo_id: str
    id2label: dict[int, str]

    def predict(self, inputs: Sequence[Any], options: Options) -> Predictions: ...
