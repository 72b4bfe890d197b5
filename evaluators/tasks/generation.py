"""Text generation task types: summarization and translation.

A module names the ``input`` and ``target`` columns: a column, or a field of a struct column
(WMT's ``translation.de``); a target column of lists gives several references per input.
A translation module says its ``direction`` (``{source: de, target: en}``): T5's
``task_specific_params`` prefix is picked by it, and sacreBLEU's tokenizer by the target.

Both generate with the model's own decoding settings, overridable per module
(``generation:``), never sampling, and store them with the result
(:mod:`evaluators.generation`). Perturbations change the input texts (the text
perturbations); references are left as they are.
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
    from evaluators.generation import GenerationScores, GenerationSplit, Generator


# Lower edges of the input-length buckets, in words. Summaries: SAMSum's dialogues average
# about 94 words, XSum's articles 430, CNN/DailyMail's 780. Translation: WMT sentences 20-30.
SUMMARY_BUCKETS = (0, 50, 100, 200, 400, 800)
TRANSLATION_BUCKETS = (0, 10, 20, 30, 40, 60)


class _Generation(TaskType):
    """What summarization and translation share: loading, generating, examples."""

    columns: ClassVar[tuple[str, ...]] = ("input", "target")
    needs_labels: ClassVar[bool] = False
    generates: ClassVar[bool] = True
    edges: ClassVar[tuple[int, ...]] = ()

    def load_model(self, model: ModelRecord, folder: Path, device: torch.device) -> Any:
        from evaluators.generation import Generator

        return Generator.load(model.repo_id, folder, device, self.name)

    def load_split(self, module: EvaluationModule, revision: str) -> GenerationSplit:
        from evaluators.generation import load_generation_split

        return load_generation_split(module, revision, self.edges)

    def task_key(self, module: EvaluationModule) -> str:
        """The key of the model's ``task_specific_params`` for this module."""
        return self.name

    def score(self, module: EvaluationModule, split: GenerationSplit, generated: Any) -> Any:
        raise NotImplementedError

    def evaluate(
        self,
        context: Context,
        model: ModelRecord,
        predictor: Generator,
        split: GenerationSplit,
        task: EvaluationTask,
    ) -> EvaluationRecord:
        module = task.module
        options = context.options(module)
        settings = predictor.settings(module, self.task_key(module))
        generated = predictor.generate(split, options, settings)
        scored: GenerationScores = self.score(module, split, generated)
        return result(
            task,
            model,
            num_examples=len(split),
            metrics=scored.metrics,
            classes=scored.classes,
            runtime=context.runtime(generated.seconds, len(split), generated.batch_size),
            label_mapping={},
            settings={**settings.as_settings(), **scored.settings},
        )

    def examples(
        self, module: EvaluationModule, split: GenerationSplit, made: Mapping[int, bytes]
    ) -> list[DatasetExampleRecord]:
        from evaluators.generation import generation_examples

        return generation_examples(split)

    def error_examples(
        self, module: EvaluationModule, split: GenerationSplit, example_ids: Iterable[int]
    ) -> list[DatasetExampleRecord]:
        from evaluators.generation import generation_examples

        return generation_examples(split, example_ids)


@register
class Summarization(_Generation):
    spec = catalogue.SUMMARIZATION
    processors: ClassVar[Mapping[str, str]] = {
        "rouge": "ROUGE-1/2/L/Lsum (rouge-score's), overall and per input-length bucket",
    }

    edges = SUMMARY_BUCKETS

    def score(self, module: EvaluationModule, split: GenerationSplit, generated: Any) -> Any:
        from evaluators.generation import score_summaries

        return score_summaries(split, generated, use_stemmer=module.rouge_stemmer)


@register
class Translation(_Generation):
    spec = catalogue.TRANSLATION
    processors: ClassVar[Mapping[str, str]] = {
        "sacrebleu": "sacreBLEU's BLEU and chrF, overall and per source-length bucket",
    }

    edges = TRANSLATION_BUCKETS

    def check(self, module: EvaluationModule) -> None:
        if module.direction is None:
            raise ValueError(
                "direction: a translation module says what it translates, e.g. "
                "direction: {source: de, target: en}"
            )
        if module.direction.source == module.direction.target:
            raise ValueError("direction: source and target are the same language")

    def task_key(self, module: EvaluationModule) -> str:
        direction = module.direction
        assert direction is not None  # check() requires it
        return f"translation_{direction.source}_to_{direction.target}"

    def score(self, module: EvaluationModule, split: GenerationSplit, generated: Any) -> Any:
        from evaluators.generation import score_translations

        direction = module.direction
        return score_translations(
            split, generated, target_language=direction.target if direction else None
        )
