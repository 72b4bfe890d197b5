"""Entity-level NER scores against seqeval 1.2.2, in its default (conlleval) and strict IOB2 modes.

seqeval's own numbers are the reference: the entities it reads, the per-type rows and the micro,
macro and weighted rows of ``classification_report``, ``precision_score``/``recall_score``/
``f1_score`` and ``accuracy_score``, on seeded random cases and hand-written edge cases.
"""

from __future__ import annotations

import math
import random
import warnings
from itertools import pairwise

import numpy as np
import pytest
from seqeval.metrics import (
    accuracy_score,
    classification_report,
    f1_score,
    precision_score,
    recall_score,
)
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB2, Tokens
from sklearn.exceptions import UndefinedMetricWarning

from evaluators.errors import SequenceLengthError, TagFormatError
from evaluators.ner import (
    NerScores,
    Span,
    WrongSpan,
    most_confident,
    score,
    span_confusion,
    spans,
    to_iob2,
    wrong_spans,
)

pytestmark = pytest.mark.filterwarnings(
    f"ignore::{UndefinedMetricWarning.__module__}.UndefinedMetricWarning"
)

Tags = list[list[str]]
AVERAGES = ("micro", "macro", "weighted")
PREFIX_MIXES = ("BI", "I", "B", "BIES", "IE", "BS", "S")  # IOB2, IOB1, IOBES and broken mixes
IOB_MIXES = ("BI", "I", "B")  # what the strict IOB2 reading accepts


# --------------------------------------------------------------------------------------------
# Random cases
# --------------------------------------------------------------------------------------------


def _sentence(rng: random.Random, types: list[str], prefixes: str, n: int) -> list[str]:
    p_outside = rng.choice((0.0, 0.3, 0.6, 0.9))
    return [
        "O" if rng.random() < p_outside else f"{rng.choice(prefixes)}-{rng.choice(types)}"
        for _ in range(n)
    ]


def _corrupt(rng: random.Random, tags: list[str], types: list[str], prefixes: str) -> list[str]:
    """A prediction near the truth: some tags replaced, some entity types or prefixes changed."""
    out = []
    for tag in tags:
        roll = rng.random()
        if roll < 0.1:
            out.append("O")
        elif roll < 0.2:
            out.append(f"{rng.choice(prefixes)}-{rng.choice(types)}")
        elif roll < 0.25 and tag != "O":
            out.append(f"{tag[0]}-{rng.choice(types)}")
        else:
            out.append(tag)
    return out


def _random_case(seed: int, mixes: tuple[str, ...]) -> tuple[Tags, Tags]:
    rng = random.Random(seed)
    types = rng.sample(["PER", "LOC", "ORG", "MISC", "creative-work", "per"], rng.choice((3, 4)))
    prefixes = rng.choice(mixes)
    lengths = [rng.choice((0, 1, 1, 2, 3, 5, 8, 13)) for _ in range(rng.randint(1, 6))]
    true = [_sentence(rng, types, prefixes, n) for n in lengths]
    kind = rng.random()
    if kind < 0.45:  # a model that is mostly right
        pred = [_corrupt(rng, t, types, rng.choice(mixes)) for t in true]
    elif kind < 0.8:  # unrelated tags
        pred = [_sentence(rng, types, rng.choice(mixes), n) for n in lengths]
    elif kind < 0.9:  # predicts nothing
        pred = [["O"] * n for n in lengths]
    else:  # a split without entities
        true, pred = [["O"] * n for n in lengths], true
    if rng.random() < 0.5:
        true, pred = pred, true
    return true, pred


STRICT_CASES = [_random_case(seed, IOB_MIXES) for seed in range(300)]
CASES = STRICT_CASES + [_random_case(seed, PREFIX_MIXES) for seed in range(300, 600)]
WITH_E_OR_S = [
    (true, pred)
    for true, pred in CASES
    if any(tag[0] in "ES" for sentence in true + pred for tag in sentence)
]


# --------------------------------------------------------------------------------------------
# seqeval as the reference
# --------------------------------------------------------------------------------------------


def _seqeval_spans(tags: list[str], *, strict: bool) -> list[Span]:
    if strict:
        return [Span(e.tag, e.start, e.end) for e in Tokens(tags, IOB2).entities]
    return [Span(type_, start, end + 1) for type_, start, end in get_entities(tags)]


def _close(ours: float | None, theirs: float) -> bool:
    return ours is not None and math.isclose(ours, float(theirs), rel_tol=0, abs_tol=1e-12)


