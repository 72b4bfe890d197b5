"""What every classifier returns, whatever its task or library."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Predictions:
    """Model class indices and their softmax confidence, in dataset order."""

    labels: npt.NDArray[np.int64]
    confidences: npt.NDArray[np.float32]
    seconds: float  # preprocessing + forward passes


class Classifier(Protocol):
    """A loaded model: its label names and batched prediction."""

    repo_id: str
    id2label: dict[int, str]

    def predict(
        self, inputs: Sequence[Any], *, batch_size: int, max_length: int
    ) -> Predictions: ...
