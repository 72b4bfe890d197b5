"""Errors raised by the perturbations package."""

from __future__ import annotations


class UnknownPerturbationError(KeyError):
    """No perturbation is registered under ``name``; the message suggests the closest one."""

    def __init__(self, name: str, *, suggestion: str | None = None) -> None:
        hint = f" — did you mean '{suggestion}'?" if suggestion else ""
        super().__init__(f"unknown perturbation '{name}'{hint}")
        self.name = name
        self.suggestion = suggestion

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class PerturbationParamError(ValueError):
    """A parameter is unknown, missing its name, of the wrong type, or out of range."""

    def __init__(self, message: str, *, perturbation: str, param: str | None = None) -> None:
        super().__init__(message)
        self.perturbation = perturbation
        self.param = param


class ModalityError(TypeError):
    """A perturbation was applied to the wrong kind of input (e.g. a text one to images)."""

    def __init__(self, perturbation: str, *, modality: str, expected: str) -> None:
        super().__init__(f"perturbation '{perturbation}' is for {modality}, not {expected}")
        self.perturbation = perturbation
        self.modality = modality


class ImageFormatError(ValueError):
    """Images are not uint8 tensors shaped (N, C, H, W) or (C, H, W) with C in {1, 3}."""

    def __init__(self, message: str, *, shape: tuple[int, ...], dtype: str) -> None:
        super().__init__(f"{message} (got shape {shape}, dtype {dtype})")
        self.shape = shape
        self.dtype = dtype


class AudioFormatError(ValueError):
    """A waveform is not a 1-D floating numpy array (one mono recording)."""

    def __init__(self, message: str, *, index: int, shape: tuple[int, ...], dtype: str) -> None:
        super().__init__(f"item {index}: {message} (got shape {shape}, dtype {dtype})")
        self.index = index
        self.shape = shape
        self.dtype = dtype


class AlignmentError(ValueError):
    """Targets do not fit their input: tags and words of different lengths, an answer that is not
    the context's text at its start, or tag ids without their names."""

    def __init__(self, message: str, *, index: int) -> None:
        super().__init__(f"item {index}: {message}")
        self.index = index
