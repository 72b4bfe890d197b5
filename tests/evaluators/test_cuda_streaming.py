"""The CUDA path of streamed image classification: decode workers feeding the GPU from pinned
memory, fp32 equal to the CPU, bf16 autocast, the batch-size probe. Runs where a GPU is (skipped
on CPU-only hosts)."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest
import torch

from evaluators.image_classification import (
    PROBE_FACTOR,
    TransformersImageClassifier,
    probe_batch_size,
)
from evaluators.predictions import Options, autocast_dtype
from evaluators.streaming import Column, Loading, Perturbed
from evaluators.variants import SEED
from perturbations import get
from sandbox.world import build_world

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
CUDA = torch.device("cuda")


@pytest.fixture(scope="module")
def images() -> Column:
    spec = next(d for d in build_world().datasets if d.repo_id == "ylecun/mnist")
    files = str(Path(spec.path) / "data" / "test-*.parquet")
    ds = datasets.load_dataset("parquet", data_files=files, split="train")
    assert isinstance(ds, datasets.Dataset)
    return Column(ds, "image", image=True)


def classifier(device: torch.device) -> TransformersImageClassifier:
    path = build_world().model("demo/vit-digits").path
    return TransformersImageClassifier.load("demo/vit-digits", path, device)


def test_fp32_on_the_gpu_predicts_what_the_cpu_does(images: Column) -> None:
    cpu = classifier(torch.device("cpu")).predict(images, Options(batch_size=64))
    options = Options(batch_size=64, loading=Loading.for_device(CUDA), precision="fp32")
    assert options.loading.pin_memory and options.loading.workers >= 1
    gpu = classifier(CUDA).predict(Perturbed(images, get("greyscale"), seed=SEED), options)
    assert np.mean(gpu.labels == cpu.labels) > 0.99
    assert np.allclose(gpu.confidences, cpu.confidences, atol=1e-3)


def test_bf16_autocast_keeps_the_predictions(images: Column) -> None:
    assert autocast_dtype(CUDA, "auto") in (torch.bfloat16, torch.float16)
    fp32 = classifier(CUDA).predict(images, Options(batch_size=64, precision="fp32"))
    auto = classifier(CUDA).predict(
        images, Options(batch_size=64, loading=Loading.for_device(CUDA), precision="auto")
    )
    assert np.mean(auto.labels == fp32.labels) > 0.97


def test_the_probe_raises_the_batch_within_its_bounds(images: Column) -> None:
    clf = classifier(CUDA)
    options = Options(batch_size=16, probe=True)
    size = probe_batch_size(
        lambda pixels: clf.model(pixel_values=pixels).logits, clf.preprocess, CUDA, options
    )
    assert 16 <= size <= 16 * PROBE_FACTOR
    predictions = clf.predict(images, options)
    assert predictions.batch_size == size and len(predictions.labels) == len(images)
