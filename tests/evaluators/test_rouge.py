"""ROUGE-1/2/L/Lsum F-measures equal rouge-score 0.1.2's ``RougeScorer`` (stemmer on and off,
``score`` and ``score_multi``) on seeded random texts; the LCS equals the textbook table; the
regex sentence splitter splits where it says."""

from __future__ import annotations

import random

import numpy as np
import pytest
from rouge_score import rouge_scorer

from evaluators.rouge import (
    ROUGE_TYPES,
    EmptySelectionError,
    RougeSettings,
    corpus_rouge,
    lcs_length,
    rouge_scores,
    split_sentences,
)

# Stemmer fodder, punctuation glued to words and alone, digits, accents, CJK, the Kelvin sign and
# dotted capital I (which lower-case to ASCII), hyphens and apostrophes, upper case.
WORDS = [
    *[
        "the",
        "a",
        "of",
        "cat",
        "cats",
        "dog",
        "dogs",
        "sat",
        "running",
        "runs",
        "ran",
        "runner",
        "nation",
        "nations",
        "national",
    ],
    *["generously", "generous", "happily", "happiness", "The", "Cat", "RUNNING"],
    *[
        "3",
        "2024",
        "1,000",
        "3.14",
        "42nd",
        "café",
        "naïve",
        "Zoë",
        "İstanbul",
        "東京",
        "Kelvin",
        "state-of-the-art",
    ],
    *["it's", "don't", "U.S.", ",", ".", "!", "?", ";", "--", "(a)", "[b]"],
]
GAPS = [" ", " ", " ", " ", "  ", "\t", "\n", "\n\n", ". ", ".\n", ", ", " \n "]


def _text(rng: random.Random, most: int = 30) -> str:
    kind = rng.random()
    if kind < 0.06:
        return rng.choice(["", " ", "\n", "...", "!!! ,, --", "\n \n"])
    words = [rng.choice(WORDS) for _ in range(rng.randint(1, most))]
    if kind < 0.15:  # repeated words
        words = [words[0]] * len(words)
    return "".join(word + rng.choice(GAPS) for word in words).strip(rng.choice([" ", "\n", ""]))


def _edited(rng: random.Random, text: str) -> str:
    tokens = text.split(" ")
    for _ in range(rng.randint(0, 4)):
        position = rng.randrange(len(tokens) + 1)
        if rng.random() < 0.5 or not tokens:
            tokens.insert(position, rng.choice(WORDS))
        else:
            del tokens[min(position, len(tokens) - 1)]
    return " ".join(tokens)


def _pair(rng: random.Random) -> tuple[str, str]:
    reference = _text(rng)
    kind = rng.random()
    if kind < 0.05:
        return "", reference
    if kind < 0.45:
        return _edited(rng, reference), reference
    return _text(rng), reference


def _assert_equal(ours: dict[str, np.ndarray], theirs: list[dict[str, object]]) -> None:
    for key in ROUGE_TYPES:
        expected = np.array([score[key].fmeasure for score in theirs])  # type: ignore[attr-defined]
        np.testing.assert_allclose(ours[key], expected, rtol=0, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("use_stemmer", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_equal_to_rouge_score(seed: int, use_stemmer: bool) -> None:
    """100 pairs per seed and stemmer setting (300 each): empty and punctuation-only texts,
    edited copies, repeated words, digits, accents and CJK, multi-line texts for ROUGE-Lsum."""
    rng = random.Random(seed)
    pairs = [_pair(rng) for _ in range(100)]
    predictions, references = [p for p, _ in pairs], [r for _, r in pairs]
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=use_stemmer)
    theirs = [scorer.score(reference, prediction) for prediction, reference in pairs]
    _assert_equal(rouge_scores(predictions, references, RougeSettings(use_stemmer)), theirs)


def test_summary_level_lcs_ties_equal_rouge_score() -> None:
    """Many lines over a three-word vocabulary: LCS ties everywhere, so the union of LCS
    positions depends on which LCS rouge-score's backtracking picks."""
    rng = random.Random(11)

    def lines() -> str:
        return "\n".join(
            " ".join(rng.choice("abc") for _ in range(rng.randint(0, 9)))
            for _ in range(rng.randint(1, 5))
        )

    pairs = [(lines(), lines()) for _ in range(300)]
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=False)
    theirs = [scorer.score(reference, prediction) for prediction, reference in pairs]
    ours = rouge_scores([p for p, _ in pairs], [r for _, r in pairs], RougeSettings(False))
    _assert_equal(ours, theirs)


def test_several_references_equal_score_multi() -> None:
    rng = random.Random(5)
    predictions, references = [], []
    for _ in range(150):
        prediction, reference = _pair(rng)
        predictions.append(prediction)
        references.append([reference] + [_text(rng) for _ in range(rng.randint(0, 2))])
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    theirs = [scorer.score_multi(refs, p) for p, refs in zip(predictions, references, strict=True)]
    _assert_equal(rouge_scores(predictions, references), theirs)
    mixed = rouge_scores(predictions[:2], [references[0], references[1][0]])
    assert mixed["rougeL"][1] == rouge_scores([predictions[1]], [references[1][0]])["rougeL"][0]


def _textbook_lcs(a: list[str], b: list[str]) -> int:
    table = rouge_scorer._lcs_table(a, b)
    return int(table[-1][-1])


