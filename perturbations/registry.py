"""Look perturbations up by name, bind their parameters, and apply them.

A perturbation's ``variant_id`` is its name when it takes no parameters, else the name followed
by every parameter (defaults included) in sorted order: ``"gaussian_noise(severity=3)"``,
``"typos(rate=0.05)"``. `from_spec` reads it back, as well as the YAML forms ``"greyscale"`` and
``{"name": "gaussian_noise", "severity": 3}``.

Randomness is per item: item ``i`` of a call with ``start=s`` draws from a generator seeded by
``(seed, s + i)``, so an item gets the same output alone, in any batch, on any device.

Audio perturbations map mono float32 waveforms of any lengths at a given sampling rate
(``apply_audio``), each with a numpy generator seeded by ``(seed, s + i)`` the same way.

A text perturbation may also keep targets aligned: word tags (``apply_words``) and QA answer
spans (``apply_qa``), under the same ``variant_id``; ``supports`` tells which inputs it takes
(`perturbations.spans` describes what each one does to tags and answers).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from perturbations import spans
from perturbations.base import (
    Definition,
    FloatWave,
    Modality,
    ParamValue,
    Wave,
    numpy_rng,
    python_rng,
    torch_generator,
)
from perturbations.catalog import DEFINITIONS
from perturbations.errors import (
    AudioFormatError,
    ImageFormatError,
    ModalityError,
    PerturbationParamError,
    UnknownPerturbationError,
)

MODALITIES = ("image", "text", "audio")
INPUTS = ("image", "boxes", "text", "words", "qa", "audio")
PAIR_STREAM = "text_pair"  # the generator stream of a pair's second text (`item_seed`)
_SPEC = re.compile(r"^\s*(?P<name>[\w.-]+)\s*(?:\((?P<args>[^()]*)\))?\s*$")


@dataclass(frozen=True)
class Perturbation:
    """A named perturbation with validated parameters; get one with `get` or `from_spec`.

    Example:
        >>> noise = get("gaussian_noise", severity=3)
        >>> noise.variant_id
        'gaussian_noise(severity=3)'
        >>> noisy = noise.apply_images(batch, seed=0)  # doctest: +SKIP
    """

    name: str
    modality: Modality
    description: str
    method: str
    params: dict[str, ParamValue] = field(default_factory=dict, hash=False)
    moves_boxes: bool = False
    stochastic: bool = False

    @property
    def variant_id(self) -> str:
        if not self.params:
            return self.name
        args = ", ".join(f"{key}={self.params[key]!r}" for key in sorted(self.params))
        return f"{self.name}({args})"

    def apply_images(self, images: torch.Tensor, *, seed: int, start: int = 0) -> torch.Tensor:
        """Perturbs a uint8 batch (N, C, H, W), C in {1, 3}; image ``i`` is item ``start + i``.

        Returns a new uint8 tensor of the same shape, except that rotated90 swaps H and W.
        """
        fn = self._definition("image").images
        assert fn is not None
        _check_images(images, ndim=4)
        if images.shape[0] == 0:
            return images.clone()
        generators = (
            [torch_generator(seed, start + i) for i in range(images.shape[0])]
            if self.stochastic
            else []
        )
        return fn(images, generators, **self.params)

    def apply_image(self, image: torch.Tensor, *, seed: int, index: int = 0) -> torch.Tensor:
        """Perturbs one uint8 image (C, H, W) as item ``index``, for datasets of ragged sizes."""
        _check_images(image, ndim=3)
        return self.apply_images(image.unsqueeze(0), seed=seed, start=index)[0]

    def apply_texts(self, texts: Sequence[str], *, seed: int, start: int = 0) -> list[str]:
        """Perturbs texts; text ``i`` is item ``start + i``."""
        fn = self._definition("text").texts
        assert fn is not None
        if isinstance(texts, str):
            raise TypeError("apply_texts takes a sequence of texts, not one str")
        return [fn(t, python_rng(seed, start + i), **self.params) for i, t in enumerate(texts)]

    def apply_pair(self, text: str, text_pair: str, *, seed: int, index: int) -> tuple[str, str]:
        """Perturbs both texts of one item ``index`` of a text-pair dataset (NLI premise and
        hypothesis, two questions): ``text`` as `apply_texts` perturbs it, ``text_pair`` with
        a second, independent generator of the same item.

        Example:
            >>> get("uppercase").apply_pair("A man sleeps.", "He rests.", seed=0, index=3)
            ('A MAN SLEEPS.', 'HE RESTS.')
        """
        fn = self._definition("text").texts
        assert fn is not None
        if not isinstance(text, str) or not isinstance(text_pair, str):
            raise TypeError("apply_pair takes the two texts of one pair as str")
        return (
            fn(text, python_rng(seed, index), **self.params),
            fn(text_pair, python_rng(seed, index, PAIR_STREAM), **self.params),
        )

    def apply_audio(
        self, waves: Sequence[FloatWave], sampling_rate: int, *, seed: int, start: int = 0
    ) -> list[Wave]:
        """Perturbs mono waveforms at ``sampling_rate`` Hz; wave ``i`` is item ``start + i``.

        Each wave is a 1-D floating numpy array (float32 as `evaluators.audio_io` decodes it);
        lengths may differ. Returns new float32 arrays; ``speed`` changes their lengths.

        Raises:
            ModalityError: not an audio perturbation.
            AudioFormatError: a wave that is not a 1-D float array, or a bad sampling rate.

        Example:
            >>> waves = [np.zeros(16000, np.float32)]
            >>> [len(w) for w in get("speed", factor=2.0).apply_audio(waves, 16000, seed=0)]
            [8000]
        """
        fn = self._definition("audio").audio
        assert fn is not None
        if isinstance(waves, np.ndarray) and waves.ndim == 1:
            raise TypeError("apply_audio takes a sequence of waves; use apply_wave for one")
        _check_rate(sampling_rate)
        for i, wave in enumerate(waves):
            _check_wave(wave, index=start + i)
        return [
            fn(wave, numpy_rng(seed, start + i), sampling_rate, **self.params)
            for i, wave in enumerate(waves)
        ]

    def apply_wave(self, wave: FloatWave, sampling_rate: int, *, seed: int, index: int = 0) -> Wave:
        """Perturbs one mono waveform as item ``index`` (for rows that are not contiguous)."""
        return self.apply_audio([wave], sampling_rate, seed=seed, start=index)[0]

    def apply_boxes(self, boxes: torch.Tensor, *, width: int, height: int) -> torch.Tensor:
        """Moves (K, 4) xyxy pixel boxes of a ``width`` x ``height`` image as the image moves.

        A copy for perturbations that keep geometry (``moves_boxes`` is False).
        """
        fn = self._definition("image").boxes
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"boxes must be shaped (K, 4) (got {tuple(boxes.shape)})")
        return boxes.clone() if fn is None else fn(boxes, width, height)

    def supports(self, kind: str) -> bool:
        """Whether this perturbation takes ``kind``, one of `INPUTS`: ``"image"``, ``"boxes"``
        (moved or kept with their image), ``"text"``, ``"words"`` (`apply_words`), ``"qa"``
        (`apply_qa`, any target) or ``"audio"`` (`apply_audio`).

        Example:
            >>> get("typos").supports("words"), get("greyscale").supports("qa")
            (True, False)
        """
        if kind not in INPUTS:
            raise ValueError(f"kind must be one of {INPUTS} (got {kind!r})")
        return kind in _inputs(DEFINITIONS[self.name])

    def apply_words(
        self,
        words: Sequence[str],
        tags: Sequence[spans.Tag],
        *,
        seed: int,
        index: int,
        labels: Sequence[str] | None = None,
    ) -> tuple[list[str], list[spans.Tag]]:
        """Perturbs one sentence of words, item ``index``, keeping one tag per word.

        ``tags`` are IOB2 names, or ids with ``labels`` (their names in id order). Words are never
        merged or split; a dropped word drops its tag, and an ``I-X`` left starting its entity
        becomes ``B-X``.

        Raises:
            ModalityError: the perturbation cannot keep tags aligned (``supports("words")``).
            AlignmentError: not one tag per word, or ids without ``labels``.
        """
        fn = self._supporting("words").words
        assert fn is not None
        rng = python_rng(seed, index)
        return spans.perturb_words(
            fn, words, tags, rng=rng, params=self.params, index=index, labels=labels
        )

    def apply_qa(
        self,
        question: str,
        context: str,
        answers: Sequence[tuple[str, int]],
        *,
        seed: int,
        index: int,
        target: spans.QATarget,
    ) -> spans.QAExample:
        """Perturbs one QA item's ``target`` (``"question"``, ``"context"`` or ``"both"``).

        ``answers`` are ``(text, start)`` pairs, ``start`` a character offset into ``context``;
        the result's answers are slices of its context, in the same order.

        Raises:
            ModalityError: the perturbation cannot keep answers aligned (``supports("qa")``).
            AlignmentError: an answer that is not the context's text at its start.
        """
        definition = self._supporting("qa")
        assert definition.texts is not None and definition.context is not None
        return spans.perturb_qa(
            definition.texts,
            definition.context,
            question,
            context,
            answers,
            seed=seed,
            index=index,
            target=target,
            params=self.params,
        )

    def _supporting(self, kind: str) -> Definition:
        if not self.supports(kind):
            raise ModalityError(self.name, modality=self.modality, expected=kind)
        return DEFINITIONS[self.name]

    def _definition(self, expected: str) -> Definition:
        if self.modality != expected:
            raise ModalityError(self.name, modality=self.modality, expected=expected)
        return DEFINITIONS[self.name]


def _inputs(definition: Definition) -> tuple[str, ...]:
    has = {
        "image": definition.images is not None,
        "boxes": definition.images is not None,
        "text": definition.texts is not None,
        "words": definition.words is not None,
        "qa": definition.texts is not None and definition.context is not None,
        "audio": definition.audio is not None,
    }
    return tuple(kind for kind in INPUTS if has[kind])


def _check_images(images: torch.Tensor, *, ndim: int) -> None:
    shape, dtype = tuple(images.shape), str(images.dtype)
    layout = "(N, C, H, W)" if ndim == 4 else "(C, H, W)"
    if images.dtype != torch.uint8 or images.ndim != ndim or images.shape[-3] not in (1, 3):
        raise ImageFormatError(
            f"expected a uint8 tensor shaped {layout} with C = 1 or 3", shape=shape, dtype=dtype
        )


def _check_wave(wave: object, *, index: int) -> None:
    if not isinstance(wave, np.ndarray):
        raise AudioFormatError(
            f"expected a numpy array (got {type(wave).__name__})", index=index, shape=(), dtype="-"
        )
    if wave.ndim != 1 or not np.issubdtype(wave.dtype, np.floating):
        raise AudioFormatError(
            "expected a 1-D float array (mono; average the channels first)",
            index=index,
            shape=tuple(wave.shape),
            dtype=str(wave.dtype),
        )


def _check_rate(sampling_rate: object) -> None:
    if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, int | np.integer):
        raise TypeError(f"sampling_rate must be an int (got {sampling_rate!r})")
    if sampling_rate <= 0:
        raise ValueError(f"sampling_rate must be positive (got {sampling_rate})")


def names(modality: str | None = None) -> list[str]:
    """Registered names in catalog order (the thesis's five image variants first)."""
    if modality is not None and modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES} (got {modality!r})")
    return [n for n, d in DEFINITIONS.items() if modality in (None, d.modality)]


