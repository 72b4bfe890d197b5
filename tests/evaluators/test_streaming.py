"""Streamed evaluation gives the numbers of the whole-split path: the split decoded at once into
memory, each variant perturbed whole (``evaluators.variants.perturb``), then predicted.

The streamed path reads the Arrow-backed split lazily, decodes and perturbs each batch in decode
worker processes, and makes the example thumbnails on the way.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from huggingface_hub import HfApi

from bot.discovery import to_record
from evaluators.config import EvaluationModule, load_module
from evaluators.datasets_io import load_rows
from evaluators.device import Compute
from evaluators.executor import Executor
from evaluators.image_classification import to_tensor
from evaluators.labels import map_labels
from evaluators.metadata import example_ids, thumbnail_png
from evaluators.object_detection import load_detection_split
from evaluators.predictions import Options
from evaluators.processing import process_classification
from evaluators.streaming import Column, Loading, Perturbed, spans, stream
from evaluators.variants import SEED, perturb
from perturbations import get
from sandbox.world import World
from store.types import EvaluationRecord

ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "config" / "tasks"
IN_PROCESS = Loading(workers=0)


@pytest.fixture(scope="module")
def seeded(demo_world: World, detection_world: World) -> None:
    """The demo world and its detection part on the session's sandbox Hub."""


def mnist() -> EvaluationModule:
    module = load_module(TASKS / "image-classification" / "mnist.yaml")
    return module.model_copy(update={"limit": 160, "batch_size": 32})  # five batches


def whole_split_options(module: EvaluationModule) -> Options:
    return Options(batch_size=module.batch_size, max_length=module.max_length, loading=IN_PROCESS)


def evaluate(api: HfApi, repo_id: str, module: EvaluationModule) -> dict[str, EvaluationRecord]:
    executor = Executor([module], api=api, device="cpu", compute=Compute(decode_workers=2))
    report = executor.evaluate(to_record(api.model_info(repo_id)))
    return {r.variant: r for r in report.records}


def whole_split_metrics(
    executor: Executor, repo_id: str, module: EvaluationModule, revision: str
) -> dict[str, dict[str, float]]:
    """Every variant's metrics the whole-split way: decode all, perturb all, predict."""
    model = to_record(executor.api.model_info(repo_id))
    classifier = executor.load(model, executor.api.snapshot_download(repo_id))
    ds = load_rows(module, revision)
    column = ds[module.dataset.columns.input]
    images = [to_tensor(image) for image in column] if "image" in module.task else list(column)
    clean = executor.split(next(t for t in executor.plan(model)[0] if t.perturbation is None))
    labels = module.dataset.labels
    mapping = map_labels(repo_id, classifier.id2label, labels, aliases=module.label_aliases)
    to_dataset = np.zeros(max(mapping) + 1, dtype=np.int64)
    for model_index, dataset_index in mapping.items():
        to_dataset[model_index] = dataset_index
    out = {}
    for perturbation in [None, *module.variants()]:
        inputs = images if perturbation is None else perturb(images, perturbation, seed=SEED)
        predictions = classifier.predict(inputs, whole_split_options(module))  # type: ignore[union-attr]
        result = process_classification(
            clean.labels, to_dataset[predictions.labels], predictions.confidences, labels
        )
        out[perturbation.variant_id if perturbation else "original"] = result.metrics
    return out


def assert_close(a: dict[str, float], b: dict[str, float]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], abs=1e-6), key


@pytest.mark.slow  # decode worker processes, and every variant evaluated twice
@pytest.mark.parametrize(
    ("repo_id", "variants"),
    [("demo/vit-digits", None), ("demo/timm-digits", ["rotated90", "gaussian_noise"])],
)
def test_streamed_image_variants_equal_the_whole_split_path(  # type: ignore[no-untyped-def]
    seeded, bot_api: HfApi, repo_id: str, variants: list[str] | None
) -> None:
    module = mnist()  # every configured variant for one model, two for the other loader
    if variants is not None:
        module = module.model_copy(update={"perturbations": variants})
    streamed = evaluate(bot_api, repo_id, module)
    assert set(streamed) == {"original", *(p.variant_id for p in module.variants())}
    executor = Executor([module], api=bot_api, device="cpu")
    revision = streamed["original"].dataset_revision
    for variant, metrics in whole_split_metrics(executor, repo_id, module, revision).items():
        assert_close(streamed[variant].metrics, metrics)
        assert streamed[variant].num_examples == 160


def test_streamed_text_variants_equal_the_whole_split_path(seeded, bot_api: HfApi) -> None:  # type: ignore[no-untyped-def]
    module = load_module(TASKS / "text-classification" / "emotion.yaml")
    streamed = evaluate(bot_api, "demo/tiny-emotion", module)
    executor = Executor([module], api=bot_api, device="cpu")
    revision = streamed["original"].dataset_revision
    reference = whole_split_metrics(executor, "demo/tiny-emotion", module, revision)
    assert set(reference) == set(streamed)
    for variant, metrics in reference.items():
        assert_close(streamed[variant].metrics, metrics)


