"""The detection part of the demo world: a COCO-schema `detection-datasets/coco` of simple shapes,
the same shapes as a Roboflow COCO export (`demo/shapes-coco-zip`, `sandbox.world_coco_zip`),
and two small random detectors.

The dataset has the Hub id, split name (`val`) and schema of `detection-datasets/coco`
(`image_id`, `image`, `width`, `height`, `objects` = {`bbox_id`, `category`, `bbox` xyxy pixels,
`area`}, `category` a ClassLabel of COCO's 80 names), but its images are generated: circles,
squares and triangles on a noisy background, labelled "sports ball", "book" and "kite"; one
image in eight is empty. The detectors are transformers models with random weights (seeded), so
their scores are low and their AP near 0; they exercise the pipeline, not accuracy:

- `demo/detr-shapes`: DETR with a transformers `ResNetConfig` backbone (no timm weights needed)
  and COCO's 91-id `id2label` with `N/A` entries, as DETR checkpoints have;
- `demo/yolos-shapes`: YOLOS (no backbone) with the 80 contiguous COCO names.

Built into `default_cache_dir()/detection-<digest>/` on first use (a few seconds), then cached.

Example:
    >>> world = build_detection_world()
    >>> [m.repo_id for m in world.models]
    ['demo/detr-shapes', 'demo/yolos-shapes']
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock

from evaluators.detection_labels import COCO_LABELS, coco91_id2label
from sandbox.world import DatasetSpec, ModelSpec, World, default_cache_dir
from sandbox.world_coco_zip import COCO_ZIP_ID, write_roboflow_export

COCO_ID = "detection-datasets/coco"
SPLIT = "val"
SHAPES = {"circle": "sports ball", "square": "book", "triangle": "kite"}
DETR_ID = "demo/detr-shapes"
YOLOS_ID = "demo/yolos-shapes"
RECIPE_VERSION = "2"


@dataclass(frozen=True)
class DetectionRecipe:
    """Every parameter of the detection world; its hash names the cache folder."""

    seed: int = 20261125
    images: int = 48
    size: int = 96
    max_objects: int = 4
    model_seed: int = 0


DETECTION_RECIPE = DetectionRecipe()


def _draw(rng: random.Random, size: int, max_objects: int) -> tuple[Any, list[dict[str, Any]]]:
    import numpy as np
    from PIL import Image, ImageDraw

    noise = np.random.default_rng(rng.randrange(2**32)).integers(0, 60, (size, size, 3))
    image = Image.fromarray(noise.astype(np.uint8), mode="RGB")
    draw = ImageDraw.Draw(image)
    objects: list[dict[str, Any]] = []
    count = 0 if rng.random() < 1 / 8 else rng.randint(1, max_objects)
    for _ in range(count):
        shape = rng.choice(list(SHAPES))
        w = rng.randint(12, size // 2)
        h = w if shape != "triangle" else rng.randint(12, size // 2)
        x, y = rng.randint(0, size - w), rng.randint(0, size - h)
        colour = tuple(rng.randint(120, 255) for _ in range(3))
        box = (x, y, x + w, y + h)
        if shape == "circle":
            draw.ellipse((x, y, x + w - 1, y + h - 1), fill=colour)
            area = math.pi * w * h / 4
        elif shape == "square":
            draw.rectangle((x, y, x + w - 1, y + h - 1), fill=colour)
            area = float(w * h)
        else:
            draw.polygon([(x, y + h - 1), (x + w - 1, y + h - 1), (x + w / 2, y)], fill=colour)
            area = w * h / 2
        objects.append(
            {
                "bbox_id": len(objects),
                "category": COCO_LABELS.index(SHAPES[shape]),
                "bbox": [float(v) for v in box],
                "area": round(area, 2),
            }
        )
    return image, objects


def _write_dataset(root: Path, recipe: DetectionRecipe) -> DatasetSpec:
    from datasets import ClassLabel, Dataset, Features, Image, List, Value

    rng = random.Random(recipe.seed)
    rows: dict[str, list[Any]] = {
        k: [] for k in ("image_id", "image", "width", "height", "objects")
    }
    for i in range(recipe.images):
        image, objects = _draw(rng, recipe.size, recipe.max_objects)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        rows["image_id"].append(i)
        rows["image"].append({"bytes": buffer.getvalue(), "path": None})
        rows["width"].append(recipe.size)
        rows["height"].append(recipe.size)
        rows["objects"].append(objects)
    features = Features(
        {
            "image_id": Value("int64"),
            "image": Image(),
            "width": Value("int64"),
            "height": Value("int64"),
            "objects": List(
                {
                    "bbox_id": Value("int64"),
                    "category": ClassLabel(names=list(COCO_LABELS)),
                    "bbox": List(Value("float32"), length=4),
                    "area": Value("float32"),
                }
            ),
        }
    )
    path = root / "datasets" / COCO_ID
    Dataset.from_dict(rows, features=features).to_parquet(
        str(path / "data" / f"{SPLIT}-00000-of-00001.parquet")
    )
    meta = {
        "task_categories": ["object-detection"],
        "pretty_name": "COCO 2017 (evalbot stand-in of generated shapes)",
        "configs": [
            {"config_name": "default", "data_files": [{"split": SPLIT, "path": "data/val-*"}]}
        ],
    }
    card = (
        f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n\n"
        "# COCO 2017 (stand-in built by evalbot)\n\n"
        f"{recipe.images} generated {recipe.size}x{recipe.size} images of circles ('sports ball'),"
        " squares ('book') and triangles ('kite') with COCO's schema and 80 class names, made by "
        "`sandbox/world_detection.py` for evalbot's demo and tests. Not COCO's images.\n"
    )
    (path / "README.md").write_text(card, encoding="utf-8")
    return DatasetSpec(COCO_ID, path)


def _card(repo_id: str, kind: str) -> str:
    from huggingface_hub import ModelCardData

    data = ModelCardData(
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="object-detection",
        datasets=[COCO_ID],
        tags=["object-detection", "vision"],
    )
    name = repo_id.split("/")[1]
    return f"---\n{data.to_yaml()}\n---\n\n# {name}\n\nA tiny {kind} with random weights, made by evalbot for its demo.\n"


def _save(model: Any, processor: Any, path: Path, card: str) -> None:
    model.save_pretrained(path, safe_serialization=True)
    processor.save_pretrained(path)
    (path / "README.md").write_text(card, encoding="utf-8")


def _build_detr(root: Path, recipe: DetectionRecipe) -> ModelSpec:
    import torch
    from transformers import DetrConfig, DetrForObjectDetection, DetrImageProcessor, ResNetConfig

    id2label = coco91_id2label()
    backbone = ResNetConfig(embedding_size=16, hidden_sizes=[16, 32], depths=[1, 1])
    config = DetrConfig(
        backbone_config=backbone,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        num_queries=20,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items() if v != "N/A"},
    )
    torch.manual_seed(recipe.model_seed)
    processor = DetrImageProcessor(size={"shortest_edge": recipe.size, "longest_edge": 128})
    path = root / "models" / DETR_ID
    _save(DetrForObjectDetection(config), processor, path, _card(DETR_ID, "DETR (ResNet backbone)"))
    return ModelSpec(DETR_ID, path, "DETR, COCO 91-id labels with N/A entries", None)


def _build_yolos(root: Path, recipe: DetectionRecipe) -> ModelSpec:
    import torch
    from transformers import YolosConfig, YolosForObjectDetection, YolosImageProcessor

    id2label = dict(enumerate(COCO_LABELS))
    config = YolosConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=[recipe.size, recipe.size],
        patch_size=16,
        num_detection_tokens=10,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    torch.manual_seed(recipe.model_seed + 1)
    processor = YolosImageProcessor(size={"shortest_edge": recipe.size, "longest_edge": 128})
    path = root / "models" / YOLOS_ID
    _save(YolosForObjectDetection(config), processor, path, _card(YOLOS_ID, "YOLOS"))
    return ModelSpec(YOLOS_ID, path, "YOLOS, 80 contiguous COCO labels", None)


def digest(recipe: DetectionRecipe = DETECTION_RECIPE) -> str:
    blob = json.dumps({"version": RECIPE_VERSION, **asdict(recipe)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def build_detection_world(
    cache_dir: Path | None = None, recipe: DetectionRecipe = DETECTION_RECIPE
) -> World:
    """Builds (or reads from the cache) the shapes datasets and the two detectors."""
    base = (cache_dir if cache_dir is not None else default_cache_dir()).expanduser().resolve()
    root = base / f"detection-{digest(recipe)}"
    datasets = (
        DatasetSpec(COCO_ID, root / "datasets" / COCO_ID),
        DatasetSpec(COCO_ZIP_ID, root / "datasets" / COCO_ZIP_ID),
    )
    specs = (
        ModelSpec(DETR_ID, root / "models" / DETR_ID, "DETR, COCO 91-id labels with N/A", None),
        ModelSpec(YOLOS_ID, root / "models" / YOLOS_ID, "YOLOS, 80 contiguous COCO labels", None),
    )
    if (root / "done").exists():
        return World(root, datasets, specs)
    base.mkdir(parents=True, exist_ok=True)
    with FileLock(str(base / f"detection-{digest(recipe)}.lock")):
        if not (root / "done").exists():
            shutil.rmtree(root, ignore_errors=True)
            coco = _write_dataset(root, recipe)
            write_roboflow_export(
                coco.path / "data" / f"{SPLIT}-00000-of-00001.parquet",
                root / "datasets" / COCO_ZIP_ID,
            )
            _build_detr(root, recipe)
            _build_yolos(root, recipe)
            (root / "done").write_text(json.dumps(asdict(recipe)) + "\n")
    return World(root, datasets, specs)