def _assert_parity(true: Tags, pred: Tags, *, strict: bool, functions: bool) -> NerScores:
    mode = {"mode": "strict", "scheme": IOB2} if strict else {}
    ours = score(true, pred, strict=strict)
    for sentence in true + pred:
        assert spans(sentence, strict=strict) == _seqeval_spans(sentence, strict=strict)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # seqeval's mean of no types
        report = classification_report(true, pred, output_dict=True, **mode)
    rows = {t.type: t for t in ours.types}
    assert list(rows) == sorted(set(report) - {f"{a} avg" for a in AVERAGES})
    for name, row in rows.items():
        theirs = report[name]
        assert row.support == theirs["support"] == row.tp + row.fn
        assert _close(row.precision or 0.0, theirs["precision"])
        assert _close(row.recall or 0.0, theirs["recall"])
        assert _close(row.f1 or 0.0, theirs["f1-score"])
        assert (row.precision is None) == (row.tp + row.fp == 0)
        assert (row.recall is None) == (row.f1 is None) == (row.support == 0)
    for average in AVERAGES:
        ours_avg, theirs = getattr(ours, average), report[f"{average} avg"]
        assert ours_avg.support == theirs["support"]
        if not rows:  # no entity anywhere: seqeval's macro row is NaN, ours is n/a
            assert math.isnan(report["macro avg"]["f1-score"])
            assert ours_avg.precision is ours_avg.recall is ours_avg.f1 is None
            continue
        assert _close(ours_avg.precision, theirs["precision"])
        assert _close(ours_avg.recall, theirs["recall"])
        assert _close(ours_avg.f1, theirs["f1-score"])
        if functions:
            for field, function in (
                ("precision", precision_score),
                ("recall", recall_score),
                ("f1", f1_score),
            ):
                expected = function(true, pred, average=average, **mode)
                assert _close(getattr(ours_avg, field), expected)
    if ours.words:
        assert ours.accuracy == accuracy_score(true, pred)
    else:
        assert ours.accuracy is None
    return ours


def test_random_cases_cover_the_edges() -> None:
    sentences = [s for true, pred in CASES for s in true + pred]
    assert len(CASES) >= 500 and len(STRICT_CASES) >= 300 and len(WITH_E_OR_S) >= 200
    assert any(not s for s in sentences) and any(len(s) == 1 for s in sentences)
    assert any(s and set(s) == {"O"} for s in sentences)
    assert any(s and s[-1] != "O" for s in sentences)
    assert any(a == "O" and b.startswith("I-") for s in sentences for a, b in pairwise(s))
    assert sum(not score(t, p).types for t, p in CASES) >= 5


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_random_cases_equal_seqeval(strict: bool) -> None:
    for i, (true, pred) in enumerate(STRICT_CASES if strict else CASES):
        _assert_parity(true, pred, strict=strict, functions=i % 5 == 0)


def test_strict_mode_refuses_e_and_s_tags_as_seqeval_does() -> None:
    for true, pred in WITH_E_OR_S[:20]:
        with pytest.raises(ValueError, match="Invalid token"):
            classification_report(true, pred, mode="strict", scheme=IOB2)
        with pytest.raises(TagFormatError, match="strict IOB2 reading"):
            score(true, pred, strict=True)


def test_to_iob2_gives_the_strict_reading_the_default_entities() -> None:
    for true, pred in CASES[:200]:
        for sentence in true + pred:
            assert spans(to_iob2(sentence), strict=True) == spans(sentence)
        rewritten = [[to_iob2(s) for s in true], [to_iob2(s) for s in pred]]
        assert score(*rewritten, strict=True).types == score(true, pred).types


# --------------------------------------------------------------------------------------------
# Hand-written cases
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "default", "strict"),
    [
        ([], [], []),
        (["O", "O"], [], []),
        (["B-PER"], [Span("PER", 0, 1)], [Span("PER", 0, 1)]),
        (["I-PER"], [Span("PER", 0, 1)], []),
        (["O", "I-PER", "I-PER"], [Span("PER", 1, 3)], []),
        (["B-PER", "I-LOC"], [Span("PER", 0, 1), Span("LOC", 1, 2)], [Span("PER", 0, 1)]),
        (["B-PER", "B-PER"], [Span("PER", 0, 1), Span("PER", 1, 2)], [Span("PER", 0, 1), Span("PER", 1, 2)]),
        (["B-PER", "I-PER", "B-PER"], [Span("PER", 0, 2), Span("PER", 2, 3)], [Span("PER", 0, 2), Span("PER", 2, 3)]),
        (["O", "B-per", "I-PER"], [Span("per", 1, 2), Span("PER", 2, 3)], [Span("per", 1, 2)]),
        (["B-creative-work", "I-creative-work"], [Span("creative-work", 0, 2)], [Span("creative-work", 0, 2)]),
        (["O", "B-LOC", "I-LOC"], [Span("LOC", 1, 3)], [Span("LOC", 1, 3)]),
    ],
)  # fmt: skip
def test_spans_of_hand_written_sentences(
    tags: list[str], default: list[Span], strict: list[Span]
) -> None:
    assert spans(tags) == default == _seqeval_spans(tags, strict=False)
    assert spans(tags, strict=True) == strict == _seqeval_spans(tags, strict=True)


