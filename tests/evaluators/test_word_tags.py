"""Token classification scored word by word (``tagging: words``, part-of-speech tagging): the
metrics equal scikit-learn's classification_report over the flattened word tags, model tags map
by name, modules are checked, and a tiny POS tagger is evaluated end to end on a UD-shaped
parquet dataset on the sandbox Hub, in process."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from huggingface_hub import HfApi
from sklearn.metrics import classification_report
from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

from bot.discovery import to_record
from cardgen.section import render_section
from evaluators.config import EvaluationModule, load_module
from evaluators.errors import ConfigError, InsufficientMetadataError, LabelMappingError
from evaluators.executor import ExecutionReport, Executor
from evaluators.token_classification import TaggedSplit
from evaluators.word_tags import (
    NO_PREDICTION,
    dataset_tags,
    map_word_tags,
    marked_words,
    score_words,
    tag_counts,
    word_tag_error_examples,
    word_tag_examples,
    wrong_words,
)
from sandbox.world import minilm_path
from store import catalogue
from store.types import ModelRecord

ROOT = Path(__file__).resolve().parents[2]
UD = ROOT / "config" / "tasks" / "token-classification" / "ud-en_ewt.yaml"
UPOS = load_module(UD).dataset.labels


def _random_tags(seed: int, n: int, sentences: int) -> tuple[list[list[int]], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    true, pred = [], []
    for _ in range(sentences):
        length = int(rng.integers(1, 12))
        t = rng.integers(0, n, length)
        p = np.where(rng.random(length) < 0.6, t, rng.integers(0, n, length))
        true.append(t.tolist())
        pred.append(p.astype(np.int64))
    return true, pred


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_word_metrics_equal_scikit_learn_classification_report(seed: int) -> None:
    true, pred = _random_tags(seed, len(UPOS), 60)
    metrics, classes, confusion = score_words(true, pred, UPOS)
    y_true = [UPOS[t] for s in true for t in s]
    y_pred = [UPOS[p] for s in pred for p in s.tolist()]
    report = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    assert metrics["accuracy"] == pytest.approx(report["accuracy"], abs=1e-12)
    for avg in ("macro", "weighted"):
        for m in ("precision", "recall", "f1"):
            expected = report[f"{avg} avg"]["f1-score" if m == "f1" else m]
            assert metrics[f"{avg}_{m}"] == pytest.approx(expected, abs=1e-12)
    assert [c.label for c in classes] == UPOS and [c.class_id for c in classes] == list(range(18))
    for c in classes:
        row = report.get(c.label)
        if row is None:  # a tag in neither: no support, never predicted
            assert c.support == 0 and c.tp + c.fp == 0
            continue
        assert c.support == row["support"]
        assert (c.precision or 0.0) == pytest.approx(row["precision"], abs=1e-12)
        assert (c.recall or 0.0) == pytest.approx(row["recall"], abs=1e-12)
        assert (c.f1 or 0.0) == pytest.approx(row["f1-score"], abs=1e-12)
    matrix = np.array(confusion)
    assert matrix.shape == (19, 19) and matrix.sum() == len(y_true)
    assert matrix[-1].sum() == 0 and matrix[:, -1].sum() == 0  # no word cut here


def test_a_word_cut_by_truncation_is_wrong() -> None:
    tags = ["NOUN", "VERB"]
    metrics, classes, confusion = score_words(
        [[0, 1, 0]], [np.array([0, 1, -1], dtype=np.int64)], tags
    )
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert (classes[0].tp, classes[0].fn, classes[0].support) == (1, 1, 2)
    assert classes[0].precision == 1.0 and classes[0].recall == 0.5
    assert confusion == ((1, 0, 1), (0, 1, 0), (0, 0, 0))  # last column: NO_PREDICTION
    assert NO_PREDICTION not in [c.label for c in classes]
    empty, none, _ = score_words([], [], tags)
    assert empty["accuracy"] is None and [c.support for c in none] == [0, 0]


def test_model_tags_map_by_name_ignoring_case() -> None:
    id2label = {i: t.lower() for i, t in enumerate(reversed(UPOS))}
    mapping = map_word_tags("org/pos", id2label, UPOS)
    assert mapping.ids == {i: len(UPOS) - 1 - i for i in range(len(UPOS))}
    assert mapping.description["propn"] == "PROPN"
    # 17 tags without `_` map too: a model need not predict every dataset tag
    seventeen = {i: t for i, t in enumerate(t for t in UPOS if t != "_")}
    assert len(map_word_tags("org/pos", seventeen, UPOS).ids) == 17


def test_generic_labels_map_by_position_unless_the_module_refuses() -> None:
    generic = {i: f"LABEL_{i}" for i in range(len(UPOS))}
    assert map_word_tags("org/pos", generic, UPOS).ids == {i: i for i in range(len(UPOS))}
    with pytest.raises(InsufficientMetadataError, match="generic"):
        map_word_tags("org/pos", generic, UPOS, positional=False)
    with pytest.raises(InsufficientMetadataError, match="18 classes"):
        map_word_tags("org/pos", {i: f"LABEL_{i}" for i in range(17)}, UPOS)


def test_unknown_model_tags_are_refused() -> None:
    with pytest.raises(LabelMappingError):
        map_word_tags("org/pos", {0: "NOUN", 1: "B-PER"}, UPOS)
    with pytest.raises(InsufficientMetadataError, match="does not name"):
        dataset_tags("org/pos", [np.array([0, 5])], {0: 0, 1: 1})


def test_wrong_words_are_the_most_confident_per_tag_pair() -> None:
    true = [[0, 0, 1], [0, 0, 0, 0]]
    pred = [np.array([1, 0, 0]), np.array([1, 1, 1, 1])]
    conf = [np.array([0.9, 0.8, 0.7], np.float32), np.array([0.1, 0.5, 0.6, 0.95], np.float32)]
    wrong = wrong_words(true, pred, conf, ["NOUN", "VERB"])
    assert [(m.example_id, m.true_label, m.predicted_label) for m in wrong] == [
        (1, "NOUN", "VERB"),
        (0, "NOUN", "VERB"),
        (0, "VERB", "NOUN"),
        (1, "NOUN", "VERB"),
    ]
    assert [m.confidence for m in wrong] == pytest.approx([0.95, 0.9, 0.7, 0.6])


def _module(**changes: Any) -> dict[str, Any]:
    data = load_module(UD).model_dump(exclude_none=True)
    data.update(changes)
    return data


def test_module_checks() -> None:
    module = EvaluationModule.model_validate(_module())
    assert module.tagging == "words" and module.default_for_language == "en"
    with pytest.raises(ValueError, match="IOB2 entity tags"):
        EvaluationModule.model_validate(
            _module(dataset={**_module()["dataset"], "labels": ["O", "B-PER", "I-PER"]})
        )
    with pytest.raises(ValueError, match="not IOB2 tag names"):  # UPOS scored as entities
        EvaluationModule.model_validate(_module(tagging="entities"))
    with pytest.raises(ValueError, match="tagging"):
        EvaluationModule.model_validate(_module(tagging="sentences"))
    with pytest.raises(ValueError, match="config_hints too"):
        EvaluationModule.model_validate(_module(config_hints=[]))
    with pytest.raises(ValueError, match="default_for_language"):
        EvaluationModule.model_validate(_module(default_for_language="English"))


def test_tagging_is_for_token_classification_only(tmp_path: Path) -> None:
    path = tmp_path / "emotion.yaml"
    text = (ROOT / "config" / "tasks" / "text-classification" / "emotion.yaml").read_text()
    path.write_text(
        text.replace("include: ../", f"include: {ROOT}/config/tasks/") + "\ntagging: words\n"
    )
    with pytest.raises(ConfigError, match="token-classification modules only"):
        load_module(path)


def test_the_catalogue_tells_the_schemes_apart() -> None:
    words = catalogue.of("token-classification", {"accuracy": 0.9, "macro_f1": 0.8})
    assert words is catalogue.WORD_TAGGING and words.headline.hub_type == "accuracy"
    assert [m.key for m in words.card_metrics()] == ["accuracy", "macro_f1", "weighted_f1"]
    assert words.unit == "tag" and words.support == "words"
    entities = catalogue.of("token-classification", {"overall_f1": 0.8, "macro_f1": 0.7})
    assert entities is catalogue.TOKEN_CLASSIFICATION
    ids = {d["name"] for d in catalogue.metric_documents()}
    assert {"tag_accuracy", "tag_f1", "entity_f1"} <= ids


def test_marked_words() -> None:
    assert marked_words(["Dogs", "bark"], ["NOUN", "VERB"]) == "Dogs/NOUN bark/VERB"


# -- end to end on the sandbox ------------------------------------------------------------------

WORDS = ["the", "a", "dog", "cat", "runs", "sees", "quickly", "London", "and", ".", "big", "3"]
WORD_TAG = ["DET", "DET", "NOUN", "NOUN", "VERB", "VERB", "ADV", "PROPN", "CCONJ", "PUNCT"]
WORD_TAG += ["ADJ", "NUM"]
SENTENCES = 30


def _sentences() -> tuple[list[list[str]], list[list[int]]]:
    rng = random.Random(3)
    words = [[rng.choice(WORDS) for _ in range(rng.randint(1, 12))] for _ in range(SENTENCES)]
    tags = [[UPOS.index(WORD_TAG[WORDS.index(w)]) for w in s] for s in words]
    return words, tags


@pytest.fixture(scope="module")
def pos_module(sandbox: Any, demo_api: HfApi, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from datasets import ClassLabel, Dataset, Features, List, Value

    repo_id = f"ud{uuid.uuid4().hex[:8]}/ud-mini"
    words, tags = _sentences()
    features = Features({"tokens": List(Value("string")), "upos": List(ClassLabel(names=UPOS))})
    path = tmp_path_factory.mktemp("ud-data") / "test.parquet"
    Dataset.from_dict({"tokens": words, "upos": tags}, features=features).to_parquet(str(path))
    demo_api.create_repo(repo_id, repo_type="dataset")
    demo_api.upload_file(
        path_or_fileobj=path,
        path_in_repo="data/test-00000-of-00001.parquet",
        repo_id=repo_id,
        repo_type="dataset",
    )
    base = load_module(UD)
    return base.model_copy(
        update={
            "dataset": base.dataset.model_copy(
                update={"repo": repo_id, "config": None, "format": "datasets"}
            ),
            "perturbations": [],
            "batch_size": 8,
        }
    )


def _tagger(folder: Path) -> Path:
    """A tiny random BERT tagger with the real MiniLM tokenizer, its tags the 17 UPOS (no `_`),
    lowercase, in an order of its own."""
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    torch.manual_seed(0)
    own = sorted(t.lower() for t in UPOS if t != "_")
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        id2label=dict(enumerate(own)),
        label2id={t: i for i, t in enumerate(own)},
        pad_token_id=tokenizer.pad_token_id,
    )
    model = BertForTokenClassification(config)
    with torch.no_grad():
        model.classifier.weight.mul_(40)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tagger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tagger(tmp_path_factory.mktemp("pos-model"))


def _push(api: HfApi, folder: Path) -> ModelRecord:
    repo_id = f"ud{uuid.uuid4().hex[:8]}/tiny-upos"
    api.create_repo(repo_id)
    api.upload_folder(repo_id=repo_id, folder_path=folder)
    card = "---\ndatasets:\n- universal_dependencies\nlanguage: en\n---\n# POS\n"
    api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id)
    return to_record(api.model_info(repo_id))


@pytest.fixture(scope="module")
def pos_report(pos_module: EvaluationModule, bot_api: HfApi, demo_api: HfApi, tagger: Path) -> Any:
    return Executor([pos_module], api=bot_api).evaluate(_push(demo_api, tagger))


def _reference(folder: Path, words: list[list[str]]) -> list[str]:
    """Each sentence alone: each word's first sub-token's argmax, as a dataset tag name."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = BertForTokenClassification.from_pretrained(folder).eval()
    out = []
    for sentence in words:
        encoding = tokenizer(sentence, is_split_into_words=True, return_tensors="pt")
        with torch.no_grad():
            ids = model(**encoding).logits[0].argmax(-1).tolist()
        first: dict[int, int] = {}
        for position, word in enumerate(encoding.word_ids()):
            if word is not None:
                first.setdefault(word, ids[position])
        out += [model.config.id2label[first[w]].upper() for w in range(len(sentence))]
    return out


