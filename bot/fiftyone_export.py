"""``evalbot export-fiftyone MODEL DATASET [--variant V]``: a stored detection evaluation as a
FiftyOne dataset, to browse its errors in the FiftyOne App.

The stored result fixes the model revision, the dataset revision and the module; the detector is
run again on that split (evalbot stores metrics and errors, not every box), and each image becomes
a sample with ``ground_truth`` and ``predictions`` (``fo.Detections``, every score: filter in the
App). FiftyOne's own ``evaluate_detections`` (COCO-style, IoU 0.5, ``compute_mAP``) then writes
the evaluation under ``eval_key``: per-sample ``<key>_tp``/``_fp``/``_fn`` counts and per-object
matches, and its mAP, which agrees with evalbot's ``ap``.

FiftyOne keeps its datasets in the MongoDB of ``FIFTYONE_DATABASE_URI``; the CLI points it at
evalbot's own server (``MONGODB_URI``, or the embedded one as its read-write user) unless it is
set. The export reads evalbot's results as the read-only user (``MONGODB_READ_URI``, or the
embedded server's reader); FiftyOne writes its dataset as the read-write one. Images are written as
PNG files under ``media_dir/<dataset name>/``.

Example:
    >>> summary = export_fiftyone("demo/detr-shapes", "detection-datasets/coco", store=store,
    ...                           modules=modules, api=HfApi(), media_dir=Path("/tmp/fo"))  # doctest: +SKIP
    >>> summary.name, summary.fiftyone_map, summary.evalbot_ap  # doctest: +SKIP
    ('evalbot-demo-detr-shapes-detection-datasets-coco-original', 0.0021, 0.0021)
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi

from bot.settings import Settings
from evaluators.coco import Detections, GroundTruth
from evaluators.config import EvaluationModule
from evaluators.executor import ORIGINAL, EvaluationTask, Executor
from evaluators.hub import fetch_model
from evaluators.object_detection import DetectionSplit, Detector, predict_split
from perturbations import from_spec
from store.db import Store
from store.types import EvaluationRecord, ModelRecord

EVAL_KEY = "evalbot"


class ExportError(LookupError):
    """Nothing to export: no stored detection result for this model, dataset and variant."""


@dataclass(frozen=True)
class ExportSummary:
    name: str  # the FiftyOne dataset
    samples: int
    eval_key: str
    fiftyone_map: float | None  # FiftyOne's mAP of the exported evaluation (None: undefined)
    evalbot_ap: float | None  # the stored ``ap``


def dataset_name(model_id: str, dataset_id: str, variant: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{model_id}-{dataset_id}-{variant}").strip("-")
    return f"evalbot-{slug}"


def use_store_for_fiftyone(store: Store) -> None:
    """Point FiftyOne at evalbot's MongoDB unless ``FIFTYONE_DATABASE_URI`` is set (call before
    ``import fiftyone``): ``MONGODB_URI``, else the embedded server's read-write user (FiftyOne
    writes there even when ``store`` is read-only), else ``store``'s address."""
    settings = Settings.from_env()
    if settings.fiftyone_database_uri is None:
        if settings.mongodb_uri is not None:
            os.environ["FIFTYONE_DATABASE_URI"] = settings.mongodb_uri
        elif store.embedded is not None:
            os.environ["FIFTYONE_DATABASE_URI"] = store.embedded.uri
        elif (address := store.client.address) is not None:
            os.environ["FIFTYONE_DATABASE_URI"] = f"mongodb://{address[0]}:{address[1]}/"
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")


def _stored(store: Store, model_id: str, dataset_id: str, variant: str) -> EvaluationRecord:
    found = [
        r
        for r in store.results_for(model_id)
        if r.dataset_id == dataset_id and r.variant == variant and r.task == "object-detection"
    ]
    if not found:
        raise ExportError(
            f"no stored object-detection result of {model_id} on {dataset_id} ({variant}): "
            f"run `evalbot evaluate {model_id}` first"
        )
    return max(found, key=lambda r: r.created_at)


