"""Object-detection splits stored as a COCO zip: ``_annotations.coco.json`` and the images it
names, at the zip's root. This is the layout of Roboflow's COCO export, which many Hub datasets
hold as ``data/train.zip``, ``data/valid.zip`` and ``data/test.zip`` beside a loading script that
``datasets`` no longer runs.

A zip is checked whole first (every image the json names is in the zip, every annotation points
to a known image and category), then read into a :class:`datasets.Dataset` written to Arrow on
disk one image at a time, with the columns ``image_id``, ``image`` (the file's bytes), ``width``,
``height`` and ``objects``: a list of ``{id, area, bbox, category, iscrowd}`` per image, ``bbox``
as COCO has it (x, y, width, height in pixels) and ``category`` the category's name. Categories
no annotation uses (Roboflow's super-category at id 0) are not in any row.

Example:
    >>> ds = read_coco_zip(Path("test.zip"), name="org/data test.zip", cache_dir=tmp)  # doctest: +SKIP
    >>> ds[0]["objects"][0]  # doctest: +SKIP
    {'id': 0, 'area': 396.0, 'bbox': [23.0, 17.0, 18.0, 22.0], 'category': 'rbc', 'iscrowd': False}
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

ANNOTATIONS = "_annotations.coco.json"
# Bump when the rows read from a zip change: a split cached by an older reader is then rebuilt
READER_VERSION = "1"

FEATURES = datasets.Features(
    {
        "image_id": datasets.Value("int64"),
        "image": datasets.Image(),
        "width": datasets.Value("int64"),
        "height": datasets.Value("int64"),
        "objects": datasets.List(
            {
                "id": datasets.Value("int64"),
                "area": datasets.Value("float64"),
                "bbox": datasets.List(datasets.Value("float64"), length=4),
                "category": datasets.Value("string"),
                "iscrowd": datasets.Value("bool"),
            }
        ),
    }
)


class CocoZipError(ValueError):
    """A zip that is not a readable COCO export; the message names the zip and what to fix."""


@dataclass(frozen=True)
class CocoIndex:
    """What ``_annotations.coco.json`` says, checked against the zip: the images in the json's
    order (each ``file_name`` a file in the zip, from its root) and each image's objects."""

    images: tuple[dict[str, Any], ...]
    objects: dict[int, list[dict[str, Any]]]


def read_coco_zip(
    path: Path, *, name: str, cache_dir: Path, fingerprint: str | None = None
) -> datasets.Dataset:
    """The split in the COCO zip at ``path``, as a dataset written under ``cache_dir``.

    Args:
        path: the zip on disk.
        name: how messages name the zip (e.g. ``org/data@1a2b3c4d data/test.zip``).
        cache_dir: where the Arrow files go; a second call with the same ``fingerprint`` reads
            them instead of the zip's images.
        fingerprint: identifies the zip's content (e.g. from its repo, commit and path); None:
            ``datasets`` derives one from the arguments.

    Raises:
        CocoZipError: not a zip, no ``_annotations.coco.json`` at its root, or a json whose
            images, annotations or categories do not fit together or with the zip.
    """
    _index(path, name)  # every problem is found before anything is written
    return datasets.Dataset.from_generator(
        _rows,
        features=FEATURES,
        cache_dir=str(cache_dir),
        gen_kwargs={"path": str(path), "name": name},
        fingerprint=fingerprint,
    )


def _rows(path: str, name: str) -> Iterator[dict[str, Any]]:
    index = _index(Path(path), name)
    with zipfile.ZipFile(path) as archive:
        for image in index.images:
            file_name = str(image["file_name"])
            yield {
                "image_id": image["id"],
                "image": {"bytes": archive.read(file_name), "path": file_name},
                "width": image["width"],
                "height": image["height"],
                "objects": index.objects[image["id"]],
            }


