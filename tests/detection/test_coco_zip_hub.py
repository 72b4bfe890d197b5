"""A Roboflow-layout COCO zip on the sandbox Hub (`demo/shapes-coco-zip`: the COCO stand-in's
images and boxes, re-packed) loaded through `datasets_io` and evaluated end to end: the same
ground truth and the same scores as the stand-in's Parquet split."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from huggingface_hub import HfApi, hf_hub_download

from bot.discovery import to_record
from bot.online_check import check_modules
from evaluators.config import EvaluationModule, ModuleFile, read_yaml
from evaluators.datasets_io import DatasetError, load_dataset
from evaluators.executor import Executor
from evaluators.isolation import IsolatedExecutor
from evaluators.object_detection import DetectionSplit, load_detection_split
from sandbox.world import World
from sandbox.world_coco_zip import COCO_ZIP_ID, SUPER_CATEGORY, ZIP_PATH
from sandbox.world_detection import COCO_ID, YOLOS_ID

ROOT = Path(__file__).resolve().parents[2]
COCO_YAML = ROOT / "config" / "tasks" / "object-detection" / "coco.yaml"


def module(*, perturbations: list[str], zipped: bool = True, **dataset: Any) -> EvaluationModule:
    """The shipped coco module on the zip (``zipped``, with ``dataset`` keys changed), or on the
    stand-in."""
    data = read_yaml(COCO_YAML)
    data["perturbations"] = perturbations
    if not zipped:
        return EvaluationModule.model_validate(data)
    data["id"] = "shapes-coco-zip"
    if "labels" in dataset:  # aliases and groups of COCO's names are for COCO's labels
        data.pop("label_aliases")
        data.pop("class_groups", None)
    data["dataset"] |= {
        "repo": COCO_ZIP_ID,
        "name": "Shapes (COCO zip)",
        "split": "test",
        "revision": None,
        "format": "coco-zip",
        "files": ZIP_PATH,
        "objects": {"format": "xywh", "area": "area", "iscrowd": "iscrowd"},
        **dataset,
    }
    return EvaluationModule.model_validate(data)


ZIP_MODULE = module(perturbations=["flipped"])
COCO_MODULE = module(perturbations=[], zipped=False)


def revision(repo_id: str) -> str:
    sha = HfApi().dataset_info(repo_id).sha
    assert sha is not None
    return sha


def test_the_zip_holds_the_stand_ins_ground_truth(world: World) -> None:
    sha = revision(COCO_ZIP_ID)
    zipped = load_detection_split(ZIP_MODULE, sha)
    parquet = load_detection_split(COCO_MODULE, revision(COCO_ID))
    assert isinstance(zipped, DetectionSplit) and len(zipped) == len(parquet) == 48
    assert zipped.sizes == parquet.sizes
    assert np.array_equal(zipped.labels, parquet.labels)
    assert zipped.class_counts(80) == parquet.class_counts(80)
    for ours, theirs in zip(zipped.targets, parquet.targets, strict=True):
        assert np.array_equal(ours.boxes, theirs.boxes)
        assert np.array_equal(ours.labels, theirs.labels)
        assert np.allclose(ours.object_areas(), theirs.object_areas(), rtol=1e-6)
    assert all(torch.equal(zipped.inputs[i], parquet.inputs[i]) for i in range(len(zipped)))
    # the boxes are the json's, xywh turned into xyxy
    with zipfile.ZipFile(hf_hub_download(COCO_ZIP_ID, ZIP_PATH, repo_type="dataset")) as archive:
        coco = json.loads(archive.read("_annotations.coco.json"))
    assert coco["categories"][0] == {"id": 0, "name": SUPER_CATEGORY, "supercategory": "none"}
    assert all(a["category_id"] != 0 for a in coco["annotations"])
    first = next(i for i, t in enumerate(zipped.targets) if len(t.labels))
    image_id = coco["images"][first]["id"]
    expected = [
        [x, y, x + w, y + h]
        for x, y, w, h in (a["bbox"] for a in coco["annotations"] if a["image_id"] == image_id)
    ]
    assert zipped.targets[first].boxes.tolist() == expected
    # read once: a second load reads the Arrow files the first wrote
    again = load_dataset(ZIP_MODULE, sha)
    assert again.cache_files == load_dataset(ZIP_MODULE, sha).cache_files


def test_a_missing_file_or_repo_is_the_modules_error(world: World) -> None:
    sha = revision(COCO_ZIP_ID)
    with pytest.raises(DatasetError, match=r"no such file; fix dataset\.files") as caught:
        load_dataset(module(perturbations=[], files="data/valid.zip"), sha)
    assert caught.value.module == "shapes-coco-zip"
    with pytest.raises(DatasetError, match=r"cannot be found .*fix dataset\.repo"):
        load_dataset(module(perturbations=[], repo="demo/no-such-zip"), sha)


def test_validate_online_checks_the_zip_is_there(world: World) -> None:
    here = ModuleFile(Path("shapes.yaml"), ZIP_MODULE)
    gone = ModuleFile(Path("gone.yaml"), module(perturbations=[], files="data/valid.zip"))
    found, missing = check_modules([here, gone], endpoint=os.environ["HF_ENDPOINT"], token=None)
    assert found.status == "ok", found.detail
    assert "columns image, objects; plain label values" in found.detail
    assert missing.status == "error"
    assert missing.detail.endswith("there is no file data/valid.zip in the repo; fix dataset.files")


def test_a_category_missing_from_the_labels_is_the_modules_error(world: World) -> None:
    """The super-category, used by no box, is no error; a class some box has is."""
    two = module(perturbations=[], labels=["book", "kite"])
    with pytest.raises(DatasetError, match=r"class 'sports ball' is not in dataset\.labels"):
        load_detection_split(two, revision(COCO_ZIP_ID))


def test_a_detector_scores_on_the_zip_as_on_the_stand_in(world: World) -> None:
    model = to_record(HfApi().model_info(YOLOS_ID))
    first = {"limit": 16}  # a third of the images keeps it quick
    zipped = ZIP_MODULE.model_copy(update=first)
    report = Executor([zipped], api=HfApi()).evaluate(model)
    assert [r.variant for r in report.records] == ["original", "flipped"]
    clean = report.records[0]
    assert (clean.dataset_id, clean.split, clean.num_examples) == (COCO_ZIP_ID, "test", 16)
    assert clean.dataset_revision == revision(COCO_ZIP_ID)
    assert {c.label for c in clean.classes if c.support} == {"sports ball", "book", "kite"}
    stand_in = Executor([COCO_MODULE.model_copy(update=first)], api=HfApi()).evaluate(model)
    original = stand_in.records[0]
    assert (original.dataset_id, original.num_examples) == (COCO_ID, 16)
    assert clean.metrics == original.metrics and clean.classes == original.classes


@pytest.mark.slow  # an isolated child process loads torch and the detector (several seconds)
def test_the_isolated_child_reads_the_zip_offline(world: World) -> None:
    model = to_record(HfApi().model_info(YOLOS_ID))
    direct = Executor([ZIP_MODULE], api=HfApi()).evaluate(model)
    isolated = IsolatedExecutor([ZIP_MODULE], api=HfApi()).evaluate(model)
    assert [r.variant for r in isolated.records] == ["original", "flipped"]
    for ours, theirs in zip(isolated.records, direct.records, strict=True):
        assert ours.metrics == theirs.metrics and ours.classes == theirs.classes
