"""Extractive question answering: from a model's start/end logits to answer spans of the context.

The rules are those of transformers' ``QuestionAnsweringPipeline`` (its last release, 5.2, with
the default ``align_to_words=True``), batched over many examples:

1. ``prepare`` tokenises (question, context) pairs as the pipeline does: the question first
   (the context first when the tokenizer pads on the left), the context truncated to
   ``max_length`` and split into overlapping features (``stride`` tokens shared), with offsets.
   A long context thus gives several features, each scored on its own.
2. ``decode`` turns each feature's logits into probabilities by a softmax over its context
   tokens and its first token (the CLS of BERT-like models); the first token's start × end
   probability is the null score, then it is ruled out. The ``top_k * 2 + 10`` best spans with
   ``start <= end`` and at most ``max_answer_len`` tokens are widened to whole words (the words
   the start and end tokens belong to, within that feature) and cut from the context. Spans of
   all features of one example with the same text (case-insensitive) are one answer: the first
   one's characters, the sum of their scores. With ``handle_impossible_answer`` the empty answer
   competes with the example's lowest null score. The ``top_k`` best answers are kept.

Two deliberate differences: question tokens are never answers, also for tokenizers that pad on
the left (the pipeline leaves them unmasked there), and spans of probability 0 (touching the
first token) are never returned, so an example may have fewer than ``top_k`` answers.

Scores are probabilities (products of start and end probabilities). ``Prediction.text`` and
``Prediction.no_answer_probability`` are what ``evaluators.squad.squad_v2`` takes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from evaluators.errors import AnswerInputError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_MASKED = -10000.0  # the pipeline's logit for tokens outside the softmax


@dataclass(frozen=True)
class Features:
    """The tokenised features of a batch of examples, one row per feature (``F`` rows, ``L``
    tokens each, padded on the right).

    ``inputs`` are the model's inputs (the tokenizer's ``model_input_names``). ``allowed`` marks
    the tokens inside the softmax (context tokens and the CLS token), ``in_context`` the tokens
    an answer may start or end on. ``char_start``/``char_end`` are, per context token, the
    characters of the context that its word covers in this feature (-1 elsewhere).
    """

    inputs: dict[str, IntArray]
    example_index: IntArray  # (F,) the example each feature belongs to, ascending
    allowed: BoolArray  # (F, L)
    in_context: BoolArray  # (F, L)
    char_start: IntArray  # (F, L)
    char_end: IntArray  # (F, L)
    num_examples: int

    def __len__(self) -> int:
        return len(self.example_index)


@dataclass(frozen=True)
class Answer:
    """One answer: ``context[start:end] == text``; ``score`` is its probability."""

    text: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Prediction:
    """The answers of one example, best first (at most ``top_k``).

    ``no_answer_probability``: the example's null score (the probability of the empty span on
    the first token, lowest over its features), computed whether or not the empty answer
    competed.
    """

    answers: tuple[Answer, ...]
    no_answer_probability: float

    @property
    def text(self) -> str:
        """The best answer's text; ``""`` when there is none or the empty answer won."""
        return self.answers[0].text if self.answers else ""


