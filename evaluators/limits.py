"""Caps on the small files evalbot reads from a repo, and readers that keep to them.

A model's ``config.json`` or card can be as large as its whole download cap
(``hub.max_model_gib``): read whole, a 2 GiB ``config.json`` takes the worker down. Each kind of
file has a cap (:func:`cap_for`), checked against the Hub's file metadata before anything is
downloaded (:func:`check_size`) and again while reading (:func:`read_bounded` reads at most the
cap and one byte). JSON is parsed only once its nesting depth is known to be sane
(:func:`load_json`): Python's parser recurses once per level, so 100,000 nested brackets in
200 KB end in a ``RecursionError`` deep inside the parser, or in a crash where the recursion
limit was raised.

The caps, against the sizes real files have:

- settings (``config.json``, ``tokenizer_config.json``, ``generation_config.json`` ...): 8 MiB.
  Most are a few KB; the largest hold label maps of ImageNet-22k classifiers (21,841 names in
  ``id2label`` and ``label2id``, 1-2 MB) or thousands of added tokens (Gemma 3's
  ``tokenizer_config.json``, 1.2 MB). The worst 8 MiB of JSON parses into a few hundred MB.
- vocabularies (``tokenizer.json``, ``vocab.*``, ``merges.txt``, sentencepiece ``*.model`` and
  ``*.spm``) and safetensors weight indexes: 64 MiB. A 262k-token vocabulary's ``tokenizer.json``
  is about 35 MB.
- ``README.md``: 1 MiB. Real cards are mostly under 50 KB; the largest ``model-index`` front
  matter among 3,002 crawled Hub cards is 117 KB. The Hub documents no size limit for cards.
- ``.eval_results/*``: 256 KiB. evalbot writes one entry per benchmark, under 1 KB.

Weights have no cap of their own: they count towards ``hub.max_model_gib`` and are memory-mapped,
never read whole.

Example:
    >>> cap_for("tokenizer.json").limit // MiB
    64
    >>> check_size("config.json", 2 * 2**30)  # doctest: +SKIP
    Traceback (most recent call last):
    FileTooLargeError: config.json is 2.00 GiB, over the cap of 8 MiB ...
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import numpy as np

from evaluators.errors import FileTooLargeError, JsonDepthError

KiB = 2**10
MiB = 2**20
MAX_JSON_DEPTH = 64  # real configs and tokenizers nest under 10 levels


@dataclass(frozen=True)
class FileCap:
    """The most bytes evalbot reads of one kind of file; ``patterns`` match a path in the repo
    or its file name (``fnmatch``)."""

    kind: str
    limit: int
    patterns: tuple[str, ...]


SETTINGS = FileCap(
    "settings file",
    8 * MiB,
    (
        "config.json",
        "generation_config.json",
        "preprocessor_config.json",
        "processor_config.json",
        "special_tokens_map.json",
        "tokenizer_config.json",
        "added_tokens.json",
    ),
)
VOCABULARY = FileCap(
    "vocabulary or weight index",
    64 * MiB,
    (
        "tokenizer.json",
        "vocab.txt",
        "vocab.json",
        "merges.txt",
        "*.model",
        "*.spm",
        "*.safetensors.index.json",
    ),
)
CARD = FileCap("model card", 1 * MiB, ("README.md",))
EVAL_RESULTS = FileCap("Eval Results file", 256 * KiB, (".eval_results/*",))
CAPS = (CARD, EVAL_RESULTS, VOCABULARY, SETTINGS)
UNCAPPED = ("*.safetensors",)  # weights: under the model's download cap, memory-mapped

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


def cap_for(path: str) -> FileCap:
    """The cap of the file at ``path`` in a repo; a file of no listed kind gets the settings
    cap (small: anything evalbot reads whole)."""
    name = path.rsplit("/", 1)[-1]
    for cap in CAPS:
        if any(fnmatch(path, p) or fnmatch(name, p) for p in cap.patterns):
            return cap
    return SETTINGS


def check_size(path: str, size: int, cap: FileCap | None = None) -> None:
    """Refuse a file whose size (from the Hub's file metadata) is over its cap.

    Raises:
        FileTooLargeError: naming the file, its size and the cap.
    """
    cap = cap or cap_for(path)
    if size > cap.limit:
        raise FileTooLargeError(path, size, limit=cap.limit, kind=cap.kind)


def read_bounded(local: Path, path: str, cap: FileCap | None = None) -> bytes:
    """The bytes of ``local`` (the file at ``path`` in the repo), reading at most its cap + 1.

    Raises:
        FileTooLargeError: the file holds more than its cap (its size is then not known).
        OSError: the file cannot be read.
    """
    cap = cap or cap_for(path)
    with open(local, "rb") as handle:
        data = handle.read(cap.limit + 1)
    if len(data) > cap.limit:
        raise FileTooLargeError(path, None, limit=cap.limit, kind=cap.kind)
    return data


def json_depth(data: bytes) -> int:
    """How deep arrays and objects nest in the JSON text ``data`` (brackets inside strings do
    not count), found without parsing it."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1).astype(np.int32)
    return int(np.cumsum(steps).max())


def parse_json(data: bytes, path: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads(data)`` once its nesting is known to be at most ``max_depth``.

    Raises:
        JsonDepthError: nested deeper.
        ValueError: not JSON (``json.JSONDecodeError``, ``UnicodeDecodeError``).
    """
    _check_depth(data, path, max_depth)
    return json.loads(data)


def _check_depth(data: bytes, path: str, max_depth: int) -> None:
    depth = json_depth(data)
    if depth > max_depth:
        raise JsonDepthError(path, depth, limit=max_depth)


def check_json(local: Path, path: str | None = None, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Check, without parsing it, that the JSON file ``local`` (``path`` in the repo) is within
    its cap and nests at most ``max_depth`` levels, before a library parses it.

    Raises:
        FileTooLargeError, JsonDepthError, OSError: as :func:`load_json`.
    """
    path = path or local.name
    _check_depth(read_bounded(local, path), path, max_depth)


def load_json(local: Path, path: str | None = None, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON file ``local`` (``path`` in the repo, default its name), read within its cap.

    Example:
        >>> load_json(snapshot / "config.json")["model_type"]  # doctest: +SKIP
        'bert'

    Raises:
        FileTooLargeError: over its cap (see :func:`cap_for`).
        JsonDepthError: nested deeper than ``max_depth``.
        ValueError: not JSON.
        OSError: the file cannot be read.
    """
    path = path or local.name
    return parse_json(read_bounded(local, path), path, max_depth=max_depth)
