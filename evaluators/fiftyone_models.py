"""The FiftyOne model zoo as a second model source (``ModelRecord.origin == "fiftyone"``).

Discovery lists the zoo's models of the tasks evalbot evaluates (zoo tag ``detection`` →
``object-detection``) whose tags or training data name a module's ``trained_on`` dataset; a model
is loaded with ``fiftyone.zoo.load_zoo_model`` and predicts through FiftyOne's own pipeline. In
real use the zoo downloads its weights from the internet into ``fo.config.model_zoo_dir``; a
custom manifest (``FIFTYONE_MODEL_ZOO_MANIFEST_PATHS``) adds models of one's own. Zoo weights are
the zoo's own files (torchvision ``.pth`` loaded with ``weights_only``), not Hub safetensors.

Repo ids are ``fiftyone/<zoo name>``; the "sha" of a zoo model is a digest of its manifest entry,
so a changed entry (weights URL, deployment config) is a new revision.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from evaluators.coco import Detections
from evaluators.config import EvaluationModule
from evaluators.errors import EvaluationError, InsufficientMetadataError
from evaluators.object_detection import DetectorOutput
from evaluators.predictions import Options
from evaluators.streaming import spans, stream
from store.types import FailureReason, ModelRecord

ORIGIN = "fiftyone"
PREFIX = "fiftyone/"
ZOO_TASKS = {"detection": "object-detection"}  # zoo tag -> evalbot task


def zoo_name(repo_id: str) -> str:
    """``fiftyone/faster-rcnn-resnet50-fpn-coco-torch`` -> the zoo's own name."""
    return repo_id.removeprefix(PREFIX)


def _revision(zoo_model: Any) -> str:
    entry = json.dumps(zoo_model.serialize(), sort_keys=True, default=str)
    return hashlib.sha256(entry.encode()).hexdigest()[:40]


def zoo_candidates(modules: Sequence[EvaluationModule]) -> list[ModelRecord]:
    """Zoo models of a supported task trained on a module's dataset, as model records.

    Example:
        >>> [m.repo_id for m in zoo_candidates(modules)][:1]  # doctest: +SKIP
        ['fiftyone/centernet-hg104-1024-coco-tf2']
    """
    # One parse of the manifests for all models (``get_zoo_model`` parses them per call).
    from fiftyone.zoo.models import _list_zoo_models

    wanted = {(m.task, t.casefold()) for m in modules for t in m.trained_on}
    records = []
    for zoo_model in sorted(_list_zoo_models(), key=lambda z: str(z.name)):
        name = str(zoo_model.name)
        tags = [str(t) for t in zoo_model.tags or ()]
        tasks = {ZOO_TASKS[t] for t in tags if t in ZOO_TASKS}
        trained = [str(d.get("name", "")) for d in getattr(zoo_model, "training_data", None) or ()]
        names = {n.casefold() for n in tags + trained}
        datasets = sorted({d for task, d in wanted if task in tasks and d in names})
        if not datasets:
            continue
        records.append(
            ModelRecord(
                repo_id=PREFIX + name,
                sha=_revision(zoo_model),
                pipeline_tag=next(iter(sorted(tasks))),
                library_name=ORIGIN,
                datasets=tuple(datasets),
                tags=tuple(tags),
                origin=ORIGIN,
            )
        )
    return records


@dataclass
class FiftyOneDetector:
    """A zoo detector; ``detect`` runs FiftyOne's ``predict_all`` (its transforms, forward and
    output processor) with no confidence threshold, and converts its relative boxes to pixels."""

    repo_id: str
    model: Any  # fiftyone.core.models.Model
    id2label: dict[int, str]
    device: torch.device

    @classmethod
    def load(cls, repo_id: str, device: torch.device) -> FiftyOneDetector:
        import fiftyone.zoo as foz

        try:
            model = foz.load_zoo_model(
                zoo_name(repo_id), confidence_thresh=None, device=str(device)
            )
        except (ValueError, OSError, RuntimeError, KeyError) as exc:
            raise EvaluationError(
                repo_id,
                f"FiftyOne failed to load the model: {exc}",
                reason=FailureReason.LOAD_ERROR,
            ) from exc
        classes = getattr(model, "classes", None)
        if not classes:
            raise InsufficientMetadataError(repo_id, "the zoo model names no classes")
        return cls(repo_id, model, dict(enumerate(map(str, classes))), device)

    def detect(self, images: Sequence[torch.Tensor], options: Options) -> DetectorOutput:
        label2id: dict[str, int] = {}
        for i, name in self.id2label.items():
            label2id.setdefault(name, i)
        found: list[Detections] = []
        start = time.perf_counter()
        parts = spans(len(images), options.batch_size)
        for decoded in stream(images, parts, loading=options.loading):
            batch = [image.permute(1, 2, 0).numpy() for image in decoded]
            for array, labels in zip(batch, self.model.predict_all(batch), strict=True):
                height, width = array.shape[:2]
                items = labels.detections if labels is not None else []
                boxes = np.array([d.bounding_box for d in items], dtype=np.float64).reshape(-1, 4)
                boxes[:, 2:] += boxes[:, :2]
                boxes *= [width, height, width, height]
                found.append(
                    Detections.of(
                        boxes,
                        [label2id[d.label] for d in items],
                        [float(d.confidence) for d in items],
                    )
                )
        return DetectorOutput(found, time.perf_counter() - start)
