"""Image classification: evalbot's streamed image path against its ceiling, against ``evaluate``'s
evaluator, and the cost of the thesis' five image variants (CPU).

The model that carries the BENCH lines is "an image model of a few million parameters": a
randomly initialised transformers ConvNeXt (~4.2M parameters, 224×224 input, 10 classes), saved
with ``save_pretrained`` and a 224×224 bilinear image processor into a temporary folder, fed the
demo world's MNIST stand-in (28×28 greyscale PNGs; the first 512 rows of its train split, read
from its Parquet file into an Arrow-backed ``datasets.Dataset``), so every image is upscaled by
the model's own preprocessing. Its weights are random: only speed is measured here.

- bare forward: pixels pre-processed beforehand (evalbot's own ``Preprocess``), one tensor per
  batch, ``model(pixel_values=...).logits.argmax(-1)`` under ``inference_mode``: the ceiling;
  also one image at a time over the first 128 rows (informational: the ceiling of any batch-1
  pipeline);
- evalbot: ``.predict`` over the split as the Executor evaluates it: a lazy
  ``evaluators.streaming.Column`` of the dataset, read, decoded and resized in the decode worker
  processes the Executor starts on this machine (``Loading.for_device(cpu)``), then normalised,
  forwarded and soft-maxed; with 0, 1 and 2 decode workers besides the default (informational
  rows: on 2 cores the worker and the model's two torch threads share the cores);
- evaluator: ``evaluate.evaluator("image-classification").compute(model_or_pipeline=<folder>)``
  on the ``datasets.Dataset`` of PIL images, one image at a time, over the first 128 rows (its
  rate per image is what counts); its own pipeline timing;
- variants: ``.predict`` over an ``evaluators.streaming.Perturbed`` view of the column for each of
  greyscale, flipped, mirrored, inverted and rotated90 (perturbed in the decode workers as they
  read), all five passes together ÷ one clean pass (each variant's pass is a unit of its own).

Every contender is timed in whole passes over its rows, the contenders' passes alternating and
repeated (``bench.common.fastest``): a pass starts its decode workers as the evaluation of a split
does, and 512 rows spread that start-up as a real split would (a batch-sized unit would never
start them). The two demo digit models (``demo/vit-digits``, ``demo/timm-digits``, 28×28 input,
so no resize) get informational rows on the same rows: against their bare forward, and for the
ViT against the evaluator (there the per-example overhead, not the model, dominates).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import datasets
import evaluate
import torch

from bench.common import (
    LocalAccuracy,
    Report,
    evaluator_seconds,
    fastest,
    quiet,
    split,
    timed,
    world,
)
from evaluators.image_classification import TimmImageClassifier, TransformersImageClassifier
from evaluators.predictions import Options
from evaluators.streaming import Column, Loading, Perturbed
from evaluators.variants import SEED
from perturbations import get

DATASET = "ylecun/mnist"
THESIS_VARIANTS = ("greyscale", "flipped", "mirrored", "inverted", "rotated90")
WORKER_COUNTS = (0, 1, 2)  # decode workers tried besides the default (informational)
Classifier = TransformersImageClassifier | TimmImageClassifier
Unit = Callable[[], float]


def build_convnext(folder: Path) -> int:
    """A random ConvNeXt image classifier (224×224, 10 digit classes) saved into ``folder``."""
    from transformers import ConvNextConfig, ConvNextForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    names = [str(i) for i in range(10)]
    config = ConvNextConfig(
        num_channels=3,
        hidden_sizes=[48, 96, 192, 384],
        depths=[2, 2, 4, 2],
        image_size=224,
        id2label=dict(enumerate(names)),
        label2id={name: i for i, name in enumerate(names)},
    )
    model = ConvNextForImageClassification(config).eval()
    model.save_pretrained(folder)
    # A plain 224×224 bilinear resize + rescale + normalise: evalbot's Preprocess and the
    # pipeline's image processor then do the same work (ConvNextImageProcessor would add a
    # crop_pct resize-and-crop that evalbot does not reproduce).
    ViTImageProcessor(
        size={"height": 224, "width": 224}, image_mean=[0.5] * 3, image_std=[0.5] * 3
    ).save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def forward(clf: Classifier) -> Callable[[torch.Tensor], torch.Tensor]:
    if isinstance(clf, TimmImageClassifier):
        return lambda pixels: clf.model(pixels)
    return lambda pixels: clf.model(pixel_values=pixels).logits


def bare_pass(clf: Classifier, images: Sequence[torch.Tensor], batch_size: int) -> Unit:
    """One whole pass of the bare forward over ``images`` pre-processed beforehand, in batches
    of ``batch_size``."""
    cpu = torch.device("cpu")
    run = forward(clf)
    with torch.inference_mode():
        pixels = [
            clf.preprocess(images[lo : lo + batch_size], cpu)
            for lo in range(0, len(images), batch_size)
        ]

    def unit() -> float:
        start = time.perf_counter()
        with torch.inference_mode():
            for batch in pixels:
                run(batch).argmax(-1)
        return time.perf_counter() - start

    return unit


def predict_pass(clf: Classifier, inputs: Sequence[Any], options: Options) -> Unit:
    """One whole ``.predict`` of ``inputs`` (a streamed split or a view of one)."""
    return timed(lambda: clf.predict(inputs, options))


def preprocess_pass(clf: Classifier, images: Sequence[torch.Tensor], batch_size: int) -> Unit:
    """evalbot's Preprocess alone (no model) over the decoded images: the resizing's share."""
    cpu = torch.device("cpu")

    def unit() -> float:
        start = time.perf_counter()
        with torch.inference_mode():
            for lo in range(0, len(images), batch_size):
                clf.preprocess(images[lo : lo + batch_size], cpu)
        return time.perf_counter() - start

    return unit


def variant_passes(clf: Classifier, column: Column, options: Options) -> list[Unit]:
    """The five thesis variants: one whole streamed pass over a ``Perturbed`` view each."""
    return [
        predict_pass(clf, Perturbed(column, get(name), seed=SEED), options)
        for name in THESIS_VARIANTS
    ]


def evaluator_pass(folder: Path, data: datasets.Dataset) -> Unit:
    """``evaluate``'s image-classification evaluator on the model folder over ``data`` (its
    pipeline is built anew, untimed); its own pipeline timing."""
    task = evaluate.evaluator("image-classification")
    names = json.loads((folder / "config.json").read_text())["id2label"]
    mapping = {name: int(i) for i, name in names.items()}

    def unit() -> float:
        result = task.compute(
            model_or_pipeline=str(folder),
            data=data,
            metric=LocalAccuracy(),
            label_mapping=mapping,
        )
        return evaluator_seconds(result)

    return unit


def rows(limit: int) -> datasets.Dataset:
    """The first ``limit`` rows of the MNIST stand-in's train split, Arrow-backed."""
    data = split(DATASET, "train")
    return data.select(range(min(limit, len(data))))


