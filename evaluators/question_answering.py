"""Extractive question answering: the split, the model, and the scores of one evaluation.

A split holds its questions, contexts and gold answers (``(text, start)`` pairs, ``start`` a
character offset into the context) in memory: SQuAD v2's validation split is 12k questions,
about 10 MB of text. A perturbed variant perturbs the question and the context of each row as
its batch is read (``Perturbation.apply_qa``, target ``both``, item index = row index), moving the
gold answers with the context, so a variant is scored against answers that are its own context's.

The model (:class:`QuestionAnswerer`) answers batches of questions as transformers' pipeline did
(:mod:`evaluators.qa_spans`): a context longer than ``max_length`` tokens is cut into features
that share ``stride`` tokens, answers are at most ``MAX_ANSWER_LEN`` tokens, widened to words.

:func:`score` scores the answers by SQuAD's rules (:mod:`evaluators.squad`) and groups the
questions by the type of their first gold answer (``answer: number``) and by their question word
(``question: who``). Groups are taken from the original questions and answers, so a variant's
groups are the original's (a typo in "Who" does not move a question to ``question: other``).

Example:
    >>> split = load_qa_split(module, revision)  # doctest: +SKIP
    >>> answerer = QuestionAnswerer.load("org/model", folder, torch.device("cpu"))  # doctest: +SKIP
    >>> answered = answerer.predict(split, options, handle_impossible_answer=split.unanswerable)
    ... # doctest: +SKIP
    >>> score(split, answered).metrics["f1"]  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import torch
from transformers import AutoModelForQuestionAnswering

from evaluators.datasets_io import DatasetError, load_rows
from evaluators.loading import load_config, load_tokenizer, load_transformers_model
from evaluators.metadata import SNIPPET
from evaluators.predictions import Options, autocast
from evaluators.progress import tracked
from evaluators.qa_spans import Prediction, decode, prepare
from evaluators.squad import (
    ANSWER_TYPES,
    QUESTION_WORDS,
    answer_type,
    group_scores,
    question_word,
    squad_v1,
    squad_v2,
)
from evaluators.text_classification import length_order
from perturbations.spans import QAExample
from store.types import ClassResult, DatasetExampleRecord, Misclassification

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from evaluators.config import EvaluationModule
    from perturbations import Perturbation

STRIDE = 128  # tokens of context shared by consecutive features (the pipeline's doc_stride)
MAX_ANSWER_LEN = 30  # tokens
WRONG_ANSWERS = 50  # the most confident wrong answers kept per result
EXAMPLES_PER_TYPE = 5  # questions shown per answer type
NO_ANSWER = "(no answer)"
# Every group a result may hold, in class-id order: answer types, then question words.
GROUPS = (
    *(f"answer: {name}" for name in ANSWER_TYPES),
    *(f"question: {word}" for word in QUESTION_WORDS),
)
Answers = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class QASplit:
    """A split of questions with their contexts and gold answers (``(text, start)`` pairs).

    ``perturbation``: the variant it is (None: the original); its rows are perturbed as read.
    """

    dataset_id: str
    revision: str
    split: str
    questions: Sequence[str]
    contexts: Sequence[str]
    answers: Sequence[Answers]
    perturbation: Perturbation | None = None
    seed: int = 0

    def __len__(self) -> int:
        return len(self.questions)

    @property
    def inputs(self) -> Sequence[str]:
        """The questions (what the split record counts)."""
        return self.questions

    @property
    def unanswerable(self) -> bool:
        """Whether some question has no gold answer: then SQuAD v2's rules apply."""
        return any(not answers for answers in self.answers)

    def class_counts(self, num_classes: int) -> list[int]:
        """Questions have no dataset classes: ``num_classes`` zeros (the module lists none)."""
        return [0] * num_classes

    def perturbed(self, perturbation: Perturbation, *, seed: int) -> QASplit:
        """This split as ``perturbation`` makes its questions and contexts, read lazily."""
        return dataclasses.replace(self, perturbation=perturbation, seed=seed)

    def read(self, rows: Iterable[int]) -> list[QAExample]:
        """The examples at ``rows``, perturbed if this split is a variant."""
        out = []
        for i in rows:
            question, context, answers = self.questions[i], self.contexts[i], self.answers[i]
            if self.perturbation is None:
                out.append(QAExample(question, context, list(answers)))
            else:
                out.append(
                    self.perturbation.apply_qa(
                        question, context, answers, seed=self.seed, index=i, target="both"
                    )
                )
        return out


