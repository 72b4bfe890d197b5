from __future__ import annotations

import random
import re

import pytest

from perturbations import (
    AlignmentError,
    ModalityError,
    QAExample,
    describe_all,
    from_spec,
    get,
    names,
)
from perturbations import spans as span_fns
from perturbations import text as text_fns
from perturbations.base import python_rng
from perturbations.registry import Perturbation

N = 300
SEED = 11
TYPES = ("PER", "LOC", "ORG", "MISC")
VOCAB = [
    "the",
    "Ada",
    "Lovelace",
    "met",
    "Charles",
    "Babbage",
    "in",
    "London",
    "on",
    "5",
    "June",
    "1833",
    ",",
    ".",
    "(",
    ")",
    "«",
    "»",
    "-",
    "&",
    '"',
    "'",
    "Straße",
    "KÖLN",
    "İstanbul",
    "ΟΔΟΣ",
    "naïve",
    "U.S.",
    "AT&T",
    "e-mail",
    "3.14",
    "...",
    "—",
    "?!",
]
VARIANTS = [
    *(get(name) for name in names("text")),
    get("typos", rate=0.5),
    get("word_dropout", rate=0.5),
]
DROPS = {"word_dropout", "no_punctuation"}


def ids(perturbations: list[Perturbation]) -> list[str]:
    return [p.variant_id for p in perturbations]


def random_sentence(rng: random.Random) -> tuple[list[str], list[str]]:
    """Words with valid IOB2 tags; entities of one type often follow each other."""
    words: list[str] = []
    tags: list[str] = []
    length = rng.randint(1, 14)
    while len(words) < length:
        kind = rng.choice(TYPES)
        size = rng.choice((0, 0, 1, 2, 3))
        if size == 0:
            tags.append("O")
        else:
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (size - 1)
        words += [rng.choice(VOCAB) for _ in range(max(size, 1))]
    return words, tags


SENTENCES = [random_sentence(random.Random(i)) for i in range(N)]


def valid_iob2(tags: list[str]) -> bool:
    for prev, tag in zip(["O", *tags], tags, strict=False):
        if tag.startswith("I-") and prev[2:] != tag[2:]:
            return False
    return all(t == "O" or t[:2] in ("B-", "I-") for t in tags)


def chunks(tags: list[str]) -> list[list[int]]:
    """Entities as lists of word positions (IOB2)."""
    out: list[list[int]] = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-"):
            out.append([i])
        elif tag.startswith("I-"):
            out[-1].append(i)
    return out


@pytest.mark.parametrize("p", VARIANTS, ids=ids(VARIANTS))
def test_words_keep_one_valid_tag_per_word(p: Perturbation) -> None:
    for index, (words, tags) in enumerate(SENTENCES):
        new_words, new_tags = p.apply_words(words, tags, seed=SEED, index=index)
        assert len(new_words) == len(new_tags) >= 1
        assert valid_iob2(new_tags), (words, tags, new_words, new_tags)
        assert all(new_words) and not any(" " in w for w in new_words)
        if p.name not in DROPS:
            assert new_tags == tags and len(new_words) == len(words)
        assert (new_words, new_tags) == p.apply_words(words, tags, seed=SEED, index=index)


DROPPING = [v for v in VARIANTS if v.name in DROPS]


@pytest.mark.parametrize("p", DROPPING, ids=ids(DROPPING))
def test_dropped_words_take_their_tags_and_entities_stay_apart(p: Perturbation) -> None:
    words_fn = getattr(span_fns, f"{p.name}_words")
    dropped = 0
    for index, (words, tags) in enumerate(SENTENCES):
        new_words, new_tags = p.apply_words(words, tags, seed=SEED, index=index)
        same_words, kept = words_fn(words, python_rng(SEED, index), **p.params)
        assert new_words == same_words and kept == sorted(set(kept))
        dropped += len(words) - len(kept)
        for tag, j in zip(new_tags, kept, strict=True):
            assert tag in (tags[j], tags[j].replace("I-", "B-", 1))
        survivors = [[kept.index(j) for j in c if j in kept] for c in chunks(tags)]
        assert chunks(new_tags) == [c for c in survivors if c]
    assert dropped > N / 2


