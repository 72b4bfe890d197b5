"""Whether two models' scores on the same examples differ for real: paired significance tests.

Every model is evaluated on the same dataset splits, so two results can be compared example by
example. Two tests are offered, both pure numpy and the standard library (the Space ships them
and has no scipy):

* :func:`mcnemar`: McNemar's exact test on per-example correctness, for accuracy;
* :func:`paired_bootstrap` and :func:`paired_bootstrap_sums`: the paired bootstrap (Koehn 2004,
  "Statistical Significance Tests for Machine Translation Evaluation"; Berg-Kirkpatrick et al.
  2012, "An Empirical Investigation of Statistical Significance in NLP"), for any metric of the
  resampled examples: accuracy and macro F1 of class ids, or a ratio of per-example sums (corpus
  WER = errors / words, exact match = matches / examples).

The bootstrap draws its resamples exactly as ``scipy.stats.bootstrap(data, statistic,
paired=True, method="percentile", rng=np.random.default_rng(seed))`` does and takes the same
percentile interval, so the two agree on the same seed. :func:`verdict` puts a result in words and
:func:`separable_groups` groups a leaderboard into runs of models that the data cannot tell apart.

Example:
    >>> import numpy as np
    >>> y = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    >>> a = np.array([0, 1, 0, 0, 0, 0, 1, 0])
    >>> b = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    >>> test = mcnemar(a == y, b == y)
    >>> test.only_a, test.only_b, round(test.p_value, 3)
    (0, 3, 0.25)
    >>> verdict("accuracy", "model-a", "model-b", test.p_value, test.diff)
    'model-a and model-b are not separable on accuracy with this data (p = 0.25)'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Metric = Literal["accuracy", "macro_f1"]
METRICS: tuple[Metric, ...] = ("accuracy", "macro_f1")

T = TypeVar("T")

# Resample indices are drawn and reduced this many at a time (rows of ``n`` indices), so memory
# stays near 100 MB however many resamples are asked for. numpy's Generator.integers continues
# one stream across calls, so drawing in row chunks gives the very indices of a single draw.
_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class McNemar:
    """McNemar's exact test of two models' per-example correctness.

    Attributes:
        only_a: Examples model A got right and model B wrong.
        only_b: Examples model B got right and model A wrong.
        n: Examples compared.
        p_value: Two-sided exact p-value: ``min(1, 2 P[X <= min(only_a, only_b)])`` for
            ``X ~ Binomial(only_a + only_b, 1/2)``; 1 when no example is discordant.
        diff: Accuracy of B minus accuracy of A, ``(only_b - only_a) / n``.
    """

    only_a: int
    only_b: int
    n: int
    p_value: float
    diff: float


@dataclass(frozen=True)
class PairedBootstrap:
    """A paired bootstrap of the difference of a metric between two models (B − A).

    Attributes:
        observed: The metric of B minus the metric of A on all the examples.
        low: Lower end of the percentile interval of the difference.
        high: Upper end of the percentile interval of the difference.
        p_value: Two-sided p-value of "no difference" (see :func:`paired_bootstrap`).
        resamples: Number of resamples drawn.
        seed: Seed of ``numpy.random.default_rng`` that drew them.
        level: Confidence level of the interval.
    """

    observed: float
    low: float
    high: float
    p_value: float
    resamples: int
    seed: int
    level: float


def mcnemar(a_correct: npt.ArrayLike, b_correct: npt.ArrayLike) -> McNemar:
    """McNemar's exact test: do models A and B differ in accuracy on the same examples?

    Only the discordant examples (one model right, the other wrong) carry information; under
    the null hypothesis each is equally likely to favour either model, so their split is
    Binomial(discordant, 1/2). The p-value is the exact two-sided one that statsmodels'
    ``mcnemar(table, exact=True)`` and scipy's ``binomtest(only_a, discordant)`` give, computed
    without scipy to a relative accuracy of about 1e-12 for millions of discordant examples.

    Args:
        a_correct: Per example, whether model A got it right (booleans, split order).
        b_correct: The same for model B, on the same examples in the same order.

    Returns:
        The discordant counts, the p-value and the accuracy difference (B − A).

    Raises:
        ValueError: The arrays are empty, not one-dimensional or of different lengths.

    Example:
        >>> t = mcnemar([True, True, False, True], [True, False, False, False])
        >>> (t.only_a, t.only_b, t.n, t.p_value, t.diff)
        (2, 0, 4, 0.5, -0.5)
    """
    a = np.asarray(a_correct, dtype=bool)
    b = np.asarray(b_correct, dtype=bool)
    n = _paired_length(a, b, minimum=1)
    only_a = int(np.count_nonzero(a & ~b))
    only_b = int(np.count_nonzero(b & ~a))
    tail = _binomial_half_cdf(min(only_a, only_b), only_a + only_b)
    return McNemar(
        only_a=only_a,
        only_b=only_b,
        n=n,
        p_value=min(1.0, 2.0 * tail),
        diff=(only_b - only_a) / n,
    )


def paired_bootstrap(
    metric: Metric,
    y_true: npt.ArrayLike,
    pred_a: npt.ArrayLike,
    pred_b: npt.ArrayLike,
    *,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> PairedBootstrap:
    """The paired bootstrap of a classification metric's difference between two models.

    Each resample draws ``n`` examples with replacement, the same ones for both models, and
    computes the metric of each; the distribution of B − A over the resamples gives a percentile
    interval and a p-value (see :func:`paired_bootstrap_sums` for both definitions). The metrics
    are computed for all resamples at once from per-resample class counts (``np.bincount``):
    1,000 resamples of 10,000 examples take a fraction of a second.

    Metrics (class ids are non-negative integers):
        * ``"accuracy"``: share of examples predicted as their true class;
        * ``"macro_f1"``: mean F1 over the classes in the resample's references or predictions
          (a class absent from both is left out; an undefined F1 counts as 0): scikit-learn's
          ``f1_score(y_true, y_pred, average="macro")`` and evalbot's stored ``macro_f1``.

    Args:
        metric: ``"accuracy"`` or ``"macro_f1"``.
        y_true: True class id per example, in split order.
        pred_a: Class id model A predicted per example.
        pred_b: Class id model B predicted per example.
        resamples: How many resamples to draw.
        seed: Seed of ``numpy.random.default_rng``; the same seed draws the same resamples.
        level: Confidence level of the interval.

    Returns:
        The observed difference (B − A), its interval and p-value.

    Raises:
        ValueError: Unknown metric, fewer than 2 examples, arrays of different lengths,
            negative class ids, or ``resamples``/``level`` out of range.

    Example:
        >>> y = [0, 1, 2, 1, 0, 2, 1, 0]
        >>> r = paired_bootstrap("accuracy", y, [0, 1, 2, 0, 0, 1, 1, 1], y, resamples=200)
        >>> r.observed, r.low >= 0 and r.high <= 0.75
        (0.375, True)
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: choose one of {', '.join(METRICS)}")
    truth = _class_ids(y_true, "y_true")
    a = _class_ids(pred_a, "pred_a")
    b = _class_ids(pred_b, "pred_b")
    n = _paired_length(truth, a, minimum=2)
    _paired_length(truth, b, minimum=2)
    if metric == "accuracy":
        ones = np.ones(n)
        return paired_bootstrap_sums(
            (a == truth).astype(np.float64),
            ones,
            (b == truth).astype(np.float64),
            ones,
            resamples=resamples,
            seed=seed,
            level=level,
        )
    classes = int(max(truth.max(), a.max(), b.max())) + 1
    f1_a, f1_b = _MacroF1(truth, a, classes), _MacroF1(truth, b, classes)
    everything = np.arange(n)[None, :]
    observed = float(f1_b(everything)[0] - f1_a(everything)[0])

    def diffs(rows: IntArray) -> FloatArray:
        return f1_b(rows) - f1_a(rows)

    return _bootstrap(diffs, n, observed, resamples=resamples, seed=seed, level=level)


