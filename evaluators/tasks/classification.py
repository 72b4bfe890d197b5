"""Single-label classification of texts and images: one class per example.

Results are disaggregated per class (TP/FP/FN, precision, recall, F1), with the confusion
matrix, the most confident errors, calibration and bootstrap intervals (thesis 3.2, 4.3). Every
result also keeps each example's true and predicted class and confidence, packed
(:mod:`store.outcomes`), so that two models can be compared on the same examples and likely label
errors found across models without evaluating again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from evaluators.datasets_io import EvalSplit, load_split
from evaluators.errors import InsufficientMetadataError
from evaluators.labels import describe_mapping, map_labels
from evaluators.metadata import error_examples, example_ids, examples, split_record
from evaluators.predictions import Classifier
from evaluators.processing import process_classification
from evaluators.tasks.base import Context, TaskType, register, result
from store import catalogue
from store.outcomes import pack as pack_outcomes
from store.types import DatasetExampleRecord, DatasetSplitRecord, EvaluationRecord, ModelRecord

if TYPE_CHECKING:
    import torch

    from evaluators.config import EvaluationModule
    from evaluators.executor import EvaluationTask


class Classification(TaskType):
    """What text and image classification share: everything but loading the model."""

    processors: ClassVar[Mapping[str, str]] = {
        "classification": (
            "per-class TP/FP/FN/support, precision/recall/F1, accuracy, averages, confusion matrix"
        ),
        "misclassifications": "the most confident errors per (true, predicted) class pair",
        "calibration": "expected calibration error and reliability-diagram bins",
        "bootstrap": "95% bootstrap confidence intervals for accuracy and macro F1",
    }

    def load_split(self, module: EvaluationModule, revision: str) -> EvalSplit:
        return load_split(module, revision)

    def evaluate(
        self,
        context: Context,
        model: ModelRecord,
        predictor: Classifier,
        split: EvalSplit,
        task: EvaluationTask,
    ) -> EvaluationRecord:
        module = task.module
        labels = module.dataset.labels
        mapping = map_labels(
            model.repo_id,
            predictor.id2label,
            labels,
            aliases=module.label_aliases,
            positional=module.positional_labels,
        )
        shown: frozenset[int] = frozenset()
        if task.perturbation is None and self.modality == "image" and context.wants_examples(split):
            shown = frozenset(example_ids(module, split))  # made from the batches as they pass
        options = context.options(module, shown)
        predictions = predictor.predict(split.inputs, options)
        if predictions.thumbnails:
            context.keep_thumbnails(split, predictions.thumbnails)
        to_dataset = np.full(
            max(max(mapping), int(predictions.labels.max(initial=0))) + 1, -1, dtype=np.int64
        )
        for model_index, dataset_index in mapping.items():
            to_dataset[model_index] = dataset_index
        y_pred = to_dataset[predictions.labels]
        if (y_pred < 0).any():
            raise InsufficientMetadataError(
                model.repo_id, "the model predicts classes that its id2label does not name"
            )
        processed = process_classification(split.labels, y_pred, predictions.confidences, labels)
        wanted = set(module.processors)
        return result(
            task,
            model,
            num_examples=len(split.inputs),
            metrics=processed.metrics,
            classes=processed.classes,
            confusion=processed.confusion,
            misclassifications=(
                processed.misclassifications if "misclassifications" in wanted else ()
            ),
            calibration=processed.calibration if "calibration" in wanted else None,
            intervals=processed.intervals if "bootstrap" in wanted else {},
            runtime=context.runtime(
                predictions.seconds,
                len(split.inputs),
                predictions.batch_size or options.batch_size,
            ),
            label_mapping=describe_mapping(predictor.id2label, mapping, labels),
            outcomes=pack_outcomes(
                truth=split.labels, predicted=y_pred, confidence=predictions.confidences
            ),
        )

    def split_record(self, module: EvaluationModule, split: EvalSplit) -> DatasetSplitRecord:
        return split_record(module, split)

    def examples(
        self, module: EvaluationModule, split: EvalSplit, made: Mapping[int, bytes]
    ) -> list[DatasetExampleRecord]:
        return examples(module, split, made=made)

    def error_examples(
        self, module: EvaluationModule, split: EvalSplit, example_ids: Iterable[int]
    ) -> list[DatasetExampleRecord]:
        return error_examples(module, split, example_ids)


@register
class TextClassification(Classification):
    """One class per text, or per pair of texts: a module naming a ``text_pair`` column (NLI's
    hypothesis, a second question) has each example tokenised as the pair
    ``(input, text_pair)``, as the model was trained (GLUE's MNLI, RTE, MRPC, QQP...)."""

    spec = catalogue.TEXT_CLASSIFICATION
    optional_columns = ("text_pair",)

    def load_model(self, model: ModelRecord, folder: Path, device: torch.device) -> Any:
        from evaluators.text_classification import TextClassifier

        return TextClassifier.load(model.repo_id, folder, device)


@register
class ImageClassification(Classification):
    spec = catalogue.IMAGE_CLASSIFICATION

    def load_model(self, model: ModelRecord, folder: Path, device: torch.device) -> Any:
        from evaluators.image_classification import (
            TimmImageClassifier,
            TransformersImageClassifier,
        )

        if model.library_name == "timm":
            return TimmImageClassifier.load(model.repo_id, folder, device)
        return TransformersImageClassifier.load(model.repo_id, folder, device)