def test_a_pos_tagger_is_scored_word_by_word_on_the_sandbox(
    pos_report: ExecutionReport, tagger: Path
) -> None:
    record = next(r for r in pos_report.records if r.variant == "original")
    words, tags = _sentences()
    y_true = [UPOS[t] for s in tags for t in s]
    y_pred = _reference(tagger, words)
    report = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    assert record.num_examples == SENTENCES and record.task == "token-classification"
    assert record.metrics["accuracy"] == pytest.approx(report["accuracy"], abs=1e-12)
    assert record.metrics["macro_f1"] == pytest.approx(report["macro avg"]["f1-score"], abs=1e-12)
    assert record.metrics["weighted_f1"] == pytest.approx(
        report["weighted avg"]["f1-score"], abs=1e-12
    )
    by_tag = {c.label: c for c in record.classes}
    for tag, row in report.items():
        if tag in by_tag:
            assert by_tag[tag].support == row["support"]
            assert (by_tag[tag].f1 or 0.0) == pytest.approx(row["f1-score"], abs=1e-12)
    assert record.label_mapping["propn"] == "PROPN"
    assert all(m.predicted_label in UPOS for m in record.misclassifications)
    assert np.array(record.confusion).shape == (19, 19)
    assert (
        0 < (record.metrics["accuracy"] or 0) < 1
    )  # some words right, some wrong: a real comparison
    split = next(s for s in pos_report.splits if s.dataset_id == record.dataset_id)
    assert (
        list(split.class_counts) == np.bincount([t for s in tags for t in s], minlength=18).tolist()
    )
    shown = [e for e in pos_report.examples if e.dataset_id == record.dataset_id]
    assert shown and all(e.label == UPOS[e.class_id] and "/" in (e.text or "") for e in shown)
    # the card names word accuracy and per-tag F1
    section = render_section([record], repo_id="o/m", space_url="https://space")
    assert "word accuracy" in section and "| tag |" in section and "words" in section
    assert "F1 (entities)" not in section


def test_error_examples_are_one_record_per_sentence() -> None:
    split = TaggedSplit(
        dataset_id="o/ud",
        revision="r",
        split="test",
        words=[["Dogs", "bark"], ["The", "cat"], []],
        tags=(np.array([0, 16]), np.array([8, 0]), np.zeros(0, dtype=np.int64)),
        tag_names=tuple(UPOS),
    )
    assert tag_counts(split)[:1] == [2] and sum(tag_counts(split)) == 4
    shown = word_tag_error_examples(split, [1, 1, 0, 2])
    assert [(e.example_id, e.label, e.text) for e in shown] == [
        (0, "NOUN", "Dogs/NOUN bark/VERB"),
        (1, "DET", "The/DET cat/NOUN"),
    ]
    per_tag = word_tag_examples(split, per_tag=1)
    assert [(e.example_id, e.label) for e in per_tag] == [(0, "NOUN"), (1, "DET")]
