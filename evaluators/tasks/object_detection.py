"""Object detection: scored boxes per image, COCO AP/AR per class (pycocotools' rules)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from evaluators.coco import process_detection
from evaluators.labels import describe_mapping
from evaluators.metadata import split_record
from evaluators.object_detection import (
    DetectionSplit,
    Detector,
    detection_error_examples,
    detection_examples,
    load_detection_split,
    predict_split,
)
from evaluators.tasks.base import Context, TaskType, register, result
from store import catalogue
from store.types import DatasetExampleRecord, DatasetSplitRecord, EvaluationRecord, ModelRecord

if TYPE_CHECKING:
    import torch

    from evaluators.config import EvaluationModule
    from evaluators.executor import EvaluationTask


@register
class ObjectDetection(TaskType):
    spec = catalogue.OBJECT_DETECTION
    uses_objects = True
    processors: ClassVar[Mapping[str, str]] = {
        "coco": "COCO AP/AR (AP50, AP75, small/medium/large, AR1/10/100) overall and per class",
        "detection_errors": "false positives and missed objects with class, confidence and box",
    }

    def load_model(self, model: ModelRecord, folder: Path, device: torch.device) -> Any:
        from evaluators.object_detection import TransformersDetector

        return TransformersDetector.load(model.repo_id, folder, device)

    def load_split(self, module: EvaluationModule, revision: str) -> DetectionSplit:
        return load_detection_split(module, revision)

    def evaluate(
        self,
        context: Context,
        model: ModelRecord,
        predictor: Detector,
        split: DetectionSplit,
        task: EvaluationTask,
    ) -> EvaluationRecord:
        module = task.module
        labels = module.dataset.labels
        options = context.options(module)
        detections, mapping, seconds = predict_split(predictor, module, split, options)
        processed = process_detection(
            split.targets, detections, labels, score_threshold=module.score_threshold
        )
        errors = processed.errors if "detection_errors" in module.processors else ()
        return result(
            task,
            model,
            num_examples=len(split.inputs),
            metrics=processed.metrics,
            classes=processed.classes,
            detection_errors=errors,
            runtime=context.runtime(seconds, len(split.inputs), options.batch_size),
            label_mapping=describe_mapping(predictor.id2label, mapping, labels),
            # TP/FP/FN and the errors count detections scoring at least this
            settings={"score_threshold": module.score_threshold},
        )

    def split_record(self, module: EvaluationModule, split: DetectionSplit) -> DatasetSplitRecord:
        return split_record(module, split)

    def examples(
        self, module: EvaluationModule, split: DetectionSplit, made: Mapping[int, bytes]
    ) -> list[DatasetExampleRecord]:
        return detection_examples(module, split)

    def error_examples(
        self, module: EvaluationModule, split: DetectionSplit, example_ids: Iterable[int]
    ) -> list[DatasetExampleRecord]:
        return detection_error_examples(module, split, example_ids)
