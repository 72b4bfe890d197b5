"""Entity-level scores of token classification (named entities), equal to seqeval 1.2.2's.

A tag is ``O`` or a prefix ``B``, ``I``, ``E`` or ``S``, a hyphen and an entity type (``B-PER``,
``I-creative-work``); types are compared as written (``B-per`` and ``B-PER`` are two types).
Anything else is a :class:`~evaluators.errors.TagFormatError`: seqeval only warns about such tags
and then reads them oddly (``PER`` as prefix ``P`` of a type ``ER``, ``B_PER`` as a type
``_PER``), so a model's own tag names are first mapped onto the dataset's
(:func:`evaluators.ner_align.map_tags`).

Two readings of a tag sequence, as seqeval's:

- default (conlleval, seqeval's ``get_entities``): lenient. ``B-X`` and ``S-X`` begin an entity,
  and so do an ``I-X``/``E-X`` after ``O``, after another type or after ``E-``/``S-``;
  ``E-``/``S-`` end one. IOB1, IOB2 and IOBES all read as their authors meant.
- strict (seqeval ``mode="strict", scheme=IOB2``): an entity is a ``B-X`` and the ``I-X`` that
  follow it; an ``I-X`` that continues nothing is no entity; ``E-``/``S-`` tags are refused.

An entity is right when a true entity has the same sentence, start, end and type. Per type we
keep TP/FP/FN/support; precision, recall and F1 are derived and ``None`` ("n/a") when undefined,
as for classification (:mod:`evaluators.metrics`): precision when the type is never predicted,
recall and F1 when it has no true entity; F1 is 0 when only precision is undefined. The micro,
macro and weighted averages equal seqeval's ``classification_report`` and
``precision_score``/``recall_score``/``f1_score``: an undefined value counts as 0 there. They are
all ``None`` when neither the references nor the predictions hold any entity (seqeval reports
NaN macro averages and zeros then).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from evaluators.errors import SequenceLengthError, TagFormatError

OUTSIDE = "O"


@dataclass(frozen=True)
class Span:
    """One entity: its type and its words ``start`` to ``end`` (exclusive) in a sentence."""

    type: str
    start: int
    end: int


@lru_cache(maxsize=4096)
def parse_tag(tag: str) -> tuple[str, str]:
    """``(prefix, type)`` of a tag; ``("O", "")`` for the outside tag.

    Example:
        >>> parse_tag("I-creative-work")
        ('I', 'creative-work')

    Raises:
        TagFormatError: not ``O`` nor ``B-``/``I-``/``E-``/``S-`` and a type.
    """
    if not isinstance(tag, str):
        raise TagFormatError(
            str(tag), "is not text: turn label ids into tag names first (see map_tags)"
        )
    if tag == OUTSIDE:
        return OUTSIDE, ""
    if len(tag) > 2 and tag[0] in "BIES" and tag[1] == "-" and tag[2] != "-" and tag[-1] != "-":
        return tag[0], tag[2:]
    raise TagFormatError(
        tag,
        "is not 'O' nor a prefix B-, I-, E- or S- and an entity type (B-PER, I-LOC); "
        "map a model's tag names onto the dataset's with map_tags",
    )


def spans(tags: Sequence[str], *, strict: bool = False) -> list[Span]:
    """The entities of one sentence's tags, in order.

    Example:
        >>> spans(["B-PER", "I-PER", "O", "I-LOC"])
        [Span(type='PER', start=0, end=2), Span(type='LOC', start=3, end=4)]
        >>> spans(["B-PER", "I-PER", "O", "I-LOC"], strict=True)
        [Span(type='PER', start=0, end=2)]

    Raises:
        TagFormatError: a malformed tag, or an ``E-``/``S-`` tag in the strict reading.
    """
    parsed = [parse_tag(tag) for tag in tags]
    return _strict_spans(parsed, tags) if strict else _lenient_spans(parsed)


def _lenient_spans(parsed: list[tuple[str, str]]) -> list[Span]:
    """seqeval's ``get_entities`` (its ``end_of_chunk``/``start_of_chunk`` rules)."""
    found = []
    prev, prev_type, begin = OUTSIDE, "", 0
    for i, (prefix, type_) in enumerate([*parsed, (OUTSIDE, "")]):
        other_type = prev_type != type_
        if prev in "ES" or (prev in "BI" and prefix in "BSO") or (prev != OUTSIDE and other_type):
            found.append(Span(prev_type, begin, i))
        if (
            prefix in "BS"
            or (prev in "ESO" and prefix in "EI")
            or (prefix != OUTSIDE and other_type)
        ):
            begin = i
        prev, prev_type = prefix, type_
    return found


