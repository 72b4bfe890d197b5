"""Image classification: evalbot's image classifiers against their ceiling, against ``evaluate``'s
evaluator, and the cost of the thesis' five image variants (CPU).

The model that carries the BENCH lines is "an image model of a few million parameters": a
randomly initialised transformers ConvNeXt (~4.2M parameters, 224×224 input, 10 classes), saved
with ``save_pretrained`` and a 224×224 bilinear image processor into a temporary folder, fed the
demo world's MNIST stand-in (28×28 greyscale), so every image is upscaled by the model's own
preprocessing. Its weights are random: only speed is measured here, not accuracy.

- bare forward: pixels pre-processed beforehand (evalbot's own ``Preprocess``), one tensor per
  batch, ``model(pixel_values=...).logits.argmax(-1)`` under ``inference_mode``: the ceiling;
  also one image at a time (informational: the ceiling of any batch-1 pipeline);
- evalbot: ``.predict`` on the decoded uint8 tensors, made once per split with
  ``image_classification.to_tensor`` as ``datasets_io.load_split`` does (resize, normalise,
  forward, softmax, confidences);
- evaluator: ``evaluate.evaluator("image-classification").compute(model_or_pipeline=<folder>)``
  on the ``datasets.Dataset`` of PIL images, one image at a time; its own pipeline timing;
- variants: ``evaluators.variants.perturb`` of the decoded tensors plus ``.predict``, for each of
  greyscale, flipped, mirrored, inverted and rotated90, all five together ÷ one clean ``.predict``.

Every contender is timed batch by batch (``bench.common.fastest``). The two demo digit models
(``demo/vit-digits``, ``demo/timm-digits``, 28×28 input, so no resize) get informational rows:
against their bare forward, and for the ViT against the evaluator (there the per-example
overhead, not the model, dominates).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

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
from evaluators.image_classification import (
    TimmImageClassifier,
    TransformersImageClassifier,
    to_tensor,
)
from evaluators.variants import perturb
from perturbations import Perturbation, get

DATASET = "ylecun/mnist"
THESIS_VARIANTS = ("greyscale", "flipped", "mirrored", "inverted", "rotated90")
Classifier = TransformersImageClassifier | TimmImageClassifier


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
        num_labels=10,
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


def chunks(images: Sequence[torch.Tensor], batch_size: int) -> list[Sequence[torch.Tensor]]:
    return [images[i : i + batch_size] for i in range(0, len(images), batch_size)]


def bare_and_ours(
    clf: Classifier, images: Sequence[torch.Tensor], batch_size: int, *, single: bool = False
) -> dict[str, list[Callable[[], float]]]:
    """Contenders, one unit per batch: ``bare``, the forward over pre-processed pixels, and
    ``ours``, evalbot's ``.predict`` over that batch's uint8 tensors; with ``single`` also
    ``bare1``, the same bare forward one image at a time (what a batch-1 pipeline could reach)."""
    cpu = torch.device("cpu")
    run = forward(clf)

    def bare_unit(batch: Sequence[torch.Tensor], size: int) -> Callable[[], float]:
        with torch.inference_mode():
            pixels = clf.preprocess(batch, cpu).split(size)

        def unit() -> float:
            start = time.perf_counter()
            with torch.inference_mode():
                for part in pixels:
                    run(part).argmax(-1)
            return time.perf_counter() - start

        return unit

    def ours_unit(batch: Sequence[torch.Tensor]) -> Callable[[], float]:
        return timed(lambda: clf.predict(batch, batch_size=batch_size, max_length=0))

    batches = chunks(images, batch_size)
    out = {
        "bare": [bare_unit(b, batch_size) for b in batches],
        "ours": [ours_unit(b) for b in batches],
    }
    if single:
        out["bare1"] = [bare_unit(b, 1) for b in batches]
    return out


def preprocess_units(
    clf: Classifier, images: Sequence[torch.Tensor], batch_size: int
) -> list[Callable[[], float]]:
    """evalbot's Preprocess alone (no model), one unit per batch: the resizing's share."""
    cpu = torch.device("cpu")

    def unit(batch: Sequence[torch.Tensor]) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            with torch.inference_mode():
                clf.preprocess(batch, cpu)
            return time.perf_counter() - start

        return run

    return [unit(b) for b in chunks(images, batch_size)]


def variant_units(
    clf: Classifier, images: Sequence[torch.Tensor], batch_size: int
) -> list[Callable[[], float]]:
    """The five thesis variants, one unit per (variant, batch): ``perturb`` + ``.predict``."""

    def unit(batch: Sequence[torch.Tensor], perturbation: Perturbation) -> Callable[[], float]:
        def run() -> float:
            start = time.perf_counter()
            perturbed = perturb(batch, perturbation)
            clf.predict(perturbed, batch_size=batch_size, max_length=0)
            return time.perf_counter() - start

        return run

    batches = chunks(images, batch_size)
    return [unit(b, get(name)) for b in batches for name in THESIS_VARIANTS]


def evaluator_units(folder: Path, data: datasets.Dataset, chunk: int) -> list[Callable[[], float]]:
    """``evaluate``'s image-classification evaluator on the model folder, one ``compute`` per
    ``chunk`` rows (each builds its pipeline anew, untimed); its own pipeline timing."""
    task = evaluate.evaluator("image-classification")
    names = json.loads((folder / "config.json").read_text())["id2label"]
    mapping = {name: int(i) for i, name in names.items()}

    def unit(rows: range) -> Callable[[], float]:
        def run() -> float:
            result = task.compute(
                model_or_pipeline=str(folder),
                data=data.select(rows),
                metric=LocalAccuracy(),
                label_mapping=mapping,  # type: ignore[arg-type]
            )
            return evaluator_seconds(result)

        return run

    return [unit(range(i, min(i + chunk, len(data)))) for i in range(0, len(data), chunk)]


def main(
    report: Report,
    *,
    limit: int = 128,
    batch_size: int = 32,
    repeats: int = 4,
) -> None:
    data = split(DATASET)
    main_data = data.select(range(min(limit, len(data))))
    n = len(main_data)
    # As the executor: decoded once per split into RGB uint8 tensors.
    images = [to_tensor(image) for image in main_data["image"]]
    cpu = torch.device("cpu")

    with tempfile.TemporaryDirectory(prefix="evalbot-bench-") as tmp:
        folder = Path(tmp)
        params = build_convnext(folder)
        clf = TransformersImageClassifier.load("bench/convnext-224", folder, cpu)
        print(
            f"image: random ConvNeXt {params / 1e6:.1f}M params, 224×224, {DATASET} test "
            f"first {n} rows (28×28), batch size {batch_size}",
            flush=True,
        )
        best = fastest(
            {
                **bare_and_ours(clf, images, batch_size, single=True),
                "variants": variant_units(clf, images, batch_size),
                "preprocess": preprocess_units(clf, images, batch_size),
                "evaluator": evaluator_units(folder, main_data, batch_size),
            },
            repeats=repeats,
            budget_s=150,
        )
    bare_rate = report.row("image", "bare forward (pre-processed pixels)", n, best["bare"])
    report.row("image", "  bare forward, one image at a time", n, best["bare1"])
    ours_rate = report.row("image", "evalbot .predict (uint8 tensors, clean)", n, best["ours"])
    report.row("image", "  of which evalbot Preprocess alone (no model)", n, best["preprocess"])
    report.row("image", "evalbot 5 thesis variants (perturb + predict)", 5 * n, best["variants"])
    eval_rate = report.row(
        "image", "evaluate image-classification evaluator (batch 1)", n, best["evaluator"]
    )

    report.add("image_vs_forward", ours_rate / bare_rate)
    report.add("image_vs_evaluator", ours_rate / eval_rate)
    report.add("variants_cost", best["variants"] / best["ours"])

    digits(report, data, batch_size=64)


def digits(report: Report, data: datasets.Dataset, *, batch_size: int, repeats: int = 30) -> None:
    """Informational: the demo digit models (28×28, no resize) against their bare forward."""
    images = [to_tensor(image) for image in data["image"]]
    n = len(images)
    cpu = torch.device("cpu")
    loaders: dict[str, type[Classifier]] = {
        "demo/vit-digits": TransformersImageClassifier,
        "demo/timm-digits": TimmImageClassifier,
    }
    for repo_id, kind in loaders.items():
        folder = world().model(repo_id).path
        clf = kind.load(repo_id, folder, cpu)
        best = fastest(bare_and_ours(clf, images, batch_size), repeats=repeats, budget_s=10)
        bare_rate = report.row("digits", f"{repo_id} bare forward ({n} rows)", n, best["bare"])
        ours_rate = report.row("digits", f"{repo_id} evalbot .predict", n, best["ours"])
        line = f"{repo_id}: evalbot / bare forward = {ours_rate / bare_rate:.2f}"
        if kind is TransformersImageClassifier:  # timm's folder is no transformers model
            few = data.select(range(min(128, n)))  # batch 1: this is the slow one
            units = evaluator_units(folder, few, batch_size)
            t_eval = fastest({"evaluator": units}, repeats=3, budget_s=15)["evaluator"]
            eval_rate = report.row(
                "digits",
                f"{repo_id} evaluate evaluator (batch 1, {len(few)} rows)",
                len(few),
                t_eval,
            )
            line += f", evalbot / evaluator = {ours_rate / eval_rate:.2f}"
        report.note(line)


if __name__ == "__main__":
    quiet()
    r = Report()
    main(r)
    r.print()
