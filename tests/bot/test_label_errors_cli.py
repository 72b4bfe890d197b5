"""Likely label errors from the stored outcomes of many models: found per split by
``store.export.label_errors``, published as ``label_issues`` and printed by
``evalbot label-errors``."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from store import tables as t
from store.db import Store
from store.embedded import EmbeddedMongo
from store.export import export_tables, label_errors
from store.outcomes import pack
from store.types import DatasetRecord
from tests.store.test_store import make_record

LABELS = ("sadness", "joy", "love", "anger", "fear", "surprise")
N = 300
FLIPPED = (3, 40, 77, 150, 222, 299)


def _world(store: Store, models: int, *, seed: int = 0) -> np.ndarray:
    """``models`` models evaluated on one split whose given labels are wrong at ``FLIPPED``:
    each model predicts the true class on 95% of the examples, as sure of it as softmax models
    usually are, else a random class (unsure). Returns the given labels."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, len(LABELS), N)
    given = true.copy()
    for i in FLIPPED:
        given[i] = (true[i] + 1 + rng.integers(0, len(LABELS) - 1)) % len(LABELS)
    store.upsert_dataset(
        DatasetRecord("dair-ai/emotion", "Emotion", "text", "text-classification", LABELS)
    )
    for m in range(models):
        right = rng.random(N) < 0.95
        pred = np.where(right, true, rng.integers(0, len(LABELS), N))
        conf = np.where(right, 1 - rng.beta(1, 30, N), rng.uniform(0.2, 0.5, N))
        outcomes = pack(truth=given, predicted=pred, confidence=conf)
        store.save_result(make_record(model_id=f"demo/m{m}", num_examples=N, outcomes=outcomes))
        # an older code version of the same model counts once: its newest result
        store.save_result(
            make_record(
                model_id=f"demo/m{m}",
                code_version="0.0.9",
                num_examples=N,
                outcomes=pack(truth=given, predicted=given, confidence=np.ones(N)),
            )
        )
    return given


def test_label_errors_found_from_the_store_and_published(store: Store) -> None:
    given = _world(store, models=8)
    (found,) = label_errors(store)
    assert (found.dataset_id, found.split, found.dataset_revision) == (
        "dair-ai/emotion",
        "test",
        "b" * 40,
    )
    assert found.report.models == 8  # each model once, its newest code version
    listed = {i.example_id for i in found.report.issues}
    assert listed == set(FLIPPED)
    rows = export_tables(store)[t.LABEL_ISSUES.name].to_pylist()
    assert {r["example_id"] for r in rows} == set(FLIPPED)
    row = next(r for r in rows if r["example_id"] == 3)
    assert row["given"] == LABELS[given[3]] and row["suggested"] != row["given"]
    assert (
        row["evaluated_models"] == 8 and row["agree"] >= 5 and "at least 5 models" in row["method"]
    )


def test_too_few_models_list_nothing_and_say_why(store: Store) -> None:
    _world(store, models=3)
    (found,) = label_errors(store)
    assert found.report.issues == ()
    assert found.report.method.startswith("Needs at least 5 models; 3 were evaluated")
    assert export_tables(store)[t.LABEL_ISSUES.name].num_rows == 0


def test_the_command_prints_and_exports(
    mongo: EmbeddedMongo,
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _world(store, models=8)
    monkeypatch.setenv("MONGODB_URI", mongo.uri)
    monkeypatch.setenv("EVALBOT_DB", store.db.name)
    out_csv = tmp_path / "issues.csv"
    assert main(["label-errors", "dair-ai/emotion", "--show", "2", "--csv", str(out_csv)]) == 0
    out = capsys.readouterr().out
    assert f"6 likely label errors among {N} examples, from 8 models." in out
    assert out.count("  example ") == 2
    with out_csv.open(encoding="utf-8") as file:
        exported = list(csv.DictReader(file))
    assert {int(r["example_id"]) for r in exported} == set(FLIPPED)
    assert main(["label-errors", "nobody/nothing"]) == 1
    assert "evaluate models on it first" in capsys.readouterr().out
