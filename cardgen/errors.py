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
    INVALID_METADATA = "front matter has a value huggingface_hub rejects"
    NOT_UTF8 = "README.md is not valid UTF-8"
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


class EvalResultsError(ValueError):
    """An ``.eval_results/*.yaml`` file that huggingface_hub cannot read as Eval Results entries.

    Example:
        >>> str(EvalResultsError(".eval_results/x.yaml", "not a list of entries"))
        '.eval_results/x.yaml: not a list of entries'
    """

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"{path}: {detail}")


class TokenProblem(enum.StrEnum):
    """Why a token signed with evalbot's key does not verify (see `cardgen.signing`)."""

    MALFORMED = "malformed token"
    UNKNOWN_KEY = "signed by an unknown key"
    BAD_SIGNATURE = "invalid signature"


class TokenError(ValueError):
    """A token that does not verify against the given public keys.

    Args:
        problem: What is wrong, one of :class:`TokenProblem`.
        kid: The key id the token names, when it names one.
        detail: Optional human-readable context.

    Example:
        >>> str(TokenError(TokenProblem.UNKNOWN_KEY, kid="0123456789abcdef"))
        'signed by an unknown key (key id 0123456789abcdef)'
    """

    def __init__(
        self, problem: TokenProblem, *, kid: str | None = None, detail: str | None = None
    ) -> None:
        self.problem = problem
        self.kid = kid
        self.detail = detail
        context = [f"key id {kid}"] if kid else []
        context += [detail] if detail else []
        super().__init__(f"{problem} ({', '.join(context)})" if context else str(problem))


class SigningKeyError(ValueError):
    """A key file that does not hold the Ed25519 key evalbot needs.

    Example:
        >>> str(SigningKeyError("/keys/k.pem", "not PEM"))
        'cannot use the key in /keys/k.pem: not PEM'
    """

    def __init__(self, path: object, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"cannot use the key in {path}: {detail}")