def test_iobes_in_the_default_reading() -> None:
    tags = ["S-PER", "B-LOC", "E-LOC", "E-LOC", "I-ORG", "E-ORG", "O", "E-MISC"]
    assert spans(tags) == _seqeval_spans(tags, strict=False)
    assert spans(tags) == [
        Span("PER", 0, 1),
        Span("LOC", 1, 3),
        Span("LOC", 3, 4),
        Span("ORG", 4, 6),
        Span("MISC", 7, 8),
    ]


@pytest.mark.parametrize(
    "tag", ["PER", "B_PER", "b-PER", "BPER", "B-", "I--X", "B-X-", "O-PER", "o", "", "LABEL_3", 3]
)
def test_malformed_tags_are_refused_naming_the_tag(tag: object) -> None:
    for strict in (False, True):
        with pytest.raises(TagFormatError, match="map_tags") as caught:
            spans(["O", tag], strict=strict)  # type: ignore[list-item]
        assert caught.value.tag == str(tag)
        assert repr(str(tag)) in str(caught.value)


def test_the_documented_example() -> None:
    true = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    pred = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    result = _assert_parity(true, pred, strict=False, functions=True)
    assert [(t.type, t.tp, t.fp, t.fn, t.f1) for t in result.types] == [
        ("MISC", 0, 1, 1, 0.0),
        ("PER", 1, 0, 0, 1.0),
    ]
    assert (result.micro.f1, result.macro.f1, result.accuracy) == (0.5, 0.5, 0.8)
    assert (result.words, result.correct_words) == (10, 8)


def test_undefined_values_are_none_and_count_as_zero_in_the_averages() -> None:
    true = [["B-PER", "I-PER", "O", "B-LOC", "O"]]
    pred = [["B-PER", "I-PER", "O", "O", "B-ORG"]]
    result = _assert_parity(true, pred, strict=False, functions=True)
    rows = {t.type: t for t in result.types}
    assert (rows["LOC"].precision, rows["LOC"].recall, rows["LOC"].f1) == (None, 0.0, 0.0)
    assert (rows["ORG"].precision, rows["ORG"].recall, rows["ORG"].f1) == (0.0, None, None)
    assert result.macro.f1 == pytest.approx(1 / 3)
    assert result.weighted.f1 == pytest.approx(0.5)


def test_no_entities_anywhere_has_no_averages() -> None:
    for true, pred in ([], []), ([[]], [[]]), ([["O", "O"]], [["O", "O"]]):
        result = score(true, pred)
        assert result.types == ()
        assert result.micro.f1 is result.macro.f1 is result.weighted.f1 is None
        assert result.confusion.matrix.tolist() == [[0]]
    assert score([], []).accuracy is None
    assert score([["O", "O"]], [["O", "O"]]).accuracy == 1.0


def test_predictions_without_references_score_zero_like_seqeval() -> None:
    result = _assert_parity([["O", "O"]], [["B-PER", "O"]], strict=False, functions=True)
    assert (result.micro.precision, result.micro.recall, result.weighted.f1) == (0.0, 0.0, 0.0)
    assert result.macro.support == 0


def test_mismatched_lengths_are_typed_errors() -> None:
    with pytest.raises(SequenceLengthError, match="2 reference sentences but 1") as caught:
        score([["O"], ["O"]], [["O"]])
    assert caught.value.sentence is None
    with pytest.raises(SequenceLengthError, match="sentence 1 has 2 reference tags but 1") as c:
        score([["O"], ["O", "B-PER"]], [["O"], ["O"]])
    assert c.value.sentence == 1
    with pytest.raises(TypeError, match="one list of tags per sentence"):
        score(["B-PER", "O"], ["B-PER", "O"])