@pytest.mark.slow  # decode worker processes, and every variant evaluated twice
def test_streamed_detection_variants_equal_the_whole_split_path(seeded, bot_api: HfApi) -> None:  # type: ignore[no-untyped-def]
    from evaluators.coco import process_detection
    from evaluators.object_detection import predict_split

    module = load_module(TASKS / "object-detection" / "coco.yaml").model_copy(
        update={"perturbations": ["rotated90", {"name": "gaussian_noise", "severity": 3}]}
    )  # one that moves the boxes, one drawn per image
    streamed = evaluate(bot_api, "demo/detr-shapes", module)
    executor = Executor([module], api=bot_api, device="cpu")
    model = to_record(bot_api.model_info("demo/detr-shapes"))
    detector = executor.load(model, bot_api.snapshot_download("demo/detr-shapes"))
    clean = load_detection_split(module, streamed["original"].dataset_revision)
    images = list(clean.inputs)  # decoded whole, as before
    for perturbation in [None, *module.variants()]:
        split = clean if perturbation is None else clean.perturbed(perturbation, seed=SEED)
        inputs = images if perturbation is None else perturb(images, perturbation, seed=SEED)
        whole = dataclasses.replace(split, inputs=inputs)
        found, _, _ = predict_split(detector, module, whole, whole_split_options(module))  # type: ignore[arg-type]
        result = process_detection(whole.targets, found, module.dataset.labels)
        variant = perturbation.variant_id if perturbation else "original"
        assert_close(streamed[variant].metrics, result.metrics)


def test_thumbnails_made_on_the_way_equal_those_read_afterwards(seeded, bot_api: HfApi) -> None:  # type: ignore[no-untyped-def]
    module = mnist().model_copy(update={"perturbations": []})
    executor = Executor([module], api=bot_api, device="cpu", compute=Compute(decode_workers=2))
    report = executor.evaluate(to_record(bot_api.model_info("demo/vit-digits")))
    clean = executor.split(next(iter([t for t in executor.plan(report.model)[0]])))
    wanted = example_ids(module, clean)
    shown = {e.example_id: e.thumbnail_png for e in report.examples}
    counts = np.bincount(clean.labels)
    assert set(wanted) <= set(shown) and len(wanted) == sum(min(20, int(c)) for c in counts) > 0
    for index in wanted[:25]:
        assert shown[index] == thumbnail_png(clean.inputs[index])


# the lazy column and the perturbed view -------------------------------------------------------


def image_dataset(n: int = 10) -> datasets.Dataset:
    from PIL import Image

    rng = np.random.default_rng(0)
    sizes = [(12, 9), (9, 12), (12, 9)]  # ragged, as ImageNet's are
    images = [
        Image.fromarray(rng.integers(0, 255, (*sizes[i % 3][::-1], 3), dtype=np.uint8))
        for i in range(n)
    ]
    features = datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")})
    return datasets.Dataset.from_dict({"image": images, "label": list(range(n))}, features)


def test_a_column_reads_items_slices_and_index_lists_as_datasets_decodes_them() -> None:
    ds = image_dataset()
    column = Column(ds, "image", image=True)
    decoded = [to_tensor(image) for image in ds["image"]]
    assert len(column) == 10
    assert torch.equal(column[4], decoded[4]) and torch.equal(column[-1], decoded[-1])
    assert all(torch.equal(a, b) for a, b in zip(column[2:7], decoded[2:7], strict=True))
    assert all(
        torch.equal(a, decoded[i]) for a, i in zip(column[[7, 1, 3]], [7, 1, 3], strict=True)
    )
    assert all(torch.equal(a, b) for a, b in zip(column, decoded, strict=True))
    with pytest.raises(IndexError):
        column[10]
    selected = Column(ds.select([9, 0]), "image", image=True)  # an indices mapping
    assert torch.equal(selected[0], decoded[9])


@pytest.mark.parametrize("name", ["gaussian_noise", "rotated90", "jpeg"])
def test_a_perturbed_view_equals_the_whole_perturbed_copy(name: str) -> None:
    column = Column(image_dataset(), "image", image=True)
    perturbation = get(name)
    whole = perturb(list(column), perturbation, seed=SEED)
    view = Perturbed(column, perturbation, seed=SEED)
    assert all(torch.equal(view[i], whole[i]) for i in range(10))
    assert all(torch.equal(a, b) for a, b in zip(view[3:8], whole[3:8], strict=True))
    assert all(torch.equal(a, whole[i]) for a, i in zip(view[[8, 2]], [8, 2], strict=True))


def test_a_perturbed_text_view_equals_the_whole_perturbed_copy() -> None:
    texts = [f"I am feeling rather {w}, honestly!" for w in ["sad", "happy", "calm"] * 5]
    ds = datasets.Dataset.from_dict({"text": texts})
    view = Perturbed(Column(ds, "text", image=False), get("typos", rate=0.2), seed=SEED)
    whole = perturb(texts, get("typos", rate=0.2), seed=SEED)
    assert list(view) == whole and view[[14, 0]] == [whole[14], whole[0]]


@pytest.mark.parametrize("workers", [0, 2])
def test_stream_yields_every_batch_in_order(workers: int) -> None:
    column = Column(image_dataset(25), "image", image=True)
    parts = spans(25, 4)
    batches = list(stream(column, parts, loading=Loading(workers=workers)))
    assert [len(b) for b in batches] == [4] * 6 + [1]
    flat = [image for batch in batches for image in batch]
    assert all(torch.equal(a, b) for a, b in zip(flat, column, strict=True))
