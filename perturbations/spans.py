"""Text perturbations that keep their targets aligned: word tags (NER) and answer spans (QA).

One registered perturbation (one ``variant_id``, e.g. ``typos(rate=0.05)``) serves plain texts,
tagged words and question answering; the task type picks the method. `Perturbation.supports`
tells which inputs a perturbation takes (``"words"``, ``"qa"``, ...), so a module can be checked.

Words with tags — ``apply_words(words, tags, *, seed, index, labels=None) -> (words, tags)``:
one sentence as words with one tag each, IOB2 names (``O``, ``B-PER``, ``I-PER``) or ids with
``labels`` (their names in id order, e.g. a ``ClassLabel``'s). Words are never merged or split.

- ``lowercase``, ``uppercase`` and ``typos`` change each word on its own; tags stay. Typos draw
  from the item's stream as on the space-joined sentence, so they equal ``apply_texts`` there.
- ``word_dropout`` drops words with their tags, as on the sentence; one word survives at least.
- ``no_punctuation`` removes punctuation inside words; a word of punctuation only is dropped with
  its tag (a sentence of punctuation only is left as it is).
- After a drop, an ``I-X`` tag whose entity lost the words before it becomes ``B-X``: an entity
  that lost its first word stays an entity of its own, and the tags stay valid IOB2.

Question answering — ``apply_qa(question, context, answers, *, seed, index, target)`` ->
`QAExample`: ``answers`` are ``(text, start)`` pairs, ``start`` a character offset into the
context; ``target`` is ``"question"``, ``"context"`` or ``"both"``. The question changes exactly as
``apply_texts`` changes it. In a perturbed context every answer's start is recomputed and its
text is the new context's slice, so ``context[start:start + len(text)] == text`` always holds;
no answers in, no answers out (an unanswerable question stays so).

- ``lowercase`` and ``uppercase`` change answers with their context (``"Paris"`` -> ``"PARIS"``),
  so case gives no hint; so does ``no_punctuation`` (``"(1990)"`` -> ``"1990"``), except that an
  answer of punctuation only keeps its characters.
- ``typos`` and ``word_dropout`` never touch an answer's characters: typos fall outside answers
  and a word overlapping an answer is never dropped. Word dropout joins the kept words with one
  space, as on texts, so ``"New  York"`` reads ``"New York"`` after it.

Randomness follows the registry's rule: a sentence or a question draws from ``(seed, index)``, a
context from a second stream of the same item, so a result depends neither on the batch around
it nor on whether the question is perturbed too.

Example:
    >>> from perturbations import get
    >>> get("word_dropout", rate=0.5).apply_words(
    ...     ["Ada", "Lovelace", "met", "Babbage"], ["B-PER", "I-PER", "O", "B-PER"], seed=0, index=1
    ... )
    (['Lovelace', 'met'], ['B-PER', 'O'])
    >>> get("uppercase").apply_qa("Who?", "Ada met Babbage.", [("Babbage", 8)], seed=0, index=0,
    ...     target="context").answers
    [('BABBAGE', 8)]
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Integral
from typing import Literal, TypeVar

from perturbations import text
from perturbations.base import ContextFn, ParamValue, WordsFn, python_rng
from perturbations.errors import AlignmentError

QATarget = Literal["question", "context", "both"]
QA_TARGETS: tuple[QATarget, ...] = ("question", "context", "both")
CONTEXT_STREAM = "context"
Tag = TypeVar("Tag", str, int)
Span = tuple[int, int]
_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class QAExample:
    """A question-answering item: each answer is ``(text, start)``, a slice of ``context``."""

    question: str
    context: str
    answers: list[tuple[str, int]] = field(default_factory=list)


# Words: each function returns the new words and, for each, the index of the word it came from.


def lowercase_words(words: list[str], rng: random.Random) -> tuple[list[str], list[int]]:
    return [w.lower() for w in words], list(range(len(words)))


def uppercase_words(words: list[str], rng: random.Random) -> tuple[list[str], list[int]]:
    return [w.upper() for w in words], list(range(len(words)))


def typos_words(
    words: list[str], rng: random.Random, *, rate: float
) -> tuple[list[str], list[int]]:
    return [text.typos(w, rng, rate=rate) for w in words], list(range(len(words)))


def no_punctuation_words(words: list[str], rng: random.Random) -> tuple[list[str], list[int]]:
    stripped = [text.no_punctuation(w, rng) for w in words]
    kept = [i for i, (old, new) in enumerate(zip(words, stripped, strict=True)) if new or not old]
    if not kept:
        return list(words), list(range(len(words)))
    return [stripped[i] for i in kept], kept


def word_dropout_words(
    words: list[str], rng: random.Random, *, rate: float
) -> tuple[list[str], list[int]]:
    kept = [i for i in range(len(words)) if rng.random() >= rate]
    if not kept and words:
        kept = [int(rng.random() * len(words))]
    return [words[i] for i in kept], kept


def perturb_words(
    fn: WordsFn,
    words: Sequence[str],
    tags: Sequence[Tag],
    *,
    rng: random.Random,
    params: dict[str, ParamValue],
    index: int,
    labels: Sequence[str] | None,
) -> tuple[list[str], list[Tag]]:
    """Applies a words function to one sentence and carries its tags along (see module doc)."""
    if isinstance(words, str):
        raise TypeError("apply_words takes a sequence of words, not one str")
    if not all(isinstance(w, str) for w in words):
        raise TypeError("apply_words takes words as str")
    _check_tags(words, tags, labels, index)
    new_words, kept = fn(list(words), rng, **params)
    if len(kept) == len(words):
        return new_words, list(tags)
    return new_words, _retag(tags, kept, labels, index)


def _check_tags(
    words: Sequence[str], tags: Sequence[Tag], labels: Sequence[str] | None, index: int
) -> None:
    if len(words) != len(tags):
        raise AlignmentError(
            f"{len(words)} words but {len(tags)} tags: give one tag per word", index=index
        )
    if all(isinstance(t, str) for t in tags):
        return
    if not all(isinstance(t, Integral) and not isinstance(t, bool) for t in tags):
        raise AlignmentError("tags must be all names (str) or all ids (int)", index=index)
    if labels is None:
        raise AlignmentError(
            "tags are ids: pass labels=, the tag names in id order (e.g. a ClassLabel's names)",
            index=index,
        )
    for t in tags:
        if not 0 <= int(t) < len(labels):
            raise AlignmentError(
                f"tag id {t} is not an index of labels ({len(labels)} names)", index=index
            )


def _entities(names: Sequence[str]) -> list[int | None]:
    """The entity each IOB2 tag belongs to, numbered in order; None outside entities."""
    ids: list[int | None] = []
    current: int | None = None
    kind = ""
    for name in names:
        prefix, _, label = name.partition("-")
        if not (prefix == "I" and current is not None and label == kind):
            starts = prefix in ("B", "I") and bool(label)
            current, kind = (len(ids), label) if starts else (None, "")
        ids.append(current)
    return ids


def _retag(
    tags: Sequence[Tag], kept: list[int], labels: Sequence[str] | None, index: int
) -> list[Tag]:
    """The kept tags, with ``I-X`` made ``B-X`` where its entity's previous words were dropped."""
    names = [_name(t, labels) for t in tags]
    entity = _entities(names)
    out = [tags[j] for j in kept]
    for k, j in enumerate(kept):
        if names[j].startswith("I-") and (k == 0 or entity[kept[k - 1]] != entity[j]):
            out[k] = _begin(tags[j], "B-" + names[j][2:], labels, index)
    return out


