"""Word and character error rates equal jiwer 4.0's `wer` and `cer` (default transforms) on
seeded random corpora, and Levenshtein distance equals the textbook table."""

from __future__ import annotations

import random

import jiwer
import pytest

from evaluators.error_rates import EmptyReferenceError, distance, error_rates

WORDS = ["the", "cat", "sat", "on", "a", "mat", "zoë", "naïve", "東京", "x", "it's", "don't"]
GAPS = [" ", " ", " ", "  ", "\t", " \t ", "\n"]


def _transcript(rng: random.Random, fewest: int) -> str:
    n = rng.randint(fewest, 14)
    text = "".join(rng.choice(WORDS) + rng.choice(GAPS) for _ in range(n))
    return rng.choice(["", " ", "  "]) + text


def _corpus(rng: random.Random) -> tuple[list[str], list[str]]:
    references, hypotheses = [], []
    for _ in range(rng.randint(1, 5)):
        reference = _transcript(rng, 1)
        kind = rng.random()
        if kind < 0.3:  # a few edits of the reference
            tokens = reference.split()
            for _ in range(rng.randint(0, 3)):
                position = rng.randrange(len(tokens) + 1)
                edit = rng.choice(["sub", "del", "ins"])
                if edit == "ins" or not tokens:
                    tokens.insert(position, rng.choice(WORDS))
                elif edit == "sub":
                    tokens[min(position, len(tokens) - 1)] = rng.choice(WORDS)
                else:
                    del tokens[min(position, len(tokens) - 1)]
            hypothesis = " ".join(tokens)
        elif kind < 0.4:
            hypothesis = ""
        else:
            hypothesis = _transcript(rng, 0)
        references.append(reference)
        hypotheses.append(hypothesis)
    return references, hypotheses


@pytest.mark.parametrize("seed", range(6))
def test_error_rates_equal_jiwer(seed: int) -> None:
    """100 corpora per seed (600 in all): whitespace runs, tabs and newlines, accents and CJK,
    empty hypotheses, and hypotheses a few edits from their references."""
    rng = random.Random(seed)
    for _ in range(100):
        references, hypotheses = _corpus(rng)
        ours = error_rates(references, hypotheses)
        assert ours.wer == pytest.approx(jiwer.wer(references, hypotheses), abs=1e-12)
        assert ours.cer == pytest.approx(jiwer.cer(references, hypotheses), abs=1e-12)
        measures = jiwer.process_words(references, hypotheses)
        edits = measures.substitutions + measures.deletions + measures.insertions
        assert ours.word_edits == edits
        assert ours.reference_words == measures.hits + measures.substitutions + measures.deletions


def _textbook(a: list[int], b: list[int]) -> int:
    table = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(
                table[i - 1][j] + 1,
                table[i][j - 1] + 1,
                table[i - 1][j - 1] + (a[i - 1] != b[j - 1]),
            )
    return table[-1][-1]


def test_distance_equals_the_textbook_table() -> None:
    rng = random.Random(7)
    for _ in range(500):
        a = [rng.randrange(4) for _ in range(rng.randint(0, 12))]
        b = [rng.randrange(4) for _ in range(rng.randint(0, 12))]
        assert distance(a, b) == _textbook(a, b)


def test_hand_cases() -> None:
    assert error_rates(["the cat sat"], ["the cat sat"]).wer == 0.0
    nothing = error_rates(["the cat sat"], [""])
    assert (nothing.wer, nothing.cer) == (1.0, 1.0)
    chatty = error_rates(["hi"], ["oh hi there you"])  # insertions: above 1
    assert chatty.wer == 3.0
    corpus = error_rates(["a b c d", "e"], ["a x c d", "f g"])  # (1 + 2) edits / 5 words
    assert (corpus.word_edits, corpus.reference_words, corpus.wer) == (3, 5, 0.6)
    assert error_rates(["  the   cat "], ["the cat"]).wer == 0.0  # whitespace runs are one space


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="2 references but 1 hypotheses"):
        error_rates(["a", "b"], ["a"])
    with pytest.raises(EmptyReferenceError, match="reference 1 has no words"):
        error_rates(["a", "  "], ["a", "b"])
