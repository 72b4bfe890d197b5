"""The store exported as the public results dataset's tables (``store.export``, ``store.tables``)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pyarrow.parquet as pq

from store import tables as t
from store.db import Store
from store.export import change_token, export_tables, sparse_confusion
from store.types import (
    DatasetRecord,
    DatasetSplitRecord,
    DetectionError,
    ModelRecord,
    SigningIdentity,
)
from tests.store.test_store import make_record


def _filled(store: Store) -> None:
    store.upsert_model(ModelRecord("demo/m", "a" * 40, pipeline_tag="text-classification"))
    store.update_model_metadata(
        "demo/m",
        file_sizes={"model.safetensors": 4_000, "README.md": 10},
        hyperparameters={"hidden_size": 8},
        num_parameters=1_000,
        reference=None,
    )
    store.save_result(make_record())
    store.save_result(make_record(variant="lowercase", metrics={"accuracy": 0.5}))
    store.upsert_dataset(
        DatasetRecord("dair-ai/emotion", "Emotion", "text", "text-classification", ("x", "y", "z"))
    )
    store.upsert_split(DatasetSplitRecord("dair-ai/emotion", "b" * 40, "test", 3, (2, 1, 0)))
    store.set_identity(SigningIdentity("kid1", "-----BEGIN PUBLIC KEY-----\n..."))


def test_every_table_has_its_schema_and_rows_join_on_evaluation_id(store: Store) -> None:
    _filled(store)
    tables = export_tables(store)
    # every table but coverage, which the bot counts (bot.coverage) and adds when it publishes
    assert set(tables) == {table.name for table in t.TABLES} - {t.COVERAGE.name}
    for name, arrow in tables.items():
        assert arrow.schema.equals(t.BY_NAME[name].schema), name
    evaluations = tables["evaluations"].to_pylist()
    assert len(evaluations) == 2
    ids = {row["evaluation_id"] for row in evaluations}
    for name in ("scores", "class_results", "runtimes", "misclassifications"):
        assert {row["evaluation_id"] for row in tables[name].to_pylist()} <= ids, name
    scores = {(r["variant"], r["metric"]): r["value"] for r in tables["scores"].to_pylist()}
    assert scores[("original", "accuracy")] == 2 / 3 and scores[("lowercase", "accuracy")] == 0.5
    assert all(r["signature"] is None for r in tables["scores"].to_pylist())  # signed by the bot
    model = tables["models"].to_pylist()[0]
    assert model["weights_bytes"] == 4_000 and model["eval_sha"] == "a" * 40
    original = next(e for e in evaluations if e["variant"] == "original")
    assert original["confusion"] == [[0, 0, 2], [1, 0, 1]]  # the non-zero cells only
    classes = [
        r
        for r in tables["class_results"].to_pylist()
        if r["evaluation_id"] == original["evaluation_id"]
    ]
    assert [c["label"] for c in classes] == ["x", "y", "z"] and classes[2]["f1"] is None
    assert tables["keys"].to_pylist()[0]["key_id"] == "kid1"


def test_the_same_store_writes_the_same_bytes(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _filled(store)
    first = {n: t.parquet_bytes(a) for n, a in export_tables(store).items()}
    second = {n: t.parquet_bytes(a) for n, a in export_tables(store).items()}
    assert first == second
    written = t.write_tables(export_tables(store), tmp_path)
    assert sorted(written) == sorted(
        table.path for table in t.TABLES if not table.partition and table is not t.COVERAGE
    )
    read = pq.read_table(tmp_path / t.SCORES.path)
    assert read.schema.equals(t.SCORES.schema)


def test_the_change_token_moves_with_what_is_published(store: Store) -> None:
    _filled(store)
    before = change_token(store)
    assert change_token(store) == before
    store.save_result(replace(make_record(), variant="typos", metrics={"accuracy": 0.1}))
    after = change_token(store)
    assert after != before
    store.set_declined("demo/m", 3, by="author")
    assert change_token(store) != after


def test_detection_errors_keep_their_boxes(store: Store) -> None:
    record = make_record(
        task="object-detection",
        detection_errors=(DetectionError(4, "missed", "cat", None, (1.0, 2.0, 3.0, 4.0)),),
    )
    store.save_result(record)
    (row,) = export_tables(store)["detection_errors"].to_pylist()
    assert (row["x1"], row["y1"], row["x2"], row["y2"]) == (1.0, 2.0, 3.0, 4.0)
    assert row["kind"] == "missed" and row["confidence"] is None


def test_sparse_confusion_and_canonical_rows() -> None:
    assert sparse_confusion([[1, 0], [0, 3]]) == [[0, 0, 1], [1, 1, 3]]
    row = {k: None for k in t.SIGNED_COLUMNS} | {"value": 0.1 + 0.2, "metric": "accuracy"}
    canonical = t.canonical_row(row)
    assert b'"value":0.30000000000000004' in canonical
    assert t.canonical_row(dict(reversed(list(row.items())))) == canonical


def test_the_schemas_import_no_database_driver() -> None:
    code = "import sys, store.tables; assert 'pymongo' not in sys.modules, 'pymongo imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