def _detector(executor: Executor, api: HfApi, model: ModelRecord) -> Detector:
    if model.origin == "fiftyone":
        from evaluators.fiftyone_models import FiftyOneDetector

        return FiftyOneDetector.load(model.repo_id, executor.device)
    loaded = executor.load(model, fetch_model(api, model.repo_id, model.sha).path)
    assert isinstance(loaded, Detector)
    return loaded


def _fo_detections(
    fo: Any, objects: GroundTruth | Detections, labels: Sequence[str], width: int, height: int
) -> Any:
    items = []
    crowd = objects.is_crowd() if isinstance(objects, GroundTruth) else None
    for k, (box, label) in enumerate(
        zip(objects.boxes.tolist(), objects.labels.tolist(), strict=True)
    ):
        x1, y1, x2, y2 = box
        detection = fo.Detection(
            label=labels[label],
            bounding_box=[x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height],
        )
        if isinstance(objects, Detections):
            detection.confidence = float(objects.scores[k])
        elif crowd is not None and crowd[k]:
            detection["iscrowd"] = 1
        items.append(detection)
    return fo.Detections(detections=items)


def export_fiftyone(
    model_id: str,
    dataset_id: str,
    *,
    store: Store,
    modules: Sequence[EvaluationModule],
    api: HfApi,
    media_dir: Path,
    variant: str = ORIGINAL,
    name: str | None = None,
) -> ExportSummary:
    """Write the stored evaluation of ``model_id`` on ``dataset_id`` (``variant``) to FiftyOne.

    Raises:
        ExportError: no such stored result, or its module is no longer configured.
    """
    record = _stored(store, model_id, dataset_id, variant)
    module = next((m for m in modules if m.id == record.module_id), None)
    if module is None:
        raise ExportError(f"the module '{record.module_id}' of that result is not configured")
    model = store.get_model(model_id) or ModelRecord(model_id, record.model_sha)
    model = replace(model, sha=record.model_sha, pipeline_tag=record.task)
    executor = Executor([module], api=api)
    perturbation = None if variant == ORIGINAL else from_spec(variant)
    split = executor.split(EvaluationTask(module, record.dataset_revision, perturbation))
    assert isinstance(split, DetectionSplit)
    detections, _, _ = predict_split(
        _detector(executor, api, model), module, split, executor.options(module)
    )

    use_store_for_fiftyone(store)
    import fiftyone as fo
    from PIL import Image

    name = name or dataset_name(model_id, dataset_id, variant)
    folder = media_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    labels = module.dataset.labels
    samples = []
    for index, (image, truth, found) in enumerate(
        zip(split.inputs, split.targets, detections, strict=True)
    ):
        path = folder / f"{index:06d}.png"
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(path)
        height, width = image.shape[-2:]
        sample = fo.Sample(filepath=str(path), example_id=index)
        sample["ground_truth"] = _fo_detections(fo, truth, labels, width, height)
        sample["predictions"] = _fo_detections(fo, found, labels, width, height)
        samples.append(sample)
    dataset = fo.Dataset(name, overwrite=True, persistent=True)
    dataset.info = {
        "model": model_id,
        "model_sha": record.model_sha,
        "dataset": dataset_id,
        "dataset_revision": record.dataset_revision,
        "split": record.split,
        "variant": variant,
        "evalbot_metrics": record.metrics,
    }
    dataset.add_samples(samples)
    results = dataset.evaluate_detections(
        "predictions",
        gt_field="ground_truth",
        eval_key=EVAL_KEY,
        compute_mAP=True,
        classes=list(labels),
    )
    fiftyone_map = float(results.mAP())
    return ExportSummary(
        name=name,
        samples=len(samples),
        eval_key=EVAL_KEY,
        fiftyone_map=None if fiftyone_map < 0 else fiftyone_map,
        evalbot_ap=record.metrics.get("ap"),
    )
