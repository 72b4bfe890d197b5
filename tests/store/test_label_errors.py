"""Likely label errors from many models' top-1 predictions (``store.label_errors``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from store.label_errors import (
    LabelIssue,
    ModelVotes,
    describe,
    export_rows,
    find_label_errors,
)

CLASSES = 10


@dataclass(frozen=True)
class Flipped:
    """A test split whose given labels were flipped on purpose, and real models' votes on it."""

    true: np.ndarray
    given: np.ndarray
    flipped: frozenset[int]
    votes: list[ModelVotes]


@pytest.fixture(scope="module")
def flipped() -> Flipped:
    """Seven classifiers trained on a clean train split; 5% of the test labels flipped to a
    random other class. One thread each: BLAS and OpenMP pools fight on a shared 2-core box."""
    x, y = make_classification(
        n_samples=6_000,
        n_features=20,
        n_informative=12,
        n_redundant=0,
        n_classes=CLASSES,
        n_clusters_per_class=1,
        class_sep=2.75,
        flip_y=0.0,  # the clean split must be clean: only our flips are label errors
        random_state=0,
    )
    x_train, y_train, x_test, y_test = x[:4_000], y[:4_000], x[4_000:], y[4_000:]
    rng = np.random.default_rng(0)
    flips = rng.choice(len(y_test), size=len(y_test) // 20, replace=False)
    given = y_test.copy()
    given[flips] = (y_test[flips] + rng.integers(1, CLASSES, size=flips.size)) % CLASSES
    models = {
        "logistic-regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)),
        "random-forest": RandomForestClassifier(n_estimators=100, random_state=0),
        "k-neighbours": make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=15)),
        "gaussian-nb": GaussianNB(),
        "qda": QuadraticDiscriminantAnalysis(reg_param=0.01),
        "mlp": make_pipeline(
            StandardScaler(),
            MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=0),
        ),
        "hist-gradient-boosting": HistGradientBoostingClassifier(max_iter=30, random_state=0),
    }
    votes = []
    with threadpool_limits(1):
        for name, model in models.items():
            model.fit(x_train, y_train)
            proba = model.predict_proba(x_test)
            predicted = model.classes_[proba.argmax(axis=1)]
            assert (predicted == y_test).mean() > 0.95, name  # accurate models only
            votes.append(ModelVotes(name, predicted, proba.max(axis=1)))
    return Flipped(y_test, given, frozenset(flips.tolist()), votes)


def test_finds_most_flipped_labels_of_real_classifiers(flipped: Flipped) -> None:
    report = find_label_errors(flipped.given, flipped.votes, num_classes=CLASSES)
    found = {issue.example_id for issue in report.issues}
    hits = found & flipped.flipped
    recall, precision = len(hits) / len(flipped.flipped), len(hits) / len(found)
    print(f"label errors: recall {recall:.2f}, precision {precision:.2f}, {len(found)} listed")
    assert recall >= 0.8, f"recall {recall:.2f}"
    assert precision >= 0.8, f"precision {precision:.2f}"
    for issue in report.issues:
        if issue.example_id in hits:  # a found flip suggests the label it had before
            assert issue.suggested == flipped.true[issue.example_id]
        assert issue.given == flipped.given[issue.example_id] != issue.suggested
        assert issue.models == len(flipped.votes) and issue.share > 0.5
    assert (report.models, report.examples) == (len(flipped.votes), len(flipped.given))
    assert report.method == describe(min_models=5, min_share=0.5)
    assert "more than 50%" in report.method and "at least 5 models" in report.method


def test_same_votes_give_the_same_report_in_any_model_order(flipped: Flipped) -> None:
    first = find_label_errors(flipped.given, flipped.votes, num_classes=CLASSES)
    again = find_label_errors(flipped.given, flipped.votes[::-1], num_classes=CLASSES)
    assert first == again
    keys = [(-i.score, -i.agree, i.example_id) for i in first.issues]
    assert keys == sorted(keys)  # most likely first


def test_too_few_models_give_an_empty_report_that_says_why(flipped: Flipped) -> None:
    report = find_label_errors(flipped.given, flipped.votes[:3], num_classes=CLASSES)
    assert report.issues == ()
    assert (report.models, report.min_models) == (3, 5)
    assert "Needs at least 5 models; 3 were evaluated" in report.method
    one = find_label_errors(flipped.given, flipped.votes[:1], num_classes=CLASSES, min_models=2)
    assert "Needs at least 2 models; 1 was evaluated" in one.method


def _votes(predicted: list[list[int]], confidence: list[list[float]]) -> list[ModelVotes]:
    return [
        ModelVotes(f"m{k}", np.array(p), np.array(c))
        for k, (p, c) in enumerate(zip(predicted, confidence, strict=True))
    ]


def test_examples_count_only_the_models_that_predicted_them() -> None:
    # six models; example 0 (given 1): five predict 0 at 0.9, one made no prediction;
    # example 1 (given 1): four predict 0, two none: too few judges; examples 2, 3 set the
    # threshold of class 0 (0.8; class 1's is (0.1 + 0.1 + 0.8) / 3).
    given = [1, 1, 0, 1]
    predicted = [[0, 0, 0, 1]] * 4 + [[0, -1, 0, 1], [-1, -1, 0, 1]]
    confidence = [[0.9, 0.9, 0.8, 0.8]] * 6
    report = find_label_errors(given, _votes(predicted, confidence), num_classes=2)
    assert report.issues == (LabelIssue(0, 1, 0, 5, 5, 1.0, 0.9, 0.9),)
    relaxed = find_label_errors(given, _votes(predicted, confidence), num_classes=2, min_models=4)
    assert [i.example_id for i in relaxed.issues] == [0, 1]
    assert relaxed.issues[1].models == 4


