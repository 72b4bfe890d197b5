"""SQuAD metrics: exact match and token F1 of extractive answers, as the official scripts score them.

``squad_v1`` is ``evaluate-v1.1.py`` (``rajpurkar/squad``), ``squad_v2`` is ``evaluate-v2.0.py``
(``rajpurkar/squad_v2``, with unanswerable questions). Both normalise an answer the official way
(lowercase; drop punctuation, the articles a/an/the and extra whitespace), score each example
against the best of its gold answers, and average over the examples.

Scale: every score here is a fraction in 0–1, as our other metrics are stored; the official
scripts print the same numbers in percent (× 100). ``best_exact_thresh`` and ``best_f1_thresh``
are no-answer probabilities and are not scaled.

The two scripts differ in one rule: v2 scores an empty answer against an empty gold (both empty
after normalisation) as F1 1, v1.1 as F1 0 (no shared token). Exact match is 1 in both.

Disaggregation: ``question_word`` and ``answer_type`` put each example in a group, and
``group_scores`` averages the per-example scores per group. Answer types, the first rule that
applies wins (words are the answer split on whitespace):

================  =====================================================  =========================
type              rule                                                   examples
================  =====================================================  =========================
``no answer``     empty or whitespace only                               ``""``
``date``          names a month or a weekday, is a year (1000–2099) or   ``June 1967``, ``1990s``,
                  a range of years (``1066``, ``1990s``, ``1914–18``,    ``19th century``
                  ``c. 1200``, ``300 BC``) or an ordinal century
``number``        at most 3 words, the first a numeral (``1,234``,       ``5 million``, ``three``,
                  ``3.5``, ``40%``, ``$5``, ``2nd``) or a number word     ``40%``
``proper name``   at most 6 words; after an optional leading "the",      ``Denver Broncos``,
                  every word that starts with a letter is capitalised,   ``University of Notre
                  except lower-case connectives (of, and, de, von, …)    Dame``
                  after the first word
``short phrase``  at most 3 words                                        ``a steam engine``
``long phrase``   anything else                                          ``to protect the city``
================  =====================================================  =========================
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evaluators.errors import AnswerInputError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

QUESTION_WORDS = (
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how many",
    "how much",
    "how",
    "other",
)
ANSWER_TYPES = ("no answer", "date", "number", "proper name", "short phrase", "long phrase")

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


@dataclass(frozen=True)
class SquadScores:
    """Dataset metrics under the official script's names, and the per-example scores.

    ``exact`` and ``f1`` hold one score per example (0–1, after the no-answer threshold for v2):
    ``metrics["exact_match"]`` (v1) or ``metrics["exact"]`` (v2) is the mean of ``exact``.
    ``has_answer`` says which examples have a gold answer (all of them in v1).
    """

    metrics: dict[str, float]
    exact: FloatArray
    f1: FloatArray
    has_answer: BoolArray


@dataclass(frozen=True)
class GroupScore:
    """Mean exact match and F1 (0–1) of the ``count`` examples of one group."""

    count: int
    exact: float
    f1: float


def normalize_answer(text: str) -> str:
    """The official normalisation: lowercase, no punctuation, no articles, single spaces.

    Example:
        >>> normalize_answer("The  Denver Broncos!")
        'denver broncos'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when the two answers are equal after normalisation, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str, *, empty_matches_empty: bool = True) -> float:
    """F1 of the normalised answers' tokens (shared tokens counted with multiplicity).

    ``empty_matches_empty``: v2's rule (the default), an answer with no tokens scores 1 against
    a gold with none and 0 against any other; with False, v1.1's: no shared token scores 0.

    Example:
        >>> token_f1("the Denver Broncos", "Broncos")
        0.6666666666666666
    """
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if empty_matches_empty and (not pred_tokens or not gold_tokens):
        return float(pred_tokens == gold_tokens)
    num_same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def _check_lengths(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> None:
    if len(predictions) != len(references):
        raise AnswerInputError(
            f"{len(predictions)} predictions for {len(references)} references: give one "
            "predicted answer per question"
        )
    if not references:
        raise AnswerInputError("no examples to score: give at least one question")
    for i, (prediction, golds) in enumerate(zip(predictions, references, strict=True)):
        if not isinstance(prediction, str):
            raise AnswerInputError(
                f"the prediction is a {type(prediction).__name__}, not the answer text", index=i
            )
        if isinstance(golds, str):
            raise AnswerInputError(
                f"the reference is the string {golds!r}: give the list of gold answers, "
                f"e.g. [{golds!r}]",
                index=i,
            )


def squad_v1(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> SquadScores:
    """SQuAD v1.1: ``exact_match`` and ``f1``, each example scored against its best gold answer.

    Args:
        predictions: the predicted answer text of each question.
        references: the gold answer texts of each question (``answers["text"]`` of the dataset),
            at least one per question.

    Example:
        >>> scores = squad_v1(["1976", "Denver"], [["1976"], ["the Denver Broncos", "Broncos"]])
        >>> scores.metrics
        {'exact_match': 0.5, 'f1': 0.8333333333333333}
    """
    _check_lengths(predictions, references)
    exact = np.zeros(len(predictions))
    f1 = np.zeros(len(predictions))
    for i, (prediction, golds) in enumerate(zip(predictions, references, strict=True)):
        if not golds:
            raise AnswerInputError(
                "no gold answer: every SQuAD v1.1 question has one; score unanswerable "
                "questions with squad_v2",
                index=i,
            )
        exact[i] = max(exact_match(prediction, gold) for gold in golds)
        f1[i] = max(token_f1(prediction, gold, empty_matches_empty=False) for gold in golds)
    metrics = {"exact_match": float(exact.mean()), "f1": float(f1.mean())}
    return SquadScores(metrics, exact, f1, np.ones(len(predictions), dtype=np.bool_))


def squad_v2(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]],
    no_answer_probability: Sequence[float],
    *,
    na_prob_thresh: float = 1.0,
) -> SquadScores:
    """SQuAD v2.0: the official script's fields, as fractions, with its thresholds.

    A question without a gold answer (``[]`` as the dataset stores it, or ``[""]``) is answered
    correctly only by an answer that normalises to nothing (``""``). A question whose
    ``no_answer_probability`` exceeds ``na_prob_thresh`` counts as answered "no answer" (the
    script's ``apply_no_ans_threshold``; with the default 1.0 this never happens for
    probabilities). ``best_exact``/``best_f1`` are the scores at the best such threshold and
    ``best_*_thresh`` the threshold (the script's ``find_best_thresh``). The ``HasAns_*`` or
    ``NoAns_*`` fields are absent when no question has, or lacks, an answer, as in the script.

    Args:
        predictions: the predicted answer text of each question (``""``: no answer).
        references: the gold answer texts of each question.
        no_answer_probability: how likely the model thinks each question has no answer.
        na_prob_thresh: the probability above which a question counts as answered "no answer".

    Example:
        >>> scores = squad_v2(["1976", ""], [["1976"], []], [0.1, 0.9])
        >>> scores.metrics["exact"], scores.metrics["HasAns_total"], scores.metrics["NoAns_exact"]
        (1.0, 1.0, 1.0)
    """
    _check_lengths(predictions, references)
    na_probs = np.asarray(no_answer_probability, dtype=np.float64)
    if na_probs.shape != (len(predictions),):
        raise AnswerInputError(
            f"{na_probs.size} no-answer probabilities for {len(predictions)} predictions: give "
            "one per question"
        )
    if not np.isfinite(na_probs).all():
        raise AnswerInputError("not a number", index=int(np.flatnonzero(~np.isfinite(na_probs))[0]))
    has_answer = np.array([any(golds) for golds in references], dtype=np.bool_)
    exact_raw = np.zeros(len(predictions))
    f1_raw = np.zeros(len(predictions))
    for i, (prediction, golds) in enumerate(zip(predictions, references, strict=True)):
        scored = [gold for gold in golds if normalize_answer(gold)] or [""]
        exact_raw[i] = max(exact_match(prediction, gold) for gold in scored)
        f1_raw[i] = max(token_f1(prediction, gold) for gold in scored)
    predicted_no_answer = na_probs > na_prob_thresh
    exact = np.where(predicted_no_answer, (~has_answer).astype(np.float64), exact_raw)
    f1 = np.where(predicted_no_answer, (~has_answer).astype(np.float64), f1_raw)

    metrics = _means(exact, f1, np.ones_like(has_answer), "")
    if has_answer.any():
        metrics |= _means(exact, f1, has_answer, "HasAns_")
    if not has_answer.all():
        metrics |= _means(exact, f1, ~has_answer, "NoAns_")
    answered = np.array([bool(p) for p in predictions], dtype=np.bool_)
    for name, raw in (("exact", exact_raw), ("f1", f1_raw)):
        best, thresh = _best_threshold(raw, na_probs, has_answer, answered)
        metrics[f"best_{name}"] = best
        metrics[f"best_{name}_thresh"] = thresh
    return SquadScores(metrics, exact, f1, has_answer)


