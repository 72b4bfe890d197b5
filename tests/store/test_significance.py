"""Paired significance tests (``store.significance``): parity with statsmodels' and scipy's
McNemar tests, with ``scipy.stats.bootstrap`` on the same seed, and with scikit-learn's macro F1;
the verdict's wording and the leaderboard groups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy.stats import binomtest, bootstrap
from sklearn.metrics import f1_score
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from evaluators.metrics import classification_metrics
from store.significance import (
    METRICS,
    Metric,
    PairedBootstrap,
    format_p,
    mcnemar,
    paired_bootstrap,
    paired_bootstrap_sums,
    separable_groups,
    verdict,
)

IntArray = npt.NDArray[np.int64]


def _close(ours: float, ref: float) -> bool:
    """Within 1e-9 relative, or 1e-12 absolute for tiny p-values."""
    return abs(ours - ref) <= max(1e-9 * abs(ref), 1e-12)


def _correctness(rng: np.random.Generator, n: int) -> tuple[npt.NDArray[np.bool_], ...]:
    """Two models' per-example correctness: random accuracies, more or less correlated, and
    now and then the edge cases (identical models, all right, all wrong, a tie)."""
    kind = rng.integers(0, 8)
    a = rng.random(n) < rng.uniform(0.0, 1.0)
    if kind == 0:
        return a, a.copy()  # no discordant pairs
    if kind == 1:
        return np.ones(n, bool), np.ones(n, bool)
    if kind == 2:
        return np.zeros(n, bool), rng.random(n) < 0.5
    if kind == 3:  # as many examples only A gets right as only B
        b = a.copy()
        half = rng.integers(0, n // 2 + 1)
        b[:half] = ~a[:half]
        b[half : 2 * half] = a[:half]
        a = a.copy()
        a[half : 2 * half] = ~a[:half]
        return a, b
    flip = rng.random(n) < rng.uniform(0.0, 0.6)
    b = np.where(flip, rng.random(n) < rng.uniform(0.0, 1.0), a)
    return a, b


def test_mcnemar_matches_statsmodels_and_scipy() -> None:
    rng = np.random.default_rng(2004)
    ties = zero = 0
    for _ in range(300):
        n = int(np.exp(rng.uniform(np.log(5), np.log(5000))))
        a, b = _correctness(rng, n)
        test = mcnemar(a, b)
        table = [[int(np.sum(a & b)), int(np.sum(a & ~b))], [int(np.sum(~a & b)), 0]]
        table[1][1] = n - table[0][0] - table[0][1] - table[1][0]
        assert (test.only_a, test.only_b, test.n) == (table[0][1], table[1][0], n)
        assert test.diff == pytest.approx(b.mean() - a.mean(), abs=1e-12)
        reference = sm_mcnemar(table, exact=True).pvalue
        assert _close(test.p_value, reference), (table, test.p_value, reference)
        discordant = test.only_a + test.only_b
        if discordant:
            scipy_p = binomtest(test.only_a, discordant, 0.5).pvalue
            assert _close(test.p_value, scipy_p), (table, test.p_value, scipy_p)
        else:
            zero += 1
            assert test.p_value == 1.0
        ties += test.only_a == test.only_b
    assert zero >= 20 and ties >= 30  # the edge cases were drawn


@pytest.mark.parametrize(
    ("only_a", "only_b"),
    [(500_000, 501_500), (499_000, 501_000), (1_000_000, 1_000_000), (5_000, 1_000_000)],
)
def test_mcnemar_stays_accurate_for_a_million_discordant_examples(only_a: int, only_b: int) -> None:
    both = 7
    a = np.concatenate([np.ones(only_a, bool), np.zeros(only_b, bool), np.ones(both, bool)])
    b = np.concatenate([np.zeros(only_a, bool), np.ones(only_b, bool), np.ones(both, bool)])
    test = mcnemar(a, b)
    reference = sm_mcnemar([[both, only_a], [only_b, 0]], exact=True).pvalue
    assert _close(test.p_value, reference), (test.p_value, reference)
    if 0 < reference < 1:
        assert abs(test.p_value - reference) <= 1e-9 * reference


def test_mcnemar_counts_on_a_hand_built_case() -> None:
    a = np.array([1, 1, 1, 0, 0, 1, 0, 1], bool)
    b = np.array([1, 0, 0, 0, 1, 1, 0, 0], bool)
    test = mcnemar(a, b)
    assert (test.only_a, test.only_b, test.n) == (3, 1, 8)
    assert test.diff == -0.25
    assert test.p_value == pytest.approx(2 * 5 / 16)  # 2 P[Bin(4, 1/2) <= 1]


def _macro_f1(y_true: IntArray, y_pred: IntArray) -> float:
    """scikit-learn's macro F1 written out: classes in either array, undefined F1 counts 0."""
    scores = []
    for c in np.union1d(y_true, y_pred):
        tp = np.sum((y_pred == c) & (y_true == c))
        predicted, support = np.sum(y_pred == c), np.sum(y_true == c)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        scores.append(2 * precision * recall / (precision + recall) if tp else 0.0)
    return float(np.mean(scores))