def _strict_spans(parsed: list[tuple[str, str]], tags: Sequence[str]) -> list[Span]:
    """seqeval's strict IOB2 entities: a ``B-X`` and the ``I-X`` after it."""
    for (prefix, _), tag in zip(parsed, tags, strict=True):
        if prefix in "ES":
            raise TagFormatError(
                tag, "the strict IOB2 reading knows only B-, I- and O; score it in the default mode"
            )
    found = []
    i = 0
    while i < len(parsed):
        prefix, type_ = parsed[i]
        if prefix != "B":
            i += 1
            continue
        end = i + 1
        while end < len(parsed) and parsed[end] == ("I", type_):
            end += 1
        found.append(Span(type_, i, end))
        i = end
    return found


def to_iob2(tags: Sequence[str]) -> list[str]:
    """The tags rewritten in IOB2 so that the strict reading finds the default reading's entities.

    For predictions in IOB1 or in plain types mapped to ``I-`` tags before strict scoring.

    Example:
        >>> to_iob2(["I-PER", "I-PER", "O", "I-LOC", "B-LOC"])
        ['B-PER', 'I-PER', 'O', 'B-LOC', 'B-LOC']
    """
    out = [OUTSIDE] * len(tags)
    for span in spans(tags):
        out[span.start] = f"B-{span.type}"
        out[span.start + 1 : span.end] = [f"I-{span.type}"] * (span.end - span.start - 1)
    return out


@dataclass(frozen=True)
class SpanConfusion:
    """Entities matched by their boundaries: rows are true types, columns predicted types.

    ``types`` holds the entity types of the references and predictions, sorted; ``matrix`` has
    one more row and column, last, for "no entity with these boundaries". ``matrix[i, j]``
    counts spans of one sentence, start and end that are of true type ``types[i]`` and
    predicted type ``types[j]`` (the diagonal holds the right entities); ``matrix[i, -1]``
    counts true entities of type ``i`` with no predicted entity of the same boundaries
    (missed); ``matrix[-1, j]`` predicted entities of type ``j`` with no true entity of the same
    boundaries (spurious). A prediction that overlaps a true entity with other boundaries is one
    missed and one spurious entity.
    """

    types: tuple[str, ...]
    matrix: npt.NDArray[np.int64]

    @property
    def missed(self) -> dict[str, int]:
        return {t: int(n) for t, n in zip(self.types, self.matrix[:-1, -1], strict=True)}

    @property
    def spurious(self) -> dict[str, int]:
        return {t: int(n) for t, n in zip(self.types, self.matrix[-1, :-1], strict=True)}


@dataclass(frozen=True)
class TypeScores:
    """Counts and scores of one entity type; ``None`` where undefined (see the module doc)."""

    type: str
    tp: int
    fp: int
    fn: int
    support: int
    precision: float | None
    recall: float | None
    f1: float | None


@dataclass(frozen=True)
class Average:
    """An average of precision, recall and F1 over the types; ``support`` is all true entities."""

    precision: float | None
    recall: float | None
    f1: float | None
    support: int


