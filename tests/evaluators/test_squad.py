"""SQuAD metrics: v1.1 against torchmetrics, v2.0 against the official script's documented rules.

torchmetrics' ``squad`` is the official v1.1 script except for one rule, which it takes from
v2.0: an answer and a gold that both normalise to nothing score F1 1 (v1.1: 0). Its numbers are
float32 tensors unless torch's default dtype is float64, as it is here while it runs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torchmetrics.functional.text.squad import squad as torchmetrics_squad

from evaluators.errors import AnswerInputError
from evaluators.squad import (
    ANSWER_TYPES,
    QUESTION_WORDS,
    GroupScore,
    answer_type,
    exact_match,
    group_scores,
    normalize_answer,
    question_word,
    squad_v1,
    squad_v2,
    token_f1,
)

_WORDS = [
    "Paris", "paris", "PARIS", "Denver", "Broncos", "broncos", "Eiffel", "tower", "1976",
    "3.5", "1,234", "café", "Zürich", "naïve", "Straße", "İstanbul", "—", "…", "ß", "x",
    "U.S.", "(1990)", "rock'n'roll", "co-op", "e.g.", "\"quoted\"", "Anne", "anne", "theatre",
    "another", "answer", "them", "a", "an", "the", "A", "An", "The", "THE", "of", "and",
]  # fmt: skip
_PUNCT = ["", "", "", ",", ".", "!", "?", ";", ":", "'", '"', "(", ")", "-", "--", "$", "%"]
_SPACE = [" ", " ", " ", "  ", "\t", "\n", " \u00a0 "]
_EMPTYISH = ["", " ", "the", "A.", "...", "an!", "  \t"]


def _phrase(rng: random.Random, n: int) -> str:
    parts = []
    for _ in range(n):
        word = rng.choice(_WORDS)
        parts.append(rng.choice(_PUNCT) + word + rng.choice(_PUNCT))
        parts.append(rng.choice(_SPACE))
    return "".join(parts).strip() if rng.random() < 0.7 else "".join(parts)


def _case(rng: random.Random, *, empty_golds: bool) -> tuple[str, list[str]]:
    """A prediction and 1–3 golds; golds normalise to nothing only when ``empty_golds``."""
    golds = []
    for _ in range(rng.randint(1, 3)):
        gold = _phrase(rng, rng.randint(1, 6))
        while not empty_golds and not normalize_answer(gold):
            gold = _phrase(rng, rng.randint(1, 6))
        golds.append(gold)
    if empty_golds and rng.random() < 0.5:
        golds[rng.randrange(len(golds))] = rng.choice(_EMPTYISH)
    roll = rng.random()
    if roll < 0.15:
        prediction = rng.choice(_EMPTYISH)
    elif roll < 0.6:  # overlaps a gold: partial F1
        tokens = rng.choice(golds).split() or [""]
        start = rng.randrange(len(tokens))
        kept = tokens[start : start + rng.randint(1, len(tokens))]
        prediction = " ".join(w.upper() if rng.random() < 0.2 else w for w in kept)
        if rng.random() < 0.5:
            prediction = (
                f"{rng.choice(['the ', 'A ', ''])}{prediction} {_phrase(rng, rng.randint(0, 2))}"
            )
    else:
        prediction = _phrase(rng, rng.randint(1, 6))
    return prediction, golds


@pytest.fixture(scope="module")
def float64_torch() -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _torchmetrics(predictions: list[str], references: list[list[str]]) -> dict[str, float]:
    preds = [{"prediction_text": p, "id": str(i)} for i, p in enumerate(predictions)]
    target = [
        {"answers": {"text": golds, "answer_start": [0] * len(golds)}, "id": str(i)}
        for i, golds in enumerate(references)
    ]
    return {k: float(v) for k, v in torchmetrics_squad(preds, target).items()}


def test_v1_matches_torchmetrics_on_random_cases(float64_torch: None) -> None:
    rng = random.Random(1976)
    cases = [_case(rng, empty_golds=i % 5 == 0) for i in range(600)]
    predictions = [p for p, _ in cases]
    references = [g for _, g in cases]
    ours = squad_v1(predictions, references)

    diverging = 0
    for i, (prediction, golds) in enumerate(cases):
        expected = _torchmetrics([prediction], [golds])
        assert ours.exact[i] * 100 == pytest.approx(expected["exact_match"], abs=1e-9)
        if normalize_answer(prediction):
            assert ours.f1[i] * 100 == pytest.approx(expected["f1"], abs=1e-9), (prediction, golds)
        else:  # v1.1: no token, no shared token, F1 0; torchmetrics: 1 against an empty gold
            assert ours.f1[i] == 0.0
            empty_gold = any(not normalize_answer(g) for g in golds)
            assert expected["f1"] == (100.0 if empty_gold else 0.0)
            diverging += empty_gold
    assert 10 < diverging < 100  # the generator reaches the one rule where they differ
    assert 0.1 < ours.metrics["f1"] < 0.9 and 0 < ours.metrics["exact_match"] < 0.5

    agree = [
        i
        for i, (p, golds) in enumerate(cases)
        if normalize_answer(p) or all(normalize_answer(g) for g in golds)
    ]
    subset = squad_v1([predictions[i] for i in agree], [references[i] for i in agree])
    expected = _torchmetrics([predictions[i] for i in agree], [references[i] for i in agree])
    assert subset.metrics["exact_match"] * 100 == pytest.approx(expected["exact_match"], abs=1e-9)
    assert subset.metrics["f1"] * 100 == pytest.approx(expected["f1"], abs=1e-9)
    assert subset.metrics["f1"] == pytest.approx(ours.f1[agree].mean(), abs=1e-12)


def test_v1_documented_cases() -> None:
    scores = squad_v1(
        ["Denver Broncos", "the  DENVER broncos!", "Broncos", "", "Carolina"],
        [["Denver Broncos"], ["Denver Broncos"], ["Denver Broncos", "Broncos"], ["x"], ["y"]],
    )
    assert scores.exact.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert scores.f1.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert scores.metrics == {"exact_match": 0.6, "f1": 0.6}
    assert token_f1("Denver", "the Denver Broncos") == pytest.approx(2 / 3)
    assert token_f1("a", "the", empty_matches_empty=False) == 0.0
    assert token_f1("a", "the") == 1.0
    assert exact_match("The Eiffel Tower.", "eiffel   tower") == 1.0


def test_v2_unanswerable_questions() -> None:
    # the script's rule: an unanswerable question is right only when answered with nothing
    scores = squad_v2(["", "Paris", " ", "the", "Paris"], [[], [], [""], [], ["Paris"]], [0.0] * 5)
    assert scores.exact.tolist() == [1.0, 0.0, 1.0, 1.0, 1.0]
    assert scores.f1.tolist() == [1.0, 0.0, 1.0, 1.0, 1.0]
    assert scores.has_answer.tolist() == [False, False, False, False, True]
    assert scores.metrics["NoAns_total"] == 4 and scores.metrics["NoAns_exact"] == 0.75
    assert scores.metrics["HasAns_total"] == 1 and scores.metrics["HasAns_f1"] == 1.0


def test_v2_hand_computed_thresholds() -> None:
    # by na prob: q1 (answerable, right) +1 -> 3 of 3; q3 ("" for no answer) +0; q2 (answered) -1
    scores = squad_v2(["Paris", "London", ""], [["Paris"], [], []], [0.2, 0.9, 0.5])
    assert scores.metrics == {
        "exact": pytest.approx(2 / 3),
        "f1": pytest.approx(2 / 3),
        "total": 3.0,
        "HasAns_exact": 1.0,
        "HasAns_f1": 1.0,
        "HasAns_total": 1.0,
        "NoAns_exact": 0.5,
        "NoAns_f1": 0.5,
        "NoAns_total": 2.0,
        "best_exact": 1.0,
        "best_exact_thresh": 0.2,
        "best_f1": 1.0,
        "best_f1_thresh": 0.2,
    }

    # partial F1 never beats "no answer" for both: the threshold stays 0.0
    scores = squad_v2(["Eiffel", "Tower"], [["the Eiffel Tower"], []], [0.4, 0.1])
    assert scores.metrics["f1"] == pytest.approx(1 / 3)
    assert scores.metrics["best_f1"] == 0.5 and scores.metrics["best_f1_thresh"] == 0.0
    assert scores.metrics["best_exact"] == 0.5 and scores.metrics["best_exact_thresh"] == 0.0

    # only answerable questions, all wrong: no NoAns_* fields, best 0 at 0.0
    scores = squad_v2(["Rome"], [["Paris"]], [0.3])
    assert "NoAns_total" not in scores.metrics
    assert scores.metrics["best_exact"] == 0.0 and scores.metrics["best_exact_thresh"] == 0.0

    # equal probabilities keep the input order: the wrong answer first cancels the right one
    wrong_first = squad_v2(["X", "A"], [[], ["A"]], [0.5, 0.5]).metrics
    right_first = squad_v2(["A", "X"], [["A"], []], [0.5, 0.5]).metrics
    assert (wrong_first["best_exact"], wrong_first["best_exact_thresh"]) == (0.5, 0.0)
    assert (right_first["best_exact"], right_first["best_exact_thresh"]) == (1.0, 0.5)

    # find_best_thresh counts any non-empty string as an answer to an unanswerable question,
    # even one that normalises to nothing (which exact match scores right): best < exact here
    scores = squad_v2([" ", "A"], [[], ["A"]], [0.1, 0.2])
    assert scores.metrics["exact"] == 1.0
    assert (scores.metrics["best_exact"], scores.metrics["best_exact_thresh"]) == (0.5, 0.0)

    # above na_prob_thresh a question counts as answered "no answer"
    scores = squad_v2(["Paris", "x"], [["Paris"], []], [0.6, 0.7], na_prob_thresh=0.5)
    assert scores.exact.tolist() == [0.0, 1.0]


def _v2_dataset(rng: random.Random) -> tuple[list[str], list[list[str]], list[float]]:
    predictions, references, probabilities = [], [], []
    for _ in range(rng.randint(5, 30)):
        prediction, golds = _case(rng, empty_golds=False)
        if rng.random() < 0.35:
            golds = rng.choice([[], [""]])
            # "" or a real answer: an answer that normalises to nothing is the quirk tested apart
            prediction = rng.choice(["", "", prediction if normalize_answer(prediction) else ""])
        predictions.append(prediction)
        references.append(golds)
        probabilities.append(rng.uniform(0.01, 0.99))
    return predictions, references, probabilities


def test_v2_random_cases_follow_the_definitions(float64_torch: None) -> None:
    rng = random.Random(2018)
    checked = 0
    while checked < 500:
        predictions, references, probabilities = _v2_dataset(rng)
        scores = squad_v2(predictions, references, probabilities)
        m, n = scores.metrics, len(predictions)
        has = scores.has_answer
        checked += n

        assert m["total"] == n and m["exact"] == pytest.approx(scores.exact.mean())
        assert m["f1"] == pytest.approx(scores.f1.mean())
        parts = [p for p in ("HasAns", "NoAns") if f"{p}_total" in m]
        assert sum(m[f"{p}_total"] for p in parts) == n
        for name in ("exact", "f1"):
            split = sum(m[f"{p}_{name}"] * m[f"{p}_total"] for p in parts)
            assert split == pytest.approx(m[name] * n)
        assert np.all(scores.exact <= scores.f1) and np.all((scores.f1 >= 0) & (scores.f1 <= 1))

        for i in np.flatnonzero(~has):  # unanswerable: right iff nothing is left of the answer
            assert scores.exact[i] == scores.f1[i] == float(not normalize_answer(predictions[i]))
        answerable = np.flatnonzero(has)
        if len(answerable):  # answerable: as torchmetrics scores them (golds are non-empty)
            expected = _torchmetrics(
                [predictions[i] for i in answerable], [references[i] for i in answerable]
            )
            assert m["HasAns_exact"] * 100 == pytest.approx(expected["exact_match"], abs=1e-9)
            assert m["HasAns_f1"] * 100 == pytest.approx(expected["f1"], abs=1e-9)

        # best_*: the best of the scores at every threshold (probabilities are distinct here)
        at = {t: squad_v2(predictions, references, probabilities, na_prob_thresh=t).metrics
              for t in [0.0, *sorted(probabilities)]}  # fmt: skip
        for name in ("exact", "f1"):
            best = max(at[t][name] for t in at)
            assert m[f"best_{name}"] == pytest.approx(best, abs=1e-12)
            first = min(t for t in at if at[t][name] == pytest.approx(best, abs=1e-12))
            assert m[f"best_{name}_thresh"] == first
            assert m[f"best_{name}"] >= m[name] - 1e-12
            assert m[f"best_{name}"] >= m.get("NoAns_total", 0) / n - 1e-12


def test_question_words() -> None:
    assert question_word("What is the capital?") == "what"
    assert question_word("In WHICH year did it open?") == "which"
    assert question_word("whose book was it?") == "whose"
    assert question_word("To whom was it given?") == "whom"
    assert question_word("How many points did they score?") == "how many"
    assert question_word("How much did it cost?") == "how much"
    assert question_word("How did it end?") == "how"
    assert question_word("The team won when?") == "when"
    assert question_word("Name the winner.") == "other"
    assert question_word("") == "other"
    assert set(QUESTION_WORDS) >= {question_word(q) for q in ("why", "where", "who")}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("", "no answer"),
        ("  ", "no answer"),
        ("June 1967", "date"),
        ("1990s", "date"),
        ("1914–18", "date"),
        ("c. 1200", "date"),
        ("300 BC", "date"),
        ("19th century", "date"),
        ("on Sunday", "date"),
        ("300", "number"),
        ("5 million", "number"),
        ("three", "number"),
        ("40%", "number"),
        ("$1,234.50", "number"),
        ("2nd", "number"),
        ("Denver Broncos", "proper name"),
        ("University of Notre Dame", "proper name"),
        ("the Bronx", "proper name"),
        ("Beyoncé", "proper name"),
        ("Super Bowl 50", "proper name"),
        ("a steam engine", "short phrase"),
        ("of Notre Dame", "short phrase"),
        ("to protect the city from floods", "long phrase"),
    ],
)
def test_answer_types(answer: str, expected: str) -> None:
    assert answer_type(answer) == expected
    assert expected in ANSWER_TYPES


def test_group_scores() -> None:
    scores = squad_v2(
        ["Paris", "", "Rome", "1976"], [["Paris"], [], ["Milan"], ["1976"]], [0.1] * 4
    )
    groups = [
        answer_type(golds[0] if golds else "") for golds in (["Paris"], [], ["Milan"], ["1976"])
    ]
    assert group_scores(groups, scores.exact, scores.f1) == {
        "date": GroupScore(count=1, exact=1.0, f1=1.0),
        "no answer": GroupScore(count=1, exact=1.0, f1=1.0),
        "proper name": GroupScore(count=2, exact=0.5, f1=0.5),
    }


def test_bad_input_says_what_to_do() -> None:
    with pytest.raises(AnswerInputError, match="2 predictions for 1 references"):
        squad_v1(["a", "b"], [["a"]])
    with pytest.raises(AnswerInputError, match="give the list of gold answers"):
        squad_v1(["a"], ["a"])
    with pytest.raises(AnswerInputError, match=r"example 0: no gold answer.*squad_v2"):
        squad_v1(["a"], [[]])
    with pytest.raises(AnswerInputError, match="at least one question"):
        squad_v2([], [], [])
    with pytest.raises(AnswerInputError, match="1 no-answer probabilities for 2"):
        squad_v2(["a", "b"], [["a"], []], [0.5])
    with pytest.raises(AnswerInputError, match="example 1: not a number"):
        squad_v2(["a", "b"], [["a"], []], [0.5, float("nan")])
    with pytest.raises(AnswerInputError, match="one group per example"):
        group_scores(["who"], np.zeros(2), np.zeros(2))