def _f1_diff(y: IntArray, a: IntArray, b: IntArray) -> float:
    return _macro_f1(y, b) - _macro_f1(y, a)


def _acc_diff(y: IntArray, a: IntArray, b: IntArray, axis: int = -1) -> npt.NDArray[np.float64]:
    return np.asarray(np.mean(b == y, axis=axis) - np.mean(a == y, axis=axis))


def _predictions(rng: np.random.Generator, n: int) -> tuple[IntArray, IntArray, IntArray]:
    """True classes and two models' predictions: some classes never true, some predicted
    outside the split's classes, sometimes identical models."""
    classes = int(rng.integers(2, 9))
    y = rng.integers(0, classes, n)
    extra = int(rng.integers(0, 3))  # classes only the models predict

    def model() -> IntArray:
        wrong = rng.integers(0, classes + extra, n)
        return np.where(rng.random(n) < rng.uniform(0.2, 0.95), y, wrong)

    a = model()
    b = a.copy() if rng.random() < 0.1 else model()
    return y, a, b


def test_paired_bootstrap_equals_scipy_bootstrap_on_the_same_seed() -> None:
    rng = np.random.default_rng(2012)
    for case in range(200):
        n = int(rng.integers(5, 120))
        y, a, b = _predictions(rng, n)
        resamples = int(rng.choice([50, 101, 200]))
        seed = int(rng.integers(0, 2**31))
        level = float(rng.choice([0.9, 0.95, 0.99]))
        checks: list[tuple[Metric, Callable[..., Any], bool]] = [
            ("accuracy", _acc_diff, True),
            ("macro_f1", _f1_diff, False),
        ]
        for metric, statistic, vectorized in checks:
            ours = paired_bootstrap(metric, y, a, b, resamples=resamples, seed=seed, level=level)
            theirs = bootstrap(
                (y, a, b),
                statistic,
                paired=True,
                vectorized=vectorized,
                method="percentile",
                n_resamples=resamples,
                confidence_level=level,
                rng=np.random.default_rng(seed),
            )
            interval = theirs.confidence_interval
            assert ours.low == pytest.approx(interval.low, abs=1e-12), (case, metric)
            assert ours.high == pytest.approx(interval.high, abs=1e-12), (case, metric)
            assert ours.observed == pytest.approx(float(statistic(y, a, b)), abs=1e-12)
            assert (ours.resamples, ours.seed, ours.level) == (resamples, seed, level)
            if metric == "accuracy":  # the same floats, so the same counts around 0
                dist = theirs.bootstrap_distribution
                tail = min(np.sum(dist <= 0), np.sum(dist >= 0))
                assert ours.p_value == min(1.0, 2 * (tail + 1) / (resamples + 1))


