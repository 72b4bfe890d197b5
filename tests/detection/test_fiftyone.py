"""FiftyOne: the model zoo as a model source (a local custom manifest whose weights are made
here), and ``evalbot export-fiftyone`` whose FiftyOne evaluation agrees with evalbot's AP."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from huggingface_hub import HfApi

from bot.cli import main
from bot.discovery import to_record
from bot.fiftyone_export import EVAL_KEY, ExportError, export_fiftyone
from evaluators.config import load_module
from evaluators.executor import Executor
from evaluators.fiftyone_models import FiftyOneDetector, zoo_candidates
from sandbox.world import World
from sandbox.world_detection import COCO_ID, DETR_ID
from store.db import Store
from store.embedded import EmbeddedMongo

pytestmark = pytest.mark.slow  # FiftyOne: its import, its zoo's detectors and its own evaluation

ROOT = Path(__file__).resolve().parents[2]
COCO_MODULE = load_module(ROOT / "config" / "tasks" / "object-detection" / "coco.yaml")
ZOO_NAME = "evalbot-test-ssdlite-coco-torch"
WEIGHTS = "ssdlite320_mobilenet_v3_large_coco-a79551df.pth"  # the torchvision weights' file


def manifest() -> dict[str, object]:
    """A custom zoo entry like the zoo's own torchvision detectors (SSDLite, COCO labels)."""
    return {
        "models": [
            {
                "base_name": ZOO_NAME,
                "base_filename": WEIGHTS,
                "version": None,
                "description": "SSDLite (MobileNetV3) with random weights, for evalbot's tests",
                "source": "https://pytorch.org/vision/main/models.html",
                "author": "evalbot",
                "license": "BSD 3-Clause",
                "manager": {
                    "type": "fiftyone.core.models.ModelManager",
                    "config": {"url": f"https://download.pytorch.org/models/{WEIGHTS}"},
                },
                "default_deployment_config_dict": {
                    "type": "fiftyone.zoo.models.torch.TorchvisionImageModel",
                    "config": {
                        "entrypoint_fcn": "torchvision.models.detection.ssdlite320_mobilenet_v3_large",
                        "entrypoint_args": {
                            "weights": "SSDLite320_MobileNet_V3_Large_Weights.COCO_V1",
                            # random weights score every anchor alike: keep NMS small
                            "topk_candidates": 10,
                            "detections_per_img": 50,
                        },
                        "output_processor_cls": "fiftyone.utils.torch.DetectorOutputProcessor",
                        "labels_path": "{{eta-resources}}/ms-coco-labels.txt",
                        "confidence_thresh": 0.3,
                    },
                },
                "requirements": {"packages": ["torch", "torchvision"], "cpu": {"support": True}},
                "tags": ["detection", "coco", "torch"],
                "date_added": "2026-11-25 12:00:00",
            }
        ]
    }


@pytest.fixture(scope="module")
def fo(mongo: EmbeddedMongo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """fiftyone on the session's mongod, with the custom zoo; the weights are made locally where
    the zoo (its model dir) and torchvision (torch hub's checkpoints) would download them, so
    nothing is downloaded."""
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large

    zoo = tmp_path_factory.mktemp("fiftyone-zoo")
    (zoo / "models").mkdir()
    (zoo / "hub" / "checkpoints").mkdir(parents=True)
    torch.manual_seed(0)
    net = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=91)
    torch.save(net.state_dict(), zoo / "models" / WEIGHTS)
    torch.save(net.state_dict(), zoo / "hub" / "checkpoints" / WEIGHTS)
    hub_dir = torch.hub.get_dir()
    torch.hub.set_dir(str(zoo / "hub"))
    (zoo / "manifest.json").write_text(json.dumps(manifest()))
    os.environ["FIFTYONE_DATABASE_URI"] = mongo.uri
    os.environ["FIFTYONE_DO_NOT_TRACK"] = "true"
    os.environ["FIFTYONE_MODEL_ZOO_DIR"] = str(zoo / "models")
    os.environ["FIFTYONE_MODEL_ZOO_MANIFEST_PATHS"] = str(zoo / "manifest.json")
    import fiftyone

    fiftyone.config.model_zoo_dir = str(zoo / "models")
    fiftyone.config.model_zoo_manifest_paths = [str(zoo / "manifest.json")]
    assert fiftyone.config.database_uri == mongo.uri
    yield fiftyone
    torch.hub.set_dir(hub_dir)


