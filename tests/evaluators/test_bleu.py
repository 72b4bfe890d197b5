"""Corpus BLEU and chrF from per-example statistics equal sacreBLEU 2.6.0's ``corpus_bleu``,
``corpus_chrf`` and ``BLEU(...).corpus_score`` on seeded random corpora and on subsets of them
(bootstrap-style, rows repeated), and the signatures are sacreBLEU's."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import cast

import pytest
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF

from evaluators.bleu import (
    SACREBLEU_VERSION,
    bleu_signature,
    chrf_signature,
    corpus_bleu,
    corpus_chrf,
    sentence_stats,
    tokenizer_for,
)
from evaluators.rouge import EmptySelectionError

WORDS = [
    *[
        "the",
        "a",
        "cat",
        "sat",
        "on",
        "mat",
        "The",
        "Cat",
        "dog",
        "dogs",
        "barked",
        "loudly",
        "it's",
        "don't",
    ],
    *["3", "2024", "1,000", "3.14", "café", "naïve", "Zoë", "東京", "猫が", "座った"],
    *[",", ".", "!", "?", ";", ":", "--", "(", ")", '"', "'", "$5", "U.S.", "e-mail"],
]
TOKENIZERS = ["13a", "13a", "intl", "zh", "char", "none"]


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(1, 12))]
    return " ".join(words) + rng.choice(["", "", ".", " .", "!", "  "])


def _hypothesis(rng: random.Random, reference: str) -> str:
    kind = rng.random()
    if kind < 0.1:
        return rng.choice(["", " ", "."])
    if kind < 0.6:  # a few edits of the reference
        tokens = reference.split()
        for _ in range(rng.randint(0, 3)):
            position = rng.randrange(len(tokens) + 1)
            if rng.random() < 0.5 or not tokens:
                tokens.insert(position, rng.choice(WORDS))
            else:
                del tokens[min(position, len(tokens) - 1)]
        return " ".join(tokens)
    return _sentence(rng)


def _corpus(rng: random.Random) -> tuple[list[str], list[list[str]]]:
    """Hypotheses and, per example, 1 reference, or 2-3 for every example, or a varying count."""
    size = rng.randint(1, 40)
    counts = rng.choice(["one", "one", "one", "same", "varying"])
    same = rng.randint(2, 3)
    hypotheses, references = [], []
    for _ in range(size):
        n = {"one": 1, "same": same, "varying": rng.randint(1, 3)}[counts]
        refs = [_sentence(rng) for _ in range(n)]
        hypotheses.append(_hypothesis(rng, rng.choice(refs)))
        references.append(refs)
    return hypotheses, references


def _streams(references: list[list[str]]) -> Sequence[Sequence[str]]:
    """sacreBLEU's reference streams, None where an example has fewer references (which
    sacreBLEU accepts though its annotation leaves None out)."""
    most = max(len(refs) for refs in references)
    streams = [[refs[k] if k < len(refs) else None for refs in references] for k in range(most)]
    return cast("Sequence[Sequence[str]]", streams)


@pytest.mark.parametrize("seed", range(3))
def test_equal_to_sacrebleu_on_corpora_and_subsets(seed: int) -> None:
    """100 corpora per seed (300 in all), 1-40 sentences, each with a random subset."""
    rng = random.Random(seed)
    for _ in range(100):
        hypotheses, references = _corpus(rng)
        tokenize, lowercase = rng.choice(TOKENIZERS), rng.random() < 0.25
        stats = sentence_stats(hypotheses, references, tokenize=tokenize, lowercase=lowercase)
        streams = _streams(references)
        bleu = BLEU(tokenize=tokenize, lowercase=lowercase).corpus_score(hypotheses, streams)
        chrf = CHRF(lowercase=lowercase).corpus_score(hypotheses, streams)
        assert corpus_bleu(stats) == pytest.approx(bleu.score / 100, rel=0, abs=1e-9)
        assert corpus_chrf(stats) == pytest.approx(chrf.score / 100, rel=0, abs=1e-9)
        rows = [rng.randrange(len(hypotheses)) for _ in range(rng.randint(1, 15))]
        sub_hyps = [hypotheses[i] for i in rows]
        sub_streams = _streams([references[i] for i in rows])
        sub_bleu = BLEU(tokenize=tokenize, lowercase=lowercase).corpus_score(sub_hyps, sub_streams)
        sub_chrf = CHRF(lowercase=lowercase).corpus_score(sub_hyps, sub_streams)
        assert corpus_bleu(stats, rows) == pytest.approx(sub_bleu.score / 100, rel=0, abs=1e-9)
        assert corpus_chrf(stats, rows) == pytest.approx(sub_chrf.score / 100, rel=0, abs=1e-9)


def test_equal_to_sacrebleu_module_functions() -> None:
    """The 13a defaults against ``sacrebleu.corpus_bleu`` and ``sacrebleu.corpus_chrf``."""
    rng = random.Random(9)
    for _ in range(50):
        hypotheses, references = _corpus(rng)
        references = [refs[:1] for refs in references]
        stats = sentence_stats(hypotheses, [refs[0] for refs in references])
        streams = [[refs[0] for refs in references]]
        expected_bleu = sacrebleu.corpus_bleu(hypotheses, streams).score / 100
        expected_chrf = sacrebleu.corpus_chrf(hypotheses, streams).score / 100
        assert corpus_bleu(stats) == pytest.approx(expected_bleu, rel=0, abs=1e-9)
        assert corpus_chrf(stats) == pytest.approx(expected_chrf, rel=0, abs=1e-9)
        assert (stats.nrefs, len(stats), stats.bleu.shape[1], stats.chrf.shape[1]) == (
            1,
            len(hypotheses),
            10,
            18,
        )


def test_hand_cases() -> None:
    perfect = sentence_stats(["the cat sat on the mat"], ["the cat sat on the mat"])
    assert corpus_bleu(perfect) == pytest.approx(1.0)  # sacreBLEU says 100.00000000000004
    assert corpus_chrf(perfect) == 1.0
    nothing = sentence_stats(["", "x"], ["the cat sat on the mat", "y"])
    assert (corpus_bleu(nothing), corpus_chrf(nothing)) == (0.0, 0.0)
    stats = sentence_stats(["a b c d", "a b c d"], ["a b c d", "w x y z"])
    assert stats.bleu.tolist() == [[4, 4, 4, 3, 2, 1, 4, 3, 2, 1], [4, 4, 0, 0, 0, 0, 4, 3, 2, 1]]
    assert corpus_bleu(stats, rows=[0, 0]) == pytest.approx(1.0)
    assert corpus_bleu(stats, rows=[0, 1]) == corpus_bleu(stats)


def test_signatures_equal_sacrebleu() -> None:
    hypotheses = ["a b", "c d"]
    for tokenize, lowercase, references in [
        ("13a", False, [["a b"], ["c"]]),
        ("zh", True, [["a b", "a"], ["c", "d"]]),
        ("char", False, [["a b", "a"], ["c"]]),
    ]:
        stats = sentence_stats(hypotheses, references, tokenize=tokenize, lowercase=lowercase)
        bleu, chrf = BLEU(tokenize=tokenize, lowercase=lowercase), CHRF(lowercase=lowercase)
        bleu.corpus_score(hypotheses, _streams(references))
        chrf.corpus_score(hypotheses, _streams(references))
        assert bleu_signature(tokenize=tokenize, nrefs=stats.nrefs, lowercase=lowercase) == str(
            bleu.get_signature()
        )
        assert chrf_signature(nrefs=stats.nrefs, lowercase=lowercase) == str(chrf.get_signature())
    assert stats.nrefs == "var"
    assert (
        bleu_signature()
        == f"nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:{SACREBLEU_VERSION}"
    )
    assert chrf_signature() == "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"


def _mecab(name: str) -> bool:
    try:
        BLEU(tokenize=name)
    except RuntimeError:
        return False
    return True


def test_tokenizer_for_target_languages() -> None:
    assert tokenizer_for(None) == tokenizer_for("") == tokenizer_for("de") == "13a"
    assert tokenizer_for("zh") == tokenizer_for("zh-Hant") == tokenizer_for("ZH_cn") == "zh"
    assert tokenizer_for("ja") == ("ja-mecab" if _mecab("ja-mecab") else "char")
    assert tokenizer_for("ko-KR") == ("ko-mecab" if _mecab("ko-mecab") else "char")
    stats = sentence_stats(["猫が座った"], ["猫が座る"], tokenize=tokenizer_for("ja"))
    assert 0 < corpus_bleu(stats) < 1


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        sentence_stats(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no examples"):
        sentence_stats([], [])
    with pytest.raises(ValueError, match="unknown sacreBLEU tokenizer '14a'"):
        sentence_stats(["a"], ["a"], tokenize="14a")
    with pytest.raises(TypeError, match="hypothesis 0 must be a string"):
        sentence_stats([None], ["a"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="reference 0 must be a string"):
        sentence_stats(["a"], [[]])
    stats = sentence_stats(["a"], ["a"])
    with pytest.raises(EmptySelectionError, match="no examples selected"):
        corpus_bleu(stats, rows=[])
    with pytest.raises(EmptySelectionError, match="no examples selected"):
        corpus_chrf(stats, rows=[])
