"""The parts a perturbation is made of: parameter specs, a definition, and per-item seeding."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch

from perturbations.errors import PerturbationParamError

Modality = Literal["image", "text", "audio"]
ParamValue = int | float
WordsFn = Callable[..., tuple[list[str], list[int]]]
ContextFn = Callable[..., tuple[str, list[int]]]
Wave = npt.NDArray[np.float32]  # what audio perturbations return
FloatWave = npt.NDArray[np.floating[Any]]  # what they take: float32 or float64


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its type, default and inclusive range.

    ``phrase`` renders the value for the human description, e.g. ``"severity {} of 5"``.
    """

    name: str
    type: type[int] | type[float]
    default: ParamValue
    min: ParamValue
    max: ParamValue
    phrase: str

    def validate(self, perturbation: str, value: object) -> ParamValue:
        """Returns ``value`` as this spec's type, or raises `PerturbationParamError`."""
        accepted = (int,) if self.type is int else (int, float)
        if isinstance(value, accepted) and not isinstance(value, bool):
            number = self.type(value)
            if self.min <= number <= self.max:
                return number
        kind = "an int" if self.type is int else "a number"
        raise PerturbationParamError(
            f"{perturbation}: {self.name} must be {kind} {self.min}–{self.max} (got {value!r})",
            perturbation=perturbation,
            param=self.name,
        )

    def schema(self) -> dict[str, object]:
        return {
            "type": self.type.__name__,
            "default": self.default,
            "min": self.min,
            "max": self.max,
        }


@dataclass(frozen=True)
class Definition:
    """A registered perturbation before its parameters are bound.

    Exactly one of ``images`` / ``texts`` / ``audio`` is set, matching ``modality``:
    ``images(batch, generators, **params)`` maps a uint8 (N, C, H, W) batch to a new batch, with
    one seeded `torch.Generator` per image (used only when ``stochastic``);
    ``texts(text, rng, **params)`` maps one text, with a seeded `random.Random`;
    ``audio(wave, rng, sampling_rate, **params)`` maps one mono float32 waveform to a new one,
    with a seeded `numpy.random.Generator` (see `perturbations.audio`).
    ``boxes(boxes, width, height)`` maps xyxy pixel boxes; None means boxes do not move.

    Text perturbations that keep targets aligned also set ``words`` and ``context`` (see
    `perturbations.spans`): ``words(words, rng, **params)`` returns the new words and, for each,
    the index of the word it came from; ``context(context, spans, rng, **params)`` returns the new
    context and the new offset of every old character offset (``len(context) + 1`` of them), given
    the answers' ``(start, end)`` character spans.
    """

    name: str
    modality: Modality
    description: str
    method: str
    params: tuple[ParamSpec, ...] = ()
    stochastic: bool = False
    images: Callable[..., torch.Tensor] | None = None
    texts: Callable[..., str] | None = None
    audio: Callable[..., Wave] | None = None
    boxes: Callable[[torch.Tensor, int, int], torch.Tensor] | None = None
    words: WordsFn | None = None
    context: ContextFn | None = None


def item_seed(seed: int, index: int, stream: str = "") -> int:
    """A 63-bit seed for item ``index`` under run seed ``seed``, stable across platforms.

    ``stream`` names a second, independent stream of the same item (a QA context beside its
    question); the default stream is ``blake2b(f"{seed}:{index}")``.
    """
    key = f"{seed}:{index}:{stream}" if stream else f"{seed}:{index}"
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def torch_generator(seed: int, index: int) -> torch.Generator:
    """A CPU generator for item ``index`` (CPU so a GPU run draws the same numbers)."""
    return torch.Generator().manual_seed(item_seed(seed, index))


def python_rng(seed: int, index: int, stream: str = "") -> random.Random:
    return random.Random(item_seed(seed, index, stream))


def numpy_rng(seed: int, index: int) -> np.random.Generator:
    """A PCG64 generator for item ``index`` (the audio perturbations draw from it)."""
    return np.random.Generator(np.random.PCG64(item_seed(seed, index)))