def test_zoo_discovery_lists_detectors_trained_on_coco(fo: ModuleType) -> None:
    found = {m.repo_id: m for m in zoo_candidates([COCO_MODULE])}
    ours = found[f"fiftyone/{ZOO_NAME}"]
    assert ours.origin == "fiftyone" and ours.pipeline_tag == "object-detection"
    assert ours.datasets == ("coco",) and len(ours.sha) == 40
    assert "fiftyone/faster-rcnn-resnet50-fpn-coco-torch" in found  # the zoo's own
    assert all(m.pipeline_tag == "object-detection" for m in found.values())
    assert zoo_candidates([]) == []


def test_zoo_detector_through_the_executor(fo: ModuleType, world: World, store: Store) -> None:
    (model,) = [m for m in zoo_candidates([COCO_MODULE]) if m.repo_id.endswith(ZOO_NAME)]
    detector = FiftyOneDetector.load(model.repo_id, torch.device("cpu"))
    assert detector.id2label[1] == "person" and detector.id2label[0] == "background"
    module = COCO_MODULE.model_copy(update={"perturbations": ["flipped"], "limit": 8})
    report = Executor([module], api=HfApi(), store=store).evaluate(model)
    assert {r.variant for r in report.records} == {"original", "flipped"}
    clean = next(r for r in report.records if r.variant == "original")
    assert clean.num_examples == 8 and clean.metrics["ap"] is not None
    assert len(clean.label_mapping) == 80  # "background" and the numbered unused ids dropped
    assert sum(c.support for c in clean.classes) > 8


def test_export_agrees_with_our_map(
    fo: ModuleType, world: World, store: Store, tmp_path: Path
) -> None:
    api = HfApi()
    model = to_record(api.model_info(DETR_ID))
    store.upsert_model(model)
    module = COCO_MODULE.model_copy(update={"perturbations": ["flipped"]})
    report = Executor([module], api=api, store=store).evaluate(model)
    for record in report.records:
        store.save_result(record)
    name = f"evalbot-test-{uuid.uuid4().hex[:8]}"
    summary = export_fiftyone(
        DETR_ID, COCO_ID, store=store, modules=[COCO_MODULE], api=api, media_dir=tmp_path, name=name
    )
    assert summary.samples == 48 and summary.eval_key == EVAL_KEY
    assert summary.evalbot_ap is not None and summary.fiftyone_map is not None
    assert summary.fiftyone_map == pytest.approx(summary.evalbot_ap, abs=1e-4)
    dataset = fo.load_dataset(name)
    assert EVAL_KEY in dataset.list_evaluations()
    counts = {k: sum(dataset.values(f"{EVAL_KEY}_{k}")) for k in ("tp", "fp", "fn")}
    gt_objects = dataset.count("ground_truth.detections")
    assert counts["tp"] + counts["fn"] == gt_objects > 48
    assert counts["tp"] + counts["fp"] == dataset.count("predictions.detections")
    # the flipped variant: FiftyOne's boxes are the moved ground truth
    flipped = export_fiftyone(
        DETR_ID, COCO_ID, store=store, modules=[COCO_MODULE], api=api, media_dir=tmp_path,
        variant="flipped", name=name + "-flipped",
    )  # fmt: skip
    assert flipped.fiftyone_map == pytest.approx(flipped.evalbot_ap, abs=1e-4)
    original = dataset.values("ground_truth.detections.bounding_box")
    moved = fo.load_dataset(name + "-flipped").values("ground_truth.detections.bounding_box")
    for boxes, moved_boxes in zip(original, moved, strict=True):
        for (x, y, w, h), (x2, y2, w2, h2) in zip(boxes or [], moved_boxes or [], strict=True):
            assert np.allclose([x2, y2, w2, h2], [x, 1 - y - h, w, h])


