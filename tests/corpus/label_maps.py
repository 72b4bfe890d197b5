"""Malformed or unusual model label maps: a `config.json` (bytes) per case, for three shipped modules.

`generate()` is deterministic: every shape of `id2label` / `label2id` below, for each module whose
labels it is written for.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

SEED = 7
MODULES = ("emotion", "imdb", "yelp_review_full")
LABELS = {
    "emotion": ["sadness", "joy", "love", "anger", "fear", "surprise"],
    "imdb": ["neg", "pos"],
    "yelp_review_full": ["1 star", "2 star", "3 stars", "4 stars", "5 stars"],
}
OTHER_LANGUAGES = {
    "emotion": ["tristeza", "alegría", "amor", "ira", "miedo", "sorpresa"],
    "imdb": ["消极", "积极"],
    "yelp_review_full": ["نجمة", "نجمتان", "ثلاث", "أربع", "خمس"],
}
ALIASES = {  # spellings the modules' label_aliases accept
    "emotion": ["sad", "happy", "love", "angry", "fear", "surprise"],
    "imdb": ["NEGATIVE", "POSITIVE"],
    "yelp_review_full": ["1", "2", "3", "4", "5"],
}


@dataclass(frozen=True)
class LabelCase:
    id: str
    module: str
    config: bytes  # config.json
    expected: dict[int, int] | str | None  # a mapping, a FailureReason value, or None: either


def _config(id2label: Any = None, label2id: Any = None, *, drop: bool = False) -> bytes:
    config: dict[str, Any] = {
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
    }
    if not drop:
        config["id2label"] = id2label
    if label2id is not None:
        config["label2id"] = label2id
    return json.dumps(config, ensure_ascii=False).encode()


def _ids(labels: list[Any]) -> dict[str, Any]:
    return {str(i): label for i, label in enumerate(labels)}


def _shapes(
    module: str, rng: random.Random
) -> list[tuple[str, bytes, dict[int, int] | str | None]]:
    labels = LABELS[module]
    n = len(labels)
    identity = {i: i for i in range(n)}
    order = list(range(n))
    rng.shuffle(order)
    ok, meta, unknown = identity, "insufficient metadata", "unknown labels"
    return [
        ("exact", _config(_ids(labels)), ok),
        ("upper", _config(_ids([x.upper() for x in labels])), ok),
        ("title", _config(_ids([x.title() for x in labels])), ok),
        ("padded", _config(_ids([f"  {x}\t" for x in labels])), ok),
        ("underscores", _config(_ids([x.replace(" ", "_") for x in labels])), ok),
        ("hyphens", _config(_ids([x.replace(" ", "-") for x in labels])), ok),
        ("double-spaces", _config(_ids([x.replace(" ", "  ") for x in labels])), ok),
        ("aliases", _config(_ids(ALIASES[module])), ok),
        ("permuted", _config(_ids([labels[j] for j in order])), dict(enumerate(order))),
        ("subset", _config(_ids(labels[1:])), {i: i + 1 for i in range(n - 1)}),
        ("one-class", _config(_ids(labels[:1])), {0: 0}),
        ("generic", _config(_ids([f"LABEL_{i}" for i in range(n)])), ok),
        ("generic-too-few", _config(_ids([f"LABEL_{i}" for i in range(n - 1)])), meta),
        ("generic-too-many", _config(_ids([f"LABEL_{i}" for i in range(n + 1)])), meta),
        ("generic-shuffled", _config(_ids([f"LABEL_{j}" for j in order])), dict(enumerate(order))),
        ("generic-gap", _config(_ids([f"LABEL_{i * 2}" for i in range(n)])), meta),
        ("generic-lower", _config(_ids([f"label_{i}" for i in range(n)])), unknown),
        ("generic-padded-zero", _config(_ids([f"LABEL_0{i}" for i in range(n)])), ok),
        ("generic-and-names", _config(_ids(["LABEL_0", *labels[1:]])), unknown),
        ("superset", _config(_ids([*labels, "neutral"])), unknown),
        ("other-language", _config(_ids(OTHER_LANGUAGES[module])), unknown),
        ("punctuation", _config(_ids([f"{x}!" for x in labels])), unknown),
        ("emoji", _config(_ids([f"{x} 🙂" for x in labels])), unknown),
        ("numbers", _config(_ids(list(range(n)))), None),
        ("floats", _config(_ids([i + 0.5 for i in range(n)])), unknown),
        ("none-label", _config(_ids([None, *labels[1:]])), meta),
        ("bool-label", _config(_ids([True, *labels[1:]])), meta),
        ("list-label", _config(_ids([[labels[0]], *labels[1:]])), meta),
        ("dict-label", _config(_ids([{"name": labels[0]}, *labels[1:]])), meta),
        ("empty-label", _config(_ids(["", *labels[1:]])), unknown),
        ("whitespace-label", _config(_ids(["   ", *labels[1:]])), unknown),
        ("newline-label", _config(_ids([f"{labels[0]}\n", *labels[1:]])), ok),
        ("long-label", _config(_ids(["x" * 10_000, *labels[1:]])), unknown),
        ("duplicate-label", _config(_ids([labels[0], *labels[:-1]])), None),
        ("duplicate-case", _config(_ids([labels[0], labels[0].upper(), *labels[2:]])), None),
        ("alias-and-label", _config(_ids([labels[0], ALIASES[module][0]])), None),
        ("missing", _config(drop=True), "insufficient metadata" if n != 2 else ok),
        ("null", _config(None), "insufficient metadata" if n != 2 else ok),
        ("empty", _config({}), meta),
        ("list", _config(labels), meta),
        ("string", _config(",".join(labels)), meta),
        ("int", _config(n), meta),
        ("keys-words", _config({x: x for x in labels}), meta),
        ("keys-floats", _config({f"{i}.0": x for i, x in enumerate(labels)}), meta),
        ("keys-negative", _config({str(i - 1): x for i, x in enumerate(labels)}), meta),
        ("keys-gap", _config({str(i * 2): x for i, x in enumerate(labels)}), meta),
        ("keys-from-one", _config({str(i + 1): x for i, x in enumerate(labels)}), meta),
        ("keys-huge", _config({str(10**12 + i): x for i, x in enumerate(labels)}), meta),
        (
            "keys-duplicated-json",
            b'{"model_type": "bert", "id2label": {"0": "a", "0": "%s", "1": "%s"}}'
            % (labels[0].encode(), labels[1].encode()),
            {0: 0, 1: 1},
        ),
        ("label2id-only", _config(label2id={x: i for i, x in enumerate(labels)}, drop=True), None),
        (
            "label2id-disagrees",
            _config(_ids(labels), {x: n - 1 - i for i, x in enumerate(labels)}),
            ok,
        ),
        ("label2id-list", _config(_ids(labels), labels), ok),  # id2label decides
        ("thousand-generic", _config(_ids([f"LABEL_{i}" for i in range(1000)])), meta),
        ("thousand-names", _config(_ids([f"class {i}" for i in range(1000)])), unknown),
        ("not-json", b"{id2label: {0: x}}", meta),
        ("json-list", b"[1, 2, 3]", meta),
        ("empty-file", b"", meta),
        ("not-utf8", b'{"model_type": "bert", "id2label": {"0": "\xff"}}', meta),
    ]


def generate() -> list[LabelCase]:
    rng = random.Random(SEED)
    return [
        LabelCase(f"{module}:{name}", module, config, expected)
        for module in MODULES
        for name, config, expected in _shapes(module, rng)
    ]
