"""Likely label errors: ``store.label_errors.find_label_errors`` on 100 models × 100,000 examples
× 100 classes of synthetic votes, against the same rule written as a per-example Python loop.

The votes: each example has a true class; 3% of the given labels are flipped to another class;
model ``m`` predicts the true class with its own accuracy (0.75-0.97), else a random class, and
leaves 1% of the examples unpredicted (-1); confidences are Beta(8, 2) when right and Beta(3, 3)
when wrong (flatter than real classifiers', which pile up near 1, so fewer right predictions
reach their model's mean self-confidence and the recall printed is low: the figure to read here
is time). The loop runs on the first ``subset`` examples only (thresholds from that subset, so
both sides compute the same thing: their lists are asserted equal) and is compared per example.

``BENCH label_errors_s``: seconds of one ``find_label_errors`` call on the whole split (fastest
of ``repeats``); ``BENCH label_errors_vs_loop``: examples/s of that call ÷ examples/s of the loop.

    python -m bench.label_errors
    python -m bench.label_errors --examples 10000 --subset 1000   # a quick run
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from store.label_errors import LabelErrorReport, ModelVotes, find_label_errors

if TYPE_CHECKING:
    from bench.common import Report

MIN_MODELS, MIN_SHARE = 5, 0.5


def synthetic(
    models: int, examples: int, classes: int, *, seed: int = 0
) -> tuple[np.ndarray, list[ModelVotes], np.ndarray]:
    """Given labels, the models' votes, and the ids of the flipped examples."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, classes, size=examples)
    flipped = rng.choice(examples, size=examples * 3 // 100, replace=False)
    given = true.copy()
    given[flipped] = (true[flipped] + rng.integers(1, classes, size=flipped.size)) % classes
    votes = []
    for m in range(models):
        right = rng.random(examples) < rng.uniform(0.75, 0.97)
        predicted = np.where(right, true, rng.integers(0, classes, size=examples))
        predicted[rng.random(examples) < 0.01] = -1
        confidence = np.where(right, rng.beta(8, 2, size=examples), rng.beta(3, 3, size=examples))
        votes.append(ModelVotes(f"bench/model-{m}", predicted, confidence))
    return given, votes, flipped


def loop(
    given: list[int], votes: list[ModelVotes], classes: int
) -> list[tuple[int, int, int, int]]:
    """The rule one example at a time: (example, given, suggested, agreeing models)."""
    predicted = [v.predicted[: len(given)].tolist() for v in votes]
    confidence = [v.confidence[: len(given)].tolist() for v in votes]
    thresholds = []
    for p, c in zip(predicted, confidence, strict=True):
        sums, counts, total, made = [0.0] * classes, [0] * classes, 0.0, 0
        for i, g in enumerate(given):
            if p[i] >= 0:
                total, made = total + c[i], made + 1
                if g >= 0:  # the probability of the given class: at most 1 - c where p != g
                    sums[g] += c[i] if p[i] == g else 1.0 - c[i]
                    counts[g] += 1
        fallback = total / made if made else float("inf")
        thresholds.append([s / n if n else fallback for s, n in zip(sums, counts, strict=True)])
    found = []
    for i, g in enumerate(given):
        judges, tally = 0, [0] * classes
        for p, c, t in zip(predicted, confidence, thresholds, strict=True):
            if p[i] >= 0:
                judges += 1
                if p[i] != g and c[i] >= t[p[i]]:
                    tally[p[i]] += 1
        best = max(range(classes), key=lambda j: (tally[j], -j))
        if g >= 0 and judges >= MIN_MODELS and tally[best] / judges > MIN_SHARE:
            found.append((i, g, best, tally[best]))
    return found


def _fastest(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(
    report: Report | None = None,
    *,
    models: int = 100,
    examples: int = 100_000,
    classes: int = 100,
    subset: int = 10_000,
    repeats: int = 3,
) -> float:
    given, votes, flipped = synthetic(models, examples, classes)

    def call() -> LabelErrorReport:
        return find_label_errors(given, votes, num_classes=classes)

    seconds = _fastest(call, repeats)
    result = call()
    found = {i.example_id for i in result.issues}
    hits = len(found & set(flipped.tolist()))
    tracemalloc.start()
    call()
    peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    small = [ModelVotes(v.model_id, v.predicted[:subset], v.confidence[:subset]) for v in votes]
    ours = find_label_errors(given[:subset], small, num_classes=classes)
    start = time.perf_counter()
    theirs = loop(given[:subset].tolist(), small, classes)
    loop_s = time.perf_counter() - start
    assert theirs == sorted((i.example_id, i.given, i.suggested, i.agree) for i in ours.issues)
    ratio = (examples / seconds) / (subset / loop_s)

    input_mb = sum(v.predicted.nbytes + v.confidence.nbytes for v in votes) / 2**20
    print(
        f"label errors: {models} models × {examples:,} examples × {classes} classes "
        f"({input_mb:.0f} MB of votes): {seconds:.3f} s, peak {peak_mb:.0f} MB allocated; "
        f"{len(found):,} listed, recall {hits / len(flipped):.2f}, precision "
        f"{hits / max(len(found), 1):.2f}; per-example loop on {subset:,} examples: "
        f"{loop_s:.2f} s ({subset / loop_s:,.0f} ex/s vs {examples / seconds:,.0f} ex/s)",
        flush=True,
    )
    lines = [("label_errors_s", seconds, "s"), ("label_errors_vs_loop", ratio, "ratio")]
    if report is not None:
        report.row("labels", "find_label_errors, 100 models", examples, seconds)
        report.row("labels", "per-example Python loop, 100 models", subset, loop_s)
        for name, value, unit in lines:
            report.add(name, value, unit)
    else:
        for name, value, unit in lines:
            print(f"BENCH {name} {value:.2f} {unit}")
    return seconds


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m bench.label_errors", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--subset", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    main(
        models=args.models,
        examples=args.examples,
        classes=args.classes,
        subset=args.subset,
        repeats=args.repeats,
    )