def load_qa_split(module: EvaluationModule, revision: str) -> QASplit:
    """The module's questions, contexts and answers at ``revision`` (``limit`` rows at most).

    Answers are read from SQuAD's ``{"text": [...], "answer_start": [...]}`` (or a list of
    ``{"text", "answer_start"}``); blank answers are dropped, and a start that does not point
    at its text is moved to the nearest place in the context where the text is.

    Raises:
        DatasetError: a column is missing, an answer is not in that shape, or its text is not
            in its context.
    """
    ref = module.dataset
    ds = load_rows(module, revision)
    columns = ref.columns
    questions = [str(q) for q in ds[columns.role("question")]]
    contexts = [str(c) for c in ds[columns.role("context")]]
    answers = tuple(
        _answers(raw, context, i, module)
        for i, (raw, context) in enumerate(zip(ds[columns.role("answers")], contexts, strict=True))
    )
    return QASplit(ref.repo, revision, ref.split, questions, contexts, answers)


def _answers(raw: Any, context: str, row: int, module: EvaluationModule) -> Answers:
    where = f"{module.dataset.repo} row {row}"
    pairs: list[tuple[Any, Any]] | None = None
    if isinstance(raw, dict) and "text" in raw and "answer_start" in raw:
        texts, starts = list(raw["text"] or []), list(raw["answer_start"] or [])
        pairs = list(zip(texts, starts, strict=True)) if len(texts) == len(starts) else None
    elif isinstance(raw, list) and all(isinstance(a, dict) for a in raw):
        pairs = [(a.get("text"), a.get("answer_start")) for a in raw]
    if pairs is None or not all(isinstance(t, str) and isinstance(s, int) for t, s in pairs):
        raise DatasetError(
            f"{where}: answers {str(raw)[:120]} are not SQuAD's {{'text': [...], "
            f"'answer_start': [...]}}; name the answers column in dataset.columns.answers of the "
            f"module '{module.id}'",
            module=module.id,
        )
    out = []
    for text, start in pairs:
        if not text.strip():
            continue
        if context[start : start + len(text)] != text:
            found = list(_occurrences(context, text))
            if not found:
                raise DatasetError(
                    f"{where}: the answer {text!r} is not in its context; fix the dataset or "
                    f"leave it out of the module '{module.id}'",
                    module=module.id,
                )
            start = min(found, key=lambda i: abs(i - start))
        out.append((text, start))
    return tuple(out)


def _occurrences(context: str, text: str) -> Iterable[int]:
    at = context.find(text)
    while at >= 0:
        yield at
        at = context.find(text, at + 1)


@dataclass(frozen=True)
class Answered:
    """A split's predictions and the gold answers they are scored against (the variant's)."""

    predictions: list[Prediction]
    golds: list[list[str]]
    seconds: float  # reading, perturbing, tokenising, forward passes and decoding
    batch_size: int


