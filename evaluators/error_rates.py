"""Word and character error rates of transcripts, as speech recognition is scored.

The error rate of a corpus is its edits over its reference length: the word-level (WER) or
character-level (CER) Levenshtein distance of each hypothesis to its reference (substitutions,
deletions and insertions at cost 1), summed over the corpus, divided by the number of reference
words or characters. It equals ``jiwer.wer`` and ``jiwer.cer`` with their default transforms:
surrounding whitespace stripped; for words, runs of whitespace as one space and words split on
spaces; for characters, every character counted, spaces included. No other normalisation happens here: case, punctuation
and a normaliser such as Whisper's English one are the caller's choice, recorded with the result.

Example:
    >>> rates = error_rates(["the cat sat"], ["the cat sat down"])
    >>> round(rates.wer, 4), rates.reference_words, rates.word_edits
    (0.3333, 3, 1)
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np


class EmptyReferenceError(ValueError):
    """A reference with no words: no error rate is defined for it."""


@dataclass(frozen=True)
class ErrorRates:
    """A corpus's word and character error rates, with the counts they divide."""

    word_edits: int
    reference_words: int
    char_edits: int
    reference_chars: int

    @property
    def wer(self) -> float:
        return self.word_edits / self.reference_words

    @property
    def cer(self) -> float:
        return self.char_edits / self.reference_chars


_RUNS = re.compile(r"\s\s+")  # two or more whitespace characters: one space


def _clean(text: str) -> str:
    return _RUNS.sub(" ", text).strip()


def words(text: str) -> list[str]:
    """The words of a transcript: runs of whitespace as one space, ends stripped, split on
    spaces."""
    cleaned = _clean(text)
    return cleaned.split(" ") if cleaned else []


def chars(text: str) -> list[str]:
    """The characters of a transcript with its ends stripped, each space counted (runs of spaces
    are not merged here, as jiwer's ``cer`` does not merge them)."""
    return list(text.strip())


def distance(reference: Sequence[Hashable], hypothesis: Sequence[Hashable]) -> int:
    """Levenshtein distance (unit costs) of two sequences, one row of the table at a time."""
    if not reference or not hypothesis:
        return len(reference) + len(hypothesis)
    codes: dict[Hashable, int] = {}
    ref = np.array([codes.setdefault(t, len(codes)) for t in reference], dtype=np.int64)
    hyp = np.array([codes.setdefault(t, len(codes)) for t in hypothesis], dtype=np.int64)
    previous = np.arange(len(hyp) + 1, dtype=np.int64)
    for i, token in enumerate(ref, start=1):
        # substitution or match, and deletion, from the row above; insertion runs along the row
        diagonal = previous[:-1] + (hyp != token)
        current = np.minimum(diagonal, previous[1:] + 1)
        current = np.concatenate(([i], current))
        # an insertion chain: current[j] = min(current[j], current[j - 1] + 1), as a running min
        current = np.minimum.accumulate(current - np.arange(len(current))) + np.arange(len(current))
        previous = current
    return int(previous[-1])


def error_rates(references: Sequence[str], hypotheses: Sequence[str]) -> ErrorRates:
    """WER and CER of ``hypotheses`` against ``references`` (one transcript each, in order).

    Raises:
        ValueError: the two lists differ in length.
        EmptyReferenceError: a reference has no words (its index is in the message).
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    word_edits = reference_words = char_edits = reference_chars = 0
    for index, (reference, hypothesis) in enumerate(zip(references, hypotheses, strict=True)):
        ref_words = words(reference)
        if not ref_words:
            raise EmptyReferenceError(f"reference {index} has no words: no error rate for it")
        word_edits += distance(ref_words, words(hypothesis))
        reference_words += len(ref_words)
        ref_chars = chars(reference)
        char_edits += distance(ref_chars, chars(hypothesis))
        reference_chars += len(ref_chars)
    return ErrorRates(word_edits, reference_words, char_edits, reference_chars)
