"""`demo/shapes-coco-zip`: the detection world's shapes as a Roboflow COCO export on the Hub.

Roboflow's exports (and the `keremberke/*-object-detection` datasets made from them) hold each
split as a zip, `data/<split>.zip`, with `_annotations.coco.json` and the images at its root,
beside a loading script that `datasets` no longer runs. This repo has that layout: `data/test.zip`
holds the images of the COCO stand-in (`detection-datasets/coco`, `sandbox.world_detection`),
the same PNG files in the same order, with COCO boxes (x, y, width, height in pixels), Roboflow's
super-category at id 0 (used by no annotation) and the shapes' classes at ids 1-3, sorted by name.
Evaluated on it, a detector scores what it scores on the stand-in.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import yaml

from evaluators.detection_labels import COCO_LABELS

COCO_ZIP_ID = "demo/shapes-coco-zip"
ZIP_PATH = "data/test.zip"
SUPER_CATEGORY = "shapes"


def write_roboflow_export(parquet: Path, target: Path) -> None:
    """Writes the repo's files into ``target`` from the stand-in's split in ``parquet``."""
    import pyarrow.parquet as pq

    rows = pq.read_table(parquet).to_pylist()
    used = sorted({COCO_LABELS[o["category"]] for row in rows for o in row["objects"]})
    categories = [{"id": 0, "name": SUPER_CATEGORY, "supercategory": "none"}]
    categories += [
        {"id": k, "name": name, "supercategory": SUPER_CATEGORY}
        for k, name in enumerate(used, start=1)
    ]
    category_id = {c["name"]: c["id"] for c in categories}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for row in rows:
            file_name = f"shape_{row['image_id']:03d}_png.rf.{row['image_id']:032x}.png"
            archive.writestr(file_name, row["image"]["bytes"])
            images.append(
                {
                    "id": row["image_id"],
                    "license": 1,
                    "file_name": file_name,
                    "height": row["height"],
                    "width": row["width"],
                    "date_captured": "2026-11-25T00:00:00+00:00",
                }
            )
            for obj in row["objects"]:
                x1, y1, x2, y2 = obj["bbox"]
                annotations.append(
                    {
                        "id": len(annotations),
                        "image_id": row["image_id"],
                        "category_id": category_id[COCO_LABELS[obj["category"]]],
                        "bbox": [x1, y1, x2 - x1, y2 - y1],
                        "area": obj["area"],
                        "segmentation": [],
                        "iscrowd": 0,
                    }
                )
        coco = {
            "info": {"description": "shapes, exported in COCO format", "version": "1"},
            "licenses": [{"id": 1, "name": "CC BY 4.0"}],
            "categories": categories,
            "images": images,
            "annotations": annotations,
        }
        archive.writestr("_annotations.coco.json", json.dumps(coco))
    (target / "data").mkdir(parents=True, exist_ok=True)
    (target / ZIP_PATH).write_bytes(buffer.getvalue())
    (target / "README.md").write_text(_card(used, len(images)), encoding="utf-8")


def _card(labels: list[str], count: int) -> str:
    meta = {"task_categories": ["object-detection"], "tags": ["roboflow", "roboflow2huggingface"]}
    return (
        f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n\n"
        f"### Dataset Labels\n\n```\n{labels}\n```\n\n"
        f"### Number of Images\n\n```json\n{{'test': {count}}}\n```\n\n"
        "### Dataset Summary\n\n"
        f"The {count} generated images of `detection-datasets/coco` (evalbot's stand-in) in the "
        "layout of a Roboflow COCO export, made by `sandbox/world_coco_zip.py` for evalbot's "
        "tests. Not Roboflow's data.\n"
    )
