"""The image part of the demo world: `ylecun/mnist` from scikit-learn's digits, a transformers ViT
and a timm ResNet, pushed with the real client and loaded back the way users load them.

The world is built once per machine (cached); the image part adds about 20 s to that build.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import datasets
import numpy as np
import pytest
import timm
import torch
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from PIL import Image
from timm.data import create_transform, resolve_data_config
from transformers import AutoImageProcessor, AutoModelForImageClassification, pipeline

from sandbox.seed import seed_world
from sandbox.server import RunningSandbox
from sandbox.world import World, build_world
from sandbox.world_images import (
    DIGIT_LABELS,
    MNIST_ID,
    TIMM_ID,
    VIT_ID,
    digit_splits,
    vit_accuracy,
)

MODELS = {VIT_ID: "transformers", TIMM_ID: "timm"}


@pytest.fixture(scope="session")
def world() -> World:
    return build_world()


@pytest.fixture(scope="module")
def seeded(world: World, sandbox: RunningSandbox, demo_token: str) -> list[str]:
    return seed_world(world, endpoint=sandbox.url, token=demo_token)


@pytest.fixture(scope="module")
def test_split(seeded: list[str]) -> datasets.Dataset:
    """The test split as `datasets` loads it from the sandbox (HF_ENDPOINT set by conftest)."""
    return datasets.load_dataset(MNIST_ID, split="test")


def _label_names(model: torch.nn.Module) -> list[str]:
    """The label names a timm model read from its config.json."""
    return cast(dict[str, Any], model.pretrained_cfg)["label_names"]


def _tolerance(n: int) -> float:
    """One prediction may flip between thread counts."""
    return 1 / n + 1e-9


def test_digit_splits_are_deterministic_stratified_mnist_images() -> None:
    splits = digit_splits()
    (train, _), (test, test_labels) = splits["train"], splits["test"]
    assert (len(train), len(test)) == (1437, 360)
    assert sorted(set(test_labels)) == list(range(10))
    assert all(35 <= test_labels.count(d) <= 37 for d in range(10))
    assert {(im.mode, im.size) for im in train + test} == {("L", (28, 28))}
    pixels = np.asarray(test[0])
    assert pixels.max() > 200 and not pixels[:4].any() and not pixels[:, -4:].any()
    again = digit_splits()["test"]
    assert again[1] == test_labels
    assert all(a.tobytes() == b.tobytes() for a, b in zip(again[0], test, strict=True))


def test_image_repos_in_the_world(world: World) -> None:
    mnist = world.dataset(MNIST_ID)
    names = sorted(p.relative_to(mnist.path).as_posix() for p in mnist.path.rglob("*.parquet"))
    assert names == ["data/test-00000-of-00001.parquet", "data/train-00000-of-00001.parquet"]
    vit, tiny_timm = world.model(VIT_ID), world.model(TIMM_ID)
    assert {p.name for p in vit.path.iterdir()} == {
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
        "README.md",
    }
    assert {p.name for p in tiny_timm.path.iterdir()} == {
        "config.json",
        "model.safetensors",
        "README.md",
    }
    assert vit.test_accuracy is not None and vit.test_accuracy >= 0.85
    assert tiny_timm.test_accuracy is not None and tiny_timm.test_accuracy >= 0.8
    processor = json.loads((vit.path / "preprocessor_config.json").read_text())
    assert processor["size"] == {"height": 28, "width": 28}
    assert processor["do_resize"] and processor["do_convert_rgb"]
    config = json.loads((tiny_timm.path / "config.json").read_text())
    assert config["architecture"] == "resnet10t" and config["num_classes"] == 10
    assert config["label_names"] == list(DIGIT_LABELS)
    assert config["pretrained_cfg"]["input_size"] == [3, 28, 28]


def test_mnist_loads_from_the_hub(test_split: datasets.Dataset, bot_api: HfApi) -> None:
    assert isinstance(test_split.features["image"], datasets.Image)
    assert test_split.features["label"].names == list(DIGIT_LABELS)
    images, labels = digit_splits()["test"]
    assert test_split["label"] == labels
    first = test_split[0]["image"]
    assert isinstance(first, Image.Image) and (first.mode, first.size) == ("L", (28, 28))
    assert first.tobytes() == images[0].tobytes()
    card = bot_api.dataset_info(MNIST_ID).card_data
    assert card is not None and card["task_categories"] == ["image-classification"]
    readme = Path(hf_hub_download(MNIST_ID, "README.md", repo_type="dataset")).read_text()
    assert "results on this dataset are not results on MNIST" in " ".join(readme.split())


@pytest.mark.parametrize("repo_id", MODELS)
def test_image_model_repo_on_the_hub(repo_id: str, seeded: list[str], bot_api: HfApi) -> None:
    assert repo_id in seeded
    info = bot_api.model_info(repo_id)
    assert info.pipeline_tag == "image-classification"
    assert info.library_name == MODELS[repo_id]
    assert f"dataset:{MNIST_ID}" in (info.tags or [])
    files = [s.rfilename for s in info.siblings or []]
    assert "model.safetensors" in files
    assert not any(f.endswith(".bin") for f in files)


def test_vit_reproduces_its_test_accuracy(
    world: World, test_split: datasets.Dataset, hf_endpoint: str
) -> None:
    path = Path(snapshot_download(VIT_ID, endpoint=hf_endpoint))
    model = AutoModelForImageClassification.from_pretrained(path)
    processor = AutoImageProcessor.from_pretrained(path)
    assert [model.config.id2label[i] for i in range(10)] == list(DIGIT_LABELS)
    measured = vit_accuracy(model, processor, test_split["image"], test_split["label"])
    recorded = world.model(VIT_ID).test_accuracy
    assert measured == pytest.approx(recorded, abs=_tolerance(len(test_split)))
    # The pipeline takes the greyscale PIL image as it comes out of `datasets`.
    (top,) = pipeline("image-classification", model=model, image_processor=processor, top_k=1)(
        test_split[0]["image"]
    )
    assert top["label"] in DIGIT_LABELS


def test_timm_model_from_the_hub_reproduces_its_test_accuracy(
    world: World, test_split: datasets.Dataset, seeded: list[str]
) -> None:
    model = timm.create_model(f"hf-hub:{TIMM_ID}", pretrained=True).eval()
    assert _label_names(model) == list(DIGIT_LABELS)
    config = resolve_data_config(model=model)
    assert config["input_size"] == (3, 28, 28) and config["crop_pct"] == 1.0
    transform = create_transform(**config)
    inputs = torch.stack([transform(im.convert("RGB")) for im in test_split["image"]])
    with torch.no_grad():
        predicted = model(inputs).argmax(-1).tolist()
    measured = float(np.mean(np.array(predicted) == np.array(test_split["label"])))
    recorded = world.model(TIMM_ID).test_accuracy
    assert measured == pytest.approx(recorded, abs=_tolerance(len(test_split)))


def test_timm_model_loads_from_a_local_folder(seeded: list[str], hf_endpoint: str) -> None:
    folder = Path(snapshot_download(TIMM_ID, endpoint=hf_endpoint))
    local = timm.create_model(f"local-dir:{folder}", pretrained=True)
    hub = timm.create_model(f"hf-hub:{TIMM_ID}", pretrained=True)
    assert _label_names(local) == list(DIGIT_LABELS)
    assert resolve_data_config(model=local) == resolve_data_config(model=hub)
    hub_state = hub.state_dict()
    assert all(torch.equal(t, hub_state[k]) for k, t in local.state_dict().items())
