"""Selection hints on models and how a result's module was chosen, through MongoDB and back."""

from __future__ import annotations

from evaluators.inference import Hints
from store.db import Store
from store.types import DatasetMention, ModelRecord, Selection
from tests.store.test_store import make_record


def test_model_hints_round_trip(store: Store) -> None:
    mention = DatasetMention(type="glue", name="GLUE COLA", config="cola", args="cola")
    model = ModelRecord(
        "demo/bert-cola",
        "a" * 40,
        pipeline_tag="text-classification",
        model_index=(mention,),
        labels=("unacceptable", "acceptable"),
    )
    store.upsert_model(model)
    got = store.get_model("demo/bert-cola")
    assert got is not None
    assert got.model_index == (mention,) and got.labels == ("unacceptable", "acceptable")
    # re-planning reads the same hints from the stored document
    doc = next(d for d in store.planning_view() if d["_id"] == "demo/bert-cola")
    assert Hints.from_doc(doc) == Hints.of(got)


def test_a_document_stored_before_hints_still_loads(store: Store) -> None:
    store.models.insert_one({"_id": "demo/old", "sha": "b" * 40, "datasets": ["emotion"]})
    got = store.get_model("demo/old")
    assert got is not None and got.model_index == () and got.labels == ()


def test_a_results_selection_round_trips(store: Store) -> None:
    chosen = Selection(rule="name", evidence="its name says 'emotion'")
    store.save_result(make_record(selection=chosen))
    assert store.results_for("demo/m")[0].selection == chosen
    store.results.update_many({}, {"$unset": {"selection": ""}})  # stored before selections
    assert store.results_for("demo/m")[0].selection == Selection(rule="declared")