def paired_bootstrap_sums(
    numer_a: npt.ArrayLike,
    denom_a: npt.ArrayLike,
    numer_b: npt.ArrayLike,
    denom_b: npt.ArrayLike,
    *,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> PairedBootstrap:
    """The paired bootstrap of a ratio-of-sums metric's difference between two models.

    The metric of a set of examples is ``sum(numer) / sum(denom)`` over them: corpus WER is
    word errors over reference words, exact match is matches over ones. Each resample draws
    ``n`` example indices with replacement, the same for both models, as
    ``scipy.stats.bootstrap(..., paired=True, rng=np.random.default_rng(seed))`` draws them.

    * The interval is the percentile interval of the resampled differences (B − A), with
      scipy's quantiles (Hyndman and Fan's type 7, numpy's default "linear").
    * The p-value inverts that interval (Efron and Tibshirani 1993, "An Introduction to the
      Bootstrap", ch. 15-16): ``2 min(#{d <= 0}, #{d >= 0})``, each count plus one over
      ``resamples + 1`` so that it is never 0 (Davison and Hinkley 1997, eq. 4.11), capped at 1.
      The level-``1 - p`` interval just reaches 0, so ``p < alpha`` when the ``1 - alpha``
      interval leaves 0 out. Its smallest value is ``2 / (resamples + 1)``; identical models
      give 1.

    A resample whose denominators all are 0 has an undefined metric (NaN), which then spreads to
    the interval; with positive denominators (words, examples) that cannot happen.

    Args:
        numer_a: Per example, model A's numerator (e.g. its word errors).
        denom_a: Per example, model A's denominator (e.g. reference words).
        numer_b: Model B's numerators on the same examples, same order.
        denom_b: Model B's denominators.
        resamples: How many resamples to draw.
        seed: Seed of ``numpy.random.default_rng``.
        level: Confidence level of the interval.

    Returns:
        The observed difference (B − A), its interval and p-value.

    Raises:
        ValueError: Fewer than 2 examples, arrays of different lengths, or
            ``resamples``/``level`` out of range.

    Example:
        >>> errors_a, errors_b, words = [3, 1, 0, 2], [1, 0, 0, 1], [10, 5, 4, 6]
        >>> r = paired_bootstrap_sums(errors_a, words, errors_b, words, resamples=100)
        >>> round(r.observed, 3), r.high <= 0
        (-0.16, True)
    """
    na, da, nb, db = (np.asarray(x, dtype=np.float64) for x in (numer_a, denom_a, numer_b, denom_b))
    n = _paired_length(na, da, minimum=2)
    for other in (nb, db):
        _paired_length(na, other, minimum=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = float(nb.sum() / db.sum() - na.sum() / da.sum())

    def diffs(rows: IntArray) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(
                nb[rows].sum(axis=1) / db[rows].sum(axis=1)
                - na[rows].sum(axis=1) / da[rows].sum(axis=1),
                dtype=np.float64,
            )

    return _bootstrap(diffs, n, observed, resamples=resamples, seed=seed, level=level)


def format_p(p_value: float) -> str:
    """A p-value for people: ``"p < 0.001"``, else 3 decimals below 0.01, else 2 significant
    figures.

    Example:
        >>> [format_p(p) for p in (0.0004, 0.0031, 0.047, 0.41, 1.0)]
        ['p < 0.001', 'p = 0.003', 'p = 0.047', 'p = 0.41', 'p = 1.0']
    """
    if p_value < 0.001:
        return "p < 0.001"
    if p_value < 0.01:
        return f"p = {p_value:.3f}"
    return f"p = {p_value:#.2g}"


def verdict(
    metric_name: str,
    a_name: str,
    b_name: str,
    p_value: float,
    diff: float,
    *,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> str:
    """A comparison of models A and B in plain words.

    Args:
        metric_name: The metric compared, as readers know it (``"accuracy"``, ``"WER"``).
        a_name: Model A's short name.
        b_name: Model B's short name.
        p_value: The test's p-value.
        diff: The metric of B minus the metric of A.
        alpha: Significance level: below it the difference counts as real.
        higher_is_better: Whether a higher value of the metric is better (False for WER).

    Returns:
        Which model is better, or that the data cannot separate them, with the p-value.

    Example:
        >>> verdict("WER", "whisper-tiny", "whisper-base", 0.0004, -0.03, higher_is_better=False)
        'whisper-base is better than whisper-tiny on WER (p < 0.001)'
    """
    if p_value < alpha and diff != 0:
        b_wins = (diff > 0) == higher_is_better
        better, worse = (b_name, a_name) if b_wins else (a_name, b_name)
        return f"{better} is better than {worse} on {metric_name} ({format_p(p_value)})"
    return (
        f"{a_name} and {b_name} are not separable on {metric_name} with this data "
        f"({format_p(p_value)})"
    )


def separable_groups(
    ordered: Sequence[T], compare: Callable[[T, T], float], *, alpha: float = 0.05
) -> list[int]:
    """Groups models not separable from their neighbour, down a leaderboard.

    Walking the entries in rank order, an entry starts a new group only when it is separable
    from the entry just above it (``compare(above, entry) < alpha``); otherwise it joins that
    entry's group. Groups are numbered from 1 at the top. Only neighbours are compared, so a
    group can hold two models that would be separable from each other through a chain of
    closer ones: the groups say where the ranking has a real step, not that everything within a
    group ties.

    Args:
        ordered: Leaderboard entries, best first.
        compare: The p-value of the difference between two entries (e.g. a :func:`mcnemar` or
            :func:`paired_bootstrap` p-value), called as ``compare(above, below)``.
        alpha: Significance level of a step.

    Returns:
        One group number per entry, in the same order.

    Example:
        >>> p = {("a", "b"): 0.4, ("b", "c"): 0.001, ("c", "d"): 0.2}
        >>> separable_groups(["a", "b", "c", "d"], lambda x, y: p[x, y])
        [1, 1, 2, 2]
    """
    groups: list[int] = []
    for i, entry in enumerate(ordered):
        if i == 0:
            groups.append(1)
        else:
            step = compare(ordered[i - 1], entry) < alpha
            groups.append(groups[-1] + int(step))
    return groups


def _paired_length(a: npt.NDArray[np.generic], b: npt.NDArray[np.generic], *, minimum: int) -> int:
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"expected one value per example, got shapes {a.shape} and {b.shape}")
    if len(a) != len(b):
        raise ValueError(f"the models were scored on different examples: {len(a)} vs {len(b)}")
    if len(a) < minimum:
        raise ValueError(f"need at least {minimum} examples, got {len(a)}")
    return len(a)


def _class_ids(values: npt.ArrayLike, name: str) -> IntArray:
    ids = np.asarray(values)
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class ids, got {ids.dtype}")
    ids = ids.astype(np.int64)
    if ids.size and ids.min() < 0:
        raise ValueError(f"{name} holds a negative class id ({ids.min()})")
    return ids


def _bootstrap(
    diffs: Callable[[IntArray], FloatArray],
    n: int,
    observed: float,
    *,
    resamples: int,
    seed: int,
    level: float,
) -> PairedBootstrap:
    """Draw the resamples, reduce each chunk of them to differences, and summarise."""
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    dist = np.concatenate([diffs(rows) for rows in _resample_indices(n, resamples, seed)])
    low, high = _percentile_interval(dist, level)
    at_most = int(np.count_nonzero(dist <= 0))
    at_least = int(np.count_nonzero(dist >= 0))
    p_value = min(1.0, 2 * (min(at_most, at_least) + 1) / (resamples + 1))
    return PairedBootstrap(
        observed=observed,
        low=low,
        high=high,
        p_value=p_value,
        resamples=resamples,
        seed=seed,
        level=level,
    )


def _resample_indices(n: int, resamples: int, seed: int) -> Iterator[IntArray]:
    """Rows of ``n`` indices in [0, n), one per resample, in chunks of rows.

    The same stream as scipy's ``rng_integers(rng, 0, n, (resamples, n))`` in
    ``scipy.stats.bootstrap``: ``Generator.integers`` with int64 output, drawn row by row.
    """
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, resamples, rows):
        yield rng.integers(0, n, size=(min(rows, resamples - start), n), dtype=np.int64)


def _percentile_interval(dist: FloatArray, level: float) -> tuple[float, float]:
    """The percentile interval as ``scipy.stats.bootstrap`` takes it: ``scipy.stats.quantile``
    with its default ``method="linear"`` at ``(1 - level) / 2`` and ``1 - (1 - level) / 2``."""
    y = np.sort(dist)
    n = y.shape[-1]
    alpha = (1 - level) / 2
    p = np.array([alpha, 1 - alpha], dtype=np.float64)
    jg = p * n + (1 - p)
    jp1 = jg // 1
    j = jp1 - 1
    g = jg % 1
    g[j < 0] = 0
    j = np.clip(j, 0.0, n - 1)
    jp1 = np.clip(jp1, 0.0, n - 1)
    ends = (1 - g) * y[j.astype(np.int64)] + g * y[jp1.astype(np.int64)]
    return float(ends[0]), float(ends[1])


class _MacroF1:
    """Macro F1 of one model for each row of example indices, from per-row class counts.

    Per class, F1 = 2 tp / (predicted + support), which is 2PR / (P + R) where defined and 0
    where precision or recall is undefined; the mean runs over the classes with
    predicted + support > 0 in that row (scikit-learn's default labels). Each example is coded
    once as ``2 * true class + correct``, so one ``np.bincount`` over a row's codes gives both
    the support and the true positives of every class, and a second over its predictions gives
    the predicted counts.
    """

    def __init__(self, truth: IntArray, pred: IntArray, classes: int) -> None:
        self.code = 2 * truth + (pred == truth)
        self.pred = pred
        self.classes = classes

    def __call__(self, rows: IntArray) -> FloatArray:
        count = rows.shape[0]
        size = count * self.classes
        offsets = (np.arange(count, dtype=np.int64) * self.classes)[:, None]
        codes = self.code[rows]
        codes += 2 * offsets
        by_code = np.bincount(codes.ravel(), minlength=2 * size).reshape(count, self.classes, 2)
        preds = self.pred[rows]
        preds += offsets
        predicted = np.bincount(preds.ravel(), minlength=size).reshape(count, self.classes)
        seen = by_code.sum(axis=2) + predicted
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(seen > 0, 2 * by_code[:, :, 1] / seen, 0.0)
        return np.asarray(f1.sum(axis=1) / np.count_nonzero(seen, axis=1), dtype=np.float64)


# The binomial CDF at p = 1/2, after Loader (2000), "Fast and Accurate Computation of Binomial
# Probabilities": each probability is exp of a sum of small, accurately computed terms (the
# Stirling-series remainder and the deviance bd0), never a difference of huge log-gamma values,
# so it keeps full relative accuracy for millions of trials.

_HALF_LN_2PI = 0.5 * math.log(2 * math.pi)
_STIRLERR_SMALL = np.array(
    [0.0] + [math.lgamma(m + 1) - (m + 0.5) * math.log(m) + m - _HALF_LN_2PI for m in range(1, 16)]
)


def _stirlerr(m: FloatArray) -> FloatArray:
    """``log(m!) - log(sqrt(2 pi m) (m / e)^m)`` for integers m >= 1: a table to 15, the
    Stirling series beyond (its next term is below 1e-16 there)."""
    small = m <= 15
    big = np.where(small, 16.0, m)
    nn = big * big
    series = (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / (1188 * nn)) / nn) / nn) / nn) / big
    return np.where(small, _STIRLERR_SMALL[np.minimum(m, 15).astype(np.int64)], series)


