"""Class names of timm checkpoints: explicit label_names, else timm's ImageNet subsets."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import timm
import torch
from timm.data import ImageNetInfo
from timm.models import save_for_hf

from evaluators.config import load_module
from evaluators.errors import InsufficientMetadataError, UnsupportedModelError
from evaluators.image_classification import TimmImageClassifier
from evaluators.labels import map_labels
from evaluators.timm_labels import timm_label_names
from store.types import FailureReason

IMAGENET_1K = (
    Path(__file__).resolve().parents[2]
    / "config"
    / "tasks"
    / "image-classification"
    / "imagenet-1k.yaml"
)
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]

# config.json of timm/resnet50.a1_in1k as on the Hub: no label_names.
RESNET50_A1_IN1K: dict[str, Any] = {
    "architecture": "resnet50",
    "num_classes": 1000,
    "num_features": 2048,
    "global_pool": "avg",
    "pretrained_cfg": {
        "tag": "a1_in1k",
        "custom_load": False,
        "input_size": [3, 224, 224],
        "test_input_size": [3, 288, 288],
        "fixed_input_size": False,
        "interpolation": "bicubic",
        "crop_pct": 0.95,
        "test_crop_pct": 1.0,
        "crop_mode": "center",
        "mean": MEAN,
        "std": STD,
        "num_classes": 1000,
        "pool_size": [7, 7],
        "first_conv": "conv1",
        "classifier": "fc",
    },
}
# timm/convnext_base.fb_in22k_ft_in1k: pretrained on ImageNet-22k, fine-tuned on ImageNet-1k.
CONVNEXT_IN22K_FT_IN1K: dict[str, Any] = {
    "architecture": "convnext_base",
    "num_classes": 1000,
    "num_features": 1024,
    "global_pool": "avg",
    "pretrained_cfg": {
        "tag": "fb_in22k_ft_in1k",
        "custom_load": False,
        "input_size": [3, 224, 224],
        "test_input_size": [3, 288, 288],
        "fixed_input_size": False,
        "interpolation": "bicubic",
        "crop_pct": 0.875,
        "test_crop_pct": 1.0,
        "crop_mode": "center",
        "mean": MEAN,
        "std": STD,
        "num_classes": 1000,
        "pool_size": [7, 7],
        "first_conv": "stem.0",
        "classifier": "head.fc",
    },
}
# timm/vit_base_patch16_224.augreg_in21k: Google's ImageNet-21k, 21,843 classes.
VIT_AUGREG_IN21K: dict[str, Any] = {
    "architecture": "vit_base_patch16_224",
    "num_classes": 21843,
    "num_features": 768,
    "global_pool": "token",
    "pretrained_cfg": {
        "tag": "augreg_in21k",
        "custom_load": True,
        "input_size": [3, 224, 224],
        "fixed_input_size": True,
        "interpolation": "bicubic",
        "crop_pct": 0.9,
        "crop_mode": "center",
        "mean": [0.5, 0.5, 0.5],
        "std": [0.5, 0.5, 0.5],
        "num_classes": 21843,
        "first_conv": "patch_embed.proj",
        "classifier": "head",
    },
}


def _with(cfg: dict[str, Any], **pretrained: Any) -> dict[str, Any]:
    out = copy.deepcopy(cfg)
    out["pretrained_cfg"].update(pretrained)
    if "num_classes" in pretrained:
        out["num_classes"] = pretrained["num_classes"]
    return out


def test_official_in1k_checkpoint_gets_the_imagenet_1k_module_labels() -> None:
    module = load_module(IMAGENET_1K)
    names = timm_label_names("timm/resnet50.a1_in1k", RESNET50_A1_IN1K)
    assert names == module.dataset.labels
    mapping = map_labels(
        "timm/resnet50.a1_in1k",
        dict(enumerate(names)),
        module.dataset.labels,
        aliases=module.label_aliases,
    )
    assert mapping == {i: i for i in range(1000)}
    assert (names[134], names[517]) == ("crane", "crane2")  # the bird, the machine


def test_in22k_fine_tuned_to_in1k_gets_imagenet_1k_names() -> None:
    names = timm_label_names("timm/convnext_base.fb_in22k_ft_in1k", CONVNEXT_IN22K_FT_IN1K)
    assert names == timm_label_names("timm/resnet50.a1_in1k", RESNET50_A1_IN1K)


def test_in21k_checkpoint_gets_the_subset_timm_infers() -> None:
    names = timm_label_names("timm/vit_base_patch16_224.augreg_in21k", VIT_AUGREG_IN21K)
    info = ImageNetInfo("imagenet-21k-goog")
    assert names is not None and len(names) == 21843 == info.num_classes()
    assert names[0] == info.index_to_description(0)
    assert len(set(names)) == len(names)  # repeated lemmas are numbered


def test_fall11_with_21841_classes_is_imagenet_22k() -> None:
    cfg = _with(CONVNEXT_IN22K_FT_IN1K, tag="fb_in22k", num_classes=21841)
    names = timm_label_names("timm/convnext_base.fb_in22k", cfg)
    info = ImageNetInfo("imagenet-22k")
    assert names is not None and len(names) == 21841
    assert names[-1] == info.index_to_description(21840)


def test_imagenet_tag_on_a_retrained_head_is_refused() -> None:
    cfg = _with(RESNET50_A1_IN1K, num_classes=10)
    with pytest.raises(InsufficientMetadataError) as err:
        timm_label_names("org/resnet50-pets", cfg)
    assert err.value.reason is FailureReason.INSUFFICIENT_METADATA
    assert "'a1_in1k' names ImageNet-1k but num_classes is 10" in err.value.detail
    assert "add label_names" in err.value.detail


def test_in1k_tag_with_imagenet_21k_class_count_is_refused() -> None:
    cfg = _with(RESNET50_A1_IN1K, num_classes=21843)
    with pytest.raises(InsufficientMetadataError, match="names ImageNet-1k"):
        timm_label_names("org/m", cfg)


def test_imagenet_tag_without_num_classes_is_refused() -> None:
    cfg = copy.deepcopy(RESNET50_A1_IN1K)
    del cfg["num_classes"], cfg["pretrained_cfg"]["num_classes"]
    with pytest.raises(InsufficientMetadataError, match="num_classes is missing"):
        timm_label_names("org/m", cfg)


def test_headless_checkpoint_is_unsupported() -> None:
    cfg = _with(VIT_AUGREG_IN21K, tag="orig_in21k", num_classes=0)
    with pytest.raises(UnsupportedModelError, match="no classifier head"):
        timm_label_names("timm/vit_base_patch16_224.orig_in21k", cfg)


@pytest.mark.parametrize("tag", [None, "lvd142m", "untrained", "in1kish"])
def test_no_names_and_no_imagenet_tag_is_none(tag: str | None) -> None:
    cfg = _with(RESNET50_A1_IN1K, tag=tag)
    assert timm_label_names("org/m", cfg) is None


def test_explicit_label_names_win() -> None:
    cfg = _with(RESNET50_A1_IN1K, num_classes=3)
    cfg["label_names"] = ["cat", "dog", "bird"]
    assert timm_label_names("org/m", cfg) == ["cat", "dog", "bird"]
    legacy = {"architecture": "resnet18", "num_classes": 2, "label_names": ["a", "b"]}
    assert timm_label_names("org/m", legacy) == ["a", "b"]
    nested = _with(RESNET50_A1_IN1K, num_classes=2, label_names=["no", "yes"])
    assert timm_label_names("org/m", nested) == ["no", "yes"]


def test_label_names_as_index_mapping_and_with_descriptions() -> None:
    cfg = _with(RESNET50_A1_IN1K, num_classes=2)
    cfg["label_names"] = {"1": "n03126707", "0": "n02012849"}
    cfg["label_descriptions"] = {"n02012849": "crane", "n03126707": "crane"}
    assert timm_label_names("org/m", cfg) == ["crane", "crane2"]
    del cfg["label_descriptions"]
    assert timm_label_names("org/m", cfg) == ["n02012849", "n03126707"]


@pytest.mark.parametrize(
    ("label_names", "message"),
    [
        (["a", "b"], "lists 2 label_names but num_classes is 3"),
        (["a", 2, "c"], "must be a list of class names"),
        ("a,b,c", "must be a list of class names"),
        ({"0": "a", "2": "b", "3": "c"}, "must name every class output 0..n-1"),
        ({"x": "a"}, "must name every class output 0..n-1"),
    ],
)
def test_bad_label_names_say_what_to_fix(label_names: object, message: str) -> None:
    cfg = _with(RESNET50_A1_IN1K, num_classes=3)
    cfg["label_names"] = label_names
    with pytest.raises(InsufficientMetadataError, match=message):
        timm_label_names("org/m", cfg)


def test_official_shaped_snapshot_loads_with_imagenet_names(tmp_path: Path) -> None:
    """A tiny timm ImageNet model saved as the official checkpoints are: no label_names."""
    model = timm.create_model("test_resnet.r160_in1k", pretrained=False)
    save_for_hf(model, str(tmp_path), safe_serialization=True)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg.pop("model_args", None)  # official exports predate it
    assert "label_names" not in cfg and cfg["pretrained_cfg"]["tag"] == "r160_in1k"
    (tmp_path / "config.json").write_text(json.dumps(cfg))

    classifier = TimmImageClassifier.load(
        "timm/test_resnet.r160_in1k", tmp_path, torch.device("cpu")
    )

    module = load_module(IMAGENET_1K)
    assert list(classifier.id2label.values()) == module.dataset.labels
    assert map_labels(
        classifier.repo_id, classifier.id2label, module.dataset.labels, aliases=module.label_aliases
    ) == {i: i for i in range(1000)}
