"""Corpus BLEU and chrF of translations, from additive per-example statistics, equal to sacreBLEU's.

A corpus BLEU or chrF is not a mean of per-sentence scores: sacreBLEU sums each sentence's
sufficient statistics over the corpus and computes the score once from the sums. We keep those
statistics per example, so any subset of rows (a length bucket, a bootstrap resample, with rows
repeated) is scored by summing its rows, without tokenising again, and equals
``sacrebleu.corpus_bleu`` / ``sacrebleu.corpus_chrf`` (and ``BLEU(...).corpus_score``) run on
that subset (the parity tests check 1e-9).

- BLEU statistics per example: hypothesis length, closest reference length, matched n-grams for
  n = 1..4, hypothesis n-grams for n = 1..4 (10 integers). Defaults are sacreBLEU's: ``exp``
  smoothing, effective order off, tokenizer ``13a`` unless chosen (:func:`tokenizer_for`).
- chrF statistics per example: (hypothesis, reference, matched) character n-gram counts for
  n = 1..6 (18 integers), against the reference with the best sentence chrF. Defaults are
  sacreBLEU's chrF2 (beta 2, no word n-grams, whitespace ignored, no epsilon smoothing).

The statistics and the scores come from sacreBLEU 2.6.0's own code, so tokenisation, reference
handling and the formulas are its. We call these non-public helpers, pinned to 2.6.0 by the
parity tests (:data:`SACREBLEU_VERSION` is stored with results):

- ``Metric._extract_corpus_statistics(hypotheses, reference_streams)`` (``metrics/base.py``):
  the per-sentence statistics lists, with ``_cache_references`` / ``_extract_reference_info``
  and ``_compute_segment_statistics`` of ``BLEU`` and ``CHRF`` underneath;
- ``BLEU._compute_score_from_stats`` / ``CHRF._compute_score_from_stats``: the score from summed
  statistics (what ``corpus_score`` does after ``sum_of_lists``);
- ``sacrebleu.metrics.bleu._TOKENIZERS`` / ``BLEU._TOKENIZER_MAP``: tokenizer names and the
  target-language choice.

Scores are returned as fractions (sacreBLEU's 0-100 score / 100).

Example:
    >>> stats = sentence_stats(["the cat sat on the mat", "hello"], ["the cat sat on a mat", "hi"])
    >>> round(corpus_bleu(stats), 4), round(corpus_bleu(stats, rows=[0]), 4)
    (0.517, 0.5373)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
from sacrebleu.metrics.bleu import _TOKENIZERS, BLEU
from sacrebleu.metrics.chrf import CHRF
from sacrebleu.version import __version__ as SACREBLEU_VERSION

from evaluators.rouge import EmptySelectionError

IntArray = npt.NDArray[np.int64]
Rows = Sequence[int] | npt.NDArray[np.integer]
NRefs = int | Literal["var"]

__all__ = [
    "SACREBLEU_VERSION",
    "BleuStats",
    "bleu_signature",
    "chrf_signature",
    "corpus_bleu",
    "corpus_chrf",
    "sentence_stats",
    "tokenizer_for",
]


@dataclass(frozen=True)
class BleuStats:
    """Per-example sufficient statistics of BLEU and chrF, and how they were made.

    Attributes:
        bleu: ``n_examples x 10`` integers (sacreBLEU's order: hypothesis length, reference
            length, 4 matched counts, 4 hypothesis n-gram counts).
        chrf: ``n_examples x 18`` integers ((hypothesis, reference, matched) for n = 1..6).
        tokenize: sacreBLEU's tokenizer name for BLEU (chrF does not tokenise).
        lowercase: whether both metrics lower-cased the texts.
        nrefs: references per example, or ``"var"`` when the count varies.
    """

    bleu: IntArray
    chrf: IntArray
    tokenize: str
    lowercase: bool
    nrefs: NRefs

    def __len__(self) -> int:
        return len(self.bleu)


@cache
def _bleu(tokenize: str, lowercase: bool) -> BLEU:
    if tokenize not in _TOKENIZERS:
        raise ValueError(
            f"unknown sacreBLEU tokenizer {tokenize!r}: use one of {', '.join(_TOKENIZERS)}"
        )
    return BLEU(tokenize=tokenize, lowercase=lowercase)


@cache
def _chrf(lowercase: bool) -> CHRF:
    return CHRF(lowercase=lowercase)


def _reference_streams(
    references: Sequence[str] | Sequence[Sequence[str]],
) -> tuple[list[list[str | None]], NRefs]:
    """Per-example references as sacreBLEU's reference streams (stream ``k`` holds every
    example's ``k``-th reference, None where an example has fewer)."""
    per_example: list[list[str]] = []
    for index, reference in enumerate(references):
        texts = [reference] if isinstance(reference, str) else list(reference)
        if not texts or not all(isinstance(text, str) for text in texts):
            raise TypeError(
                f"reference {index} must be a string or a non-empty sequence of strings, "
                f"got {reference!r}"
            )
        per_example.append(texts)
    most = max(len(texts) for texts in per_example)
    streams: list[list[str | None]] = [
        [texts[k] if k < len(texts) else None for texts in per_example] for k in range(most)
    ]
    counts = {len(texts) for texts in per_example}
    return streams, counts.pop() if len(counts) == 1 else "var"