def prepare(
    tokenizer: PreTrainedTokenizerBase,
    questions: Sequence[str],
    contexts: Sequence[str],
    *,
    max_length: int = 384,
    stride: int = 128,
) -> Features:
    """Tokenise (question, context) pairs into features, as the pipeline does.

    Args:
        tokenizer: a fast (Rust) tokenizer: the character offsets come from it.
        questions: one question per example.
        contexts: the context of each question.
        max_length: tokens per feature, at most the tokenizer's ``model_max_length``.
        stride: tokens of context that consecutive features of one example share.

    Raises:
        AnswerInputError: a slow tokenizer, an empty question or context, or a question too
            long to leave more than ``stride`` tokens of context.

    Example:
        >>> features = prepare(tokenizer, ["Who won?"], ["The Denver Broncos won."])  # doctest: +SKIP
        >>> features.inputs["input_ids"].shape  # doctest: +SKIP
        (1, 11)
    """
    if not getattr(tokenizer, "is_fast", False):
        raise AnswerInputError(
            f"{type(tokenizer).__name__} is a slow tokenizer without character offsets: load "
            "the model's fast tokenizer (AutoTokenizer with use_fast=True, needs tokenizer.json)"
        )
    if len(questions) != len(contexts):
        raise AnswerInputError(f"{len(questions)} questions for {len(contexts)} contexts")
    if not questions:
        raise AnswerInputError("no examples: give at least one question and its context")
    for i, (question, context) in enumerate(zip(questions, contexts, strict=True)):
        if not question.strip() or not context.strip():
            which = "question" if not question.strip() else "context"
            raise AnswerInputError(f"the {which} is empty", index=i)
    max_length = min(max_length, tokenizer.model_max_length)
    _check_room(tokenizer, questions, max_length, stride)

    question_first = tokenizer.padding_side == "right"
    encoded = tokenizer(
        list(questions if question_first else contexts),
        list(contexts if question_first else questions),
        truncation="only_second" if question_first else "only_first",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="longest",
        padding_side="right",
        return_tensors="np",
    )
    context_sequence = 1 if question_first else 0
    sequence_ids = _ids(enc.sequence_ids for enc in encoded.encodings)
    word_ids = _ids(enc.word_ids for enc in encoded.encodings)
    attention = encoded["attention_mask"].astype(np.bool_)
    in_context = (sequence_ids == context_sequence) & attention
    allowed = in_context.copy()
    if tokenizer.cls_token_id is not None:  # kept: some models mark "no answer" on it
        allowed |= (encoded["input_ids"] == tokenizer.cls_token_id) & attention
    char_start, char_end = _word_chars(encoded["offset_mapping"], word_ids, in_context)
    return Features(
        inputs={name: encoded[name] for name in tokenizer.model_input_names if name in encoded},
        example_index=encoded["overflow_to_sample_mapping"].astype(np.int64),
        allowed=allowed,
        in_context=in_context,
        char_start=char_start,
        char_end=char_end,
        num_examples=len(questions),
    )


def _check_room(
    tokenizer: PreTrainedTokenizerBase, questions: Sequence[str], max_length: int, stride: int
) -> None:
    """Refuse what the tokenizer would fail on (or panic on): no room for ``stride`` + 1 tokens."""
    if stride < 0:
        raise AnswerInputError(f"stride {stride} is negative: give 0 or more tokens")
    special = tokenizer.num_special_tokens_to_add(pair=True)
    lengths = [
        len(ids) for ids in tokenizer(list(questions), add_special_tokens=False)["input_ids"]
    ]
    for i, length in enumerate(lengths):
        room = max_length - special - length
        if room <= stride:
            raise AnswerInputError(
                f"the question has {length} tokens, which leaves {max(room, 0)} of the "
                f"{max_length} tokens per feature for the context, not more than stride "
                f"{stride}: raise max_length or lower stride",
                index=i,
            )


def _ids(rows: Iterable[Sequence[int | None]]) -> IntArray:
    """Per-token ids of each encoding (``None`` as -1), as an (F, L) array."""
    return np.array([[-1 if value is None else value for value in row] for row in rows], np.int64)


def _word_chars(
    offsets: IntArray, word_ids: IntArray, in_context: BoolArray
) -> tuple[IntArray, IntArray]:
    """Per context token, the first and last character of its word in the same feature.

    As the tokenizer's ``word_to_chars``: from the start of the word's first token to the end
    of its last token, among the tokens of that word in this feature.
    """
    num_features, length = word_ids.shape
    feature, token = np.nonzero(in_context)
    words = word_ids[feature, token]
    key = feature * (int(word_ids.max()) + 1) + words
    first = np.full(key.max() + 1, length, dtype=np.int64)
    last = np.full(key.max() + 1, -1, dtype=np.int64)
    np.minimum.at(first, key, token)
    np.maximum.at(last, key, token)
    char_start = np.full((num_features, length), -1, dtype=np.int64)
    char_end = np.full((num_features, length), -1, dtype=np.int64)
    char_start[feature, token] = offsets[feature, first[key], 0]
    char_end[feature, token] = offsets[feature, last[key], 1]
    return char_start, char_end


