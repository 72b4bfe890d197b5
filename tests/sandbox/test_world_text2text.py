"""The text-to-text part of the demo world: `demo/chat-summaries` (SAMSum's shape),
`demo/phrasebook-en-fr` (wmt16's shape) and the tiny BARTs `demo/tiny-summarizer` and
`demo/tiny-translator-en-fr`.

The generators and cards are checked without training; the slow tests take the models from the
demo world (built once per machine; this part adds about two minutes to that build) and load
them, and the datasets from the sandbox Hub, the way users do.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import datasets
import pytest
from huggingface_hub import DatasetCard, HfApi, ModelCard, ModelCardData
from rouge_score import rouge_scorer

from sandbox.world import World, build_world
from sandbox.world_text2text import (
    ADJECTIVES,
    BE,
    BE_EN,
    SIZES,
    STATES,
    SUBJECTS,
    SUMMARIZER,
    SUMMARIZER_ID,
    SUMMARY_ID,
    TEXT2TEXT_RECIPE,
    TRANSLATION_ID,
    TRANSLATOR,
    TRANSLATOR_ID,
    TURN_SEPARATOR,
    VERBS,
    _model_card,
    _write_datasets,
    bleu_scores,
    french,
    rouge_scores,
    summary_splits,
    text2text_scores,
    translation_splits,
)
from sandbox.world_text2text import NOUNS as NOUN_LIST

SUMMARY_EVAL_INDEX = [
    {
        "config": "default",
        "task": "summarization",
        "task_id": "summarization",
        "splits": {"train_split": "train", "eval_split": "test"},
        "col_mapping": {"dialogue": "text", "summary": "target"},
    }
]
TRANSLATION_EVAL_INDEX = [
    {
        "config": "en-fr",
        "task": "translation",
        "task_id": "translation",
        "splits": {"train_split": "train", "eval_split": "test"},
        "col_mapping": {"translation.en": "source", "translation.fr": "target"},
    }
]

# ------------------------------------------------------------------------------------------
# Generated data
# ------------------------------------------------------------------------------------------


def test_summary_splits_are_deterministic_and_samsum_shaped() -> None:
    splits = summary_splits()
    assert splits == summary_splits()
    assert {s: len(rows) for s, rows in splits.items()} == {
        "train": 2000,
        "validation": 200,
        "test": 200,
    }
    rows = [r for split in splits.values() for r in split]
    assert all(set(r) == {"id", "dialogue", "summary"} for r in rows)
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"\d{8}", i) for i in ids)
    assert len({r["dialogue"] for r in rows}) == len(rows)
    turns = [r["dialogue"].split(TURN_SEPARATOR) for r in rows]
    assert {len(t) for t in turns} == set(range(2, 9))  # every length from 2 to 8 turns
    for row, dialogue in zip(rows, turns, strict=True):
        speakers = {re.match(r"([A-Z][a-z]+): \S", turn).group(1) for turn in dialogue}  # type: ignore[union-attr]
        assert len(speakers) == 2
        assert speakers & set(re.findall(r"[A-Z][a-z]+", row["summary"]))  # who it is about
    # lengths vary, so that the bot's input-length buckets (0, 50, 100 ... words) get rows
    words = [len(r["dialogue"].split()) for r in rows]
    assert min(words) < 15 and max(words) > 100
    assert 0.2 < sum(n >= 50 for n in words) / len(words) < 0.5


def test_summaries_are_third_person_and_leave_small_talk_out() -> None:
    rows = summary_splits()["test"]
    for row in rows:
        summary = row["summary"]
        assert 1 <= len(re.findall(r"[.!?](?:\s|$)", summary)) <= 2
        assert not re.search(r"\b(I|I'm|I'll|my|you|your)\b", summary)
        assert not re.search(r"haha|lol|:\)|Hi\b|Hey|Bye|Thanks", summary)
    small_talk = [r for r in rows if re.search(r": (haha|lol|Hiii|Bye)\b", r["dialogue"])]
    assert len(small_talk) >= 10


def test_translation_splits_are_deterministic_and_wmt_shaped() -> None:
    splits = translation_splits()
    assert splits == translation_splits()
    assert {s: len(rows) for s, rows in splits.items()} == {
        "train": 3000,
        "validation": 300,
        "test": 300,
    }
    pairs = [r["translation"] for rows in splits.values() for r in rows]
    assert all(set(p) == {"en", "fr"} for p in pairs)
    assert len({p["en"] for p in pairs}) == len(pairs)
    lengths = [len(p["en"].split()) for p in pairs]
    assert min(lengths) == 3 and max(lengths) <= 25 and max(lengths) >= 20
    assert sum(" and " in p["en"] for p in pairs) > len(pairs) // 4
    for p in pairs:
        assert p["en"][0].isupper() and p["fr"][0].isupper()
        assert p["en"][-1] in ".?" and p["fr"][-1] in ".?"
        assert p["en"].count(" and ") == p["fr"].count(" et ")
    assert splits["test"][0]["translation"] == {
        "en": "They wash these broken bags and she eats our cakes at six o'clock.",
        "fr": "Ils lavent ces sacs cassés et elle mange nos gâteaux à six heures.",
    }


def test_french_elides_and_contracts() -> None:
    assert french(["je", "aime", "le", "orange"]) == "j'aime l'orange"
    assert french(["je", "ne", "achète", "pas", "la", "assiette"]) == "je n'achète pas l'assiette"
    assert french(["il", "va", "à", "le", "marché"]) == "il va au marché"
    assert french(["il", "va", "à", "le", "hôpital"]) == "il va à l'hôpital"  # not "au hôpital"
    assert french(["ce", "oiseau"]) == "cet oiseau"
    assert french(["ma", "assiette"]) == "mon assiette"
    assert french(["ma", "petite", "assiette"]) == "ma petite assiette"
    assert french(["le", "petit", "ordinateur"]) == "le petit ordinateur"
    assert french(["il", "est", "en_retard"]) == "il est en retard"


def test_french_agrees_throughout_the_dataset() -> None:
    """Spot checks over every pair: adjectives agree with and sit on the right side of their
    noun, verbs and state adjectives agree with their subject, nothing is left unelided."""
    noun_phrases: dict[str, str] = {}  # "red cars" -> "voitures rouges", "small cars" -> ...
    for noun in NOUN_LIST:
        for plural in (0, 1):
            g = int(noun.feminine) + 2 * plural
            for adjective in ADJECTIVES:
                noun_phrases[f"{adjective.en} {noun.en[plural]}"] = (
                    f"{noun.fr[plural]} {adjective.fr[g]}"
                )
            for size in SIZES:
                noun_phrases[f"{size.en} {noun.en[plural]}"] = f"{size.fr[g]} {noun.fr[plural]}"
    openings: dict[str, tuple[str, ...]] = {}  # "we eat " -> ("nous mangeons ",)
    for subject in SUBJECTS:
        p, en_subject = subject.person, subject.en.lower()
        for verb in VERBS:
            form = verb.fr[p]
            english = f"{en_subject} {verb.en[1] if p == 2 else verb.en[0]} "
            openings[english] = (f"{subject.fr.lower()} {form} ",)
            if subject.fr == "je":
                openings[english] += (f"j'{form} ",)  # j'aime, j'achète
        for state in STATES:  # "the girls are tired": les filles sont fatiguées
            g = int(subject.feminine) + 2 * int(p >= 3)
            french_state = f"{subject.fr} {BE[p]} {state.fr[g]}".replace("_", " ").lower()
            openings[f"{en_subject} {BE_EN[p]} {state.en}"] = (french_state,)
    checked = 0
    for rows in translation_splits().values():
        for row in rows:
            en, fr = row["translation"]["en"].lower(), row["translation"]["fr"].lower()
            assert not re.search(r"\b(le|la|je|ne) [aeiouyéèêàâîôœh]", fr), fr
            assert not re.search(r"\b(à le|à les|de le|ce [aeiouéœ])", fr), fr
            words = re.findall(r"[\w']+", en)
            for bigram in map(" ".join, itertools.pairwise(words)):
                if bigram in noun_phrases:
                    assert noun_phrases[bigram] in fr, (en, fr)
                    checked += 1
            for opening, expected in openings.items():
                if en.startswith(opening):
                    assert fr.startswith(expected), (en, fr)
                    checked += 1
    assert checked > 1000


def test_rouge_and_bleu_are_the_reference_implementations_scaled() -> None:
    predictions = ["Anna and Tom will meet at 6 pm. Tom is late.", "Lea bought bread."]
    references = ["Anna and Tom meet at the station at 6 pm.", "Lea will buy bread and eggs."]
    scores = rouge_scores(predictions, references)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeLsum"], use_stemmer=True)
    expected = [scorer.score(r, p) for p, r in zip(predictions, references, strict=True)]
    assert scores["rouge1"] == pytest.approx(
        100 * sum(e["rouge1"].fmeasure for e in expected) / 2, abs=1e-4
    )
    assert rouge_scores(references, references) == dict.fromkeys(scores, 100.0)
    assert bleu_scores(references, references) == {"bleu": 100.0, "chrf": 100.0}
    assert 0 < bleu_scores(predictions, references)["bleu"] < 100
    with pytest.raises(ValueError, match="one prediction per reference"):
        rouge_scores(predictions, references[:1])
    with pytest.raises(ValueError, match="one prediction per reference"):
        bleu_scores([], [])


# ------------------------------------------------------------------------------------------
# Cards
# ------------------------------------------------------------------------------------------


def test_dataset_cards_declare_train_eval_index_and_load_locally(tmp_path: Path) -> None:
    summaries, phrases = _write_datasets(tmp_path, TEXT2TEXT_RECIPE)
    card = DatasetCard.load(summaries.path / "README.md").data.to_dict()
    assert card["train-eval-index"] == SUMMARY_EVAL_INDEX
    assert card["task_categories"] == ["summarization"] and card["language"] == ["en"]
    assert [f["name"] for f in card["dataset_info"]["features"]] == ["id", "dialogue", "summary"]
    card = DatasetCard.load(phrases.path / "README.md").data.to_dict()
    assert card["train-eval-index"] == TRANSLATION_EVAL_INDEX
    assert card["task_categories"] == ["translation"] and card["language"] == ["en", "fr"]
    assert card["configs"][0]["config_name"] == "en-fr"
    ds = datasets.load_dataset(str(phrases.path), "en-fr", split="test")
    assert isinstance(ds, datasets.Dataset)
    assert isinstance(ds.features["translation"], datasets.Translation)
    assert ds[0]["translation"] == translation_splits()["test"][0]["translation"]
    ds = datasets.load_dataset(str(summaries.path), split="validation")
    assert isinstance(ds, datasets.Dataset) and ds.column_names == ["id", "dialogue", "summary"]
    assert ds[0] == summary_splits()["validation"][0]


def _data(card: ModelCard) -> ModelCardData:
    assert isinstance(card.data, ModelCardData)
    return card.data


def _results(card: ModelCard) -> dict[str, Any]:
    results = _data(card).eval_results
    assert results is not None
    return {r.metric_type: r for r in results}


def test_model_cards_carry_a_self_reported_model_index() -> None:
    rouge = {"rouge1": 71.25, "rouge2": 50.5, "rougeL": 69.0, "rougeLsum": 69.5}
    card = ModelCard(_model_card(SUMMARIZER, rouge, TEXT2TEXT_RECIPE.summarizer, 1100))
    data = _data(card)
    assert data.pipeline_tag == "summarization" and data.library_name == "transformers"
    assert data.datasets == [SUMMARY_ID] and data.language == ["en"]
    results = _results(card)
    assert {m: r.metric_value for m, r in results.items()} == rouge
    first = results["rouge1"]
    assert (first.task_type, first.dataset_type, first.dataset_config, first.dataset_split) == (
        "summarization",
        SUMMARY_ID,
        "default",
        "test",
    )
    assert not first.verified
    bleu = {"bleu": 86.9, "chrf": 93.2}
    card = ModelCard(_model_card(TRANSLATOR, bleu, TEXT2TEXT_RECIPE.translator, 1130))
    assert _data(card).pipeline_tag == "translation" and _data(card).language == ["en", "fr"]
    results = _results(card)
    assert results["bleu"].metric_name == "Bleu" and results["bleu"].metric_value == 86.9
    assert (results["chrf"].task_type, results["chrf"].dataset_config) == ("translation", "en-fr")


# ------------------------------------------------------------------------------------------
# The built world (slow: trains both models once per machine)
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world() -> World:
    return build_world()


@pytest.mark.slow
def test_the_models_load_and_generate(world: World) -> None:
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    torch.set_num_threads(1)
    scores = text2text_scores(world.root)
    assert scores[SUMMARIZER_ID].metrics["rouge1"] >= 40
    assert scores[TRANSLATOR_ID].metrics["bleu"] >= 20
    for repo_id, sources in (
        (SUMMARIZER_ID, [r["dialogue"] for r in summary_splits()["test"][:5]]),
        (TRANSLATOR_ID, [r["translation"]["en"] for r in translation_splits()["test"][:5]]),
    ):
        path = world.model(repo_id).path
        assert (path / "model.safetensors").exists() and (path / "generation_config.json").exists()
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSeq2SeqLM.from_pretrained(path)
        assert type(model).__name__ == "BartForConditionalGeneration"
        batch = tokenizer(sources, padding=True, return_tensors="pt")
        with torch.inference_mode():
            ids = model.generate(**batch)
        texts = tokenizer.batch_decode(ids, skip_special_tokens=True)
        assert len(texts) == 5 and all(t.strip() for t in texts)
        card = ModelCard.load(path / "README.md")
        claimed = {m: r.metric_value for m, r in _results(card).items()}
        assert claimed == scores[repo_id].metrics  # the card states what was measured
    # a translation of a test sentence is mostly right
    assert "sacs" in texts[0] and "gâteaux" in texts[0]


@pytest.mark.slow
def test_the_datasets_load_from_the_sandbox_hub(demo_world: World, bot_api: HfApi) -> None:
    ds = datasets.load_dataset(TRANSLATION_ID, "en-fr", split="test")
    assert isinstance(ds, datasets.Dataset) and len(ds) == 300
    assert ds.features["translation"].languages == ["en", "fr"]
    ds = datasets.load_dataset(SUMMARY_ID, split="test")
    assert isinstance(ds, datasets.Dataset) and ds.column_names == ["id", "dialogue", "summary"]
    card = bot_api.dataset_info(SUMMARY_ID).card_data
    assert card is not None and card.to_dict()["train-eval-index"] == SUMMARY_EVAL_INDEX
    info = bot_api.model_info(TRANSLATOR_ID)
    assert info.pipeline_tag == "translation"