def _name(tag: str | int, labels: Sequence[str] | None) -> str:
    if isinstance(tag, str):
        return tag
    assert labels is not None  # checked with the tags
    return labels[tag]


def _begin(tag: Tag, name: str, labels: Sequence[str] | None, index: int) -> Tag:
    if isinstance(tag, str):
        return name
    assert labels is not None  # checked with the tags
    if name not in labels:
        raise AlignmentError(
            f"an entity lost its first word but labels have no {name!r} to start it again: "
            "give IOB2 labels (a B- name beside every I- name)",
            index=index,
        )
    return list(labels).index(name)


# Contexts: each function returns the new context and the new offset of every old offset.


class _Rebuild:
    """A new text built piece by piece, with the new offset of every old character offset."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offsets: list[int] = []
        self.length = 0

    def keep(self, chunk: str) -> None:
        self.offsets.extend(range(self.length, self.length + len(chunk)))
        self._add(chunk)

    def replace(self, old_length: int, new: str) -> None:
        self.offsets.extend(itertools.repeat(self.length, old_length))
        self._add(new)

    def _add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.length += len(chunk)

    def result(self) -> tuple[str, list[int]]:
        return "".join(self.parts), [*self.offsets, self.length]


def _per_character(context: str, convert: Callable[[str], str]) -> tuple[str, list[int]]:
    """``convert`` on the whole context (Greek final sigma needs it), offsets from each character:
    ``len(convert(context))`` is the sum of its characters' lengths for str.lower and str.upper."""
    lengths = (len(convert(ch)) for ch in context)
    return convert(context), list(itertools.accumulate(lengths, initial=0))


