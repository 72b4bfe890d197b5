"""Extractive question answering: a span of the context answers each question (SQuAD).

A module names the ``question``, ``context`` and ``answers`` columns (SQuAD's
``{"text": [...], "answer_start": [...]}``); ``id`` and ``title`` may be named too. Perturbations
change the question and the context, and move the gold answers with the context.

Which of SQuAD's rules score a split is decided by its data, not by the module: when a question
of the split has no gold answer, SQuAD v2.0's (the empty answer competes with the spans, and the
metrics hold ``has_answer_exact_match``, ``has_answer_f1``, ``no_answer_accuracy``, ``best_f1``
and ``best_f1_threshold`` beside ``exact_match`` and ``f1``), else SQuAD v1.1's (``exact_match``
and ``f1`` only). The presence of the v2 keys in a stored result says which rules gave it.

Results are grouped by the answer type of each question's first gold answer and by its question
word (:mod:`evaluators.question_answering`); the most confident wrong answers are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from evaluators.tasks.base import Context, TaskType, register, result
from store import catalogue
from store.types import DatasetExampleRecord, EvaluationRecord, ModelRecord

if TYPE_CHECKING:
    import torch

    from evaluators.config import EvaluationModule
    from evaluators.executor import EvaluationTask
    from evaluators.question_answering import QASplit, QuestionAnswerer


@register
class QuestionAnswering(TaskType):
    spec = catalogue.QUESTION_ANSWERING
    columns: ClassVar[tuple[str, ...]] = ("question", "context", "answers")
    optional_columns: ClassVar[tuple[str, ...]] = ("id", "title")
    needs_labels: ClassVar[bool] = False
    processors: ClassVar[Mapping[str, str]] = {
        "squad": ("exact match and F1 (SQuAD v1.1 / v2.0 rules), by answer type and question word"),
        "wrong_answers": "the most confident answers that match no gold answer",
    }

    @property
    def perturbs(self) -> str:
        return "qa"

    def load_model(self, model: ModelRecord, folder: Path, device: torch.device) -> Any:
        from evaluators.question_answering import QuestionAnswerer

        return QuestionAnswerer.load(model.repo_id, folder, device)

    def load_split(self, module: EvaluationModule, revision: str) -> QASplit:
        from evaluators.question_answering import load_qa_split

        return load_qa_split(module, revision)

    def evaluate(
        self,
        context: Context,
        model: ModelRecord,
        predictor: QuestionAnswerer,
        split: QASplit,
        task: EvaluationTask,
    ) -> EvaluationRecord:
        from evaluators.question_answering import score

        module = task.module
        options = context.options(module)
        answered = predictor.predict(split, options, handle_impossible_answer=split.unanswerable)
        scored = score(split, answered)
        return result(
            task,
            model,
            num_examples=len(split),
            metrics=scored.metrics,
            classes=scored.classes,
            misclassifications=(
                scored.wrong_answers if "wrong_answers" in module.processors else ()
            ),
            runtime=context.runtime(answered.seconds, len(split), answered.batch_size),
            label_mapping={},
        )

    def examples(
        self, module: EvaluationModule, split: QASplit, made: Mapping[int, bytes]
    ) -> list[DatasetExampleRecord]:
        from evaluators.question_answering import qa_examples

        return qa_examples(split)

    def error_examples(
        self, module: EvaluationModule, split: QASplit, example_ids: Iterable[int]
    ) -> list[DatasetExampleRecord]:
        from evaluators.question_answering import qa_error_examples

        return qa_error_examples(split, example_ids)