def test_span_confusion_counts_types_missed_and_spurious() -> None:
    true = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"], ["B-LOC", "I-LOC", "I-LOC"]]
    pred = [["B-LOC", "I-LOC", "O", "B-LOC", "B-PER", "O"], ["B-LOC", "I-LOC", "O"]]
    confusion = span_confusion(true, pred)
    assert confusion.types == ("LOC", "ORG", "PER")
    assert confusion.matrix.tolist() == [
        # LOC ORG PER missed
        [1, 0, 0, 1],  # LOC: one right, one cut short (missed, and a spurious LOC below)
        [0, 0, 0, 1],  # ORG: not predicted
        [1, 0, 0, 0],  # PER: predicted as LOC with the same boundaries
        [1, 0, 1, 0],  # spurious: the short LOC, and PER on an O word
    ]
    assert confusion.missed == {"LOC": 1, "ORG": 1, "PER": 0}
    assert confusion.spurious == {"LOC": 1, "ORG": 0, "PER": 1}
    result = score(true, pred)
    assert result.confusion.types == confusion.types
    assert np.array_equal(result.confusion.matrix, confusion.matrix)
    rows = {t.type: (t.tp, t.fp, t.fn, t.support) for t in result.types}
    assert rows == {"LOC": (1, 2, 1, 2), "ORG": (0, 0, 1, 1), "PER": (0, 1, 1, 1)}


def test_confusion_agrees_with_the_scores_on_random_cases() -> None:
    for strict, cases in ((False, CASES[:150]), (True, STRICT_CASES[:150])):
        for true, pred in cases:
            result = score(true, pred, strict=strict)
            m = result.confusion.matrix
            assert list(result.confusion.types) == [t.type for t in result.types]
            assert [t.tp for t in result.types] == np.diag(m)[:-1].tolist()
            assert [t.support for t in result.types] == m[:-1].sum(axis=1).tolist()
            assert [t.tp + t.fp for t in result.types] == m[:, :-1].sum(axis=0).tolist()
            assert m[-1, -1] == 0


# --------------------------------------------------------------------------------------------
# Most confident wrong entities
# --------------------------------------------------------------------------------------------


def test_wrong_spans_rank_by_confidence_with_their_true_type() -> None:
    true = ["B-PER", "I-PER", "I-PER", "O", "B-LOC", "O", "O"]
    pred = ["B-PER", "I-PER", "O", "O", "B-ORG", "B-MISC", "I-LOC"]
    conf = [1.0, 0.5, 0.5, 1.0, 0.75, 0.25, 0.5]
    found = wrong_spans(true, pred, conf, 3, 10)
    assert found == [
        WrongSpan(3, 0, 2, "PER", "PER", 0.75),  # cut short; ties ranked by position
        WrongSpan(3, 4, 5, "ORG", "LOC", 0.75),
        WrongSpan(3, 6, 7, "LOC", "O", 0.5),
        WrongSpan(3, 5, 6, "MISC", "O", 0.25),
    ]
    assert [w.start for w in wrong_spans(true, pred, conf, 3, 2)] == [0, 4]
    assert wrong_spans(true, pred, conf, 3, 0) == []
    assert wrong_spans(true, true, conf, 3, 5) == []
    strict = wrong_spans(true, pred, conf, 3, 10, strict=True)
    assert [(w.start, w.type) for w in strict] == [(0, "PER"), (4, "ORG"), (5, "MISC")]


def test_wrong_spans_true_type_is_the_most_overlapping_entity() -> None:
    true = ["B-PER", "B-LOC", "I-LOC", "O"]
    pred = ["B-ORG", "I-ORG", "I-ORG", "I-ORG"]
    (found,) = wrong_spans(true, pred, np.array([1.0, 0.5, 0.5, 0.0]), 0, 3)
    assert (found.true_type, found.confidence) == ("LOC", 0.5)
    (tie,) = wrong_spans(["B-PER", "B-LOC"], ["B-ORG", "I-ORG"], [1.0, 1.0], 0, 3)
    assert tie.true_type == "PER"


def test_most_confident_over_sentences_is_deterministic() -> None:
    true = [["B-PER", "O"], ["O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-LOC", "O"], ["B-PER", "O"], ["O", "B-PER"]]
    conf = [[0.5, 1.0], [0.5, 1.0], [1.0, 0.7]]
    per_sentence = [
        wrong_spans(t, p, c, i, 2) for i, (t, p, c) in enumerate(zip(true, pred, conf, strict=True))
    ]
    merged = most_confident([w for found in reversed(per_sentence) for w in found], 2)
    assert [(w.sentence, w.start, w.confidence) for w in merged] == [(2, 1, 0.7), (0, 0, 0.5)]


def test_wrong_spans_refuse_bad_input() -> None:
    with pytest.raises(SequenceLengthError, match="give one confidence per word"):
        wrong_spans(["B-PER", "O"], ["B-PER", "O"], [0.5], 4, 3)
    with pytest.raises(SequenceLengthError, match="sentence 0 has 2 reference tags but 1"):
        wrong_spans(["B-PER", "O"], ["B-PER"], [0.5], 4, 3)
    with pytest.raises(ValueError, match="k=-1"):
        wrong_spans(["O"], ["O"], [0.5], 0, -1)