def test_a_vote_counts_only_at_the_models_own_threshold_and_only_a_majority_lists() -> None:
    # class 0 self-confidence 0.9 for every model: a vote for 0 at 0.85 is not confident.
    given = [0, 1, 1]
    predicted = [[0, 0, 0]] * 6
    confident = [[0.9, 0.9, 0.85]] * 6
    report = find_label_errors(given, _votes(predicted, confident), num_classes=2)
    assert [i.example_id for i in report.issues] == [1]
    # exactly half the models agreeing is not "more than half"
    half = [[0, 0, 0]] * 3 + [[0, 1, 1]] * 3
    assert find_label_errors(given, _votes(half, confident), num_classes=2).issues == ()
    lower = find_label_errors(given, _votes(half, confident), num_classes=2, min_share=0.4)
    assert [(i.example_id, i.share) for i in lower.issues] == [(1, 0.5)]


def test_a_class_no_example_is_labelled_with_falls_back_to_the_models_mean_confidence() -> None:
    # no example is labelled 2: t_2 = the mean of all confidences (0.7)
    given = [0, 0, 1, 1]
    predicted = [[0, 2, 1, 2]] * 5
    confidence = [[0.8, 0.75, 0.6, 0.65]] * 5
    report = find_label_errors(given, _votes(predicted, confidence), num_classes=3)
    assert [(i.example_id, i.suggested) for i in report.issues] == [(1, 2)]


def _reference(
    given: np.ndarray, votes: list[ModelVotes], classes: int, min_models: int, min_share: float
) -> list[tuple[int, int, int, int]]:
    """The rule written out one model, class and example at a time."""
    thresholds = []
    for v in votes:
        made = [c for p, c in zip(v.predicted, v.confidence, strict=True) if p >= 0]
        t = []
        for j in range(classes):
            p_j = [  # the probability of j on an example labelled j: at most 1 - the confidence
                c if p == j else 1 - c
                for p, g, c in zip(v.predicted, given, v.confidence, strict=True)
                if g == j and p >= 0
            ]
            t.append(sum(p_j) / len(p_j) if p_j else sum(made) / len(made))
        thresholds.append(t)
    found = []
    for i, g in enumerate(given):
        judges = sum(1 for v in votes if v.predicted[i] >= 0)
        counts = [0] * classes
        for v, t in zip(votes, thresholds, strict=True):
            p = v.predicted[i]
            if p >= 0 and p != g and v.confidence[i] >= t[p]:
                counts[p] += 1
        best = max(range(classes), key=lambda j: (counts[j], -j))
        if g >= 0 and judges >= min_models and counts[best] / judges > min_share:
            found.append((i, int(g), best, counts[best]))
    return found


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_rule_written_out_example_by_example(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, classes, models = 400, 4, 7
    true = rng.integers(0, classes, size=n)
    given = np.where(rng.random(n) < 0.2, rng.integers(-1, classes, size=n), true)
    votes = []
    for k in range(models):
        predicted = np.where(rng.random(n) < 0.7, true, rng.integers(-1, classes, size=n))
        confidence = rng.choice([0.3, 0.5, 0.7, 0.9, 1.0], size=n)
        votes.append(ModelVotes(f"m{k}", predicted, confidence))
    for min_models, min_share in [(5, 0.5), (3, 0.3)]:
        report = find_label_errors(
            given, votes, num_classes=classes, min_models=min_models, min_share=min_share
        )
        got = sorted((i.example_id, i.given, i.suggested, i.agree) for i in report.issues)
        assert got == _reference(given, votes, classes, min_models, min_share)
        assert got  # the random votes do list some examples


def test_export_rows_name_the_classes(flipped: Flipped) -> None:
    report = find_label_errors(flipped.given, flipped.votes, num_classes=CLASSES)
    names = [f"class-{j}" for j in range(CLASSES)]
    rows = export_rows(report, names)
    assert len(rows) == len(report.issues)
    for row, issue in zip(rows, report.issues, strict=True):
        assert row == {
            "example_id": issue.example_id,
            "given": names[issue.given],
            "suggested": names[issue.suggested],
            "agree": issue.agree,
            "models": issue.models,
            "share": issue.share,
            "confidence": issue.confidence,
            "score": issue.score,
        }
        assert row["score"] == pytest.approx(row["share"] * row["confidence"])
    with pytest.raises(ValueError, match="has no name"):
        export_rows(report, names[:1])


def test_refuses_votes_that_do_not_fit_the_split() -> None:
    given = [0, 1, 1]
    good = _votes([[0, 1, 1]], [[0.9, 0.9, 0.9]])
    cases = {
        "shape": _votes([[0, 1]], [[0.9, 0.9]]),
        "classes must be in": _votes([[0, 2, 1]], [[0.9, 0.9, 0.9]]),
        "confidences": _votes([[0, 1, 1]], [[0.9, 1.5, 0.9]]),
        "twice": good + good,
    }
    for message, votes in cases.items():
        with pytest.raises(ValueError, match=message):
            find_label_errors(given, votes, num_classes=2)
    with pytest.raises(ValueError, match="min_share"):
        find_label_errors(given, good, num_classes=2, min_share=1.0)
    with pytest.raises(ValueError, match="given labels"):
        find_label_errors([0, 3, 1], good, num_classes=2)