@pytest.mark.parametrize("p", VARIANTS, ids=ids(VARIANTS))
def test_words_match_the_text_version(p: Perturbation) -> None:
    """Words change as the space-joined sentence does under apply_texts (same item stream)."""
    for index, (words, tags) in enumerate(SENTENCES):
        new_words, _ = p.apply_words(words, tags, seed=SEED, index=index)
        [joined] = p.apply_texts([" ".join(words)], seed=SEED, start=index)
        if p.name == "no_punctuation":
            joined = " ".join(joined.split()) or " ".join(words)
        assert " ".join(new_words) == joined


@pytest.mark.parametrize("p", VARIANTS, ids=ids(VARIANTS))
def test_words_do_not_depend_on_the_batch(p: Perturbation) -> None:
    order = list(range(N))
    random.Random(3).shuffle(order)
    alone = {i: p.apply_words(*SENTENCES[i], seed=SEED, index=i) for i in order}
    assert alone == {i: p.apply_words(*SENTENCES[i], seed=SEED, index=i) for i in range(N)}
    if p.stochastic:
        other = [p.apply_words(*SENTENCES[i], seed=SEED + 1, index=i) for i in range(N)]
        assert other != [alone[i] for i in range(N)]


def test_dropout_keeps_one_word_and_retags_a_beheaded_entity() -> None:
    dropout = get("word_dropout", rate=0.5)
    words, tags = ["Ada", "Lovelace", "met", "Babbage"], ["B-PER", "I-PER", "O", "B-PER"]
    assert dropout.apply_words(words, tags, seed=0, index=1) == (
        ["Lovelace", "met"],
        ["B-PER", "O"],
    )
    assert dropout.apply_words(words, tags, seed=0, index=3) == (
        ["Ada", "Lovelace", "met"],
        ["B-PER", "I-PER", "O"],
    )
    for index in range(200):
        assert len(dropout.apply_words(["one", "two"], ["O", "O"], seed=0, index=index)[0]) >= 1
    assert dropout.apply_words([], [], seed=0, index=0) == ([], [])


def test_no_punctuation_drops_punctuation_words_and_keeps_entities_apart() -> None:
    p = get("no_punctuation")
    words = ["Alan", "Turing", "«", "Ada", "»", "AT&T", "."]
    tags = ["B-PER", "I-PER", "B-PER", "I-PER", "I-PER", "B-ORG", "O"]
    assert p.apply_words(words, tags, seed=0, index=0) == (
        ["Alan", "Turing", "Ada", "ATT"],
        ["B-PER", "I-PER", "B-PER", "B-ORG"],
    )
    assert p.apply_words(["...", "!"], ["O", "O"], seed=0, index=0) == (["...", "!"], ["O", "O"])


def test_tag_ids_with_their_names() -> None:
    labels = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"]
    p = get("no_punctuation")
    words = ["«", "Ada", "»", "met", "Babbage"]
    assert p.apply_words(words, [1, 2, 2, 0, 1], seed=0, index=0, labels=labels) == (
        ["Ada", "met", "Babbage"],
        [1, 0, 1],
    )
    assert get("uppercase").apply_words(["ada"], [1], seed=0, index=0, labels=labels) == (
        ["ADA"],
        [1],
    )
    with pytest.raises(AlignmentError, match="pass labels="):
        p.apply_words(words, [1, 2, 2, 0, 1], seed=0, index=0)
    with pytest.raises(AlignmentError, match="tag id 7 is not an index of labels"):
        p.apply_words(["Ada"], [7], seed=0, index=0, labels=labels)
    with pytest.raises(AlignmentError, match="no 'B-PER' to start it again") as info:
        p.apply_words(["&", "Ada"], [1, 1], seed=0, index=4, labels=["O", "I-PER"])
    assert info.value.index == 4 and str(info.value).startswith("item 4: ")


def test_bad_words_are_refused() -> None:
    with pytest.raises(AlignmentError, match="3 words but 2 tags: give one tag per word"):
        get("lowercase").apply_words(["a", "b", "c"], ["O", "O"], seed=0, index=0)
    with pytest.raises(AlignmentError, match="all names"):
        get("lowercase").apply_words(["a", "b"], ["O", 1], seed=0, index=0)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not one str"):
        get("lowercase").apply_words("ab", ["O", "O"], seed=0, index=0)
    with pytest.raises(TypeError, match="words as str"):
        get("lowercase").apply_words(["a", 3], ["O", "O"], seed=0, index=0)
    with pytest.raises(ModalityError, match="'greyscale' is for image, not words"):
        get("greyscale").apply_words(["a"], ["O"], seed=0, index=0)
    with pytest.raises(ModalityError, match="'mirrored' is for image, not qa"):
        get("mirrored").apply_qa("q", "c", [], seed=0, index=0, target="both")


