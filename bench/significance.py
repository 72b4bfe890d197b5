"""The paired bootstrap of a macro-F1 difference: ``store.significance.paired_bootstrap`` against
the loop anyone would write first.

Data: 10,000 examples of 20 classes; model A is right on 70 % of them, model B on 72 %, and
each is wrong towards a random class. Contenders, side by side, alternating:

- evalbot: ``paired_bootstrap("macro_f1", ...)`` with 1,000 resamples (all resamples' class
  counts at once with ``np.bincount``);
- naive: per resample, draw the indices and call scikit-learn's
  ``f1_score(average="macro")`` for each model; 50 resamples (a full 1,000 would take a minute).

Before timing, the naive loop's first resamples are checked to give the differences evalbot's
draws give (the same indices: ``default_rng(seed)``, one row of ``n`` at a time).

``BENCH significance_bootstrap_vs_naive`` = naive time per resample ÷ evalbot's time per
resample; ``BENCH significance_bootstrap_ms`` = evalbot's time for 1,000 resamples.

    python -m bench.significance
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sklearn.metrics import f1_score

from bench.common import Report, fastest, timed
from store.significance import paired_bootstrap

EXAMPLES = 10_000
CLASSES = 20
RESAMPLES = 1_000
NAIVE_RESAMPLES = 50
SEED = 0

IntArray = npt.NDArray[np.int64]


def data() -> tuple[IntArray, IntArray, IntArray]:
    rng = np.random.default_rng(2004)
    y = rng.integers(0, CLASSES, EXAMPLES)

    def model(accuracy: float) -> IntArray:
        return np.where(rng.random(EXAMPLES) < accuracy, y, rng.integers(0, CLASSES, EXAMPLES))

    return y, model(0.70), model(0.72)


def naive(y: IntArray, a: IntArray, b: IntArray, resamples: int) -> list[float]:
    """The per-resample loop: the same draws as evalbot's, one scikit-learn call per model."""
    rng = np.random.default_rng(SEED)
    diffs = []
    for _ in range(resamples):
        rows = rng.integers(0, len(y), size=(1, len(y)))[0]
        f1_a = f1_score(y[rows], a[rows], average="macro", zero_division=0)
        f1_b = f1_score(y[rows], b[rows], average="macro", zero_division=0)
        diffs.append(float(f1_b - f1_a))
    return diffs


def main(report: Report) -> None:
    y, a, b = data()
    print(
        f"significance: paired bootstrap of macro F1, {EXAMPLES:,} examples, {CLASSES} classes, "
        f"{RESAMPLES:,} resamples (naive loop: {NAIVE_RESAMPLES})",
        flush=True,
    )
    # The same resamples give the same differences: a few of evalbot's, by their interval.
    few = 20
    ours_few = paired_bootstrap("macro_f1", y, a, b, resamples=few, seed=SEED, level=0.5)
    theirs = np.quantile(naive(y, a, b, few), [0.25, 0.75])
    if not np.allclose([ours_few.low, ours_few.high], theirs, rtol=0, atol=1e-12):
        raise SystemExit(f"bench: intervals differ: {ours_few} vs {theirs}")

    best = fastest(
        {
            "ours": [timed(lambda: paired_bootstrap("macro_f1", y, a, b, resamples=RESAMPLES))],
            "naive": [timed(lambda: naive(y, a, b, NAIVE_RESAMPLES))],
        },
        repeats=3,
        budget_s=60,
    )
    resampled = EXAMPLES * RESAMPLES
    report.row(
        "signif", "evalbot paired_bootstrap macro F1 (resampled ex.)", resampled, best["ours"]
    )
    report.row(
        "signif",
        "naive sklearn f1_score loop (resampled ex.)",
        EXAMPLES * NAIVE_RESAMPLES,
        best["naive"],
    )
    per_ours = best["ours"] / RESAMPLES
    per_naive = best["naive"] / NAIVE_RESAMPLES
    report.add("significance_bootstrap_vs_naive", per_naive / per_ours)
    report.add("significance_bootstrap_ms", 1000 * best["ours"], "ms")


if __name__ == "__main__":
    r = Report()
    main(r)
    r.print()
