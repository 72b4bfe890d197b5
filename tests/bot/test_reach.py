"""``evalbot reach``: selection over a corpus of model cards, per task, with the reasons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from huggingface_hub.hf_api import ModelInfo

from bot.cli import main
from bot.discovery import model_index_datasets, to_record
from bot.reach import ReachError, corpus_record, measure
from evaluators.config import EvaluationModule, load_modules
from store.types import DatasetMention
from tests.evaluators.test_identity import text_module

TEXT = "text-classification"


def glue(config: str, hints: list[str]) -> dict[str, Any]:
    return text_module(
        f"glue-{config}",
        ["glue"],
        config_hints=hints,
        dataset={"repo": "nyu-mll/glue", "config": config},
    )


MODULES = [
    text_module("emotion", ["dair-ai/emotion", "emotion"]),
    text_module("imdb", ["stanfordnlp/imdb", "imdb"]),
    glue("sst2", ["sst2", "sst-2"]),
    glue("cola", ["cola"]),
]


def card(model_id: str, front_matter: object, tag: str = TEXT) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "pipeline_tag": tag,
        "library": "bert",
        "front_matter": front_matter,
    }


def index(dataset: object) -> list[dict[str, Any]]:
    """A model-index reporting one result (as the Hub's card parser wants it: with metrics)."""
    metrics = [{"type": "accuracy", "value": 0.9}]
    return [
        {"name": "m", "results": [{"task": {"type": TEXT}, "dataset": dataset, "metrics": metrics}]}
    ]


CARDS = [
    card("a/bert-emotion-declared", {"datasets": ["emotion"]}),  # declared
    card("a/m1", {"datasets": "stanfordnlp/imdb"}),  # declared, as a string
    card(
        "a/glue-cola",
        {"datasets": ["glue"], "model-index": index({"type": "glue", "args": "cola"})},
    ),
    card("a/glue-what", {"datasets": ["glue"]}),  # a family without its config
    card("a/roberta-finetuned-sst2", {"tags": ["generated_from_trainer"]}),  # name
    card("a/m2", {"model-index": index({"type": "imdb", "name": "IMDB"})}),  # model-index
    card("a/m3", {"datasets": ["org/reviews"]}),  # not configured
    card("a/m4", {"datasets": ["org/reviews", "yelp"]}),  # not configured
    card("a/m5", {"license": "mit"}),  # no hint
    card("a/m6", {"_unparseable_front_matter": "x: [", "datasets": None}),
    card("a/m7", ["not", "a", "mapping"]),
    card("a/imdb-cola-x", {}),  # two names of one length: ambiguous
    card("a/sd-pokemon", {"datasets": ["lambdalabs/pokemon"]}, tag="text-to-image"),
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "cards.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CARDS) + "\n")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = tmp_path / "config" / "tasks" / TEXT
    folder.mkdir(parents=True)
    for module in MODULES:
        (folder / f"{module['id']}.yaml").write_text(yaml.safe_dump(module))
    return tmp_path / "config"


def modules(config: Path) -> list[EvaluationModule]:
    return [f.module for f in load_modules(config / "tasks")]


def test_shares_rules_and_reasons(corpus: Path, config: Path) -> None:
    report = measure(corpus, modules(config))
    text = report.tasks[TEXT]
    assert (text.models, text.planned) == (12, 5)
    assert text.share == 41.7
    assert text.rules == {"declared": 3, "name": 1, "model-index": 1}
    assert text.reasons == {
        "datasets not configured": 2,
        "family without its config": 1,
        "no dataset hint": 3,
        "ambiguous": 1,
    }
    assert text.not_configured.most_common() == [("org/reviews", 2), ("yelp", 1)]
    assert report.tasks["token-classification"].models == 0
    assert report.other == {"text-to-image": 1}


def test_the_command_prints_and_writes_json(
    corpus: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "reach", str(corpus)]) == 0
    out = capsys.readouterr().out
    assert "text-classification: 5/12 models planned (41.7 %)" in out
    assert "top datasets not configured: org/reviews (2), yelp (1)" in out
    assert main(["--config", str(config), "reach", str(corpus), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tasks"][TEXT]["share"] == 41.7
    assert data["tasks"][TEXT]["reasons"]["no dataset hint"] == 3
    assert data["other_tasks"] == {"text-to-image": 1}


def test_a_broken_corpus_names_the_line(tmp_path: Path, config: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(CARDS[0]) + "\n{not json\n")
    with pytest.raises(ReachError, match=r"bad\.jsonl:2: not JSON"):
        measure(bad, modules(config))
    bad.write_text("[1, 2]\n")
    with pytest.raises(ReachError, match=r":1: expected an object with model_id"):
        measure(bad, modules(config))
    assert main(["--config", str(config), "reach", str(tmp_path / "missing.jsonl")]) == 2


def test_corpus_records_match_discovery() -> None:
    imdb = index({"type": "imdb", "name": "IMDB", "args": ["plain_text"]})
    front = {
        "datasets": "imdb",
        "tags": ["en", "dataset:emotion"],
        "model-index": [*imdb, *index({"type": "emotion", "name": "Emotion"})],
    }
    from_corpus = corpus_record(card("a/m", front))
    info = ModelInfo(
        id="a/m",
        sha="b" * 40,
        pipeline_tag=TEXT,
        tags=["en", "dataset:emotion", "dataset:imdb"],
        cardData=front,
        config={"id2label": {"1": "pos", "0": "neg"}},
    )
    from_hub = to_record(info)
    assert (
        from_corpus.model_index
        == from_hub.model_index
        == (
            DatasetMention(type="imdb", name="IMDB", args="plain_text"),
            DatasetMention(type="emotion", name="Emotion"),
        )
    )
    assert set(from_corpus.datasets) == set(from_hub.datasets) == {"imdb", "emotion"}
    assert from_hub.labels == ("neg", "pos")


@pytest.mark.parametrize(
    "broken",
    [
        None,
        "text",
        [1, "x"],
        [{"results": "x"}],
        [{"results": [None, {"dataset": "imdb"}]}],
        {"a": 1},
    ],
)
def test_a_broken_model_index_gives_no_hints(broken: object) -> None:
    assert model_index_datasets(broken) == ()


def test_a_cards_languages_are_among_its_tags_as_on_the_hub() -> None:
    """The Hub lists a card's `language:` codes among a model's tags; so does the corpus record
    (a family member's default_for_language reads them)."""
    many = corpus_record(card("a/m", {"language": ["de", "fr"], "tags": ["pos", "de"]}))
    assert many.tags == ("pos", "de", "fr")
    assert corpus_record(card("a/m", {"language": "ru"})).tags == ("ru",)
    assert corpus_record(card("a/m", {"language": [None, 3]})).tags == ()