def test_macro_f1_is_scikit_learns_and_evalbots() -> None:
    rng = np.random.default_rng(7)
    for _ in range(30):
        y, a, b = _predictions(rng, int(rng.integers(5, 400)))
        ours = paired_bootstrap("macro_f1", y, a, b, resamples=10).observed
        sk = f1_score(y, b, average="macro", zero_division=0) - f1_score(
            y, a, average="macro", zero_division=0
        )
        assert ours == pytest.approx(sk, abs=1e-12)
        labels = [str(c) for c in range(int(max(y.max(), a.max(), b.max())) + 1)]
        stored = [classification_metrics(y, p, labels)[0]["macro_f1"] for p in (a, b)]
        assert stored[0] is not None and stored[1] is not None
        assert ours == pytest.approx(stored[1] - stored[0], abs=1e-12)


def test_resamples_drawn_in_chunks_equal_scipys_single_draw() -> None:
    rng = np.random.default_rng(3)
    n = 50_000  # more indices than one chunk holds: the draws span several calls
    y = rng.integers(0, 5, n)
    a = np.where(rng.random(n) < 0.8, y, 0)
    b = np.where(rng.random(n) < 0.81, y, 1)
    ours = paired_bootstrap("accuracy", y, a, b, resamples=200, seed=11)
    theirs = bootstrap(
        (y, a, b),
        _acc_diff,
        paired=True,
        method="percentile",
        n_resamples=200,
        rng=np.random.default_rng(11),
    ).confidence_interval
    assert (ours.low, ours.high) == pytest.approx((theirs.low, theirs.high), abs=1e-12)


def test_paired_bootstrap_sums_equals_scipy_for_corpus_wer() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        n = int(rng.integers(5, 150))
        words = rng.integers(1, 30, n).astype(float)
        errors_a = rng.binomial(words.astype(int), 0.2).astype(float)
        errors_b = rng.binomial(words.astype(int), 0.15).astype(float)
        seed = int(rng.integers(0, 1000))

        def wer_diff(
            ea: npt.NDArray[np.float64],
            eb: npt.NDArray[np.float64],
            w: npt.NDArray[np.float64],
            axis: int = -1,
        ) -> npt.NDArray[np.float64]:
            return np.asarray(
                eb.sum(axis=axis) / w.sum(axis=axis) - ea.sum(axis=axis) / w.sum(axis=axis)
            )

        ours = paired_bootstrap_sums(errors_a, words, errors_b, words, resamples=150, seed=seed)
        theirs = bootstrap(
            (errors_a, errors_b, words),
            wer_diff,
            paired=True,
            method="percentile",
            n_resamples=150,
            rng=np.random.default_rng(seed),
        ).confidence_interval
        assert (ours.low, ours.high) == pytest.approx((theirs.low, theirs.high), abs=1e-12)
        assert ours.observed == pytest.approx(
            errors_b.sum() / words.sum() - errors_a.sum() / words.sum()
        )


def _two_models(n: int, acc_a: float, acc_b: float) -> tuple[IntArray, IntArray, IntArray]:
    rng = np.random.default_rng(42)
    y = rng.integers(0, 10, n)
    a = np.where(rng.random(n) < acc_a, y, (y + 1) % 10)
    b = np.where(rng.random(n) < acc_b, y, (y + 3) % 10)
    return y, a, b


def test_a_model_five_points_better_is_separated() -> None:
    y, a, b = _two_models(20_000, 0.70, 0.75)
    test = mcnemar(a == y, b == y)
    assert test.p_value < 0.001
    assert test.diff == pytest.approx(0.05, abs=0.01)
    assert verdict("accuracy", "bert-tiny", "bert-mini", test.p_value, test.diff) == (
        "bert-mini is better than bert-tiny on accuracy (p < 0.001)"
    )
    for metric in METRICS:
        boot = paired_bootstrap(metric, y, a, b, resamples=1000)
        assert boot.p_value == 2 / 1001  # no resample puts A level with or above B
        assert 0 < boot.low < boot.observed < boot.high