@dataclass
class QuestionAnswerer:
    """An extractive question-answering model and its fast tokenizer."""

    repo_id: str
    model: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase
    device: torch.device
    id2label: dict[int, str] = field(default_factory=dict)  # no classes: nothing to map

    @classmethod
    def load(cls, repo_id: str, path: Path, device: torch.device) -> QuestionAnswerer:
        """Load from a local snapshot; safetensors only, never remote code.

        Raises:
            InsufficientMetadataError: no usable config, no fast tokenizer (answers are cut
                from the context by the offsets only a fast tokenizer gives), no padding token.
            IncompatibleLibraryError: the architecture has no question-answering head.
            EvaluationError: any other load failure (reason ``load error``).
        """
        config = load_config(repo_id, path)
        tokenizer = load_tokenizer(
            repo_id, path, fast_for="character offsets, by which answers are cut from the context"
        )
        model = load_transformers_model(
            repo_id,
            AutoModelForQuestionAnswering,
            path,
            config,
            kind="an extractive question-answering model",
            device=device,
        )
        return cls(repo_id=repo_id, model=model, tokenizer=tokenizer, device=device)

    def max_length(self, wanted: int) -> int:
        """Tokens per feature: ``wanted``, but never more than the model has positions."""
        positions = getattr(getattr(self.model, "config", None), "max_position_embeddings", None)
        if isinstance(positions, int) and positions > 0:
            return min(wanted, positions)
        return wanted

    @torch.inference_mode()
    def predict(
        self, split: QASplit, options: Options, *, handle_impossible_answer: bool
    ) -> Answered:
        """Answer every question of ``split``, ``options.batch_size`` questions at a time (of
        similar context length), features forwarded ``options.batch_size`` at a time."""
        max_length = self.max_length(options.max_length)
        stride = min(STRIDE, max_length // 2)
        order = length_order(split.contexts)
        size = options.batch_size
        predictions: list[Prediction | None] = [None] * len(split)
        golds: list[list[str]] = [[] for _ in range(len(split))]
        start = time.perf_counter()
        with autocast(self.device, options.precision), tracked(len(split)) as advance:
            for lo in range(0, len(split), size):
                rows = order[lo : lo + size].tolist()
                batch = split.read(rows)
                contexts = [example.context for example in batch]
                features = prepare(
                    self.tokenizer,
                    [example.question for example in batch],
                    contexts,
                    max_length=max_length,
                    stride=stride,
                )
                start_logits, end_logits = self._logits(features.inputs, size)
                answered = decode(
                    features,
                    start_logits,
                    end_logits,
                    contexts,
                    max_answer_len=MAX_ANSWER_LEN,
                    handle_impossible_answer=handle_impossible_answer,
                )
                for row, example, prediction in zip(rows, batch, answered, strict=True):
                    predictions[row] = prediction
                    golds[row] = [text for text, _ in example.answers]
                advance(len(rows))
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        done = [p for p in predictions if p is not None]
        return Answered(done, golds, time.perf_counter() - start, size)

    def _logits(
        self, inputs: dict[str, npt.NDArray[np.int64]], size: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Start and end logits of every feature, ``size`` features per forward pass.

        Features go in order of length, each pass cut to its longest (padding is on the right):
        the tail feature of a long context is not padded to a full one. Logits of padding are
        0 (``decode`` leaves them out).
        """
        ids = inputs["input_ids"]
        mask = inputs.get("attention_mask")
        lengths = mask.sum(axis=1) if mask is not None else np.full(len(ids), ids.shape[1])
        order = np.argsort(lengths, kind="stable")
        starts = np.zeros(ids.shape, dtype=np.float32)
        ends = np.zeros(ids.shape, dtype=np.float32)
        for lo in range(0, len(ids), size):
            rows = order[lo : lo + size]
            width = int(lengths[rows].max())
            batch = {
                name: torch.from_numpy(values[rows, :width]).to(self.device)
                for name, values in inputs.items()
            }
            output = self.model(**batch)
            starts[rows, :width] = output.start_logits.float().cpu().numpy()
            ends[rows, :width] = output.end_logits.float().cpu().numpy()
        return starts, ends


@dataclass(frozen=True)
class QAScores:
    """What a result stores: metrics (catalogue keys), groups and the wrong answers."""

    metrics: dict[str, float | None]
    classes: tuple[ClassResult, ...]
    wrong_answers: tuple[Misclassification, ...]


def score(split: QASplit, answered: Answered) -> QAScores:
    """SQuAD v2's rules when the split has unanswerable questions, else v1.1's (the v2 keys of
    the metrics are present only then), with the groups and the most confident wrong answers."""
    texts = [prediction.text for prediction in answered.predictions]
    if split.unanswerable:
        no_answer = [p.no_answer_probability for p in answered.predictions]
        scores = squad_v2(texts, answered.golds, no_answer)
        m = scores.metrics
        metrics: dict[str, float | None] = {
            "exact_match": m["exact"],
            "f1": m["f1"],
            "has_answer_exact_match": m.get("HasAns_exact"),
            "has_answer_f1": m.get("HasAns_f1"),
            "no_answer_accuracy": m.get("NoAns_exact"),
            "best_f1": m["best_f1"],
            "best_f1_threshold": m["best_f1_thresh"],
        }
    else:
        scores = squad_v1(texts, answered.golds)
        metrics = dict(scores.metrics)
    return QAScores(
        metrics,
        _groups(split, scores.exact, scores.f1),
        _wrong_answers(answered, scores.exact),
    )


def group_of(split: QASplit, row: int) -> str:
    """The answer-type group of row ``row``: the type of its first original gold answer."""
    answers = split.answers[row]
    return f"answer: {answer_type(answers[0][0] if answers else '')}"


def _groups(
    split: QASplit, exact: npt.NDArray[np.float64], f1: npt.NDArray[np.float64]
) -> tuple[ClassResult, ...]:
    by_type = [group_of(split, row) for row in range(len(split))]
    by_word = [f"question: {question_word(q)}" for q in split.questions]
    classes = []
    for groups in (by_type, by_word):
        for label, group in group_scores(groups, exact, f1).items():
            count = int(group.count)
            tp = round(float(group.exact) * count)  # exact is 0 or 1 per question
            classes.append(
                ClassResult(
                    class_id=GROUPS.index(label),
                    label=label,
                    tp=tp,
                    fp=0,
                    fn=count - tp,
                    support=count,
                    precision=None,
                    recall=None,
                    f1=None,
                    metrics={"exact_match": float(group.exact), "f1": float(group.f1)},
                )
            )
    return tuple(sorted(classes, key=lambda c: c.class_id))


def _wrong_answers(
    answered: Answered, exact: npt.NDArray[np.float64]
) -> tuple[Misclassification, ...]:
    """The ``WRONG_ANSWERS`` most confident answers that match no gold answer."""
    wrong = []
    for row, (prediction, golds) in enumerate(
        zip(answered.predictions, answered.golds, strict=True)
    ):
        if exact[row] >= 1.0:
            continue
        best = prediction.answers[0] if prediction.answers else None
        wrong.append(
            Misclassification(
                example_id=row,
                true_label=golds[0] if golds else NO_ANSWER,
                predicted_label=best.text if best is not None and best.text else NO_ANSWER,
                confidence=float(best.score) if best is not None else 0.0,
            )
        )
    wrong.sort(key=lambda m: -m.confidence)
    return tuple(wrong[:WRONG_ANSWERS])


def qa_examples(split: QASplit, per_type: int = EXAMPLES_PER_TYPE) -> list[DatasetExampleRecord]:
    """The first ``per_type`` questions of each answer type, in split order."""
    taken: dict[str, int] = {}
    rows = []
    for row in range(len(split)):
        group = group_of(split, row)
        if taken.get(group, 0) < per_type:
            taken[group] = taken.get(group, 0) + 1
            rows.append(row)
    return qa_error_examples(split, rows)


def qa_error_examples(split: QASplit, rows: Iterable[int]) -> list[DatasetExampleRecord]:
    """The examples at ``rows`` as "Q: … A: …" snippets, in the group of their answer type."""
    out = []
    for row in sorted(set(rows)):
        group = group_of(split, row)
        answers = split.answers[row]
        text = f"Q: {split.questions[row]} A: {answers[0][0] if answers else NO_ANSWER}"
        out.append(
            DatasetExampleRecord(
                dataset_id=split.dataset_id,
                split=split.split,
                class_id=GROUPS.index(group),
                label=group,
                example_id=row,
                text=text[:SNIPPET],
            )
        )
    return out
