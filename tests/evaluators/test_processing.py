"""Processing a classification run, against plain reference loops and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import f1_score

from evaluators.metrics import classification_metrics
from evaluators.processing import (
    bootstrap_intervals,
    calibration,
    misclassifications,
    process_classification,
    resample_indices,
)

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def _random_case(
    seed: int, n: int = 500, k: int = 6, error: float = 0.3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k, n)
    noise = rng.random(n) < error
    y_pred = np.where(noise, rng.integers(0, k, n), y_true)
    confidence = rng.integers(0, 21, n) / 20  # coarse: ties, exact 0 and 1, bin edges
    return y_true, y_pred, confidence


# --- misclassifications ----------------------------------------------------------------------


def _misclassifications_reference(y_true, y_pred, confidence, per_pair, limit):
    errors = [i for i in range(len(y_true)) if y_true[i] != y_pred[i]]
    errors.sort(key=lambda i: (-confidence[i], i))
    kept, per = [], {}
    for i in errors:
        pair = (y_true[i], y_pred[i])
        if per.get(pair, 0) < per_pair:
            per[pair] = per.get(pair, 0) + 1
            kept.append(i)
    return kept[:limit]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("per_pair", "limit"), [(3, 500), (1, 10), (0, 5), (100, 1000)])
def test_misclassifications_match_brute_force(seed: int, per_pair: int, limit: int) -> None:
    y_true, y_pred, confidence = _random_case(seed)
    got = misclassifications(y_true, y_pred, confidence, LABELS, per_pair=per_pair, limit=limit)
    expected = _misclassifications_reference(y_true, y_pred, confidence, per_pair, limit)
    assert [m.example_id for m in got] == expected
    for m in got:
        assert m.true_label == LABELS[y_true[m.example_id]]
        assert m.predicted_label == LABELS[y_pred[m.example_id]]
        assert m.confidence == confidence[m.example_id]
    assert [m.confidence for m in got] == sorted((m.confidence for m in got), reverse=True)


def test_misclassifications_none_when_all_correct() -> None:
    y = np.array([0, 1, 2, 1])
    assert misclassifications(y, y, [0.5, 0.6, 0.7, 1.0], ["a", "b", "c"]) == ()


# --- calibration -----------------------------------------------------------------------------


def _calibration_reference(y_true, y_pred, confidence, n_bins):
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    n = len(confidence)
    ece, mce, bins = 0.0, 0.0, []
    for b in range(n_bins):
        lower, upper = edges[b], edges[b + 1]
        members = [
            i
            for i in range(n)
            if lower < confidence[i] <= upper or (b == 0 and confidence[i] == 0.0)
        ]
        if not members:
            bins.append((0, None, None))
            continue
        accuracy = sum(y_true[i] == y_pred[i] for i in members) / len(members)
        mean_conf = sum(confidence[i] for i in members) / len(members)
        gap = abs(accuracy - mean_conf)
        ece += len(members) / n * gap
        mce = max(mce, gap)
        bins.append((len(members), accuracy, mean_conf))
    return ece, mce, bins


@pytest.mark.parametrize(
    ("seed", "n", "n_bins", "coarse"),
    [
        (0, 300, 15, True),
        (1, 300, 10, True),
        (2, 50, 40, False),
        (3, 7, 15, False),
        (4, 1, 3, True),
    ],
)
def test_calibration_matches_reference_loop(seed: int, n: int, n_bins: int, coarse: bool) -> None:
    y_true, y_pred, confidence = _random_case(seed, n=n)
    if not coarse:
        confidence = np.random.default_rng(seed).random(n)
    confidence[: min(n, 2)] = [0.0, 1.0][: min(n, 2)]
    result = calibration(y_true, y_pred, confidence, n_bins=n_bins)
    ece, mce, bins = _calibration_reference(y_true, y_pred, confidence, n_bins)
    assert result.ece == pytest.approx(ece, abs=1e-12)
    assert result.mce == pytest.approx(mce, abs=1e-12)
    assert len(result.bins) == n_bins
    for got, (count, accuracy, mean_conf) in zip(result.bins, bins, strict=True):
        assert got.count == count
        assert got.accuracy == pytest.approx(accuracy, abs=1e-12)
        assert got.confidence == pytest.approx(mean_conf, abs=1e-12)
    assert sum(b.count for b in result.bins) == n
    assert result.bins[0].lower == 0.0 and result.bins[-1].upper == 1.0


def test_calibration_edges_and_empty_bins() -> None:
    # 0 -> first bin, 0.5 -> (0.25, 0.5], 1.0 -> last bin; (0.5, 0.75] stays empty.
    result = calibration([0, 0, 0, 0], [0, 0, 1, 0], [0.0, 0.5, 1.0, 0.3], n_bins=4)
    assert [b.count for b in result.bins] == [1, 2, 0, 1]
    assert result.bins[2].accuracy is None and result.bins[2].confidence is None
    assert result.bins[3].accuracy == 0.0 and result.bins[3].confidence == 1.0
    assert result.mce == 1.0


def test_perfectly_calibrated_model_has_ece_near_zero() -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    confidence = rng.random(n)
    correct = rng.random(n) < confidence
    y_true = np.zeros(n, dtype=np.int64)
    result = calibration(y_true, np.where(correct, 0, 1), confidence)
    assert result.ece < 0.01
    overconfident = calibration(y_true, np.where(correct, 0, 1), np.sqrt(confidence))
    assert overconfident.ece > 0.1


def test_all_correct_still_has_calibration() -> None:
    y = np.array([0, 1, 1, 0])
    result = calibration(y, y, [0.5, 0.5, 0.5, 0.5], n_bins=2)
    assert result.ece == pytest.approx(0.5) and result.mce == pytest.approx(0.5)


# --- bootstrap -------------------------------------------------------------------------------


def _bootstrap_reference(y_true, y_pred, resamples, level, seed):
    accuracy, macro_f1 = [], []
    for idx in resample_indices(len(y_true), resamples, seed):
        t, p = y_true[idx], y_pred[idx]
        accuracy.append(np.mean(t == p))
        # scikit-learn's default labels: those in this resample's references or predictions
        macro_f1.append(f1_score(t, p, average="macro", zero_division=0))
    tails = [50 * (1 - level), 50 * (1 + level)]
    return np.percentile(accuracy, tails), np.percentile(macro_f1, tails)


@pytest.mark.parametrize(
    ("seed", "n", "k", "level"), [(0, 200, 6, 0.95), (1, 40, 8, 0.9), (2, 25, 3, 0.5)]
)
def test_bootstrap_matches_reference_loop(seed: int, n: int, k: int, level: float) -> None:
    y_true, y_pred, _ = _random_case(seed, n=n, k=k, error=0.4)
    y_true[y_true == k - 1] = 0  # class k-1 is predicted but never true: F1 0 in the macro
    y_true[0] = 1  # class 1 is rare, so many resamples lack it
    y_true[y_true == 1] = 2
    y_true[0] = 1
    got = bootstrap_intervals(y_true, y_pred, k, resamples=300, level=level, seed=seed)
    accuracy, macro_f1 = _bootstrap_reference(y_true, y_pred, 300, level, seed)
    assert (got["accuracy"].low, got["accuracy"].high) == pytest.approx(accuracy, abs=1e-12)
    assert (got["macro_f1"].low, got["macro_f1"].high) == pytest.approx(macro_f1, abs=1e-12)
    assert got["accuracy"].level == level and got["accuracy"].resamples == 300


def test_resample_indices_shape_range_and_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    idx = resample_indices(50, 7, seed=3)
    assert idx.shape == (7, 50) and idx.min() >= 0 and idx.max() < 50
    y_true, y_pred, _ = _random_case(5, n=50)
    whole = bootstrap_intervals(y_true, y_pred, 6, resamples=7, seed=3)
    # Smaller chunks change the draws only through resample_indices, which the test reuses.
    monkeypatch.setattr("evaluators.processing.MAX_CHUNK_INDICES", 120)
    assert resample_indices(50, 7, seed=3).shape == (7, 50)
    chunked = bootstrap_intervals(y_true, y_pred, 6, resamples=7, seed=3)
    accuracy, macro_f1 = _bootstrap_reference(y_true, y_pred, 7, 0.95, 3)
    assert (chunked["accuracy"].low, chunked["accuracy"].high) == pytest.approx(accuracy)
    assert (chunked["macro_f1"].low, chunked["macro_f1"].high) == pytest.approx(macro_f1)
    assert whole.keys() == chunked.keys()


def test_bootstrap_contains_estimate_and_narrows_with_data() -> None:
    widths = []
    for n in (200, 5000):
        y_true, y_pred, _ = _random_case(0, n=n)
        metrics, _ = classification_metrics(y_true, y_pred, LABELS)
        ci = bootstrap_intervals(y_true, y_pred, 6, resamples=500)
        for name in ("accuracy", "macro_f1"):
            estimate = metrics[name]
            assert estimate is not None and ci[name].low <= estimate <= ci[name].high
        widths.append(ci["accuracy"].high - ci["accuracy"].low)
    assert widths[1] < widths[0] / 3


def test_bootstrap_same_seed_same_interval() -> None:
    y_true, y_pred, _ = _random_case(1)
    first = bootstrap_intervals(y_true, y_pred, 6, resamples=200, seed=7)
    assert bootstrap_intervals(y_true, y_pred, 6, resamples=200, seed=7) == first
    assert bootstrap_intervals(y_true, y_pred, 6, resamples=200, seed=8) != first


# --- the bundle and edge cases ---------------------------------------------------------------


def test_process_classification_is_consistent() -> None:
    y_true, y_pred, confidence = _random_case(2, n=400)
    result = process_classification(y_true, y_pred, confidence, LABELS, resamples=100)
    metrics, classes = classification_metrics(y_true, y_pred, LABELS)
    assert result.metrics == metrics
    assert result.classes == classes
    assert np.array_equal(result.confusion, sk_confusion(y_true, y_pred, labels=range(6)))
    assert all(isinstance(v, int) for row in result.confusion for v in row)
    assert result.misclassifications == misclassifications(y_true, y_pred, confidence, LABELS)
    assert result.calibration == calibration(y_true, y_pred, confidence)
    assert result.intervals == bootstrap_intervals(y_true, y_pred, 6, resamples=100)


def test_one_class_present_and_all_correct() -> None:
    y = np.zeros(20, dtype=np.int64)
    result = process_classification(y, y, np.full(20, 0.75), ["a", "b"], resamples=50)
    assert result.misclassifications == ()
    assert result.metrics["accuracy"] == 1.0 and result.metrics["macro_f1"] == 1.0
    assert result.classes[1].support == 0 and result.classes[1].f1 is None
    assert result.calibration.ece == pytest.approx(0.25)
    assert result.intervals["accuracy"].low == result.intervals["accuracy"].high == 1.0
    assert result.intervals["macro_f1"].low == result.intervals["macro_f1"].high == 1.0


@pytest.mark.parametrize(
    ("y_true", "y_pred", "confidence", "message"),
    [
        ([], [], [], "empty"),
        ([0, 1], [0], [0.5, 0.5], "y_pred has 1"),
        ([0, 1], [0, 1], [0.5], "confidence has 1"),
        ([0, 1], [0, 1], [0.5, 1.5], r"\[0, 1\]"),
        ([0, 1], [0, 1], [-0.1, 0.5], r"\[0, 1\]"),
        ([0, 1], [0, 1], [float("nan"), 0.5], r"\[0, 1\]"),
        ([0, 2], [0, 1], [0.5, 0.5], "y_true has class ids outside"),
        ([0, 1], [0, -1], [0.5, 0.5], "y_pred has class ids outside"),
    ],
)
def test_invalid_input_raises(y_true, y_pred, confidence, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        process_classification(y_true, y_pred, confidence, ["a", "b"])
