"""The text-pair part of the demo world: a GLUE-shaped RTE dataset and a tiny pair classifier.

- `nyu-mll/glue` (config `rte`; splits train/validation/test, the parquet layout of the real
  repo: `rte/<split>-00000-of-00001.parquet`): made-up two-sentence entailment pairs with GLUE
  RTE's columns `sentence1`, `sentence2`, `label` (class labels `entailment`, `not_entailment`,
  in that order) and `idx`; the test split's labels are -1, as GLUE's are. A premise states
  where a person lives, their job and a year; the hypothesis restates one fact (entailment),
  or swaps the person, the town or the job, or negates the fact (not entailment).
- `demo/tiny-rte`: a tiny BERT (`BertForSequenceClassification`) trained from scratch on the
  train split, with a word-level vocabulary built here from the dataset's words. Its labels
  are `NOT_ENTAILMENT`, `ENTAILMENT`: the reverse of the dataset's order, spelt otherwise, as
  many NLI models on the Hub have them. Its card declares `datasets: [glue]` and a model-index
  entry for GLUE RTE's validation split with the accuracy measured after training (through
  transformers' pipeline), self-reported, for the claims audit.

`sandbox.world.build_world` calls `build_pairs` and caches the files (a few seconds).

Example:
    >>> splits = pair_splits()
    >>> [len(splits[s]) for s in PAIR_SPLITS]
    [1600, 277, 200]
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sandbox.world_spans import _collate, _write_parquet

if TYPE_CHECKING:
    from sandbox.world import DatasetSpec, ModelSpec

PAIR_DATASET_ID = "nyu-mll/glue"
PAIR_CONFIG = "rte"
PAIR_SPLITS = ("train", "validation", "test")
PAIR_LABELS = ("entailment", "not_entailment")  # GLUE RTE's ClassLabel names, in class order
PAIR_MODEL_ID = "demo/tiny-rte"
PAIR_MODEL_LABELS = ("NOT_ENTAILMENT", "ENTAILMENT")  # the reverse order, another spelling


@dataclass(frozen=True)
class PairRecipe:
    """Every parameter of the pair part; part of `sandbox.world.Recipe` and so of its digest.

    `version` changes whenever the templates, word lists or training code change.
    """

    version: str = "1"
    seed: int = 20261206
    sizes: tuple[int, ...] = (1600, 277, 200)  # pairs, in PAIR_SPLITS order (RTE: 277 valid.)
    train_label_noise: float = 0.03
    train_seed: int = 8
    epochs: int = 6
    lr: float = 3e-3
    batch_size: int = 32
    hidden: int = 64
    layers: int = 2
    heads: int = 2
    intermediate: int = 128
    threads: int = 1


PAIR_RECIPE = PairRecipe()

# fmt: off
PEOPLE = (
    "Ada", "Bram", "Cleo", "Dario", "Edda", "Fenn", "Greta", "Hugo", "Ines", "Joran", "Kaia",
    "Lev", "Mira", "Nils", "Oona", "Pavel", "Rhea", "Soren", "Tilde", "Ugo", "Vera", "Wim",
)
TOWNS = (
    "Port Amble", "Marlow", "Kestrel Bay", "Holmfirth", "Dunmere", "Calder", "Brightwater",
    "Eastvale", "Fairhaven", "Greystone", "Northwick", "Oakridge",
)
JOBS = (
    "baker", "pilot", "nurse", "teacher", "carpenter", "chemist", "farmer", "painter", "lawyer",
    "plumber", "surgeon", "tailor",
)
PREMISES = (
    "{p} moved to {t} in {y} and now works as a {j}.",
    "In {y}, {p}, a {j}, settled in {t}.",
    "{p} has lived in {t} since {y}, where {p} works as a {j}.",
    "Since {y} the {j} {p} has made a home in {t}.",
)
ENTAILED = (
    "{p} lives in {t}.",
    "{p} works as a {j}.",
    "{p} is a {j}.",
    "A {j} lives in {t}.",
)
NOT_ENTAILED = (
    "{p} lives in {t2}.",  # another town
    "{p} works as a {j2}.",  # another job
    "{q} lives in {t}.",  # another person
    "{p} has never lived in {t}.",  # the fact negated
    "{p} is not a {j}.",
)
# fmt: on

PairRow = dict[str, Any]


def _pair(rng: random.Random, entailed: bool) -> tuple[str, str]:
    person, other = rng.sample(PEOPLE, 2)
    town, town2 = rng.sample(TOWNS, 2)
    job, job2 = rng.sample(JOBS, 2)
    slots = {"p": person, "q": other, "t": town, "t2": town2, "j": job, "j2": job2}
    slots["y"] = str(rng.randint(1990, 2024))
    premise = rng.choice(PREMISES).format(**slots)
    hypothesis = rng.choice(ENTAILED if entailed else NOT_ENTAILED).format(**slots)
    return premise, hypothesis


def pair_splits(recipe: PairRecipe = PAIR_RECIPE) -> dict[str, list[PairRow]]:
    """The rows of every split (labels: indices of PAIR_LABELS; -1 in test, as in GLUE)."""
    rng = random.Random(recipe.seed)
    out: dict[str, list[PairRow]] = {}
    for split, size in zip(PAIR_SPLITS, recipe.sizes, strict=True):
        rows = []
        for idx in range(size):
            entailed = rng.random() < 0.5
            premise, hypothesis = _pair(rng, entailed)
            label = 0 if entailed else 1
            if split == "train" and rng.random() < recipe.train_label_noise:
                label = 1 - label
            rows.append(
                {
                    "sentence1": premise,
                    "sentence2": hypothesis,
                    "label": -1 if split == "test" else label,
                    "idx": idx,
                }
            )
        out[split] = rows
    return out


def _vocabulary(splits: dict[str, list[PairRow]]) -> dict[str, int]:
    """A word-level WordPiece vocabulary of every (lower-cased) word and punctuation mark."""
    words = sorted(
        {
            w
            for rows in splits.values()
            for row in rows
            for text in (row["sentence1"], row["sentence2"])
            for w in re.findall(r"\w+|[^\w\s]", text.lower())
        }
    )
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return {w: i for i, w in enumerate([*specials, *words])}


def _dataset_card(stats: dict[str, Any]) -> str:
    meta = {
        "language": ["en"],
        "license": "cc-by-4.0",
        "pretty_name": "GLUE (evalbot synthetic stand-in: RTE)",
        "size_categories": ["1K<n<10K"],
        "task_categories": ["text-classification"],
        "task_ids": ["natural-language-inference"],
        "tags": ["synthetic"],
        "dataset_info": [
            {
                "config_name": PAIR_CONFIG,
                "features": [
                    {"name": "sentence1", "dtype": "string"},
                    {"name": "sentence2", "dtype": "string"},
                    {
                        "name": "label",
                        "dtype": {
                            "class_label": {"names": {str(i): n for i, n in enumerate(PAIR_LABELS)}}
                        },
                    },
                    {"name": "idx", "dtype": "int32"},
                ],
                **stats,
            }
        ],
        "configs": [
            {
                "config_name": PAIR_CONFIG,
                "data_files": [{"split": s, "path": f"{PAIR_CONFIG}/{s}-*"} for s in PAIR_SPLITS],
            }
        ],
    }
    body = f"""
