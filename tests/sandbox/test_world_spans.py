"""The span part of the demo world: `demo/ner-news`, `demo/qa-facts`, `demo/qa-facts-v2`, the
token classifier `demo/tiny-ner` and the QA model `demo/tiny-qa`, pushed with the real client and
loaded back the way users load them.

The world is built once per machine (cached); the span part adds about a minute to that build.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import datasets
import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from transformers import (
    AutoModelForQuestionAnswering,
    AutoModelForTokenClassification,
    AutoTokenizer,
    pipeline,
)

from sandbox.seed import seed_world
from sandbox.server import RunningSandbox
from sandbox.world import RECIPE, World, build_world
from sandbox.world_spans import (
    NER_ID,
    NER_MODEL_ID,
    NER_TAGS,
    QA_ID,
    QA_MODEL_ID,
    QA_V2_ID,
    SPAN_RECIPE,
    entities,
    entity_f1,
    exact_match,
    ner_pipeline_f1,
    ner_splits,
    normalize_answer,
    qa_answers,
    qa_splits,
    qa_v2_splits,
    span_scores,
    tags_from_groups,
)

DATASETS = {NER_ID: "default", QA_ID: "plain_text", QA_V2_ID: "squad_v2"}
MODELS = {
    NER_MODEL_ID: ("token-classification", NER_ID),
    QA_MODEL_ID: ("question-answering", QA_ID),
}
QA_EVAL_INDEX = {
    "task": "question-answering",
    "task_id": "extractive_question_answering",
    "splits": {"train_split": "train", "eval_split": "validation"},
    "col_mapping": {
        "question": "question",
        "context": "context",
        "answers": {"text": "text", "answer_start": "answer_start"},
    },
}


@pytest.fixture(scope="session")
def world() -> World:
    return build_world()


@pytest.fixture(scope="module")
def seeded(world: World, sandbox: RunningSandbox, demo_token: str) -> list[str]:
    return seed_world(world, endpoint=sandbox.url, token=demo_token)


@pytest.fixture(scope="module")
def ner_test(seeded: list[str]) -> list[dict[str, Any]]:
    """The NER test split as `datasets` loads it from the sandbox (HF_ENDPOINT set by conftest)."""
    return list(datasets.load_dataset(NER_ID, split="test"))


@pytest.fixture(scope="module")
def qa_validation(seeded: list[str]) -> list[dict[str, Any]]:
    return list(datasets.load_dataset(QA_ID, split="validation"))


def _card(repo_id: str) -> dict[str, Any]:
    card = HfApi().dataset_info(repo_id).card_data
    assert card is not None
    return card.to_dict()


# ------------------------------------------------------------------------------------------
# Generated data
# ------------------------------------------------------------------------------------------


def test_ner_splits_are_deterministic_sized_iob2_and_disjoint() -> None:
    splits = ner_splits()
    assert splits == ner_splits()
    assert {s: len(rows) for s, rows in splits.items()} == {
        "train": 3000,
        "validation": 300,
        "test": 300,
    }
    sentences = [tuple(r["tokens"]) for rows in splits.values() for r in rows]
    assert len(set(sentences)) == len(sentences)
    for rows in splits.values():
        assert [r["id"] for r in rows] == [str(i) for i in range(len(rows))]
        for row in rows:
            tags = [NER_TAGS[t] for t in row["ner_tags"]]
            assert len(tags) == len(row["tokens"])
            for before, tag in zip(["O", *tags], tags, strict=False):
                assert not tag.startswith("I-") or before[2:] == tag[2:]  # well-formed IOB2
    used = {NER_TAGS[t] for rows in splits.values() for r in rows for t in r["ner_tags"]}
    assert used == set(NER_TAGS)


def test_ner_test_split_has_names_train_never_saw() -> None:
    splits = ner_splits()

    def names(rows: list[dict[str, Any]]) -> set[str]:
        return {w for r in rows for w, t in zip(r["tokens"], r["ner_tags"], strict=True) if t}

    unseen = names(splits["test"]) - names(splits["train"])
    assert len(unseen) >= 10
    assert "Calder" in names(splits["train"])  # a surname and a town: tagged by context


def test_qa_splits_answers_are_spans_of_their_context() -> None:
    splits = qa_splits()
    assert splits == qa_splits()
    assert {s: len(rows) for s, rows in splits.items()} == {"train": 4500, "validation": 500}
    ids = [r["id"] for rows in splits.values() for r in rows]
    assert len(set(ids)) == len(ids) and all(len(i) == 24 for i in ids)
    for split, rows in splits.items():
        for row in rows:
            answers = row["answers"]
            assert answers["text"] and len(answers["text"]) == len(answers["answer_start"])
            for text, start in zip(answers["text"], answers["answer_start"], strict=True):
                assert row["context"][start : start + len(text)] == text
            assert split == "validation" or len(answers["text"]) == 1
    assert sum(len(r["answers"]["text"]) > 1 for r in splits["validation"]) > 50
    words = {r["question"].split()[0] for r in splits["validation"]}
    assert {"Who", "What", "When", "Where", "How"} <= words


def test_qa_v2_makes_a_fifth_of_the_questions_unanswerable() -> None:
    v1, v2 = qa_splits(), qa_v2_splits()
    for split in ("train", "validation"):
        empty = [r for r in v2[split] if not r["answers"]["text"]]
        assert len(empty) == round(len(v1[split]) * SPAN_RECIPE.unanswerable_share)
        assert all(r["answers"] == {"text": [], "answer_start": []} for r in empty)
        kept = [(a, b) for a, b in zip(v1[split], v2[split], strict=True) if b["answers"]["text"]]
        assert all(a["question"] == b["question"] and a["answers"] == b["answers"] for a, b in kept)
        assert {r["id"] for r in v1[split]}.isdisjoint(r["id"] for r in v2[split])
        asked = [(r["context"], r["question"]) for r in v2[split]]
        assert len(set(asked)) == len(asked)


def test_the_span_recipe_is_part_of_the_world_digest() -> None:
    changed = replace(RECIPE, spans=replace(SPAN_RECIPE, version="other"))
    assert changed.digest() != RECIPE.digest()


# ------------------------------------------------------------------------------------------
# Scoring, the way the world measured
# ------------------------------------------------------------------------------------------


def test_entities_and_f1_read_iob2_as_seqeval_does() -> None:
    assert entities(["B-PER", "I-PER", "O", "I-LOC", "B-ORG", "B-ORG"]) == {
        ("PER", 0, 2),
        ("LOC", 3, 4),
        ("ORG", 4, 5),
        ("ORG", 5, 6),
    }
    assert entities(["B-PER", "I-ORG"]) == {("PER", 0, 1), ("ORG", 1, 2)}
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O"]]
    assert entity_f1(gold, gold) == 1.0
    # one of two gold entities found, one wrong guess: precision 1/2, recall 1/2
    assert entity_f1(gold, [["B-PER", "O", "O", "B-LOC"], ["O"]]) == 0.5
    assert entity_f1([["O"]], [["O"]]) == 0.0


def test_tags_from_groups_maps_character_spans_to_words() -> None:
    tokens = ["Ada", "Holm", "visited", "Port", "Amble", "."]
    groups = [
        {"entity_group": "PER", "start": 0, "end": 8},
        {"entity_group": "LOC", "start": 17, "end": 27},
    ]
    assert tags_from_groups(tokens, groups) == ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]


def test_normalize_answer_is_squads() -> None:
    assert normalize_answer("The  Kestrel Motors.") == "kestrel motors"
    assert normalize_answer("an answer, a test") == "answer test"


def test_exact_match_needs_an_answerable_question() -> None:
    unanswerable = {**qa_v2_splits()["validation"][0], "answers": {"text": [], "answer_start": []}}
    with pytest.raises(ValueError, match="at least one question with an answer"):
        exact_match(None, None, [unanswerable])


# ------------------------------------------------------------------------------------------
# Built repos and their scores
# ------------------------------------------------------------------------------------------


def test_span_repos_in_the_world(world: World) -> None:
    names = [d.repo_id for d in world.datasets]
    assert names[names.index(NER_ID) :][:3] == list(DATASETS)
    for repo_id, config in DATASETS.items():
        path = world.dataset(repo_id).path
        folder = "data" if config == "default" else config
        splits = ("test", "train", "validation") if repo_id == NER_ID else ("train", "validation")
        parquet = sorted(p.relative_to(path).as_posix() for p in path.rglob("*.parquet"))
        assert parquet == [f"{folder}/{s}-00000-of-00001.parquet" for s in splits]
    models = [m.repo_id for m in world.models]
    assert models[models.index(NER_MODEL_ID) :][:2] == list(MODELS)
    for repo_id in MODELS:
        files = {p.name for p in world.model(repo_id).path.iterdir()}
        assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= files
        assert not any(name.endswith(".bin") for name in files)
    scores = span_scores(world.root)
    ner, qa = scores[NER_MODEL_ID], scores[QA_MODEL_ID]
    assert (ner.metric, ner.split) == ("entity_f1", "test") and 0.6 <= ner.value < 1.0
    assert (qa.metric, qa.split) == ("exact_match", "validation") and 0.4 <= qa.value < 1.0
    assert ner.train_seconds > 0 and qa.train_seconds > 0


def test_ner_dataset_loads_from_the_hub(ner_test: list[dict[str, Any]]) -> None:
    loaded = datasets.load_dataset(NER_ID, split="test")
    assert loaded.features["ner_tags"].feature.names == list(NER_TAGS)
    assert ner_test == ner_splits()["test"]
    card = _card(NER_ID)
    assert card["task_categories"] == ["token-classification"]
    assert card["train-eval-index"] == [
        {
            "config": "default",
            "task": "token-classification",
            "task_id": "entity_extraction",
            "splits": {"train_split": "train", "eval_split": "test"},
            "col_mapping": {"tokens": "tokens", "ner_tags": "tags"},
            "metrics": [{"type": "seqeval", "name": "seqeval"}],
        }
    ]
    declared = datasets.Features._from_yaml_list(card["dataset_info"]["features"])
    assert declared == loaded.features
    sizes = [(s["name"], s["num_examples"]) for s in card["dataset_info"]["splits"]]
    assert sizes == [("train", 3000), ("validation", 300), ("test", 300)]


@pytest.mark.parametrize(
    ("repo_id", "metric"),
    [
        (QA_ID, {"type": "squad", "name": "SQuAD"}),
        (QA_V2_ID, {"type": "squad_v2", "name": "SQuAD v2"}),
    ],
)
def test_qa_datasets_load_from_the_hub(
    repo_id: str, metric: dict[str, str], seeded: list[str]
) -> None:
    assert repo_id in seeded
    expected = (qa_splits if repo_id == QA_ID else qa_v2_splits)()["validation"]
    loaded = datasets.load_dataset(repo_id, split="validation")
    assert list(loaded) == expected
    card = _card(repo_id)
    assert card["train-eval-index"] == [
        {"config": DATASETS[repo_id], **QA_EVAL_INDEX, "metrics": [metric]}
    ]
    assert datasets.Features._from_yaml_list(card["dataset_info"]["features"]) == loaded.features
    assert [c["config_name"] for c in card["configs"]] == [DATASETS[repo_id]]


@pytest.mark.parametrize("repo_id", MODELS)
def test_model_repo_on_the_hub(repo_id: str, seeded: list[str], bot_api: HfApi) -> None:
    assert repo_id in seeded
    info = bot_api.model_info(repo_id)
    task, dataset = MODELS[repo_id]
    assert (info.pipeline_tag, info.library_name) == (task, "transformers")
    assert f"dataset:{dataset}" in (info.tags or [])
    files = [s.rfilename for s in info.siblings or []]
    assert "model.safetensors" in files and not any(f.endswith(".bin") for f in files)


def test_ner_model_reaches_its_f1_through_the_pipeline(
    world: World, ner_test: list[dict[str, Any]], hf_endpoint: str
) -> None:
    path = Path(snapshot_download(NER_MODEL_ID, endpoint=hf_endpoint))
    model = AutoModelForTokenClassification.from_pretrained(path)
    assert [model.config.id2label[i] for i in range(len(NER_TAGS))] == list(NER_TAGS)
    tagger = pipeline(
        "token-classification",
        model=model,
        tokenizer=AutoTokenizer.from_pretrained(path),
        aggregation_strategy="first",
    )
    f1 = ner_pipeline_f1(tagger, ner_test)
    assert 0.6 <= f1 < 1.0
    assert f1 == pytest.approx(span_scores(world.root)[NER_MODEL_ID].value, abs=0.01)


def test_qa_model_reaches_its_exact_match(
    world: World, qa_validation: list[dict[str, Any]], hf_endpoint: str
) -> None:
    path = Path(snapshot_download(QA_MODEL_ID, endpoint=hf_endpoint))
    model = AutoModelForQuestionAnswering.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    em = exact_match(model, tokenizer, qa_validation)
    assert 0.4 <= em < 1.0
    assert em == pytest.approx(span_scores(world.root)[QA_MODEL_ID].value, abs=0.01)
    # a context longer than one window is read in overlapping windows, all of it
    context = " ".join(["The weather was mild that year."] * 80) + " " + qa_validation[0]["context"]
    assert len(tokenizer(context)["input_ids"]) > 384
    (answer,) = qa_answers(model, tokenizer, [qa_validation[0]["question"]], [context])
    assert answer and answer in context


def test_the_cards_read_back(seeded: list[str]) -> None:
    readme = Path(hf_hub_download(QA_V2_ID, "README.md", repo_type="dataset")).read_text()
    assert "20% of the questions" in readme and "answers" in readme
    readme = Path(hf_hub_download(NER_ID, "README.md", repo_type="dataset")).read_text()
    assert "Results on this dataset are not results on CoNLL-2003" in " ".join(readme.split())