def suggest(name: str) -> str | None:
    """The registered name closest to ``name``, or None if none is close."""
    close = difflib.get_close_matches(name, list(DEFINITIONS), n=1)
    return close[0] if close else None


def get(name: str, **params: Any) -> Perturbation:
    """The perturbation ``name`` with ``params`` validated and defaults filled in.

    Raises:
        UnknownPerturbationError: no such name (the message suggests the closest).
        PerturbationParamError: an unknown parameter, or a value of the wrong type or range.

    Example:
        >>> get("typos").variant_id
        'typos(rate=0.05)'
    """
    definition = DEFINITIONS.get(name)
    if definition is None:
        raise UnknownPerturbationError(name, suggestion=suggest(name))
    specs = {spec.name: spec for spec in definition.params}
    for key in params:
        if key not in specs:
            raise PerturbationParamError(
                _unknown_param(name, key, list(specs)), perturbation=name, param=key
            )
    bound = {key: spec.validate(name, params.get(key, spec.default)) for key, spec in specs.items()}
    description, method = definition.description, definition.method
    if bound:
        phrases = "; ".join(specs[key].phrase.format(value) for key, value in bound.items())
        description = f"{description.rstrip('.')} ({phrases})."
        method = f"{method} Parameters: " + ", ".join(f"{k}={v!r}" for k, v in bound.items()) + "."
    return Perturbation(
        name=name,
        modality=definition.modality,
        description=description,
        method=method,
        params=bound,
        moves_boxes=definition.boxes is not None,
        stochastic=definition.stochastic,
    )


