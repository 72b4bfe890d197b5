"""Text-pair classification (NLI, paraphrase): the `text_pair` column role, pair tokenisation,
batching by the pair's length, perturbing both texts, and the stored examples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

from evaluators.config import EvaluationModule, load_module
from evaluators.datasets_io import EvalSplit
from evaluators.metadata import error_examples, examples
from evaluators.predictions import Options
from evaluators.sharding import batch_order, merge_predictions, shard_bounds
from evaluators.streaming import Column, Perturbed
from evaluators.text_classification import TextClassifier, encode, length_order
from perturbations import get
from store.db import Store
from store.export import export_tables
from store.tables import EXAMPLES
from store.types import DatasetExampleRecord, join_pair

ROOT = Path(__file__).resolve().parents[2]
WORDS = "a man woman sleeps rests runs walks he she is not in the park city ."

PAIRS = [
    ("A man sleeps.", "He rests."),
    ("A woman runs in the park.", "She is not in the park."),
    ("He walks.", "A man walks in the city."),
    ("She rests in the city.", "A woman sleeps."),
    ("A man is in the park.", "He runs."),
]


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = sorted(set(WORDS.split()))
    return BertTokenizer(vocab={w: i for i, w in enumerate([*specials, *words])})


@pytest.fixture(scope="module")
def classifier(tokenizer: Any) -> TextClassifier:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        id2label={0: "contradiction", 1: "entailment", 2: "neutral"},
        label2id={"contradiction": 0, "entailment": 1, "neutral": 2},
    )
    model = BertForSequenceClassification(config).eval()
    labels = {0: "contradiction", 1: "entailment", 2: "neutral"}
    return TextClassifier("t/pairs", model, tokenizer, labels, torch.device("cpu"))


def pair_split(pairs: list[tuple[str, str]], labels: list[int]) -> EvalSplit:
    ds = datasets.Dataset.from_dict(
        {
            "premise": [p for p, _ in pairs],
            "hypothesis": [h for _, h in pairs],
            "label": labels,
        }
    )
    return EvalSplit(
        dataset_id="t/nli",
        revision="0" * 40,
        split="validation",
        inputs=Column(ds, "premise", image=False, pair="hypothesis"),
        labels=np.array(labels, dtype=np.int64),
    )


def nli_module(**changes: Any) -> EvaluationModule:
    data: dict[str, Any] = {
        "id": "t-nli",
        "task": "text-classification",
        "version": 1,
        "dataset": {
            "repo": "t/nli",
            "name": "T NLI",
            "split": "validation",
            "columns": {"input": "premise", "text_pair": "hypothesis", "label": "label"},
            "labels": ["entailment", "neutral", "contradiction"],
        },
        "trained_on": ["t/nli"],
    }
    data.update(changes)
    return EvaluationModule.model_validate(data)


def test_pairs_are_tokenised_as_pairs(tokenizer: Any) -> None:
    batch = encode(tokenizer, [("A man sleeps.", "He rests.")], 64)
    ids = batch["input_ids"][0].tolist()
    assert tokenizer.convert_ids_to_tokens(ids) == [
        "[CLS]", "a", "man", "sleeps", ".", "[SEP]", "he", "rests", ".", "[SEP]",
    ]  # fmt: skip
    assert batch["token_type_ids"][0].tolist() == [0] * 6 + [1] * 4
    single = encode(tokenizer, ["A man sleeps."], 64)
    assert single["token_type_ids"][0].tolist() == [0] * 6


def test_a_pair_is_truncated_to_max_length_together(tokenizer: Any) -> None:
    long = " ".join(["a man sleeps"] * 20)
    batch = encode(tokenizer, [(long, long), ("he rests .", "she runs .")], 16)
    assert batch["input_ids"].shape == (2, 16)
    # both texts keep tokens: the longest-first strategy cuts the pair, not only one text
    assert batch["token_type_ids"][0].tolist().count(1) > 1


def test_pairs_are_batched_by_their_summed_length() -> None:
    pairs = [("aaaa", "bbbbbbbb"), ("a", "b"), ("aaaaaa", ""), ("aa", "bbbb")]
    assert length_order(pairs).tolist() == [1, 2, 3, 0]
    assert batch_order(pairs).tolist() == [1, 2, 3, 0]


def test_predictions_do_not_depend_on_the_batch(classifier: TextClassifier) -> None:
    split = pair_split(PAIRS, [0, 2, 1, 0, 1])
    one = classifier.predict(split.inputs, Options(batch_size=1))
    batched = classifier.predict(split.inputs, Options(batch_size=4))
    assert one.labels.tolist() == batched.labels.tolist()
    np.testing.assert_allclose(one.confidences, batched.confidences, rtol=1e-5)
    # each pair as the model scores it alone, tokenised as a pair
    for i, (premise, hypothesis) in enumerate(PAIRS):
        inputs = classifier.tokenizer(premise, hypothesis, return_tensors="pt")  # type: ignore[operator]
        with torch.no_grad():
            logits = classifier.model(**inputs).logits
        assert int(logits.argmax()) == one.labels[i]


def test_shards_of_pairs_give_the_unsharded_predictions(classifier: TextClassifier) -> None:
    split = pair_split(PAIRS, [0, 2, 1, 0, 1])
    options = Options(batch_size=2)
    whole = classifier.predict(split.inputs, options)
    order = batch_order(split.inputs)
    parts = [
        classifier.predict([split.inputs[int(i)] for i in order[a:b]], options)
        for a, b in shard_bounds(len(PAIRS), 2, options.batch_size)
    ]
    merged = merge_predictions(parts, order, seconds=0.0)
    assert merged.labels.tolist() == whole.labels.tolist()


def test_a_pair_column_reads_both_texts() -> None:
    split = pair_split(PAIRS, [0, 2, 1, 0, 1])
    assert split.inputs[1] == PAIRS[1]
    assert split.inputs[1:3] == PAIRS[1:3]
    assert list(split.inputs) == PAIRS
    column = split.inputs
    assert isinstance(column, Column) and column[[4, 0]] == [PAIRS[4], PAIRS[0]]


def test_a_perturbation_changes_both_texts_of_a_pair() -> None:
    split = pair_split(PAIRS, [0, 2, 1, 0, 1])
    upper = split.perturbed(get("uppercase"), seed=1).inputs
    assert upper[0] == ("A MAN SLEEPS.", "HE RESTS.")
    typos = get("typos", rate=0.3)
    perturbed = Perturbed(split.inputs, typos, seed=7)
    for i, (premise, hypothesis) in enumerate(PAIRS):
        first, second = perturbed[i]
        # the first text as a single-text variant perturbs it; the second from its own stream
        assert first == typos.apply_texts([premise], seed=7, start=i)[0]
        assert (first, second) == typos.apply_pair(premise, hypothesis, seed=7, index=i)
    assert perturbed[0:5] == [perturbed[i] for i in range(5)]  # the same in any batch
    assert any(perturbed[i][1] != h for i, (_, h) in enumerate(PAIRS))


def test_apply_pair_takes_texts() -> None:
    with pytest.raises(TypeError, match="apply_pair"):
        get("lowercase").apply_pair("a", None, seed=0, index=0)  # type: ignore[arg-type]


def test_pair_examples_keep_both_texts() -> None:
    split = pair_split(PAIRS, [0, 2, 1, 0, 1])
    module = nli_module()
    shown = examples(module, split, per_class=1)
    assert [(e.text, e.text_pair, e.label) for e in shown] == [
        ("A man sleeps.", "He rests.", "entailment"),
        ("A woman runs in the park.", "She is not in the park.", "contradiction"),
        ("He walks.", "A man walks in the city.", "neutral"),
    ]
    assert shown[0].shown_text == "A man sleeps. ‖ He rests."
    wrong = error_examples(module, split, [3])
    assert wrong[0].text_pair == "A woman sleeps." and wrong[0].thumbnail_png is None


def test_single_text_examples_are_unchanged() -> None:
    record = DatasetExampleRecord("d", "test", 0, "joy", 1, text="so happy")
    assert record.text_pair is None and record.shown_text == "so happy"
    assert join_pair(None, None) is None


def test_text_classification_reads_a_text_pair_column() -> None:
    module = nli_module()
    assert module.dataset.columns.roles()["text_pair"] == "hypothesis"
    assert module.positional_labels is True


def test_image_classification_refuses_a_text_pair_column() -> None:
    beans = load_module(ROOT / "config" / "tasks" / "image-classification" / "beans.yaml")
    data = beans.model_dump()
    data["dataset"]["columns"] = {"input": "image", "text_pair": "caption", "label": "labels"}
    with pytest.raises(ValueError, match=r"dataset\.columns\.text_pair.*image-classification"):
        EvaluationModule.model_validate(data)


def test_the_glue_rte_module_reads_pairs() -> None:
    rte = load_module(ROOT / "config" / "tasks" / "text-classification" / "glue-rte.yaml")
    assert rte.dataset.repo == "nyu-mll/glue" and rte.dataset.config == "rte"
    assert rte.dataset.columns.roles() == {
        "input": "sentence1",
        "text_pair": "sentence2",
        "label": "label",
    }
    assert rte.dataset.labels == ["entailment", "not_entailment"]


def test_the_results_dataset_shows_a_pair_joined(store: Store) -> None:
    store.add_examples(
        [
            DatasetExampleRecord("t/nli", "validation", 0, "entailment", 0, text="A man sleeps."),
            DatasetExampleRecord(
                "t/nli", "validation", 1, "neutral", 1, text="He walks.", text_pair="He runs."
            ),
        ]
    )
    table = export_tables(store)[EXAMPLES.name]
    ids, texts = table.column("example_id").to_pylist(), table.column("text").to_pylist()
    shown = dict(zip(ids, texts, strict=True))
    assert shown == {0: "A man sleeps.", 1: "He walks. ‖ He runs."}
    assert table.column_names == EXAMPLES.schema.names  # the table's schema is unchanged
