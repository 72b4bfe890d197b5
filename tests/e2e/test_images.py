"""Image classification end to end: a transformers ViT and a timm model trained on real
handwritten digits, served as the sandbox's MNIST, evaluated with every configured variant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import datasets
import numpy as np
import pytest
import timm
import torch
from huggingface_hub import HfApi, ModelCard, hf_hub_download

from evaluators.config import load_module
from perturbations import get
from sandbox.world import World
from store.db import Store
from store.embedded import EmbeddedMongo
from store.types import ModelStatus
from tests.demo_cycle import DemoCycle

pytestmark = pytest.mark.slow  # end to end: the CLI cycle over the demo world

ROOT = Path(__file__).resolve().parents[2]
MNIST = load_module(ROOT / "config" / "tasks" / "image-classification" / "mnist.yaml")
MODELS = ("demo/vit-digits", "demo/timm-digits")


@pytest.fixture(scope="module")
def cycle(demo_cycle: DemoCycle, demo_world: World, mongo: EmbeddedMongo) -> Iterator[Store]:
    """The database of the session's cycle over the demo world (tests/demo_cycle.py: the
    shipped config, whose mnist module selects the two image models). The world is on the
    session's sandbox Hub too, where timm and datasets read it back on their own."""
    store = Store.open(mongo.uri, db_name=demo_cycle.db_name, read_only=True)
    yield store
    store.client.close()


@pytest.fixture(scope="module")
def demo_api(demo_cycle: DemoCycle) -> HfApi:
    """The cycle's Hub as ``demo``, the owner of the world's repos."""
    return HfApi(endpoint=demo_cycle.hub.url, token=demo_cycle.hub.tokens["demo"])


def test_every_variant_is_evaluated_and_stored(cycle: Store) -> None:
    expected = {"original", *(p.variant_id for p in MNIST.variants())}
    assert len(expected) == 6
    for repo_id in MODELS:
        model = cycle.get_model(repo_id)
        assert model is not None and model.status is ModelStatus.EVALUATED, (repo_id, model)
        results = {r.variant: r for r in cycle.results_for(repo_id, model.sha)}
        assert set(results) == expected
        clean = results["original"]
        assert clean.num_examples == 360 and clean.metrics["accuracy"] > 0.75  # type: ignore[operator]
        assert clean.calibration is not None and clean.intervals
        assert all(r.num_examples == 360 for r in results.values())
        # digits are not symmetric: flipping them must hurt a model trained on upright digits
        assert results["flipped"].metrics["accuracy"] < clean.metrics["accuracy"]  # type: ignore[operator]
    # every variant evaluated in the cycle (the other modules' too) is described, and no other
    variants = {v["_id"] for v in cycle.variants.find()}
    assert variants == set(cycle.results.distinct("variant")) - {"original"}
    assert expected - {"original"} <= variants
    split = cycle.dataset_splits.find_one({"dataset_id": "ylecun/mnist"})
    assert split is not None and sum(split["class_counts"]) == 360
    thumbs = list(cycle.dataset_examples.find({"dataset_id": "ylecun/mnist"}))
    assert all(t["thumbnail_png"].startswith(b"\x89PNG") for t in thumbs)
    per_class = [sum(t["class_id"] == c for t in thumbs) for c in range(10)]
    assert min(per_class) >= 20  # 20 examples of each class, plus every misclassified one
    shown = {t["example_id"] for t in thumbs}
    for repo_id in MODELS:
        model = cycle.get_model(repo_id)
        assert model is not None
        for record in cycle.results_for(repo_id, model.sha):
            if record.variant == "original":
                assert {m.example_id for m in record.misclassifications} <= shown, repo_id


def test_timm_accuracy_matches_an_independent_recomputation(cycle: Store) -> None:
    """timm's own loader and transforms on the PIL images give the stored accuracy."""
    model = cycle.get_model("demo/timm-digits")
    assert model is not None
    (clean,) = [r for r in cycle.results_for(model.repo_id, model.sha) if r.variant == "original"]
    net = timm.create_model("hf-hub:demo/timm-digits", pretrained=True).eval()
    transform = timm.data.create_transform(**timm.data.resolve_data_config({}, model=net))
    test = datasets.load_dataset("ylecun/mnist", split="test", revision=clean.dataset_revision)
    with torch.inference_mode():
        batch = torch.stack([transform(image.convert("RGB")) for image in test["image"]])
        predicted = net(batch).argmax(-1).numpy()
    accuracy = float((predicted == np.array(test["label"])).mean())
    assert clean.metrics["accuracy"] == pytest.approx(accuracy, abs=2 / 360)


def test_variant_is_the_registered_perturbation(cycle: Store) -> None:
    mirrored = cycle.variants.find_one({"_id": "mirrored"})
    assert mirrored is not None and mirrored["description"] == get("mirrored").description
    assert "Seed 0" in mirrored["method"]


def test_image_prs_carry_the_results(cycle: Store, demo_api: HfApi) -> None:
    for repo_id in MODELS:
        (pr,) = list(
            demo_api.get_repo_discussions(repo_id, author="evalbot", discussion_type="pull_request")
        )
        card = ModelCard.load(
            hf_hub_download(
                repo_id, "README.md", revision=f"refs/pr/{pr.num}", endpoint=demo_api.endpoint
            )
        )
        ours = [r for r in card.data.eval_results or [] if r.source_name == "evalbot"]
        assert {r.dataset_type for r in ours} == {"ylecun/mnist"}