def test_identical_models_are_not_separable() -> None:
    y, a, _ = _two_models(3_000, 0.8, 0.8)
    test = mcnemar(a == y, a == y)
    assert (test.only_a, test.only_b, test.p_value, test.diff) == (0, 0, 1.0, 0.0)
    assert verdict("accuracy", "m1", "m2", test.p_value, test.diff) == (
        "m1 and m2 are not separable on accuracy with this data (p = 1.0)"
    )
    for metric in METRICS:
        boot = paired_bootstrap(metric, y, a, a, resamples=300)
        assert (boot.observed, boot.low, boot.high, boot.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_bootstrap_is_reproducible_by_seed() -> None:
    y, a, b = _two_models(500, 0.7, 0.72)
    first = paired_bootstrap("macro_f1", y, a, b, resamples=200, seed=3)
    assert paired_bootstrap("macro_f1", y, a, b, resamples=200, seed=3) == first
    other = paired_bootstrap("macro_f1", y, a, b, resamples=200, seed=4)
    assert (other.low, other.high) != (first.low, first.high)
    assert isinstance(first, PairedBootstrap)


def test_verdict_wording() -> None:
    assert (
        verdict("accuracy", "a", "b", 0.003, 0.02) == "b is better than a on accuracy (p = 0.003)"
    )
    assert (
        verdict("accuracy", "a", "b", 0.003, -0.02) == "a is better than b on accuracy (p = 0.003)"
    )
    assert verdict("WER", "tiny", "base", 0.01, -0.04, higher_is_better=False) == (
        "base is better than tiny on WER (p = 0.010)"
    )
    assert verdict("WER", "tiny", "base", 0.01, 0.04, higher_is_better=False) == (
        "tiny is better than base on WER (p = 0.010)"
    )
    assert verdict("macro F1", "a", "b", 0.41, 0.01) == (
        "a and b are not separable on macro F1 with this data (p = 0.41)"
    )
    assert verdict("accuracy", "a", "b", 0.03, 0.01, alpha=0.01).startswith("a and b are not")
    assert verdict("accuracy", "a", "b", 0.0001, 0.0).startswith("a and b are not")


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0, "p < 0.001"),
        (0.000999, "p < 0.001"),
        (0.001, "p = 0.001"),
        (0.0034, "p = 0.003"),
        (0.047, "p = 0.047"),
        (0.05, "p = 0.050"),
        (0.4149, "p = 0.41"),
        (1.0, "p = 1.0"),
    ],
)
def test_format_p(p: float, text: str) -> None:
    assert format_p(p) == text


def test_separable_groups_start_a_group_only_at_a_real_step() -> None:
    scores = {"a": 0.90, "b": 0.89, "c": 0.80, "d": 0.795, "e": 0.70}
    calls: list[tuple[str, str]] = []

    def compare(upper: str, lower: str) -> float:
        calls.append((upper, lower))
        return 0.001 if scores[upper] - scores[lower] > 0.05 else 0.5

    assert separable_groups(list(scores), compare) == [1, 1, 2, 2, 3]
    assert calls == [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")]  # neighbours only
    assert separable_groups([], compare) == []
    assert separable_groups(["a"], compare) == [1]
    assert separable_groups(["a", "c", "e"], compare) == [1, 2, 3]
    assert separable_groups(["a", "c", "e"], compare, alpha=0.0001) == [1, 1, 1]


def test_separable_groups_chain_through_close_neighbours() -> None:
    # each neighbour is within reach of the next, so one group, though the ends differ
    p = {(1, 2): 0.2, (2, 3): 0.2, (3, 4): 0.2}
    assert separable_groups([1, 2, 3, 4], lambda x, y: p[x, y]) == [1, 1, 1, 1]


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="different examples"):
        mcnemar([True, False], [True])
    with pytest.raises(ValueError, match="at least 1"):
        mcnemar([], [])
    with pytest.raises(ValueError, match="unknown metric"):
        paired_bootstrap("f1", [0, 1], [0, 1], [0, 1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative class id"):
        paired_bootstrap("accuracy", [0, 1, 2], [0, -1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="integer class ids"):
        paired_bootstrap("accuracy", [0.5, 1.0], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="at least 2"):
        paired_bootstrap("accuracy", [0], [0], [0])
    with pytest.raises(ValueError, match="resamples"):
        paired_bootstrap("accuracy", [0, 1], [0, 1], [1, 1], resamples=0)
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap_sums([1, 2], [1, 1], [1, 1], [1, 1], level=1.0)
