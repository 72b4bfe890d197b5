"""Speech task types: automatic speech recognition and audio classification.

Speech recognition: a module names the ``input`` (audio) and ``target`` (transcript) columns,
and may name ``gender`` and ``accent`` columns (Common Voice's), by which results are grouped
(else by utterance length). Audio classification is classification (:mod:`evaluators.tasks.
classification`) of audio clips: ``input`` (audio) and ``label``.

Audio is decoded by the model at its sampling rate in the loader workers, and perturbed there
(the audio perturbations: ``noise``, ``speed``, ``lowpass``): :mod:`evaluators.speech`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from evaluators.tasks.base import Context, TaskType, register, result
from evaluators.tasks.classification import Classification
from store import catalogue
from store.types import (
    DatasetExampleRecord,
    DatasetSplitRecord,
    EvaluationRecord,
    ModelRecord,
)

if TYPE_CHECKING:
    import torch

    from evaluators.config import EvaluationModule
    from evaluators.datasets_io import EvalSplit
    from evaluators.executor import EvaluationTask
    from evaluators.speech import SpeechRecognizer, SpeechSplit


@register
class SpeechRecognition(TaskType):
    spec = catalogue.SPEECH_RECOGNITION
    columns: ClassVar[tuple[str, ...]] = ("input", "target")
    optional_columns: ClassVar[tuple[str, ...]] = ("gender", "accent")
    needs_labels: ClassVar[bool] = False
    processors: ClassVar[Mapping[str, str]] = {
        "error_rates": (
            "word and character error rates (jiwer's), normalised and not, per speaker group"
        ),
    }

    def load_model(self, model: ModelRecord, folder: Path, device: torch.device) -> Any:
        from evaluators.speech import SpeechRecognizer

        return SpeechRecognizer.load(model.repo_id, folder, device)

    def load_split(self, module: EvaluationModule, revision: str) -> SpeechSplit:
        from evaluators.speech import load_speech_split

        return load_speech_split(module, revision)

    def evaluate(
        self,
        context: Context,
        model: ModelRecord,
        predictor: SpeechRecognizer,
        split: SpeechSplit,
        task: EvaluationTask,
    ) -> EvaluationRecord:
        from evaluators.speech import normalizer_for, score_transcripts

        module = task.module
        options = context.options(module)
        transcribed = predictor.transcribe(split, options)
        scored = score_transcripts(split, transcribed, normalizer=normalizer_for(module))
        return result(
            task,
            model,
            num_examples=len(split),
            metrics=scored.metrics,
            classes=scored.classes,
            runtime=context.runtime(transcribed.seconds, len(split), transcribed.batch_size),
            label_mapping={},
            settings=scored.settings,
        )

    def examples(
        self, module: EvaluationModule, split: SpeechSplit, made: Mapping[int, bytes]
    ) -> list[DatasetExampleRecord]:
        from evaluators.speech import speech_examples

        return speech_examples(split)

    def error_examples(
        self, module: EvaluationModule, split: SpeechSplit, example_ids: Iterable[int]
    ) -> list[DatasetExampleRecord]:
        from evaluators.speech import speech_examples

        return speech_examples(split, example_ids)


@register
class AudioClassification(Classification):
    spec = catalogue.AUDIO_CLASSIFICATION

    def load_model(self, model: ModelRecord, folder: Path, device: torch.device) -> Any:
        from evaluators.speech import AudioClassifier

        return AudioClassifier.load(model.repo_id, folder, device)

    def load_split(self, module: EvaluationModule, revision: str) -> EvalSplit:
        from evaluators.speech import load_audio_split

        return load_audio_split(module, revision)

    def split_record(self, module: EvaluationModule, split: EvalSplit) -> DatasetSplitRecord:
        return DatasetSplitRecord(
            dataset_id=split.dataset_id,
            revision=split.revision,
            split=split.split,
            num_examples=len(split),
            class_counts=tuple(split.class_counts(len(module.dataset.labels))),
        )

    def examples(
        self, module: EvaluationModule, split: EvalSplit, made: Mapping[int, bytes]
    ) -> list[DatasetExampleRecord]:
        from evaluators.speech import clip_examples

        return clip_examples(module, split)

    def error_examples(
        self, module: EvaluationModule, split: EvalSplit, example_ids: Iterable[int]
    ) -> list[DatasetExampleRecord]:
        from evaluators.speech import clip_examples

        return clip_examples(module, split, example_ids)