def _means(exact: FloatArray, f1: FloatArray, where: BoolArray, prefix: str) -> dict[str, float]:
    total = int(where.sum())
    return {
        f"{prefix}exact": float(exact[where].sum() / total),
        f"{prefix}f1": float(f1[where].sum() / total),
        f"{prefix}total": float(total),
    }


def _best_threshold(
    raw: FloatArray, na_probs: FloatArray, has_answer: BoolArray, answered: BoolArray
) -> tuple[float, float]:
    """The script's ``find_best_thresh``: the no-answer threshold that scores best.

    Questions are taken in order of their no-answer probability (ties in input order); all
    below or at a threshold are answered as predicted, all above it get "no answer". The score
    starts from all "no answer" (the unanswerable questions right) and the threshold moves up
    while that raises it strictly.
    """
    order = np.argsort(na_probs, kind="stable")
    # answering an answerable question gains its score; answering an unanswerable one with a
    # non-empty string loses the point "no answer" had
    diff = np.where(has_answer, raw, np.where(answered, -1.0, 0.0))[order]
    start = float((~has_answer).sum())
    cumulative = np.cumsum(np.concatenate(([start], diff)))[1:]
    best_at = int(np.argmax(cumulative))
    if cumulative[best_at] > start:
        return float(cumulative[best_at] / len(raw)), float(na_probs[order[best_at]])
    return start / len(raw), 0.0


