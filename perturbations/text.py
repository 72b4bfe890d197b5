"""Text perturbations: each maps one text with its own seeded `random.Random`.

Only ``rng.random()`` is drawn (never ``choice``/``sample``), so outputs depend on the Mersenne
Twister stream alone and stay stable across Python versions.
"""

from __future__ import annotations

import itertools
import random
import unicodedata


def lowercase(text: str, rng: random.Random) -> str:
    return text.lower()


def uppercase(text: str, rng: random.Random) -> str:
    return text.upper()


def is_punctuation(ch: str) -> bool:
    """Whether the character's Unicode category is punctuation (``P*``)."""
    return unicodedata.category(ch).startswith("P")


def no_punctuation(text: str, rng: random.Random) -> str:
    return "".join(ch for ch in text if not is_punctuation(ch))


def typos(text: str, rng: random.Random, *, rate: float) -> str:
    parts = []
    for is_letter, run in itertools.groupby(text, str.isalpha):
        chars = "".join(run)
        parts.append(_typo_run(chars, rng, rate) if is_letter else chars)
    return "".join(parts)


def _typo_run(word: str, rng: random.Random, rate: float) -> str:
    """One run of letters; each letter starts a typo with probability ``rate``."""
    out: list[str] = []
    i = 0
    while i < len(word):
        letter = word[i]
        if rng.random() >= rate:
            out.append(letter)
            i += 1
            continue
        ops = ["duplicate"]
        if i + 1 < len(word) and word[i + 1] != letter:
            ops.append("swap")
        if out or i + 1 < len(word):  # never drop a run's last remaining letter
            ops.append("drop")
        op = ops[int(rng.random() * len(ops))]
        if op == "swap":
            out += [word[i + 1], letter]
            i += 2
            continue
        if op == "duplicate":
            out += [letter, letter]
        i += 1
    return "".join(out)


def word_dropout(text: str, rng: random.Random, *, rate: float) -> str:
    words = text.split()
    if not words:
        return text
    kept = [word for word in words if rng.random() >= rate]
    if not kept:
        kept = [words[int(rng.random() * len(words))]]
    return " ".join(kept)