def _unknown_param(name: str, key: str, allowed: list[str]) -> str:
    if not allowed:
        return f"{name} takes no parameters (got {key!r})"
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" — did you mean '{close[0]}'?" if close else ""
    return f"{name}: unknown parameter '{key}'{hint} (allowed: {', '.join(allowed)})"


def from_spec(spec: str | Mapping[str, Any]) -> Perturbation:
    """Reads a YAML entry or a variant id.

    Example:
        >>> from_spec({"name": "gaussian_noise", "severity": 3}) == from_spec("gaussian_noise(severity=3)")
        True
    """
    if isinstance(spec, Mapping):
        params = dict(spec)
        name = params.pop("name", None)
        if not isinstance(name, str):
            raise PerturbationParamError(
                f"a perturbation mapping needs a string 'name' (got {spec!r})", perturbation="?"
            )
        return get(name, **params)
    if not isinstance(spec, str):
        raise TypeError(f"a perturbation spec is a name or a mapping (got {type(spec).__name__})")
    match = _SPEC.match(spec)
    if match is None:
        raise UnknownPerturbationError(spec.strip(), suggestion=suggest(spec.strip()))
    return get(match["name"], **_parse_args(match["name"], match["args"]))


def _parse_args(name: str, args: str | None) -> dict[str, ParamValue]:
    parsed: dict[str, ParamValue] = {}
    for item in filter(None, (part.strip() for part in (args or "").split(","))):
        key, sep, raw = (s.strip() for s in item.partition("="))
        try:
            if not sep:
                raise ValueError(item)
            parsed[key] = int(raw) if re.fullmatch(r"[+-]?\d+", raw) else float(raw)
        except ValueError:
            raise PerturbationParamError(
                f"{name}: cannot read parameter {item!r} (expected key=number)",
                perturbation=name,
                param=key or None,
            ) from None
    return parsed


def describe_all() -> list[dict[str, Any]]:
    """Every registered perturbation, for Variant records and the docs.

    Each entry: ``name``, ``modality``, ``description`` and ``method`` (not specific to
    parameter values), ``stochastic``, ``moves_boxes``, ``supports`` (the `INPUTS` it takes)
    and ``params`` (name -> ``{type, default, min, max}``, ranges inclusive).
    """
    return [
        {
            "name": d.name,
            "modality": d.modality,
            "description": d.description,
            "method": d.method,
            "stochastic": d.stochastic,
            "moves_boxes": d.boxes is not None,
            "supports": list(_inputs(d)),
            "params": {spec.name: spec.schema() for spec in d.params},
        }
        for d in DEFINITIONS.values()
    ]
