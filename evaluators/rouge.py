"""ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum F-measures of summaries, equal to rouge-score's.

Each example's four F-measures equal ``rouge_score.rouge_scorer.RougeScorer(["rouge1", "rouge2",
"rougeL", "rougeLsum"], use_stemmer=...).score(reference, prediction)[type].fmeasure`` of
rouge-score 0.1.2 to the last bit (the parity tests check 1e-12 on random texts), and
``score_multi`` for several references: each type takes the best F-measure over them. Only the
counting is ours; the words are rouge-score's own:

- Tokens come from ``rouge_score.tokenize.tokenize`` (lower-case, every run of characters other
  than ``a-z0-9`` a separator, words over 3 characters Porter-stemmed by nltk's ``PorterStemmer``
  when the stemmer is on), so tokenisation and stemming are rouge-score's. We hand it a stemmer
  that remembers each word's stem, as stemming is most of rouge-score's time.
- Every text is tokenised once, line by line. A newline separates tokens, so the tokens of the
  whole text (for ROUGE-1, -2 and -L) are its lines' tokens in order, and the lines are
  ROUGE-Lsum's sentences (rouge-score splits at ``"\\n"`` and drops empty lines; a line without
  tokens adds nothing to any score).
- ROUGE-N counts n-gram matches with clipping; precision is matches over predicted n-grams and
  recall over reference n-grams, each over at least 1, so an empty side scores 0.
- ROUGE-L is the longest common subsequence (LCS) of the token sequences, found by the
  bit-parallel algorithm of Allison & Dix (1986) / Hyyrö (2004) on Python integers (one bit per
  token of the longer text, a few integer operations per token of the shorter one), not a table.
  An empty text on either side scores 0.
- ROUGE-Lsum is the summary-level LCS of Lin (2004, section 3.2) as rouge-score computes it: for
  each reference sentence, the union of the positions of one LCS with each predicted sentence,
  where the LCS is the one rouge-score's backtracking picks (the table is read back from the
  bit vectors, one per predicted token, with the same tie rule), then each union token counts as
  a hit only while both texts still have an unused copy of it (ROUGE-1.5.5's rule against double
  counting). Precision and recall divide the hits by the predicted and reference token counts.

F-measure is ``2 * p * r / (p + r)``, 0 when ``p + r`` is 0, computed in the same order as
rouge-score so the floats agree exactly. Scores are fractions (0-1), one per example, and a corpus
is scored by their mean (:func:`corpus_rouge`).

Example:
    >>> scores = rouge_scores(["the cat sat on the mat"], ["the cat lay on the mat"])
    >>> round(float(scores["rouge1"][0]), 4), round(float(scores["rouge2"][0]), 4)
    (0.8333, 0.6)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
from nltk.stem import porter
from rouge_score import tokenize as rouge_tokenize

FloatArray = npt.NDArray[np.float64]

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
ROUGE_SCORE_VERSION = version("rouge-score")
LSUM_SENTENCES = {
    "newline": "ROUGE-Lsum sentences split at newlines",
    "regex": "ROUGE-Lsum sentences split at newlines and by evalbot's regex sentence splitter",
}


class EmptySelectionError(ValueError):
    """No rows were selected: a mean over no examples is undefined ("n/a", not 0)."""


@dataclass(frozen=True)
class RougeSettings:
    """How ROUGE is computed; stored with every result, as it changes the scores.

    Attributes:
        use_stemmer: Porter-stem words over 3 characters (rouge-score's ``use_stemmer``; Hugging
            Face ``evaluate``'s rouge defaults to off, most summarisation papers report it on).
        lsum_sentences: ``"newline"``: ROUGE-Lsum sentences are the texts' lines, as given (the
            caller put one sentence per line, as rouge-score expects). ``"regex"``: the texts go
            through :func:`split_sentences` first, a stand-in for ``nltk.sent_tokenize``.
    """

    use_stemmer: bool = True
    lsum_sentences: str = "newline"

    def __post_init__(self) -> None:
        if self.lsum_sentences not in LSUM_SENTENCES:
            raise ValueError(
                f"unknown lsum_sentences {self.lsum_sentences!r}: "
                f"use one of {', '.join(map(repr, LSUM_SENTENCES))}"
            )

    def describe(self) -> str:
        """One line for a model card, e.g. "rouge-score 0.1.2 scoring, Porter stemmer on,
        ROUGE-Lsum sentences split at newlines"."""
        stemmer = "on" if self.use_stemmer else "off"
        return (
            f"rouge-score {ROUGE_SCORE_VERSION} scoring, Porter stemmer {stemmer}, "
            f"{LSUM_SENTENCES[self.lsum_sentences]}"
        )

    def as_dict(self) -> dict[str, str | bool]:
        """The settings and the rouge-score version whose scores these equal, for storing."""
        return {**asdict(self), "rouge_score_version": ROUGE_SCORE_VERSION}