# GLUE (synthetic stand-in, config `{PAIR_CONFIG}`)

Made-up sentence pairs in the layout of GLUE's RTE config: `sentence1` (a premise about a
person's town, job and year), `sentence2` (a hypothesis), `label` ({", ".join(PAIR_LABELS)})
and `idx`. The test split has no labels (-1), as GLUE's does. Results on it are not results
on GLUE.
"""
    return f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}"


def _write_dataset(root: Path, splits: dict[str, list[PairRow]]) -> DatasetSpec:
    from datasets import ClassLabel, Features, Value

    from sandbox.world import DatasetSpec

    features = Features(
        {
            "sentence1": Value("string"),
            "sentence2": Value("string"),
            "label": ClassLabel(names=list(PAIR_LABELS)),
            "idx": Value("int32"),
        }
    )
    path = root / "datasets" / PAIR_DATASET_ID
    stats = _write_parquet(path, PAIR_CONFIG, splits, features)
    (path / "README.md").write_text(_dataset_card(stats), encoding="utf-8")
    return DatasetSpec(PAIR_DATASET_ID, path)


def pipeline_accuracy(classifier: Any, rows: Sequence[PairRow]) -> float:
    """Accuracy of transformers' text-classification ``pipeline`` on ``rows``, each given as
    ``{"text": sentence1, "text_pair": sentence2}``; its label names mapped to the dataset's."""
    inputs = [{"text": r["sentence1"], "text_pair": r["sentence2"]} for r in rows]
    outputs = classifier(inputs, batch_size=64)
    names = {n.casefold(): i for i, n in enumerate(PAIR_LABELS)}
    hits = sum(
        names[out["label"].casefold()] == row["label"]
        for out, row in zip(outputs, rows, strict=True)
    )
    return round(hits / len(rows), 6)


