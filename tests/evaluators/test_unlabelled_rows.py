"""Rows without a gold label (-1: SNLI's unresolved pairs, GLUE's hidden test labels) are left
out of an evaluation, never scored as the last class."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest

from evaluators.config import load_module
from evaluators.datasets_io import DatasetError, drop_unlabelled
from evaluators.datasets_io import labels_of as _labels

ROOT = Path(__file__).resolve().parents[2]
RTE = load_module(ROOT / "config" / "tasks" / "text-classification" / "glue-rte.yaml")
SHA = "0" * 40


def rows(labels: list[int]) -> datasets.Dataset:
    features = datasets.Features(
        {
            "sentence1": datasets.Value("string"),
            "sentence2": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["entailment", "not_entailment"]),
        }
    )
    n = len(labels)
    return datasets.Dataset.from_dict(
        {"sentence1": [f"a{i}" for i in range(n)], "sentence2": ["b"] * n, "label": labels},
        features=features,
    )


def test_rows_without_a_label_are_left_out() -> None:
    ds = rows([0, -1, 1, -1, 0])
    labels = _labels(RTE, ds)
    assert labels.tolist() == [0, -1, 1, -1, 0]  # not the last class
    kept, kept_labels = drop_unlabelled(RTE, ds, labels, SHA)
    assert kept_labels.tolist() == [0, 1, 0] and kept["sentence1"] == ["a0", "a2", "a4"]


def test_a_split_with_every_label_hidden_is_refused() -> None:
    ds = rows([-1, -1])
    with pytest.raises(DatasetError, match="no row has a label") as caught:
        drop_unlabelled(RTE, ds, _labels(RTE, ds), SHA)
    assert caught.value.module == "glue-rte"


def test_labelled_rows_are_kept_as_they_are() -> None:
    ds = rows([1, 0])
    kept, labels = drop_unlabelled(RTE, ds, _labels(RTE, ds), SHA)
    assert kept is ds and np.array_equal(labels, [1, 0])
