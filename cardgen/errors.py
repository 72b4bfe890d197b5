"""Errors raised by cardgen."""

from __future__ import annotations

import enum


class Refusal(enum.StrEnum):
    """Why a model card cannot be edited safely. Stable strings: the bot stores and counts them."""

    UNCLOSED_FRONT_MATTER = "front matter is not closed"
    INVALID_YAML = "front matter is not valid YAML"
    NOT_A_MAPPING = "front matter is not a mapping"
    NON_STRING_KEYS = "front matter has non-string keys"
    DUPLICATE_KEYS = "front matter has duplicate keys"
    MALFORMED_MODEL_INDEX = "model-index is malformed"
    SEVERAL_MODELS = "model-index lists several models"
    UNBALANCED_MARKERS = "evalbot section markers are unbalanced"
    OPTED_OUT = "opted out with the no-evalbot tag"
    NO_ROUND_TRIP = "generated card does not round-trip"


class CardError(ValueError):
    """A model card that evalbot refuses to edit, because the edit could break it or lose data.

    Args:
        reason: A short machine-readable reason, one of :class:`Refusal`.
        repo_id: The model repository whose card was refused.
        detail: Optional human-readable context (a YAML error, the offending value).

    Example:
        >>> err = CardError(Refusal.NOT_A_MAPPING, repo_id="org/model")
        >>> err.reason
        <Refusal.NOT_A_MAPPING: 'front matter is not a mapping'>
        >>> str(err)
        'cannot edit the model card of org/model: front matter is not a mapping'
    """

    def __init__(self, reason: Refusal, *, repo_id: str, detail: str | None = None) -> None:
        self.reason = reason
        self.repo_id = repo_id
        self.detail = detail
        message = f"cannot edit the model card of {repo_id}: {reason}"
        super().__init__(f"{message} ({detail})" if detail else message)