def main(
    report: Report,
    *,
    limit: int = 512,
    batch_size: int = 32,
    repeats: int = 4,
) -> None:
    data = rows(limit)
    n = len(data)
    column = Column(data, "image", image=True)
    images = list(column)  # decoded once, for the bare forward and Preprocess alone
    cpu = torch.device("cpu")
    options = Options(batch_size=batch_size, loading=Loading.for_device(cpu))
    few = {"bare1": min(128, n), "evaluator": min(128, n)}

    with tempfile.TemporaryDirectory(prefix="evalbot-bench-") as tmp:
        folder = Path(tmp)
        params = build_convnext(folder)
        clf = TransformersImageClassifier.load("bench/convnext-224", folder, cpu)
        print(
            f"image: random ConvNeXt {params / 1e6:.1f}M params, 224×224, {DATASET} train "
            f"first {n} rows (28×28), batch size {batch_size}, "
            f"{options.loading.workers} decode workers by default",
            flush=True,
        )
        default = options.loading.workers
        workers = {  # the default's pass is "ours"
            f"workers{k}": [
                predict_pass(
                    clf, column, Options(batch_size=batch_size, loading=Loading(workers=k))
                )
            ]
            for k in WORKER_COUNTS
            if k != default
        }
        best = fastest(
            {
                "bare": [bare_pass(clf, images, batch_size)],
                "ours": [predict_pass(clf, column, options)],
                "variants": variant_passes(clf, column, options),
                **workers,
                "bare1": [bare_pass(clf, images[: few["bare1"]], 1)],
                "preprocess": [preprocess_pass(clf, images, batch_size)],
                "evaluator": [evaluator_pass(folder, data.select(range(few["evaluator"])))],
            },
            repeats=repeats,
            warmup=0,  # a unit is a whole pass: its fastest of the repeats is what counts
            budget_s=420,
        )
    bare_rate = report.row("image", "bare forward (pre-processed pixels)", n, best["bare"])
    report.row("image", "  bare forward, one image at a time", few["bare1"], best["bare1"])
    ours_rate = report.row(
        "image",
        f"evalbot .predict, streamed (default: {default} decode workers)",
        n,
        best["ours"],
    )
    for k in WORKER_COUNTS:
        if k != default:
            report.row("image", f"  evalbot .predict, {k} decode workers", n, best[f"workers{k}"])
    report.row("image", "  of which evalbot Preprocess alone (no model)", n, best["preprocess"])
    report.row("image", "evalbot 5 thesis variants (streamed, perturbed)", 5 * n, best["variants"])
    eval_rate = report.row(
        "image",
        "evaluate image-classification evaluator (batch 1)",
        few["evaluator"],
        best["evaluator"],
    )

    report.add("image_vs_forward", ours_rate / bare_rate)
    report.add("image_vs_evaluator", ours_rate / eval_rate)
    report.add("variants_cost", best["variants"] / best["ours"])

    digits(report, data, column, images, batch_size=64)