def _index(path: Path, name: str) -> CocoIndex:
    try:
        with zipfile.ZipFile(path) as archive:
            members = {m for m in archive.namelist() if not m.endswith("/")}
            if ANNOTATIONS not in members:
                nested = sorted(m for m in members if m.endswith("/" + ANNOTATIONS))
                where = f" (it has {nested[0]}: put the json at the root)" if nested else ""
                raise CocoZipError(
                    f"{name}: no {ANNOTATIONS} at the zip's root{where}; a COCO zip (Roboflow's "
                    f"COCO export) holds it beside the images"
                )
            raw = archive.read(ANNOTATIONS)
    except zipfile.BadZipFile as exc:
        raise CocoZipError(f"{name}: not a zip file ({exc}); point files at a COCO zip") from exc
    try:
        coco = json.loads(raw)
    except ValueError as exc:  # invalid JSON or UTF-8
        raise CocoZipError(f"{name}: {ANNOTATIONS} is not valid JSON ({exc})") from exc
    if not isinstance(coco, dict):
        raise CocoZipError(f"{name}: {ANNOTATIONS} is not a COCO object")
    images = _records(coco, "images", ("id", "file_name", "width", "height"), name)
    annotations = _records(coco, "annotations", ("image_id", "category_id", "bbox"), name)
    categories = _records(coco, "categories", ("id", "name"), name)
    missing = [str(i["file_name"]) for i in images if str(i["file_name"]) not in members]
    if missing:
        raise CocoZipError(
            f"{name}: {len(missing)} of the {len(images)} images {ANNOTATIONS} names are not in "
            f"the zip ({', '.join(missing[:5])}); add them to the zip or remove them and their "
            f"annotations from the json"
        )
    for position, image in enumerate(images):
        if not all(_is_int(image[k]) for k in ("id", "width", "height")):
            raise CocoZipError(
                f"{name}: image {position} of {ANNOTATIONS} ({image['file_name']}) needs whole "
                f"numbers as id, width and height"
            )
    ids = [i["id"] for i in images]
    if len(set(ids)) != len(ids):
        raise CocoZipError(f"{name}: image ids repeat in {ANNOTATIONS}; each image needs its own")
    objects: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    names = {c["id"]: str(c["name"]) for c in categories}
    for position, annotation in enumerate(annotations):
        image_id, category_id = annotation["image_id"], annotation["category_id"]
        objects_of = objects.get(image_id) if _is_int(image_id) else None
        category = names.get(category_id) if _is_int(category_id) else None
        if objects_of is None or category is None:
            unknown = "image_id" if objects_of is None else "category_id"
            raise CocoZipError(
                f"{name}: annotation {annotation.get('id', position)} of {ANNOTATIONS} has "
                f"{unknown} {annotation[unknown]!r}, which no entry of "
                f"{'images' if objects_of is None else 'categories'} has; fix or remove it"
            )
        objects_of.append(_object(annotation, position, category, name))
    return CocoIndex(tuple(images), objects)


def _records(
    coco: dict[str, Any], key: str, fields: tuple[str, ...], name: str
) -> list[dict[str, Any]]:
    records = coco.get(key)
    if not isinstance(records, list):
        raise CocoZipError(f"{name}: {ANNOTATIONS} has no '{key}' list; it is not COCO's format")
    for position, record in enumerate(records):
        lacking = [f for f in fields if not isinstance(record, dict) or f not in record]
        if lacking:
            raise CocoZipError(
                f"{name}: entry {position} of '{key}' in {ANNOTATIONS} lacks {lacking} "
                f"(COCO's {key} have {list(fields)})"
            )
    return records


def _object(annotation: dict[str, Any], position: int, category: str, name: str) -> dict[str, Any]:
    bbox = annotation["bbox"]
    if (
        not isinstance(bbox, list)
        or len(bbox) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox)
    ):
        raise CocoZipError(
            f"{name}: annotation {annotation.get('id', position)} of {ANNOTATIONS} has bbox "
            f"{bbox!r}; COCO's is [x, y, width, height] in pixels"
        )
    area = annotation.get("area")
    if not isinstance(area, int | float) or isinstance(area, bool):  # absent: the box's
        area = bbox[2] * bbox[3]
    return {
        "id": annotation["id"] if _is_int(annotation.get("id")) else position,
        "area": float(area),
        "bbox": [float(v) for v in bbox],
        "category": category,
        "iscrowd": bool(annotation.get("iscrowd", 0)),
    }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