# --- sentences ---------------------------------------------------------------------------------

# Sentence-final punctuation, closing quotes or brackets after it, then spaces (not a newline).
_BOUNDARY = re.compile(r"(?<=[.!?])([\"'”’»)\]]*)([^\S\n]+)(?=(\S))")
_WORD_BEFORE = re.compile(r"(\w+)\.$")
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "inc", "ltd", "vol"}
    | {"co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct"}
    | {"nov", "dec", "gen", "gov", "sen", "rep", "rev", "fig", "eq", "approx", "dept", "est"}
)
_OPENERS = "\"'“‘«(["


def split_sentences(text: str) -> str:
    """The text with one sentence per line, for ROUGE-Lsum (what ``nltk.sent_tokenize`` plus
    ``"\\n".join`` gives in Hugging Face's summarisation scripts; nltk's punkt model cannot be
    downloaded here).

    A sentence ends at ``.``, ``!`` or ``?`` (closing quotes or brackets may follow) when
    whitespace and then an upper-case letter, a digit or an opening quote or bracket come next;
    that whitespace becomes one newline. Not after a common abbreviation ("Dr.", "etc.", "Jan.")
    or a single letter (an initial, "J. Smith"). Existing newlines are kept, and only whitespace
    is replaced, so ROUGE-1, -2 and -L are unchanged by the split.

    Example:
        >>> split_sentences("It rained. Then it stopped! Dr. Who left.")
        'It rained.\\nThen it stopped!\\nDr. Who left.'
    """

    def replace(match: re.Match[str]) -> str:
        following = match.group(3)
        if not (following.isupper() or following.isdigit() or following in _OPENERS):
            return match.group(0)
        word = _WORD_BEFORE.search(text[max(0, match.start() - 40) : match.start()])
        if word and (len(word.group(1)) == 1 or word.group(1).lower() in _ABBREVIATIONS):
            return match.group(0)
        return match.group(1) + "\n"

    return _BOUNDARY.sub(replace, text)


# --- tokens ------------------------------------------------------------------------------------