@dataclass(frozen=True)
class NerScores:
    """Entity scores of a split; ``accuracy`` is per word (``None`` for no words)."""

    strict: bool
    types: tuple[TypeScores, ...]
    micro: Average
    macro: Average
    weighted: Average
    accuracy: float | None
    words: int
    correct_words: int
    confusion: SpanConfusion


def _check_lengths(true: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> None:
    if len(true) != len(pred):
        raise SequenceLengthError(
            f"{len(true)} reference sentences but {len(pred)} predicted ones: "
            "pass one tag sequence per sentence in both"
        )
    for i, (t, p) in enumerate(zip(true, pred, strict=True)):
        if isinstance(t, str) or isinstance(p, str):
            raise TypeError(f"sentence {i} is a string: pass one list of tags per sentence")
        if len(t) != len(p):
            raise SequenceLengthError(
                f"sentence {i} has {len(t)} reference tags but {len(p)} predicted ones: "
                "predict exactly one tag per word",
                sentence=i,
            )


def span_confusion(
    true: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], *, strict: bool = False
) -> SpanConfusion:
    """The :class:`SpanConfusion` of tag sequences, one per sentence.

    Raises:
        SequenceLengthError: different numbers of sentences or of words in a sentence.
        TagFormatError: a malformed tag.
    """
    _check_lengths(true, pred)
    pairs: Counter[tuple[str | None, str | None]] = Counter()
    for true_tags, pred_tags in zip(true, pred, strict=True):
        true_at = {(s.start, s.end): s.type for s in spans(true_tags, strict=strict)}
        pred_at = {(s.start, s.end): s.type for s in spans(pred_tags, strict=strict)}
        for bounds in true_at.keys() | pred_at.keys():
            pairs[true_at.get(bounds), pred_at.get(bounds)] += 1
    types = tuple(sorted({x for pair in pairs for x in pair if x is not None}))
    index = {t: i for i, t in enumerate(types)}
    matrix = np.zeros((len(types) + 1, len(types) + 1), dtype=np.int64)
    for (true_type, pred_type), n in pairs.items():
        row = -1 if true_type is None else index[true_type]
        matrix[row, -1 if pred_type is None else index[pred_type]] += n
    return SpanConfusion(types=types, matrix=matrix)


def _type_scores(confusion: SpanConfusion) -> tuple[TypeScores, ...]:
    m = confusion.matrix
    out = []
    for i, type_ in enumerate(confusion.types):
        tp, predicted, support = int(m[i, i]), int(m[:, i].sum()), int(m[i, :].sum())
        precision = tp / predicted if predicted else None
        recall = tp / support if support else None
        if recall is None:
            f1 = None
        elif precision is None or precision + recall == 0:
            f1 = 0.0
        else:
            f1 = 2 * precision * recall / (precision + recall)
        out.append(
            TypeScores(type_, tp, predicted - tp, support - tp, support, precision, recall, f1)
        )
    return tuple(out)


def _averages(types: Sequence[TypeScores]) -> tuple[Average, Average, Average]:
    support = sum(t.support for t in types)
    if not types:
        none = Average(None, None, None, support)
        return none, none, none
    tp, predicted = sum(t.tp for t in types), sum(t.tp + t.fp for t in types)
    p = tp / predicted if predicted else 0.0
    r = tp / support if support else 0.0
    micro = Average(p, r, 2 * p * r / (p + r) if p + r else 0.0, support)

    def mean(values: list[float | None], weights: list[int] | None = None) -> float:
        return float(np.average([v or 0.0 for v in values], weights=weights))

    precisions, recalls = [t.precision for t in types], [t.recall for t in types]
    f1s = [t.f1 for t in types]
    macro = Average(mean(precisions), mean(recalls), mean(f1s), support)
    if not support:
        return micro, macro, Average(0.0, 0.0, 0.0, 0)
    w = [t.support for t in types]
    weighted = Average(mean(precisions, w), mean(recalls, w), mean(f1s, w), support)
    return micro, macro, weighted