def test_lcs_equals_the_table() -> None:
    """Long sequences too: the bit vectors span several machine words."""
    rng = random.Random(3)
    for _ in range(300):
        a = [rng.choice("abcd") for _ in range(rng.choice([rng.randint(0, 12), 150]))]
        b = [rng.choice("abcd") for _ in range(rng.randint(0, 80))]
        assert lcs_length(a, b) == _textbook_lcs(a, b) == lcs_length(b, a)


def test_hand_cases() -> None:
    scores = rouge_scores(
        ["the cat sat on the mat", "", "Cats running.", "a b\nc d"],
        ["the cat lay on the mat", "something", "cat runs", "a b c d"],
        RougeSettings(use_stemmer=True),
    )
    # rouge1: 5 of 6 words; rouge2: 3 of 5 bigrams; rougeL: "the cat on the mat"
    assert scores["rouge1"][0] == pytest.approx(5 / 6)
    assert scores["rouge2"][0] == pytest.approx(3 / 5)
    assert scores["rougeL"][0] == pytest.approx(5 / 6)
    assert all(scores[key][1] == 0.0 for key in ROUGE_TYPES)  # empty prediction
    assert scores["rouge1"][2] == 1.0  # "cats running" and "cat runs" share their stems
    assert scores["rougeLsum"][3] == 1.0  # every reference token found, line by line
    assert scores["rouge2"][3] == 1.0  # newlines separate tokens but not bigrams
    unstemmed = rouge_scores(["Cats running."], ["cat runs"], RougeSettings(use_stemmer=False))
    assert unstemmed["rouge1"][0] == 0.0


def test_split_sentences() -> None:
    assert split_sentences("It rained. Then it stopped! Why? 3 days later.") == (
        "It rained.\nThen it stopped!\nWhy?\n3 days later."
    )
    assert split_sentences('He said "no." She left. "Fine," he said.') == (
        'He said "no."\nShe left.\n"Fine," he said.'
    )
    # no split before lower case, after an abbreviation or an initial, or inside numbers
    assert split_sentences("e.g. this one. and that") == "e.g. this one. and that"
    assert split_sentences("Dr. Who met J. Smith in Jan. 2020.") == (
        "Dr. Who met J. Smith in Jan. 2020."
    )
    assert split_sentences("Pi is 3.14 today.  Ça va.") == "Pi is 3.14 today.\nÇa va."
    # existing newlines are kept and not doubled
    assert split_sentences("One.\nTwo. Three.") == "One.\nTwo.\nThree."
    assert split_sentences("One. \nTwo.") == "One. \nTwo."
    assert split_sentences("") == ""


def test_regex_sentences_change_only_lsum() -> None:
    rng = random.Random(8)
    sentences = ["The cat sat.", "It ran!", "Dogs bark loudly.", "Why now?", "2 cats left."]
    texts = [" ".join(rng.choices(sentences, k=rng.randint(1, 5))) for _ in range(60)]
    predictions, references = texts[:30], texts[30:]
    by_line = rouge_scores(predictions, references, RougeSettings(lsum_sentences="newline"))
    by_regex = rouge_scores(predictions, references, RougeSettings(lsum_sentences="regex"))
    for key in ("rouge1", "rouge2", "rougeL"):
        np.testing.assert_array_equal(by_line[key], by_regex[key])
    scorer = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True)
    expected = [
        scorer.score(split_sentences(r), split_sentences(p))["rougeLsum"].fmeasure
        for p, r in zip(predictions, references, strict=True)
    ]
    np.testing.assert_allclose(by_regex["rougeLsum"], expected, rtol=0, atol=1e-12)
    assert not np.array_equal(by_line["rougeLsum"], by_regex["rougeLsum"])


def test_corpus_rouge_is_the_mean_over_rows() -> None:
    scores = rouge_scores(["a b", "a", "c"], ["a b", "b", "c d"], RougeSettings(False))
    assert corpus_rouge(scores)["rouge1"] == pytest.approx((1 + 0 + 2 / 3) / 3)
    assert corpus_rouge(scores, rows=[2, 2, 0])["rouge1"] == pytest.approx((2 / 3 * 2 + 1) / 3)
    assert set(corpus_rouge(scores)) == set(ROUGE_TYPES)
    with pytest.raises(EmptySelectionError, match="no examples selected"):
        corpus_rouge(scores, rows=[])


def test_settings() -> None:
    settings = RougeSettings()
    assert settings.describe() == (
        "rouge-score 0.1.2 scoring, Porter stemmer on, ROUGE-Lsum sentences split at newlines"
    )
    assert "stemmer off" in RougeSettings(use_stemmer=False).describe()
    assert settings.as_dict() == {
        "use_stemmer": True,
        "lsum_sentences": "newline",
        "rouge_score_version": "0.1.2",
    }
    with pytest.raises(ValueError, match="unknown lsum_sentences 'nltk'"):
        RougeSettings(lsum_sentences="nltk")


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        rouge_scores(["a", "b"], ["a"])
    with pytest.raises(TypeError, match="reference 0 must be a string"):
        rouge_scores(["a"], [[]])
    with pytest.raises(TypeError, match="reference 1 must be a string"):
        rouge_scores(["a", "b"], ["a", [None]])  # type: ignore[list-item]
