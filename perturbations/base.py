"""The parts a perturbation is made of: parameter specs, a definition, and per-item seeding."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from perturbations.errors import PerturbationParamError

Modality = Literal["image", "text"]
ParamValue = int | float


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

    Exactly one of ``images`` / ``texts`` is set, matching ``modality``:
    ``images(batch, generators, **params)`` maps a uint8 (N, C, H, W) batch to a new batch, with
    one seeded `torch.Generator` per image (used only when ``stochastic``);
    ``texts(text, rng, **params)`` maps one text, with a seeded `random.Random`.
    ``boxes(boxes, width, height)`` maps xyxy pixel boxes; None means boxes do not move.
    """

    name: str
    modality: Modality
    description: str
    method: str
    params: tuple[ParamSpec, ...] = ()
    stochastic: bool = False
    images: Callable[..., torch.Tensor] | None = None
    texts: Callable[..., str] | None = None
    boxes: Callable[[torch.Tensor, int, int], torch.Tensor] | None = None


def item_seed(seed: int, index: int) -> int:
    """A 63-bit seed for item ``index`` under run seed ``seed``, stable across platforms."""
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def torch_generator(seed: int, index: int) -> torch.Generator:
    """A CPU generator for item ``index`` (CPU so a GPU run draws the same numbers)."""
    return torch.Generator().manual_seed(item_seed(seed, index))


def python_rng(seed: int, index: int) -> random.Random:
    return random.Random(item_seed(seed, index))