def decode(
    features: Features,
    start_logits: npt.ArrayLike,
    end_logits: npt.ArrayLike,
    contexts: Sequence[str],
    *,
    top_k: int = 1,
    max_answer_len: int = 15,
    handle_impossible_answer: bool = False,
) -> list[Prediction]:
    """The answers of each example from the model's logits over its features.

    Args:
        features: what ``prepare`` made of the examples.
        start_logits: (F, L) start logits, one row per feature (float numpy arrays; convert
            torch tensors with ``.float().cpu().numpy()``).
        end_logits: (F, L) end logits.
        contexts: the contexts given to ``prepare``.
        top_k: answers to keep per example.
        max_answer_len: the longest answer, in tokens.
        handle_impossible_answer: let the empty answer (no answer) compete with the spans.

    Returns:
        One ``Prediction`` per example, in the order of the examples.

    Raises:
        AnswerInputError: logits of another shape than the features, contexts of another
            count, or ``top_k``/``max_answer_len`` below 1.
    """
    if top_k < 1 or max_answer_len < 1:
        raise AnswerInputError(
            f"top_k {top_k} and max_answer_len {max_answer_len} must be at least 1"
        )
    if len(contexts) != features.num_examples:
        raise AnswerInputError(
            f"{len(contexts)} contexts for features of {features.num_examples} examples: give "
            "the contexts given to prepare"
        )
    start = _probabilities(start_logits, features, "start")
    end = _probabilities(end_logits, features, "end")
    null = start[:, 0] * end[:, 0]
    start[:, 0] = end[:, 0] = 0.0
    starts, ends, scores = _best_spans(
        start, end, features.in_context, top_k * 2 + 10, max_answer_len
    )

    answers: list[dict[str, Answer]] = [{} for _ in range(features.num_examples)]
    for f, example in enumerate(features.example_index.tolist()):
        merged = answers[example]
        context = contexts[example]
        for s, e, score in zip(starts[f], ends[f], scores[f], strict=True):
            if score <= 0.0:
                break
            char_start = int(features.char_start[f, s])
            char_end = int(features.char_end[f, e])
            text = context[char_start:char_end]
            seen = merged.get(text.lower())
            if seen is None:
                merged[text.lower()] = Answer(text, char_start, char_end, float(score))
            else:
                merged[text.lower()] = Answer(seen.text, seen.start, seen.end, seen.score + score)

    lowest_null = np.full(features.num_examples, np.inf)
    np.minimum.at(lowest_null, features.example_index, null)
    predictions = []
    for example, merged in enumerate(answers):
        candidates = list(merged.values())
        if handle_impossible_answer:
            candidates.append(Answer("", 0, 0, float(lowest_null[example])))
        best = sorted(candidates, key=lambda answer: answer.score, reverse=True)[:top_k]
        predictions.append(Prediction(tuple(best), float(lowest_null[example])))
    return predictions


def _probabilities(logits: npt.ArrayLike, features: Features, name: str) -> FloatArray:
    """Softmax of each feature's logits over its allowed tokens (others get probability 0)."""
    values = np.asarray(logits, dtype=np.float64)
    if values.shape != features.allowed.shape:
        raise AnswerInputError(
            f"{name} logits of shape {values.shape} for features of shape "
            f"{features.allowed.shape}: give one row of logits per feature"
        )
    values = np.where(features.allowed, values, _MASKED)
    values = np.exp(values - values.max(axis=1, keepdims=True))
    return values / values.sum(axis=1, keepdims=True)


def _best_spans(
    start: FloatArray, end: FloatArray, in_context: BoolArray, count: int, max_answer_len: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """Per feature, the ``count`` best (start, end) token pairs inside the context, best first.

    Spans run over ``start <= end < start + max_answer_len``; a score is the product of the
    start and end probabilities. Ties go to the earlier start, then the shorter span.
    """
    num_features, length = start.shape
    width = min(max_answer_len, length)
    padded_end = np.concatenate([end, np.zeros((num_features, width - 1))], axis=1)
    padded_ok = np.concatenate([in_context, np.zeros((num_features, width - 1), bool)], axis=1)
    # [f, i, k]: the span from token i to token i + k
    end_window = np.lib.stride_tricks.sliding_window_view(padded_end, width, axis=1)
    ok_window = np.lib.stride_tricks.sliding_window_view(padded_ok, width, axis=1)
    span_scores = np.where(
        in_context[:, :, None] & ok_window, start[:, :, None] * end_window, 0.0
    ).reshape(num_features, length * width)
    order = np.argsort(-span_scores, axis=1, kind="stable")[:, :count]
    scores = np.take_along_axis(span_scores, order, axis=1)
    starts = order // width
    return starts, starts + order % width, scores
