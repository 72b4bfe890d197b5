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


def _bytes(n: int) -> str:
    """``n`` bytes as people read sizes: 2.00 GiB, 8 MiB, 256 KiB, 300 bytes."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n // scale} {unit}" if n % scale == 0 else f"{n / scale:.2f} {unit}"
    return f"{n} bytes"


class FileTooLargeError(ValueError):
    """A file of a repo is larger than evalbot reads for its kind (``evaluators.limits``).

    ``path`` is the file's path in the repo, ``size`` its size in bytes (None when it was only
    found to hold more than ``limit`` while reading), ``limit`` the cap for its ``kind``.

    Example:
        >>> str(FileTooLargeError("config.json", 2**31, limit=8 * 2**20, kind="settings file"))
        'config.json is 2 GiB, over the cap of 8 MiB for a settings file: evalbot does not read it (shrink the file)'
    """

    def __init__(self, path: str, size: int | None, *, limit: int, kind: str) -> None:
        shown = _bytes(size) if size is not None else f"more than {_bytes(limit)}"
        super().__init__(
            f"{path} is {shown}, over the cap of {_bytes(limit)} for a {kind}: "
            "evalbot does not read it (shrink the file)"
        )
        self.path = path
        self.size = size
        self.limit = limit


class JsonDepthError(ValueError):
    """A JSON file nests arrays and objects deeper than evalbot parses (``limit`` levels).

    ``path`` is the file's path in the repo, ``depth`` how deep it nests.
    """

    def __init__(self, path: str, depth: int, *, limit: int) -> None:
        super().__init__(
            f"{path} nests {depth} levels deep, over the {limit} levels evalbot parses "
            "(real ones nest under 10: check the file)"
        )
        self.path = path
        self.depth = depth
        self.limit = limit