def digits(
    report: Report,
    data: datasets.Dataset,
    column: Column,
    images: Sequence[torch.Tensor],
    *,
    batch_size: int,
    repeats: int = 10,
) -> None:
    """Informational: the demo digit models (28×28, no resize) against their bare forward."""
    n = len(column)
    cpu = torch.device("cpu")
    options = Options(batch_size=batch_size, loading=Loading.for_device(cpu))
    loaders: dict[str, type[Classifier]] = {
        "demo/vit-digits": TransformersImageClassifier,
        "demo/timm-digits": TimmImageClassifier,
    }
    for repo_id, kind in loaders.items():
        folder = world().model(repo_id).path
        clf = kind.load(repo_id, folder, cpu)
        contenders: dict[str, Sequence[Unit]] = {
            "bare": [bare_pass(clf, images, batch_size)],
            "ours": [predict_pass(clf, column, options)],
        }
        few = data.select(range(min(128, n)))  # batch 1: this is the slow one
        if kind is TransformersImageClassifier:  # timm's folder is no transformers model
            contenders["evaluator"] = [evaluator_pass(folder, few)]
        best = fastest(contenders, repeats=repeats, budget_s=30)
        bare_rate = report.row("digits", f"{repo_id} bare forward ({n} rows)", n, best["bare"])
        ours_rate = report.row("digits", f"{repo_id} evalbot .predict, streamed", n, best["ours"])
        line = f"{repo_id}: evalbot / bare forward = {ours_rate / bare_rate:.2f}"
        if "evaluator" in best:
            eval_rate = report.row(
                "digits",
                f"{repo_id} evaluate evaluator (batch 1, {len(few)} rows)",
                len(few),
                best["evaluator"],
            )
            line += f", evalbot / evaluator = {ours_rate / eval_rate:.2f}"
        report.note(line)


if __name__ == "__main__":
    quiet()
    r = Report()
    main(r)
    r.print()