def _bd0(x: FloatArray, mean: float) -> FloatArray:
    """The deviance term ``x log(x / mean) + mean - x``, by a series near ``mean`` where the
    direct formula would lose digits to cancellation."""
    with np.errstate(divide="ignore"):
        direct = x * np.log(x / mean) + mean - x
    near = np.abs(x - mean) < 0.1 * (x + mean)
    if not near.any():
        return direct
    xn = x[near]
    v = (xn - mean) / (xn + mean)
    s = (xn - mean) * v
    ej = 2 * xn * v
    for j in range(1, 40):
        ej = ej * v * v
        step = s + ej / (2 * j + 1)
        if np.array_equal(step, s):
            break
        s = step
    out = direct.copy()
    out[near] = s
    return out


def _binomial_half_cdf(k: int, trials: int) -> float:
    """``P[X <= k]`` for ``X ~ Binomial(trials, 1/2)``."""
    if k >= trials:
        return 1.0
    edge = math.ldexp(1.0, -trials)  # P[X = 0], exactly (0 below the smallest double)
    if k == 0:
        return edge
    x = np.arange(1, k + 1, dtype=np.float64)
    n = float(trials)
    lc = (
        _stirlerr(np.array([n]))[0]
        - _stirlerr(x)
        - _stirlerr(n - x)
        - _bd0(x, n / 2)
        - _bd0(n - x, n / 2)
    )
    lf = 2 * _HALF_LN_2PI + np.log(x) + np.log1p(-x / n)
    return edge + float(np.exp(lc - 0.5 * lf).sum())