class _RememberingStemmer:
    """nltk's Porter stemmer, remembering each word's stem (it is pure and the slow part)."""

    def __init__(self) -> None:
        self._porter = porter.PorterStemmer()
        self._stems: dict[str, str] = {}

    def stem(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            stem = self._stems[word] = self._porter.stem(word)
        return stem


def _sentences(text: str, stemmer: _RememberingStemmer | None) -> list[list[str]]:
    """rouge-score's tokens of each line that has any."""
    lines = (rouge_tokenize.tokenize(line, stemmer) for line in text.split("\n"))
    return [tokens for tokens in lines if tokens]


# --- longest common subsequences ----------------------------------------------------------------


def _masks(tokens: Sequence[str]) -> dict[str, int]:
    """For each token, the bit set of its positions."""
    masks: dict[str, int] = {}
    for position, token in enumerate(tokens):
        masks[token] = masks.get(token, 0) | (1 << position)
    return masks


def _columns(masks: dict[str, int], length: int, other: Sequence[str]) -> list[int]:
    """Bit vectors of the LCS table's columns: after ``j`` tokens of ``other``, bit ``i - 1`` is
    clear exactly where ``t[i][j] = t[i - 1][j] + 1``, so ``t[i][j]`` is the count of clear bits
    below bit ``i`` (Hyyrö's formulation of Allison & Dix's algorithm)."""
    full = (1 << length) - 1
    vector = full
    columns = [vector]
    for token in other:
        matched = vector & masks.get(token, 0)
        vector = ((vector + matched) | (vector - matched)) & full
        columns.append(vector)
    return columns


def lcs_length(first: Sequence[str], second: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences."""
    if len(first) < len(second):
        first, second = second, first
    if not second:
        return 0
    last = _columns(_masks(first), len(first), second)[-1]
    return len(first) - last.bit_count()


def _lcs_positions(
    reference: Sequence[str], masks: dict[str, int], candidate: Sequence[str]
) -> list[int]:
    """Positions in ``reference`` of the LCS that rouge-score's ``lcs_ind`` returns: backtracking
    from the table's corner, a match goes diagonally, else left when ``t[i][j - 1] > t[i - 1][j]``
    and up otherwise."""
    columns = _columns(masks, len(reference), candidate)
    if columns[-1] == columns[0]:  # no token in common
        return []
    positions = []
    i, j = len(reference), len(candidate)
    while i > 0 and j > 0:
        if reference[i - 1] == candidate[j - 1]:
            positions.append(i - 1)
            i -= 1
            j -= 1
        else:
            below = (1 << i) - 1
            left = i - (columns[j - 1] & below).bit_count()
            up = i - 1 - (columns[j] & (below >> 1)).bit_count()
            if left > up:
                j -= 1
            else:
                i -= 1
    return positions


def _summary_hits(references: list[list[str]], candidates: list[list[str]]) -> int:
    """rouge-score's ``_summary_level_lcs`` hit count: union LCS per reference sentence, each
    token counted while both texts have an unused copy of it."""
    unused_reference = Counter(token for sentence in references for token in sentence)
    unused_candidate = Counter(token for sentence in candidates for token in sentence)
    hits = 0
    for sentence in references:
        masks = _masks(sentence)
        union: set[int] = set()
        for candidate in candidates:
            if not masks.keys().isdisjoint(candidate):
                union.update(_lcs_positions(sentence, masks, candidate))
        for position in sorted(union):
            token = sentence[position]
            if unused_candidate[token] > 0 and unused_reference[token] > 0:
                hits += 1
                unused_candidate[token] -= 1
                unused_reference[token] -= 1
    return hits


# --- scores ------------------------------------------------------------------------------------


@dataclass
class _Text:
    """A text tokenised once: its sentences' tokens, all its tokens, its 1- and 2-grams."""

    sentences: list[list[str]]
    tokens: list[str]
    unigrams: Counter[str]
    bigrams: Counter[tuple[str, str]]

    @classmethod
    def of(cls, text: str, settings: RougeSettings, stemmer: _RememberingStemmer | None) -> _Text:
        if settings.lsum_sentences == "regex":
            text = split_sentences(text)
        sentences = _sentences(text, stemmer)
        tokens = [token for sentence in sentences for token in sentence]
        return cls(sentences, tokens, Counter(tokens), Counter(pairwise(tokens)))


def _overlap(reference: Counter[Any], prediction: Counter[Any]) -> int:
    """Clipped matches: each reference n-gram counts as often as both texts have it."""
    return sum(min(count, prediction[gram]) for gram, count in reference.items())


def _pair_counts(prediction: _Text, reference: _Text) -> tuple[int, ...]:
    """One row of ``_f_measures``: ROUGE-1 and ROUGE-2 matches, predicted and reference n-gram
    counts; the LCS length and the ROUGE-Lsum hits (both divided by the token counts)."""
    predicted, referenced = len(prediction.tokens), len(reference.tokens)
    lcs = lcs_length(prediction.tokens, reference.tokens)
    hits = _summary_hits(reference.sentences, prediction.sentences) if lcs else 0
    return (
        _overlap(reference.unigrams, prediction.unigrams),
        predicted,
        referenced,
        _overlap(reference.bigrams, prediction.bigrams),
        max(predicted - 1, 0),
        max(referenced - 1, 0),
        lcs,
        hits,
    )


def _f_measure(matches: FloatArray, predicted: FloatArray, referenced: FloatArray) -> FloatArray:
    """rouge-score's precision, recall and ``scoring.fmeasure``, with the same float operations;
    a zero count (an empty text) makes precision and recall 0."""
    precision = np.divide(matches, predicted, out=np.zeros_like(matches), where=predicted > 0)
    recall = np.divide(matches, referenced, out=np.zeros_like(matches), where=referenced > 0)
    total = precision + recall
    return np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)


def _f_measures(counts: npt.NDArray[np.int64]) -> dict[str, FloatArray]:
    c = counts.astype(np.float64)
    # ROUGE-N divides by at least 1 n-gram; with no n-grams the matches are 0 as well, so the
    # zero guard in _f_measure gives the same 0.
    lengths = (c[:, 1], c[:, 2])
    return {
        "rouge1": _f_measure(c[:, 0], c[:, 1], c[:, 2]),
        "rouge2": _f_measure(c[:, 3], c[:, 4], c[:, 5]),
        "rougeL": _f_measure(c[:, 6], *lengths),
        "rougeLsum": _f_measure(c[:, 7], *lengths),
    }


def _reference_lists(references: Sequence[str | Sequence[str]]) -> list[list[str]]:
    lists = []
    for index, reference in enumerate(references):
        texts = [reference] if isinstance(reference, str) else list(reference)
        if not texts or not all(isinstance(text, str) for text in texts):
            raise TypeError(
                f"reference {index} must be a string or a non-empty sequence of strings, "
                f"got {reference!r}"
            )
        lists.append(texts)
    return lists


def rouge_scores(
    predictions: Sequence[str],
    references: Sequence[str | Sequence[str]],
    settings: RougeSettings | None = None,
) -> dict[str, FloatArray]:
    """Per-example ROUGE F-measures (fractions 0-1) keyed ``"rouge1"``, ``"rouge2"``,
    ``"rougeL"`` and ``"rougeLsum"``.

    Args:
        predictions: One generated summary per example.
        references: Per example, its reference summary, or a sequence of them; with several,
            each type scores the best F-measure among them (rouge-score's ``score_multi``).
        settings: Stemmer and ROUGE-Lsum sentence splitting; ``RougeSettings()`` when None.

    Raises:
        ValueError: the two sequences differ in length.
        TypeError: a reference is neither a string nor a non-empty sequence of strings.

    Example:
        >>> scores = rouge_scores(["a b c"], [["x y", "a b d"]], RougeSettings(use_stemmer=False))
        >>> [round(float(scores[key][0]), 4) for key in ("rouge1", "rouge2", "rougeL")]
        [0.6667, 0.5, 0.6667]
    """
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    settings = settings or RougeSettings()
    stemmer = _RememberingStemmer() if settings.use_stemmer else None
    reference_lists = _reference_lists(references)
    rows: list[tuple[int, ...]] = []
    for prediction, texts in zip(predictions, reference_lists, strict=True):
        predicted = _Text.of(prediction, settings, stemmer)
        rows.extend(_pair_counts(predicted, _Text.of(text, settings, stemmer)) for text in texts)
    pair_scores = _f_measures(np.array(rows, dtype=np.int64).reshape(len(rows), 8))
    if all(len(texts) == 1 for texts in reference_lists):
        return pair_scores
    starts = np.cumsum([0] + [len(texts) for texts in reference_lists[:-1]])
    return {key: np.maximum.reduceat(values, starts) for key, values in pair_scores.items()}


def corpus_rouge(
    scores: dict[str, FloatArray], rows: Sequence[int] | npt.NDArray[np.integer] | None = None
) -> dict[str, float]:
    """Mean F-measure of each ROUGE type over ``rows`` (all examples when None).

    This is Hugging Face ``evaluate``'s rouge with ``use_aggregator=False`` followed by a mean.
    Its default, ``use_aggregator=True``, reports instead the median of 1,000 bootstrap resampled
    means (rouge-score's ``BootstrapAggregator``), which differs from the exact mean by a little
    and changes with the resampling.

    Raises:
        EmptySelectionError: no examples, or an empty ``rows``.
    """
    selected = {
        key: values if rows is None else values[np.asarray(rows, dtype=np.int64)]
        for key, values in scores.items()
    }
    if any(len(values) == 0 for values in selected.values()):
        raise EmptySelectionError("no examples selected: the mean ROUGE of none is undefined")
    return {key: float(np.mean(values)) for key, values in selected.items()}
