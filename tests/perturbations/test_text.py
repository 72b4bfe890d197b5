from __future__ import annotations

import random
import string
import unicodedata

import pytest

from perturbations import get, names

SAMPLE = [
    "Hello, World! It's a fine day.",
    "«Ça va?» — ¿Qué tal? (fine) 3.14 + 2 = 5.14 $",
    "",
    "one",
    "ÉCOLE naïve Straße",
]


def long_text(words: int = 4000, seed: int = 0) -> str:
    """Words of 3–8 letters with no letter repeated next to itself, separated by spaces."""
    rng = random.Random(seed)
    out = []
    for _ in range(words):
        word = rng.choice(string.ascii_lowercase)
        while len(word) < rng.randint(3, 8):
            word += rng.choice(string.ascii_lowercase.replace(word[-1], ""))
        out.append(word)
    return " ".join(out)


def osa_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap of adjacent letters) turning a into b."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def non_letters(text: str) -> str:
    return "".join(ch for ch in text if not ch.isalpha())


def test_case() -> None:
    assert get("lowercase").apply_texts(SAMPLE, seed=0) == [t.lower() for t in SAMPLE]
    assert get("uppercase").apply_texts(SAMPLE, seed=0) == [t.upper() for t in SAMPLE]


def test_no_punctuation() -> None:
    out = get("no_punctuation").apply_texts(SAMPLE, seed=0)
    for text in out:
        assert not any(unicodedata.category(ch).startswith("P") for ch in text)
    assert out[0] == "Hello World Its a fine day"
    assert out[1] == "Ça va  Qué tal fine 314 + 2 = 514 $"


@pytest.mark.parametrize("name", names("text"))
def test_same_seed_same_text(name: str) -> None:
    p = get(name)
    texts = [*SAMPLE, long_text(50)]
    assert p.apply_texts(texts, seed=3) == p.apply_texts(texts, seed=3)
    assert p.apply_texts(texts[2:], seed=3, start=2) == p.apply_texts(texts, seed=3)[2:]
    changed = p.apply_texts(texts, seed=3) != p.apply_texts(texts, seed=4)
    assert changed == p.stochastic


@pytest.mark.parametrize("rate", [0.05, 0.2])
def test_typos_change_about_rate_of_letters_and_only_letters(rate: float) -> None:
    text = long_text()
    [out] = get("typos", rate=rate).apply_texts([text], seed=0)
    assert non_letters(out) == non_letters(text)
    words, typo_words = text.split(" "), out.split(" ")
    assert all(typo_words), "a word lost all its letters"
    edits = sum(osa_distance(a, b) for a, b in zip(words, typo_words, strict=True))
    letters = sum(len(w) for w in words)
    assert edits / letters == pytest.approx(rate, rel=0.2)


def test_typos_leave_non_letters_alone() -> None:
    texts = ["12345 !?", "a b c d e f g h i j", "naïve Ça été"]
    out = get("typos", rate=0.5).apply_texts(texts, seed=1)
    assert out[0] == texts[0]
    for before, after in zip(texts, out, strict=True):
        assert non_letters(after) == non_letters(before)
    assert all(out[1].split(" "))


def test_word_dropout_removes_about_rate_and_keeps_order() -> None:
    words = long_text(5000).split()
    [out] = get("word_dropout", rate=0.2).apply_texts([" ".join(words)], seed=0)
    kept = out.split(" ")
    assert 1 - len(kept) / len(words) == pytest.approx(0.2, abs=0.02)
    it = iter(words)
    assert all(word in it for word in kept), "kept words must stay in order"


def test_word_dropout_never_drops_every_word() -> None:
    p = get("word_dropout", rate=0.5)
    texts = ["solo", "two words", "a b", "   ", ""]
    for seed in range(50):
        out = p.apply_texts(texts, seed=seed)
        assert out[0] == "solo"
        assert len(out[1].split()) >= 1 and len(out[2].split()) >= 1
        assert out[3:] == ["   ", ""]


def test_apply_texts_wants_a_sequence() -> None:
    assert get("typos").apply_texts([], seed=0) == []
    with pytest.raises(TypeError, match="not one str"):
        get("lowercase").apply_texts("Hello", seed=0)