def score(
    true: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], *, strict: bool = False
) -> NerScores:
    """Entity scores of predicted against reference tags, one sequence per sentence.

    Example:
        >>> s = score([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]])
        >>> s.micro.f1, [(t.type, t.f1) for t in s.types]
        (0.5, [('LOC', 0.0), ('ORG', None), ('PER', 1.0)])

    Raises:
        SequenceLengthError: different numbers of sentences or of words in a sentence.
        TagFormatError: a malformed tag, or an ``E-``/``S-`` tag when ``strict``.
    """
    confusion = span_confusion(true, pred, strict=strict)
    types = _type_scores(confusion)
    micro, macro, weighted = _averages(types)
    words = sum(len(t) for t in true)
    correct = sum(
        a == b for t, p in zip(true, pred, strict=True) for a, b in zip(t, p, strict=True)
    )
    return NerScores(
        strict=strict,
        types=types,
        micro=micro,
        macro=macro,
        weighted=weighted,
        accuracy=correct / words if words else None,
        words=words,
        correct_words=correct,
        confusion=confusion,
    )


@dataclass(frozen=True)
class WrongSpan:
    """A predicted entity that is not exactly a true one.

    ``true_type`` is the type of the true entity that shares the most words with it (the first
    on a tie), or ``"O"`` when none does; ``confidence`` is the mean of its words' confidences.
    """

    sentence: int
    start: int
    end: int
    type: str
    true_type: str
    confidence: float

    @property
    def rank(self) -> tuple[float, int, int, int, str]:
        """Sort key: most confident first, then by sentence, start, end and type."""
        return (-self.confidence, self.sentence, self.start, self.end, self.type)


def most_confident(wrong: Iterable[WrongSpan], k: int) -> list[WrongSpan]:
    """The ``k`` first of ``wrong`` by :attr:`WrongSpan.rank`, e.g. over all sentences."""
    return heapq.nsmallest(k, wrong, key=lambda w: w.rank)


def wrong_spans(
    true_tags: Sequence[str],
    pred_tags: Sequence[str],
    confidences: Sequence[float] | npt.NDArray[np.floating],
    sentence_index: int,
    k: int,
    *,
    strict: bool = False,
) -> list[WrongSpan]:
    """The ``k`` most confident wrong predicted entities of one sentence.

    ``confidences`` holds the confidence of each word's predicted tag.

    Example:
        >>> wrong_spans(["B-PER", "I-PER"], ["B-LOC", "B-PER"], [0.9, 0.6], 7, 5)[0].true_type
        'PER'

    Raises:
        SequenceLengthError: tags or confidences of different lengths.
        ValueError: a negative ``k``.
    """
    if k < 0:
        raise ValueError(f"k={k}: ask for zero or more wrong entities")
    _check_lengths([true_tags], [pred_tags])
    conf = np.asarray(confidences, dtype=np.float64)
    if conf.shape != (len(pred_tags),):
        raise SequenceLengthError(
            f"sentence {sentence_index} has {len(pred_tags)} predicted tags but confidences of "
            f"shape {conf.shape}: give one confidence per word",
            sentence=sentence_index,
        )
    truth = spans(true_tags, strict=strict)
    exact = set(truth)
    wrong = []
    for span in spans(pred_tags, strict=strict):
        if span in exact:
            continue
        overlaps = [(min(t.end, span.end) - max(t.start, span.start), t.type) for t in truth]
        best = max(overlaps, key=lambda o: o[0], default=(0, OUTSIDE))
        wrong.append(
            WrongSpan(
                sentence=sentence_index,
                start=span.start,
                end=span.end,
                type=span.type,
                true_type=best[1] if best[0] > 0 else OUTSIDE,
                confidence=float(conf[span.start : span.end].mean()),
            )
        )
    return most_confident(wrong, k)