def test_supports() -> None:
    for name in names("text"):
        p = from_spec(get(name).variant_id)
        assert [p.supports(k) for k in ("image", "boxes", "text", "words", "qa")] == [
            False,
            False,
            True,
            True,
            True,
        ]
    assert get("flipped").supports("boxes") and get("flipped").supports("image")
    assert not get("flipped").supports("words") and get("flipped").modality == "image"
    with pytest.raises(ValueError, match="kind must be one of"):
        get("typos").supports("video")
    by_name = {e["name"]: e for e in describe_all()}
    assert by_name["typos"]["supports"] == ["text", "words", "qa"]
    assert by_name["jpeg"]["supports"] == ["image", "boxes"]


# Question answering


def random_qa(rng: random.Random) -> tuple[str, str, list[tuple[str, int]]]:
    """A context of vocabulary words and varied whitespace, with 0–3 answers: whole words, parts
    of words, overlapping, with spaces inside, or of punctuation only."""
    seps = (" ", " ", " ", "  ", "\n", " \t")
    context = "".join(rng.choice(VOCAB) + rng.choice(seps) for _ in range(rng.randint(1, 40)))
    context = rng.choice(("", " ")) + context.rstrip() + rng.choice(("", " ", "."))
    question = " ".join(rng.choice(VOCAB) for _ in range(rng.randint(1, 8))) + "?"
    answers = []
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        start = rng.randrange(len(context))
        end = rng.randint(start + 1, min(len(context), start + 30))
        if context[start:end].strip():
            answers.append((context[start:end], start))
    if answers and rng.random() < 0.3:
        answers.append(answers[0])
    return question, context, answers


ITEMS = [random_qa(random.Random(10_000 + i)) for i in range(N)]


def expected_answer(p: Perturbation, context: str, answers: list[tuple[str, int]], k: int) -> str:
    """What answer ``k``'s text becomes when the context is perturbed."""
    answer, start = answers[k]
    if p.name in ("lowercase", "uppercase"):
        return answer.lower() if p.name == "lowercase" else answer.upper()
    if p.name == "no_punctuation":  # answers of punctuation only keep their characters
        kept = {
            i
            for a, s in answers
            if not text_fns.no_punctuation(a, random.Random()).strip()
            for i in range(s, s + len(a))
        }
        positions = range(start, start + len(answer))
        return "".join(
            context[i] for i in positions if i in kept or not text_fns.is_punctuation(context[i])
        )
    return answer


@pytest.mark.parametrize("p", VARIANTS, ids=ids(VARIANTS))
def test_answers_stay_exact_slices_of_the_context(p: Perturbation) -> None:
    changed = 0
    for index, (question, context, answers) in enumerate(ITEMS):
        out = p.apply_qa(question, context, answers, seed=SEED, index=index, target="context")
        assert out.question == question and len(out.answers) == len(answers)
        changed += out.context != context
        for k, ((old, _), (new, start)) in enumerate(zip(answers, out.answers, strict=True)):
            assert out.context[start : start + len(new)] == new and new.strip()
            if p.name == "word_dropout":
                assert new.split() == old.split()
            elif "Σ" not in old:  # final sigma depends on what follows the answer
                assert new == expected_answer(p, context, answers, k)
    assert changed > N / 2


@pytest.mark.parametrize("p", VARIANTS, ids=ids(VARIANTS))
def test_question_changes_as_a_text_and_targets_combine(p: Perturbation) -> None:
    for index, (question, context, answers) in enumerate(ITEMS[:100]):
        asked = p.apply_qa(question, context, answers, seed=SEED, index=index, target="question")
        [text] = p.apply_texts([question], seed=SEED, start=index)
        assert asked == QAExample(text, context, answers)
        read = p.apply_qa(question, context, answers, seed=SEED, index=index, target="context")
        both = p.apply_qa(question, context, answers, seed=SEED, index=index, target="both")
        assert both == QAExample(asked.question, read.context, read.answers)


@pytest.mark.parametrize("p", VARIANTS, ids=ids(VARIANTS))
def test_qa_is_seeded_per_item(p: Perturbation) -> None:
    order = list(range(N))
    random.Random(5).shuffle(order)

    def run(i: int, seed: int = SEED) -> QAExample:
        return p.apply_qa(*ITEMS[i], seed=seed, index=i, target="both")

    alone = {i: run(i) for i in order}
    assert alone == {i: run(i) for i in range(N)}
    if p.stochastic:
        assert [run(i, SEED + 1) for i in range(N)] != [alone[i] for i in range(N)]


