"""The first Space page: model list, one model's per-class table, served over HTTP."""

from __future__ import annotations

import urllib.request

from space.app import build_app
from space.queries import class_table, model_summary, models_table
from store.db import Store
from store.types import FailureReason, ModelRecord, ModelStatus
from tests.store.test_store import make_record


def _fill(store: Store) -> None:
    store.upsert_model(ModelRecord("demo/m", "a" * 40, pipeline_tag="text-classification"))
    store.set_model_status("demo/m", "a" * 40, ModelStatus.EVALUATED)
    store.save_result(make_record())
    store.upsert_model(ModelRecord("demo/es", "d" * 40, pipeline_tag="text-classification"))
    store.set_model_status(
        "demo/es",
        "d" * 40,
        ModelStatus.FAILED,
        reason=FailureReason.UNKNOWN_LABELS,
        detail="labels ['tristeza']",
    )


def test_models_table_and_search(store: Store) -> None:
    _fill(store)
    rows = models_table(store)
    assert [r[0] for r in rows] == ["demo/es", "demo/m"]
    assert rows[0][3].startswith("unknown labels")
    assert rows[1][5] == "0.667" and rows[1][4] == "dair-ai/emotion (test)"
    assert [r[0] for r in models_table(store, "ES")] == ["demo/es"]
    assert models_table(store, '{"$gt": ""}') == []  # page input is a plain substring


def test_class_table_shows_na(store: Store) -> None:
    _fill(store)
    rows = class_table(store.results_for("demo/m")[0])
    assert rows[2] == ["z", "n/a", "n/a", "n/a", "0", "0", "0", "0"]
    assert rows[1][1] == "n/a" and rows[1][2] == "0.000"
    text = model_summary(store, "demo/es", hub_url="https://hub")
    assert "unknown labels" in text and "tristeza" in text
    assert "No model named" in model_summary(store, "nobody/x", hub_url="https://hub")


def test_app_serves_the_page(store: Store) -> None:
    _fill(store)
    app = build_app(store)
    app.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None, quiet=True)
    try:
        with urllib.request.urlopen(app.local_url, timeout=30) as response:
            page = response.read().decode()
        assert response.status == 200
        assert "evalbot" in page
    finally:
        app.close()
