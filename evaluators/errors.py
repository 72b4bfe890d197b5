"""Typed evaluation errors. Each carries the ``FailureReason`` stored on the model."""

from __future__ import annotations

from store.types import FailureReason


class ConfigError(ValueError):
    """A YAML file under ``config/`` is invalid. The message names the file and the key."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


READ_TOKEN_ENV = "EVALBOT_HF_READ_TOKEN"  # the read-only token that Ray tasks download with


class ReadTokenError(ConfigError):
    """The token set for Ray tasks (``EVALBOT_HF_READ_TOKEN``) is not a valid "read" token.

    Ray tasks never get the write token: a token whose role is not ``read`` is refused before
    any task is submitted. ``role``: what ``whoami`` said (None when the Hub refused the token).
    """

    def __init__(self, message: str, *, role: str | None = None) -> None:
        super().__init__(READ_TOKEN_ENV, message)
        self.role = role


class Cancelled(Exception):
    """The evaluation was cancelled (its job's lease was lost): nothing it made is kept."""


class EvaluationError(RuntimeError):
    """A model cannot be evaluated; ``reason`` says why in one stored word."""

    reason: FailureReason = FailureReason.LOAD_ERROR

    def __init__(self, repo_id: str, detail: str, *, reason: FailureReason | None = None) -> None:
        super().__init__(f"{repo_id}: {detail}")
        self.repo_id = repo_id
        self.detail = detail
        if reason is not None:
            self.reason = reason


class UnsupportedModelError(EvaluationError):
    reason = FailureReason.UNSUPPORTED


class InsufficientMetadataError(EvaluationError):
    reason = FailureReason.INSUFFICIENT_METADATA


class LabelMappingError(EvaluationError):
    """The model's labels cannot be mapped to the dataset's; ``unmatched`` lists them."""

    reason = FailureReason.UNKNOWN_LABELS

    def __init__(self, repo_id: str, unmatched: list[str], dataset_labels: list[str]) -> None:
        super().__init__(
            repo_id,
            f"labels {unmatched} match none of the dataset labels {dataset_labels}; "
            "add an alias under `label_aliases` in the module YAML if they mean the same class",
        )
        self.unmatched = unmatched


class UnsafeWeightsError(EvaluationError):
    reason = FailureReason.UNSAFE_WEIGHTS


class IncompatibleLibraryError(EvaluationError):
    reason = FailureReason.INCOMPATIBLE_LIBRARY


class TagFormatError(ValueError):
    """A tag that is neither ``O`` nor ``B-``/``I-``/``E-``/``S-`` followed by an entity type.

    ``tag`` is the offending tag; the message says where it was found and what to write instead.
    """

    def __init__(self, tag: str, detail: str) -> None:
        super().__init__(f"tag {tag!r}: {detail}")
        self.tag = tag


class SequenceLengthError(ValueError):
    """Per-word sequences that should be aligned have different lengths.

    ``sentence`` is the index of the first sentence that differs (None when the number of
    sentences differs).
    """

    def __init__(self, detail: str, *, sentence: int | None = None) -> None:
        super().__init__(detail)
        self.sentence = sentence


class AnswerInputError(ValueError):
    """Extractive-QA inputs that cannot be scored or decoded (SQuAD metrics, span decoding).

    ``index`` is the position of the first offending example (None when the inputs as a whole
    are wrong, e.g. their counts differ); the message says what to change.
    """

    def __init__(self, detail: str, *, index: int | None = None) -> None:
        super().__init__(detail if index is None else f"example {index}: {detail}")
        self.index = index


class CardModuleError(ValueError):
    """A dataset card's ``train-eval-index`` cannot be turned into an evaluation module.

    ``dataset_id`` names the dataset; the message says what the card lacks and that a
    maintainer can write the module YAML (``config/tasks/<task>/<id>.yaml``) instead.
    """

    def __init__(self, dataset_id: str, detail: str) -> None:
        super().__init__(f"{dataset_id}: {detail}")
        self.dataset_id = dataset_id
        self.detail = detail