def sentence_stats(
    hypotheses: Sequence[str],
    references: Sequence[str] | Sequence[Sequence[str]],
    *,
    tokenize: str = "13a",
    lowercase: bool = False,
) -> BleuStats:
    """BLEU and chrF sufficient statistics of each example, computed by sacreBLEU.

    Args:
        hypotheses: One translation per example.
        references: Per example, its reference or a sequence of references (per example, not
            sacreBLEU's reference streams); the count may vary between examples.
        tokenize: sacreBLEU's BLEU tokenizer (``"13a"``, ``"intl"``, ``"zh"``, ``"char"``,
            ``"none"``, ...; see :func:`tokenizer_for`).
        lowercase: lower-case hypotheses and references for both metrics.

    Raises:
        ValueError: the sequences differ in length or are empty, or the tokenizer is unknown.
        TypeError: a hypothesis is not a string, or a reference neither a string nor a non-empty
            sequence of strings.
        RuntimeError: sacreBLEU's message that the tokenizer needs packages not installed.

    Example:
        >>> stats = sentence_stats(["a b c d"], [["a b c d", "x"]])
        >>> stats.bleu.tolist(), stats.nrefs
        ([[4, 4, 4, 3, 2, 1, 4, 3, 2, 1]], 2)
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not hypotheses:
        raise ValueError("no examples: give at least one hypothesis and its references")
    for index, hypothesis in enumerate(hypotheses):
        if not isinstance(hypothesis, str):
            raise TypeError(f"hypothesis {index} must be a string, got {hypothesis!r}")
    padded, nrefs = _reference_streams(references)
    # sacreBLEU's annotation leaves out the None its ``_cache_references`` accepts (fewer refs)
    streams = cast("Sequence[Sequence[str]]", padded)
    bleu = _bleu(tokenize, lowercase)._extract_corpus_statistics(hypotheses, streams)
    chrf = _chrf(lowercase)._extract_corpus_statistics(hypotheses, streams)
    return BleuStats(
        bleu=np.array(bleu, dtype=np.int64),
        chrf=np.array(chrf, dtype=np.int64),
        tokenize=tokenize,
        lowercase=lowercase,
        nrefs=nrefs,
    )


def _summed(table: IntArray, rows: Rows | None) -> list[int]:
    selected = table if rows is None else table[np.asarray(rows, dtype=np.int64)]
    if len(selected) == 0:
        raise EmptySelectionError("no examples selected: a corpus score of none is undefined")
    return [int(value) for value in selected.sum(axis=0)]


def corpus_bleu(stats: BleuStats, rows: Rows | None = None) -> float:
    """sacreBLEU's corpus BLEU of ``rows`` (all examples when None; repeats count again), as a
    fraction: ``sacrebleu.corpus_bleu(...).score / 100``.

    Raises:
        EmptySelectionError: ``rows`` is empty.
    """
    bleu = _bleu(stats.tokenize, stats.lowercase)
    return float(bleu._compute_score_from_stats(_summed(stats.bleu, rows)).score) / 100


def corpus_chrf(stats: BleuStats, rows: Rows | None = None) -> float:
    """sacreBLEU's corpus chrF2 of ``rows`` (all examples when None; repeats count again), as a
    fraction: ``sacrebleu.corpus_chrf(...).score / 100``.

    Raises:
        EmptySelectionError: ``rows`` is empty.
    """
    chrf = _chrf(stats.lowercase)
    return float(chrf._compute_score_from_stats(_summed(stats.chrf, rows)).score) / 100


def bleu_signature(*, tokenize: str = "13a", nrefs: NRefs = 1, lowercase: bool = False) -> str:
    """sacreBLEU's BLEU signature, e.g. ``"nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|
    version:2.6.0"``, to store and print with the score."""
    metric = BLEU(tokenize=tokenize, lowercase=lowercase)
    metric.num_refs = -1 if nrefs == "var" else nrefs
    return metric.get_signature().format()


def chrf_signature(*, nrefs: NRefs = 1, lowercase: bool = False) -> str:
    """sacreBLEU's chrF signature, e.g. ``"nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|
    version:2.6.0"``."""
    metric = CHRF(lowercase=lowercase)
    metric.num_refs = -1 if nrefs == "var" else nrefs
    return metric.get_signature().format()


@cache
def _installed(tokenize: str) -> bool:
    try:
        _bleu(tokenize, False)
    except RuntimeError:  # sacreBLEU's "requires extra dependencies" (MeCab and its dictionary)
        return False
    return True


def tokenizer_for(target_language: str | None) -> str:
    """The BLEU tokenizer sacreBLEU picks for a target language (its ``BLEU._TOKENIZER_MAP``,
    as the CLI does with ``-l src-trg``): ``"zh"`` for Chinese, ``"ja-mecab"`` for Japanese,
    ``"ko-mecab"`` for Korean, ``"13a"`` otherwise and when unknown.

    Only the primary subtag counts (``"zh-Hant"``, ``"ja_JP"``). The MeCab tokenizers need
    ``sacrebleu[ja]`` / ``sacrebleu[ko]``; without them (as in evalbot's environment) Japanese
    and Korean get ``"char"``, sacreBLEU's character tokenizer: its scores differ from MeCab's,
    and the signature says ``tok:char``, so the two are never mixed up.

    Example:
        >>> tokenizer_for("zh-Hans"), tokenizer_for("de"), tokenizer_for(None)
        ('zh', '13a', '13a')
    """
    if not target_language:
        return BLEU.TOKENIZER_DEFAULT
    primary = re.split(r"[-_]", target_language.strip().lower())[0]
    name = BLEU._TOKENIZER_MAP.get(primary, BLEU.TOKENIZER_DEFAULT)
    return name if _installed(name) else "char"
