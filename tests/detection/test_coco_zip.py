"""COCO zips (Roboflow's export layout) read into datasets: rows, boxes, the super-category no
annotation uses, the cache, every malformed zip named with its fix, and the module keys."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from evaluators.coco_zip import ANNOTATIONS, CocoZipError, read_coco_zip
from evaluators.config import EvaluationModule

NAME = "org/data@12345678 data/test.zip"


def png(width: int, height: int, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def roboflow_coco() -> dict[str, Any]:
    """Two images, three boxes; category 0 is Roboflow's super-category, used by none."""
    return {
        "info": {"description": "cells"},
        "categories": [
            {"id": 0, "name": "cells", "supercategory": "none"},
            {"id": 1, "name": "platelets", "supercategory": "cells"},
            {"id": 2, "name": "rbc", "supercategory": "cells"},
        ],
        "images": [
            {"id": 0, "file_name": "a_jpg.rf.1.png", "width": 40, "height": 30},
            {"id": 1, "file_name": "b_jpg.rf.2.png", "width": 20, "height": 20},
            {"id": 2, "file_name": "c_jpg.rf.3.png", "width": 10, "height": 10},  # no boxes
        ],
        "annotations": [
            {"id": 0, "image_id": 0, "category_id": 2, "bbox": [1, 2, 10, 5], "area": 50},
            {"id": 1, "image_id": 0, "category_id": 1, "bbox": [20.5, 3, 4, 4], "iscrowd": 0},
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [0, 0, 20, 20], "area": 400},
        ],
    }


def write_zip(
    folder: Path,
    coco: dict[str, Any] | None,
    *,
    skip: str | None = None,
    at: str = "",
    images: list[dict[str, Any]] | None = None,
) -> Path:
    """``coco`` as the zip's json, with an image for each of ``images`` (default: the json's)."""
    path = folder / "test.zip"
    listed = images if images is not None else (coco or {}).get("images", [])
    sizes = {i["file_name"]: (i["width"], i["height"]) for i in listed}
    with zipfile.ZipFile(path, "w") as archive:
        for name, (width, height) in sizes.items():
            if name != skip:
                archive.writestr(name, png(width, height))
        if coco is not None:
            archive.writestr(at + ANNOTATIONS, json.dumps(coco))
    return path


def read(path: Path, tmp_path: Path) -> Any:
    return read_coco_zip(path, name=NAME, cache_dir=tmp_path / "cache", fingerprint="f1")


def test_rows_follow_the_json_with_category_names(tmp_path: Path) -> None:
    ds = read(write_zip(tmp_path, roboflow_coco()), tmp_path)
    assert ds.column_names == ["image_id", "image", "width", "height", "objects"]
    assert ds["image_id"] == [0, 1, 2] and ds["width"] == [40, 20, 10]
    first = ds[0]
    assert first["image"].size == (40, 30) and first["image"].getpixel((0, 0)) == (200, 30, 30)
    assert first["objects"] == [
        {"id": 0, "area": 50.0, "bbox": [1.0, 2.0, 10.0, 5.0], "category": "rbc", "iscrowd": False},
        # no area in the json: the box's
        {"id": 1, "area": 16.0, "bbox": [20.5, 3.0, 4.0, 4.0], "category": "platelets"}
        | {"iscrowd": False},
    ]
    assert ds[2]["objects"] == []  # an image without boxes stays, as background
    categories = {o["category"] for row in ds["objects"] for o in row}
    assert categories == {"rbc", "platelets"}  # the super-category is in no row