def lowercase_context(context: str, spans: list[Span], rng: random.Random) -> tuple[str, list[int]]:
    return _per_character(context, str.lower)


def uppercase_context(context: str, spans: list[Span], rng: random.Random) -> tuple[str, list[int]]:
    return _per_character(context, str.upper)


def no_punctuation_context(
    context: str, spans: list[Span], rng: random.Random
) -> tuple[str, list[int]]:
    keep = [not text.is_punctuation(ch) for ch in context]
    bare = [(s, e) for s, e in spans if not text.no_punctuation(context[s:e], rng).strip()]
    for start, end in bare:  # answers of punctuation only keep their characters
        keep[start:end] = [True] * (end - start)
    kept = "".join(ch for ch, k in zip(context, keep, strict=True) if k)
    return kept, list(itertools.accumulate(map(int, keep), initial=0))


def typos_context(
    context: str, spans: list[Span], rng: random.Random, *, rate: float
) -> tuple[str, list[int]]:
    build, pos = _Rebuild(), 0
    for start, end in [*_merge(spans), (len(context), len(context))]:
        free = context[pos:start]
        build.replace(len(free), text.typos(free, rng, rate=rate))
        build.keep(context[start:end])
        pos = end
    return build.result()


def word_dropout_context(
    context: str, spans: list[Span], rng: random.Random, *, rate: float
) -> tuple[str, list[int]]:
    tokens = [m.span() for m in _TOKEN.finditer(context)]
    if not tokens:
        return context, list(range(len(context) + 1))
    answers = _merge(spans)
    kept = [rng.random() >= rate or _overlaps(token, answers) for token in tokens]
    if not any(kept):
        kept[int(rng.random() * len(tokens))] = True
    build, pos = _Rebuild(), 0
    for (start, end), keep in zip(tokens, kept, strict=True):
        if keep:
            build.replace(start - pos, " " if build.length else "")
            build.keep(context[start:end])
            pos = end
    build.replace(len(context) - pos, "")
    return build.result()


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _overlaps(token: Span, spans: list[Span]) -> bool:
    return any(start < token[1] and token[0] < end for start, end in spans)


def perturb_qa(
    texts_fn: Callable[..., str],
    context_fn: ContextFn,
    question: str,
    context: str,
    answers: Sequence[tuple[str, int]],
    *,
    seed: int,
    index: int,
    target: QATarget,
    params: dict[str, ParamValue],
) -> QAExample:
    """Perturbs the question and/or the context of one item, moving its answers (see module doc)."""
    if target not in QA_TARGETS:
        raise ValueError(f"target must be one of {QA_TARGETS} (got {target!r})")
    if not isinstance(question, str) or not isinstance(context, str):
        raise TypeError("apply_qa takes the question and the context as str")
    spans = _answer_spans(context, answers, index)
    if target != "context":
        question = texts_fn(question, python_rng(seed, index), **params)
    if target == "question":
        return QAExample(question, context, [(context[s:e], s) for s, e in spans])
    rng = python_rng(seed, index, CONTEXT_STREAM)
    new_context, offsets = context_fn(context, spans, rng, **params)
    moved = [(new_context[offsets[s] : offsets[e]], offsets[s]) for s, e in spans]
    return QAExample(question, new_context, moved)


def _answer_spans(context: str, answers: Sequence[tuple[str, int]], index: int) -> list[Span]:
    spans: list[Span] = []
    for k, answer in enumerate(answers):
        if not (
            isinstance(answer, tuple | list)
            and len(answer) == 2
            and isinstance(answer[0], str)
            and isinstance(answer[1], Integral)
            and not isinstance(answer[1], bool)
        ):
            raise AlignmentError(
                f"answer {k} must be a (text, start) pair, start an int (got {answer!r})",
                index=index,
            )
        answer_text, start = answer[0], int(answer[1])
        end = start + len(answer_text)
        if not answer_text.strip():
            raise AlignmentError(f"answer {k} is blank ({answer_text!r}): drop it", index=index)
        if start < 0 or context[start:end] != answer_text:
            raise AlignmentError(
                f"answer {k} {answer_text!r} is not the context's text at {start} "
                f"({context[max(start, 0) : max(end, 0)]!r}): give its start as a character "
                "offset into the context",
                index=index,
            )
        spans.append((start, end))
    return spans
