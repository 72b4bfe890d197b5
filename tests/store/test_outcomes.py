"""Per-example outcomes: packed and unpacked exactly, stored beside their result on a real mongod,
exported one Parquet file per dataset, and read back by the Space's snapshot."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow.parquet as pq
import pytest

from space.data import Snapshot
from store import outcomes as o
from store import tables as t
from store.db import Store
from store.export import export_tables
from tests.store.test_store import make_record


def test_pack_round_trip_and_sizes() -> None:
    rng = np.random.default_rng(3)
    n = 1_001  # not a multiple of 8: the last byte of bits is partial
    truth = rng.integers(0, 7, n)
    pred = np.where(rng.random(n) < 0.8, truth, rng.integers(-1, 7, n))
    conf = rng.random(n)
    packed = o.pack(truth=truth, predicted=pred, confidence=conf)
    assert packed.count == n
    assert len(packed.correct) == 126 and len(packed.truth) == 2 * n
    assert (o.correct(packed) == (truth == pred)).all()
    assert (o.truth(packed) == truth).all()  # type: ignore[operator]
    assert (o.predicted(packed) == pred).all()  # type: ignore[operator]
    assert np.abs(o.confidence(packed) - conf).max() <= 0.5 / o.CONFIDENCE_SCALE + 1e-12  # type: ignore[operator]


def test_many_classes_take_four_bytes_and_bits_alone_are_enough() -> None:
    big = o.pack(truth=[40_000, 1], predicted=[40_000, 2])
    assert len(big.truth) == 8
    assert o.truth(big).tolist() == [40_000, 1]  # type: ignore[union-attr]
    assert o.correct(big).tolist() == [True, False]
    bits = o.pack(right=[True, False, True])
    assert o.truth(bits) is None and o.predicted(bits) is None and o.confidence(bits) is None
    assert o.correct(bits).tolist() == [True, False, True]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"truth": [0, 1], "predicted": [0]}, "1 values for 2 examples"),
        ({"truth": [0], "predicted": [-2]}, r"\[-1, 2\*\*31\)"),
        ({"truth": [0], "predicted": [0], "confidence": [1.5]}, r"\[0, 1\]"),
        ({"truth": [0], "predicted": [0], "confidence": [float("nan")]}, r"\[0, 1\]"),
        ({"truth": [0]}, "give right"),
    ],
)
def test_bad_outcomes_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(o.OutcomesError, match=message):
        o.pack(**kwargs)  # type: ignore[arg-type]


def test_a_truncated_blob_is_refused() -> None:
    packed = o.pack(truth=[0, 1, 2], predicted=[0, 1, 1], confidence=[0.5, 0.5, 0.5])
    with pytest.raises(o.OutcomesError, match="5 bytes"):
        o.truth(replace(packed, truth=packed.truth[:5]))
    with pytest.raises(o.OutcomesError, match="confidences"):
        o.confidence(replace(packed, confidence=b"\x00"))


def _outcomes(seed: int, n: int = 3) -> o.Outcomes:
    rng = np.random.default_rng(seed)
    truth = np.array([0, 0, 1][:n])
    return o.pack(truth=truth, predicted=rng.integers(0, 3, n), confidence=rng.random(n))


def test_stored_beside_the_result_and_replaced_on_a_rerun(store: Store) -> None:
    first = _outcomes(1)
    store.save_result(make_record(outcomes=first))
    store.save_result(make_record(model_id="demo/other", outcomes=_outcomes(2)))
    store.save_result(make_record(variant="lowercase", outcomes=_outcomes(3)))
    store.save_result(make_record(model_id="demo/none"))  # a result without outcomes
    again = _outcomes(4)
    store.save_result(make_record(outcomes=again))  # the same evaluation again: replaced
    found = store.outcomes_for("dair-ai/emotion", "test")
    assert [(identity["model_id"], packed) for identity, packed in found] == [
        ("demo/m", again),
        ("demo/other", _outcomes(2)),
    ]
    identity = found[0][0]
    assert identity["dataset_revision"] == "b" * 40 and identity["task"] == "text-classification"
    assert store.outcomes.count_documents({}) == 3
    assert [
        i["model_id"] for i, _ in store.outcomes_for("dair-ai/emotion", "test", variant="x")
    ] == []
    # a result's own document does not carry them (results_for reads no blobs)
    assert all(r.outcomes is None for r in store.results_for("demo/m"))


def test_exported_one_file_per_dataset_and_read_by_the_space(store: Store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store.save_result(make_record(outcomes=_outcomes(1)))
    store.save_result(make_record(model_id="demo/other", outcomes=_outcomes(2)))
    store.save_result(
        make_record(
            dataset_id="fixie-ai/common_voice_17_0", dataset_config="en", outcomes=_outcomes(5)
        )
    )
    tables = export_tables(store)
    arrow = tables[t.OUTCOMES.name]
    assert arrow.num_rows == 3
    evaluation_ids = set(tables[t.EVALUATIONS.name].column("evaluation_id").to_pylist())
    assert set(arrow.column("evaluation_id").to_pylist()) <= evaluation_ids
    written = t.write_tables(tables, tmp_path)
    assert "data/outcomes/dair-ai--emotion.parquet" in written
    assert "data/outcomes/fixie-ai--common_voice_17_0--en.parquet" in written
    assert t.OUTCOMES.path not in written  # the glob names no file of its own
    part = pq.read_table(tmp_path / "data/outcomes/dair-ai--emotion.parquet").to_pylist()
    assert [row["model_id"] for row in part] == ["demo/m", "demo/other"]
    row = part[0]
    packed = o.Outcomes(
        count=row["count"],
        correct=row["correct"],
        truth=row["truth"],
        predicted=row["predicted"],
        confidence=row["confidence"],
    )
    assert packed == _outcomes(1)

    snapshot = Snapshot.open(tmp_path, revision="r1")
    assert t.OUTCOMES.name in snapshot.present
    rows = snapshot._con.execute(
        "SELECT model_id, dataset_id FROM outcomes ORDER BY dataset_id, model_id"
    ).fetchall()
    assert rows == [
        ("demo/m", "dair-ai/emotion"),
        ("demo/other", "dair-ai/emotion"),
        ("demo/m", "fixie-ai/common_voice_17_0"),
    ]