def test_a_second_read_uses_the_cache(tmp_path: Path) -> None:
    path = write_zip(tmp_path, roboflow_coco())
    first = read(path, tmp_path)
    (tmp_path / "other").mkdir()
    changed = roboflow_coco()
    changed["annotations"] = changed["annotations"][:1]
    again = read(write_zip(tmp_path / "other", changed), tmp_path)  # same fingerprint
    assert again.cache_files == first.cache_files and again["objects"] == first["objects"]
    fresh = read_coco_zip(path, name=NAME, cache_dir=tmp_path / "cache", fingerprint="f2")
    assert fresh.cache_files != first.cache_files


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["images"][1].update(file_name="gone.png"), r"1 of the 3 images .*gone\.png"),
        (lambda c: c["annotations"][2].update(image_id=7), r"annotation 2 .* image_id 7"),
        (lambda c: c["annotations"][0].update(category_id=9), r"annotation 0 .* category_id 9"),
        (lambda c: c["annotations"][1].update(bbox=[1, 2, 3]), r"annotation 1 .* bbox \[1, 2, 3\]"),
        (lambda c: c.pop("categories"), r"no 'categories' list"),
        (lambda c: c["images"][0].pop("width"), r"entry 0 of 'images' .* lacks \['width'\]"),
        (lambda c: c["images"][2].update(id=0), r"image ids repeat"),
        (lambda c: c["images"][0].update(id="a"), r"needs whole numbers"),
        (lambda c: c["annotations"][0].update(image_id=[0]), r"annotation 0 .* image_id \[0\]"),
    ],
)
def test_a_broken_json_is_named_with_its_fix(tmp_path: Path, change: Any, message: str) -> None:
    coco = roboflow_coco()
    change(coco)
    path = write_zip(tmp_path, coco, images=roboflow_coco()["images"])
    with pytest.raises(CocoZipError, match=message) as caught:
        read(path, tmp_path)
    assert str(caught.value).startswith(NAME)
    assert not (tmp_path / "cache").exists()  # checked before anything is written


def test_an_image_missing_from_the_zip(tmp_path: Path) -> None:
    path = write_zip(tmp_path, roboflow_coco(), skip="b_jpg.rf.2.png")
    with pytest.raises(CocoZipError, match=r"b_jpg\.rf\.2\.png\); add them to the zip"):
        read(path, tmp_path)


def test_a_zip_without_the_json(tmp_path: Path) -> None:
    with pytest.raises(CocoZipError, match=r"no _annotations\.coco\.json at the zip's root;"):
        read(write_zip(tmp_path, None), tmp_path)
    nested = write_zip(tmp_path, roboflow_coco(), at="test/")
    with pytest.raises(CocoZipError, match=r"it has test/_annotations\.coco\.json: put the json"):
        read(nested, tmp_path)


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "test.zip"
    path.write_bytes(b"version https://git-lfs.github.com/spec/v1\n")
    with pytest.raises(CocoZipError, match="not a zip file"):
        read(path, tmp_path)


def module(**dataset: Any) -> dict[str, Any]:
    return {
        "id": "cells",
        "task": "object-detection",
        "version": 1,
        "trained_on": ["org/cells"],
        "dataset": {
            "repo": "org/cells",
            "name": "Cells",
            "columns": {"input": "image", "label": "objects"},
            "objects": {"format": "xywh", "area": "area", "iscrowd": "iscrowd"},
            "labels": ["platelets", "rbc"],
            **dataset,
        },
    }


def test_module_keys() -> None:
    ref = EvaluationModule.model_validate(module(format="coco-zip", files="data/test.zip")).dataset
    assert (ref.format, ref.files, ref.split) == ("coco-zip", "data/test.zip", "test")
    assert EvaluationModule.model_validate(module()).dataset.format == "datasets"


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        ({"format": "coco-zip"}, "files: format 'coco-zip' reads one zip"),
        ({"format": "coco-zip", "files": "data/test.json"}, "set files to its path"),
        ({"format": "coco-zip", "files": "../test.zip"}, "a path inside the repo"),
        ({"format": "coco-zip", "files": "a.zip", "config": "full"}, "remove config"),
        ({"files": "data/test.zip"}, "remove files or set format: coco-zip"),
        ({"format": "coco"}, "format"),
    ],
)
def test_module_keys_are_checked(dataset: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EvaluationModule.model_validate(module(**dataset))


def test_coco_zip_is_for_object_detection_only() -> None:
    data = {
        "id": "cells",
        "task": "image-classification",
        "version": 1,
        "trained_on": ["org/cells"],
        "dataset": {
            "repo": "org/cells",
            "name": "Cells",
            "format": "coco-zip",
            "files": "data/test.zip",
            "columns": {"input": "image", "label": "label"},
            "labels": ["platelets", "rbc"],
        },
    }
    with pytest.raises(ValueError, match="'coco-zip' holds object-detection boxes"):
        EvaluationModule.model_validate(data)


def test_one_class_is_enough_to_detect() -> None:
    one = EvaluationModule.model_validate(module(labels=["license_plate"]))
    assert one.dataset.labels == ["license_plate"]
    with pytest.raises(ValueError, match=r"needs at least 1 label \["):
        EvaluationModule.model_validate(module(labels=[]))