_WORDS = re.compile(r"\w+")
_SIMPLE_QUESTION_WORDS = frozenset(QUESTION_WORDS) - {"how many", "how much", "other"}


def question_word(question: str) -> str:
    """The question's first wh-word (case-insensitive): one of ``QUESTION_WORDS``.

    "how many" and "how much" are classes of their own; a question without one is ``"other"``.

    Example:
        >>> question_word("In what year did the Broncos win?"), question_word("How many points?")
        ('what', 'how many')
    """
    words = _WORDS.findall(question.lower())
    for i, word in enumerate(words):
        if word == "how" and i + 1 < len(words) and words[i + 1] in ("many", "much"):
            return f"how {words[i + 1]}"
        if word in _SIMPLE_QUESTION_WORDS:
            return word
    return "other"


_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_NAMED_DATE = re.compile(rf"\b({_MONTHS}|{_WEEKDAYS})\b")
_RANGE = r"(\s*(-|–|—|to)\s*\d{2,4}s?)?"
_YEARS = re.compile(  # 1066, 1990s, 1914–18, c. 1200, 300 BC
    rf"^(c\.\s*|circa\s+)?((1\d{{3}}|20\d{{2}})s?{_RANGE}|\d{{1,4}}{_RANGE}\s+(AD|BC|BCE|CE))$",
    re.IGNORECASE,
)
_CENTURY = re.compile(r"\b\d{1,2}(st|nd|rd|th)[\s-]+century\b", re.IGNORECASE)
_NUMERAL = re.compile(r"^[$€£¥]?\d[\d,.]*(%|st|nd|rd|th|s)?$")
_NUMBER_WORDS = frozenset(
    [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
        "million",
        "billion",
        "trillion",
        "dozen",
    ]
)
_CONNECTIVES = frozenset(
    [
        "of",
        "and",
        "de",
        "du",
        "da",
        "del",
        "della",
        "di",
        "van",
        "von",
        "der",
        "den",
        "la",
        "le",
        "y",
        "for",
        "on",
        "in",
        "at",
        "upon",
    ]
)
_EDGE_PUNCTUATION = "".join(sorted(_PUNCTUATION - set("$%"))) + "“”‘’«»"