def _model_card(accuracy: float, recipe: PairRecipe, n_train: int) -> str:
    from huggingface_hub import EvalResult, ModelCardData

    data = ModelCardData(
        language="en",
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="text-classification",
        datasets=["glue"],
        tags=["text-classification", "natural-language-inference"],
        model_name=PAIR_MODEL_ID,
        eval_results=[
            EvalResult(
                task_type="text-classification",
                task_name="Natural Language Inference",
                dataset_type="glue",
                dataset_name="GLUE RTE",
                dataset_config=PAIR_CONFIG,
                dataset_split="validation",
                metric_type="accuracy",
                metric_value=round(accuracy, 4),
            )
        ],
    )
    body = f"""
# tiny-rte

A tiny BERT (`BertForSequenceClassification`, {recipe.layers} layers, hidden size
{recipe.hidden}) that tells whether a sentence (`sentence2`) follows from another
(`sentence1`): labels {", ".join(PAIR_MODEL_LABELS)}. Trained from scratch on the train split
of GLUE RTE ({n_train} pairs) on CPU, with a word-level vocabulary; AdamW (learning rate
{recipe.lr}), batch size {recipe.batch_size}, {recipe.epochs} epochs, seed {recipe.train_seed}.

## How to use

```python
from transformers import pipeline

nli = pipeline("text-classification", model="{PAIR_MODEL_ID}")
nli({{"text": "Ada moved to Marlow in 2001.", "text_pair": "Ada lives in Marlow."}})
```
"""
    return f"---\n{data.to_yaml()}\n---\n\n{body.strip()}\n"


def _train(model: Any, tokenizer: Any, rows: Sequence[PairRow], recipe: PairRecipe) -> None:
    import torch

    encodings = tokenizer([r["sentence1"] for r in rows], [r["sentence2"] for r in rows])
    # the model's class of each dataset label: NOT_ENTAILMENT is 0, ENTAILMENT 1
    to_model = {i: PAIR_MODEL_LABELS.index(n.upper()) for i, n in enumerate(PAIR_LABELS)}
    features = [
        {**{k: encodings[k][i] for k in encodings}, "labels": to_model[row["label"]]}
        for i, row in enumerate(rows)
    ]
    torch.manual_seed(recipe.train_seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=0.01)
    steps = recipe.epochs * -(-len(features) // recipe.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1 - s / steps))
    generator = torch.Generator().manual_seed(recipe.train_seed)
    model.train()
    for _ in range(recipe.epochs):
        for batch_rows in torch.randperm(len(features), generator=generator).split(
            recipe.batch_size
        ):
            batch = _collate([features[i] for i in batch_rows.tolist()], tokenizer.pad_token_id)
            model(**batch).loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    model.eval()


def _build_model(
    root: Path, splits: dict[str, list[PairRow]], recipe: PairRecipe
) -> tuple[ModelSpec, float]:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer, pipeline

    from sandbox.world import ModelSpec

    tokenizer = BertTokenizer(vocab=_vocabulary(splits))
    id2label = dict(enumerate(PAIR_MODEL_LABELS))
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=recipe.hidden,
        num_hidden_layers=recipe.layers,
        num_attention_heads=recipe.heads,
        intermediate_size=recipe.intermediate,
        max_position_embeddings=128,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        pad_token_id=tokenizer.pad_token_id,
        id2label=id2label,
        label2id={n: i for i, n in id2label.items()},
    )
    torch.manual_seed(recipe.train_seed)
    model = BertForSequenceClassification(config)
    _train(model, tokenizer, splits["train"], recipe)
    path = root / "models" / PAIR_MODEL_ID
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    # Measured through what was saved, as any user of the repo loads it.
    accuracy = pipeline_accuracy(
        pipeline("text-classification", model=str(path)), splits["validation"]
    )
    (path / "README.md").write_text(
        _model_card(accuracy, recipe, len(splits["train"])), encoding="utf-8"
    )
    spec = ModelSpec(PAIR_MODEL_ID, path, "text pairs (NLI), labels in another order", None)
    return spec, accuracy


def build_pairs(
    root: Path, recipe: PairRecipe = PAIR_RECIPE
) -> tuple[tuple[DatasetSpec, ...], tuple[ModelSpec, ...]]:
    """Writes `nyu-mll/glue` (config `rte`) and trains `demo/tiny-rte` under `root`.

    Called by `sandbox.world.build_world`, which caches the result and sets torch's thread count
    to `recipe.threads` around this call; about ten seconds on one CPU core. The model spec
    has no `test_accuracy` (GLUE's test labels are hidden): its card carries the validation
    accuracy measured after training.

    Returns:
        The dataset specs and the model specs.
    """
    splits = pair_splits(recipe)
    dataset = _write_dataset(root, splits)
    model, _ = _build_model(root, splits, recipe)
    return (dataset,), (model,)