def test_unanswerable_stays_unanswerable() -> None:
    for p in VARIANTS:
        out = p.apply_qa("Who?", "Nobody knows .", [], seed=0, index=0, target="both")
        assert out.answers == [] and out.context


@pytest.mark.parametrize("name", ["typos", "word_dropout"])
def test_context_without_answers_changes_as_a_text(name: str) -> None:
    context_fn = getattr(span_fns, f"{name}_context")
    text_fn = getattr(text_fns, name)
    for i, (_, context, _) in enumerate(ITEMS):
        new, offsets = context_fn(context, [], random.Random(i), rate=0.3)
        assert new == text_fn(context, random.Random(i), rate=0.3)
        assert len(offsets) == len(context) + 1 and offsets[-1] == len(new)


def test_qa_examples() -> None:
    context = "Ada met Babbage in  London (1833)."
    answers = [("Babbage", 8), ("in  London", 16), ("(1833)", 27)]
    assert get("lowercase").apply_qa("Who?", context, answers, seed=0, index=0, target="both") == (
        QAExample("who?", context.lower(), [("babbage", 8), ("in  london", 16), ("(1833)", 27)])
    )
    out = get("no_punctuation").apply_qa("Who?", context, answers, seed=0, index=0, target="both")
    assert out == QAExample("Who", "Ada met Babbage in  London 1833", [*answers[:2], ("1833", 27)])
    quote = 'He said "—" twice.'
    out = get("no_punctuation").apply_qa("?", quote, [("—", 9)], seed=0, index=0, target="context")
    assert out == QAExample("?", "He said — twice", [("—", 8)])
    greek = get("lowercase").apply_qa(
        "?", "ΟΔΟΣ ΟΔΟΣ", [("ΟΔΟΣ", 0)], seed=0, index=0, target="context"
    )
    assert greek == QAExample("?", "οδος οδος", [("οδος", 0)])
    german = get("uppercase").apply_qa(
        "?", "Straße in Köln", [("Köln", 10)], seed=0, index=0, target="context"
    )
    assert german == QAExample("?", "STRASSE IN KÖLN", [("KÖLN", 11)])
    heavy = get("word_dropout", rate=0.5)
    for index in range(20):
        out = heavy.apply_qa("?", context, answers[1:2], seed=0, index=index, target="context")
        assert out.answers[0][0] == "in London" and "in London" in out.context
        typo = get("typos", rate=0.5).apply_qa(
            "?", context, answers, seed=0, index=index, target="context"
        )
        assert [a for a, _ in typo.answers] == [a for a, _ in answers]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([("Babbage", 7)], "answer 0 'Babbage' is not the context's text at 7 (' Babbag')"),
        ([("Ada", 0), ("Ada", -1)], "answer 1 'Ada' is not the context's text at -1"),
        ([(" ", 3)], "answer 0 is blank"),
        ([("Ada",)], "answer 0 must be a (text, start) pair"),
        ([("Ada", "0")], "answer 0 must be a (text, start) pair"),
        ([("Ada", True)], "answer 0 must be a (text, start) pair"),
    ],
)
def test_bad_answers_are_refused(answers: list, message: str) -> None:
    with pytest.raises(AlignmentError, match=re.escape(message)):
        get("typos").apply_qa(
            "Who?", "Ada met Babbage.", answers, seed=0, index=0, target="context"
        )


def test_bad_target_is_refused() -> None:
    with pytest.raises(ValueError, match="target must be one of"):
        get("typos").apply_qa("Who?", "Ada.", [], seed=0, index=0, target="answer")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["lowercase", "uppercase"])
def test_case_changes_that_change_lengths_keep_offsets(name: str) -> None:
    """Characters whose case mapping is longer (ß -> SS, İ -> i̇, ﬁ -> FI) shift later answers."""
    convert = str.lower if name == "lowercase" else str.upper
    special = [chr(c) for c in range(0x10000) if len(convert(chr(c))) != 1]
    assert special  # İ lowers to two characters, ß uppercases to two
    context = "ΣΑΣ " + " ".join(f"{ch}x" for ch in special)
    answers = [(f"{ch}x", context.index(f" {ch}x") + 1) for ch in special]
    out = get(name).apply_qa("?", context, answers, seed=0, index=0, target="context")
    assert out.context == convert(context)
    assert [a for a, _ in out.answers] == [convert(a) for a, _ in answers]