def test_cli_exports_and_refuses_what_was_not_evaluated(
    fo: ModuleType, world: World, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], mongo: EmbeddedMongo,
) -> None:  # fmt: skip
    monkeypatch.setenv("MONGODB_URI", mongo.uri)
    monkeypatch.setenv("EVALBOT_DB", store.db.name)
    args = ["export-fiftyone", DETR_ID, COCO_ID, "--media-dir", str(tmp_path)]
    assert main(args) == 1
    assert "no stored object-detection result" in capsys.readouterr().err
    api = HfApi()
    model = to_record(api.model_info(DETR_ID))
    module = COCO_MODULE.model_copy(update={"perturbations": ["mirrored"]})
    report = Executor([module], api=api, store=store).evaluate(model)
    for record in report.records:
        store.save_result(record)
    name = f"evalbot-cli-{uuid.uuid4().hex[:8]}"
    assert main([*args, "--variant", "mirrored", "--name", name]) == 0
    out = capsys.readouterr().out
    assert f"FiftyOne dataset '{name}': 48 samples" in out
    assert fo.load_dataset(name).info["variant"] == "mirrored"
    with pytest.raises(ExportError):
        export_fiftyone(DETR_ID, COCO_ID, store=store, modules=[], api=api, media_dir=tmp_path)


def test_cli_evaluates_a_zoo_model(
    fo: ModuleType, world: World, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], mongo: EmbeddedMongo,
) -> None:  # fmt: skip
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    coco = config / "tasks" / "object-detection" / "coco.yaml"
    coco.write_text(coco.read_text() + "perturbations: [mirrored]\nlimit: 8\n")
    monkeypatch.setenv("MONGODB_URI", mongo.uri)
    monkeypatch.setenv("EVALBOT_DB", store.db.name)
    repo_id = f"fiftyone/{ZOO_NAME}"
    assert main(["--config", str(config), "evaluate", repo_id]) == 0
    out = capsys.readouterr().out
    assert "detection-datasets/coco [val, original] n=8: AP" in out and "mirrored" in out
    stored = store.get_model(repo_id)
    assert stored is not None and stored.origin == "fiftyone"
    assert {r.variant for r in store.results_for(repo_id)} == {"original", "mirrored"}
    assert main(["--config", str(config), "evaluate", "fiftyone/no-such-model"]) == 1


def test_the_bot_cycle_takes_zoo_models(
    fo: ModuleType, world: World, store: Store, bot_api: HfApi, tmp_path: Path
) -> None:
    """`discovery.sources: [fiftyone]`: the zoo model is queued, evaluated and stored; it gets no
    PR (it has no Hub repo); the next cycle finds nothing new."""
    import yaml

    from bot.config import load_config
    from bot.cycle import run_cycle

    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    bot = yaml.safe_load((config / "bot.yaml").read_text())
    bot["discovery"] = {"sources": ["fiftyone"], "fiftyone_models": [ZOO_NAME]}
    (config / "bot.yaml").write_text(yaml.safe_dump(bot))
    coco = config / "tasks" / "object-detection" / "coco.yaml"
    coco.write_text(coco.read_text() + "perturbations: []\nlimit: 8\n")

    report = run_cycle(load_config(config), api=bot_api, store=store)
    assert (report.listed, report.queued, report.evaluated) == (1, 1, 1), report.summary()
    assert report.prs == {"not on the hub": 1} and not report.failed
    (record,) = store.results_for(f"fiftyone/{ZOO_NAME}")
    assert record.task == "object-detection" and record.metrics["ap"] is not None
    again = run_cycle(load_config(config), api=bot_api, store=store)
    assert (again.queued, again.evaluated) == (0, 0)