def answer_type(answer: str) -> str:
    """The answer's type, one of ``ANSWER_TYPES``, by the rules in the module's table.

    Example:
        >>> [answer_type(a) for a in ["", "June 1967", "5 million", "Denver Broncos", "a steam engine"]]
        ['no answer', 'date', 'number', 'proper name', 'short phrase']
    """
    text = answer.strip()
    if not text:
        return "no answer"
    bare = text.strip(_EDGE_PUNCTUATION + " ")
    if _NAMED_DATE.search(text) or _YEARS.match(bare) or _CENTURY.search(text):
        return "date"
    words = [word.strip(_EDGE_PUNCTUATION) for word in text.split()]
    if len(words) <= 3 and (_NUMERAL.match(words[0]) or words[0].lower() in _NUMBER_WORDS):
        return "number"
    if len(words) <= 6 and _is_name(words):
        return "proper name"
    return "short phrase" if len(words) <= 3 else "long phrase"


def _is_name(words: list[str]) -> bool:
    if len(words) > 1 and words[0].lower() == "the":
        words = words[1:]
    lettered = [word for word in words if word[:1].isalpha()]
    if not lettered or not lettered[0][0].isupper():
        return False
    return all(word[0].isupper() or word in _CONNECTIVES for word in lettered[1:])


def group_scores(groups: Sequence[str], exact: FloatArray, f1: FloatArray) -> dict[str, GroupScore]:
    """Mean exact match and F1 per group, groups in sorted order.

    Args:
        groups: the group of each example (e.g. its ``question_word``).
        exact: the per-example exact match (``SquadScores.exact``).
        f1: the per-example F1 (``SquadScores.f1``).

    Example:
        >>> group_scores(["who", "what", "who"], np.array([1.0, 0.0, 0.0]), np.array([1.0, 0.5, 0.5]))
        {'what': GroupScore(count=1, exact=0.0, f1=0.5), 'who': GroupScore(count=2, exact=0.5, f1=0.75)}
    """
    exact = np.asarray(exact, dtype=np.float64)
    f1 = np.asarray(f1, dtype=np.float64)
    if not len(groups) == len(exact) == len(f1):
        raise AnswerInputError(
            f"{len(groups)} groups for {len(exact)} exact and {len(f1)} F1 scores: give one "
            "group per example"
        )
    names, inverse, counts = np.unique(
        np.asarray(groups, dtype=object), return_inverse=True, return_counts=True
    )
    exact_sums = np.bincount(inverse, weights=exact, minlength=len(names))
    f1_sums = np.bincount(inverse, weights=f1, minlength=len(names))
    return {
        str(name): GroupScore(int(n), float(e / n), float(f / n))
        for name, n, e, f in zip(names, counts, exact_sums, f1_sums, strict=True)
    }
