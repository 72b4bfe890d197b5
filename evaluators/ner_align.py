"""From a token classifier's sub-token outputs to one dataset tag per word.

Inputs: the caller tokenizes each sentence's words with a fast tokenizer,
``tokenizer(words_batch, is_split_into_words=True, truncation=True, padding=True)``, and takes
``encoding.word_ids(i)`` per sentence: the word each sub-token belongs to (``None`` for special
and padding tokens). :func:`first_subtoken_batch` then keeps, per word, the output of its first
sub-token, as the Hub's token-classification models are trained to predict; :func:`map_tags`
maps the model's tag ids onto the dataset's tags.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from evaluators.errors import LabelMappingError, SequenceLengthError, TagFormatError
from evaluators.labels import describe_mapping, map_labels, normalize
from evaluators.ner import OUTSIDE, parse_tag

_GENERIC = re.compile(r"^LABEL_\d+$")
_PREFIXED = re.compile(r"^([bieslu]) (.+)$")  # a normalized tag: prefix, space, type
# Entity type names that mean the same type (conll2003's short names and the spelled-out ones).
_TYPE_ALIASES = (
    ("PER", "PERSON"),
    ("LOC", "LOCATION"),
    ("ORG", "ORGANIZATION", "ORGANISATION"),
    ("MISC", "MISCELLANEOUS"),
)
# A model's E-/L- (last word) and S-/U- (single word) tags read as IOB2 when the dataset has none.
_TO_IOB2 = {"E": "I", "L": "I", "S": "B", "U": "B"}


def first_subtoken_batch(
    word_ids: Sequence[Sequence[int | None]],
    token_predictions: npt.NDArray[Any],
    n_words: Sequence[int],
    *,
    fill: Any,
) -> tuple[list[npt.NDArray[Any]], list[int]]:
    """Per sentence, one prediction per word: the row of the word's first sub-token.

    ``token_predictions`` has shape ``(sentences, tokens, ...)`` (tag ids, confidences, logits);
    ``word_ids[i]`` names the word of each of sentence ``i``'s tokens. A word with no sub-token,
    cut by truncation (or read as nothing by the tokenizer), gets ``fill``: pass the model's id
    of ``O`` for tag ids, so that the word counts as predicted outside any entity, and e.g. 0.0
    for confidences. Returns the per-word arrays and, per sentence, how many words got ``fill``.

    Example:
        >>> preds = np.array([[0, 3, 4, 1, 0], [0, 2, 0, 0, 0]])
        >>> first_subtoken_batch([[None, 0, 0, 1, None], [None, 0, None, None, None]], preds,
        ...                      [2, 3], fill=0)
        ([array([3, 1]), array([2, 0, 0])], [0, 2])

    Raises:
        SequenceLengthError: shapes that disagree, or a word id outside ``0..n_words-1``.
    """
    preds = np.asarray(token_predictions)
    if preds.ndim < 2 or len(preds) != len(word_ids) or len(n_words) != len(word_ids):
        raise SequenceLengthError(
            f"{len(word_ids)} word id lists, {len(n_words)} word counts and predictions of shape "
            f"{preds.shape}: give (sentences, tokens, ...) predictions, one row per sentence"
        )
    if not word_ids:
        return [], []
    tokens = preds.shape[1]
    ids = np.full((len(word_ids), tokens), -1, dtype=np.int64)
    for i, row in enumerate(word_ids):
        if len(row) != tokens:
            raise SequenceLengthError(
                f"sentence {i} has {len(row)} word ids but {tokens} token predictions: pass "
                "encoding.word_ids() of the padded batch the model ran on",
                sentence=i,
            )
        ids[i] = [-1 if w is None else w for w in row]
    counts = np.asarray(n_words, dtype=np.int64)
    bad = (ids < -1) | (ids >= counts[:, None])
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        raise SequenceLengthError(
            f"sentence {i} has word ids outside 0..{counts[i] - 1}: its word count or word ids "
            "belong to another sentence",
            sentence=i,
        )
    starts = np.concatenate([[0], np.cumsum(counts)])
    rows, cols = np.nonzero(ids >= 0)  # row-major: a word's first sub-token comes first
    words, first = np.unique(starts[rows] + ids[rows, cols], return_index=True)
    out = np.empty((int(starts[-1]), *preds.shape[2:]), dtype=preds.dtype)
    out[...] = fill
    out[words] = preds[rows[first], cols[first]]
    found = np.bincount(rows[first], minlength=len(word_ids))
    cut = (counts - found).tolist()
    return np.split(out, starts[1:-1]), cut


def first_subtoken(
    word_ids: Sequence[int | None],
    token_predictions: npt.NDArray[Any],
    n_words: int,
    *,
    fill: Any,
) -> tuple[npt.NDArray[Any], int]:
    """:func:`first_subtoken_batch` for one sentence: its per-word predictions and cut words.

    Example:
        >>> first_subtoken([None, 0, 0, 1, None], np.array([0, 3, 4, 1, 0]), 3, fill=0)
        (array([3, 1, 0]), 1)
    """
    preds, cut = first_subtoken_batch(
        [word_ids], np.asarray(token_predictions)[None], [n_words], fill=fill
    )
    return preds[0], cut[0]


@dataclass(frozen=True)
class TagMapping:
    """How a model's tags map onto a dataset's.

    ``ids``: model tag id → dataset tag index; ``description``: model tag → dataset tag, for
    storing and for the card; ``notes``: each reading other than by name, in words.
    """

    ids: dict[int, int]
    description: dict[str, str]
    notes: tuple[str, ...]


def map_tags(
    repo_id: str,
    model_id2label: Mapping[int, str],
    dataset_tags: Sequence[str],
    *,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> TagMapping:
    """Map a token classifier's ``id2label`` onto a dataset's tags (``O``, ``B-PER``, ...).

    Rules, in order:

    1. generic labels ``LABEL_0..LABEL_{n-1}`` are the dataset's tags in its order, when the
       counts agree (as :func:`evaluators.labels.map_labels`); a note says so;
    2. a tag written exactly as a dataset tag is that tag; otherwise case and runs of
       spaces, ``_`` and ``-`` are ignored (``b_per`` is ``B-PER``);
    3. entity types also match through ``aliases`` (dataset type → other names; the key ``O``
       names the outside tag) and the built-in pairs ``PERSON``/``PER``,
       ``LOCATION``/``LOC``, ``ORGANIZATION``/``ORG``, ``MISCELLANEOUS``/``MISC``;
    4. a plain type (``PER``, IOB1 models without prefixes) is the dataset's ``I-PER``: the
       default scoring reads an ``I-`` after ``O`` or another type as a new entity, so a run of
       ``PER`` is one entity (apply :func:`evaluators.ner.to_iob2` before strict scoring);
       ``E-``/``L-`` and ``S-``/``U-`` tags are ``I-`` and ``B-`` when the dataset has no such
       prefix. Each such reading is noted.

    A model that never predicts some dataset tags is fine.

    Example:
        >>> tags = ["O", "B-PER", "I-PER", "B-LOC"]
        >>> m = map_tags("org/m", {0: "O", 1: "PERSON", 2: "b-loc"}, tags)
        >>> m.ids, m.description
        ({0: 0, 1: 2, 2: 3}, {'O': 'O', 'PERSON': 'I-PER', 'b-loc': 'B-LOC'})

    Raises:
        InsufficientMetadataError: no labels, or generic labels whose count differs.
        LabelMappingError: tags that match no dataset tag, or two model tags of one meaning.
        TagFormatError: a dataset tag that is not ``O`` nor a prefixed type.
    """
    try:
        parsed = [parse_tag(tag) for tag in dataset_tags]
    except TagFormatError as e:
        raise TagFormatError(
            e.tag, "the dataset's tags must be 'O' or B-, I-, E- or S- and an entity type"
        ) from e
    if not model_id2label or all(_GENERIC.match(str(t)) for t in model_id2label.values()):
        generic = map_labels(repo_id, model_id2label, dataset_tags)
        note = f"generic labels read as the dataset's tags in its order: {', '.join(dataset_tags)}"
        return TagMapping(generic, describe_mapping(model_id2label, generic, dataset_tags), (note,))

    index = {p: i for i, p in enumerate(parsed)}
    type_of = _type_lookup(sorted({t for _, t in parsed if t}), aliases or {})
    outside_names = {normalize(OUTSIDE), *(normalize(a) for a in (aliases or {}).get(OUTSIDE, ()))}
    ids: dict[int, int] = {}
    meanings: dict[tuple[str | None, str], list[str]] = {}
    notes: list[str] = []
    unmatched: list[str] = []
    for model_id, label in sorted(model_id2label.items()):
        name = normalize(str(label))
        if str(label) in dataset_tags:
            target = dataset_tags.index(str(label))
            meaning: tuple[str | None, str] = parsed[target]
        elif name in outside_names and (OUTSIDE, "") in index:
            target, meaning = index[OUTSIDE, ""], (OUTSIDE, "")
        else:
            found, meaning, note = _match(name, type_of, index)
            if found is None:
                unmatched.append(str(label))
                continue
            target = found
            if note:
                notes.append(f"{label} read as {dataset_tags[target]}: {note}")
        ids[int(model_id)] = target
        meanings.setdefault(meaning, []).append(str(label))
    if unmatched:
        raise LabelMappingError(repo_id, unmatched, list(dataset_tags))
    clashes = sorted(label for labels in meanings.values() if len(labels) > 1 for label in labels)
    if clashes:
        raise LabelMappingError(repo_id, clashes, list(dataset_tags))
    return TagMapping(ids, describe_mapping(model_id2label, ids, dataset_tags), tuple(notes))


def _type_lookup(types: Sequence[str], aliases: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Normalized type name → dataset type: names first, then module aliases, then built-ins."""
    lookup = {normalize(t): t for t in types}
    for t in types:
        for alias in aliases.get(t, ()):
            lookup.setdefault(normalize(alias), t)
    for t in types:
        for group in _TYPE_ALIASES:
            if normalize(t) in map(normalize, group):
                for other in group:
                    lookup.setdefault(normalize(other), t)
    return lookup


def _match(
    name: str, type_of: Mapping[str, str], index: Mapping[tuple[str, str], int]
) -> tuple[int | None, tuple[str | None, str], str]:
    """Dataset tag index of one normalized model tag, its meaning (prefix, type), and a note."""
    prefixed = _PREFIXED.match(name)
    prefix, raw_type = (prefixed.group(1).upper(), prefixed.group(2)) if prefixed else (None, name)
    type_ = type_of.get(raw_type)
    if type_ is None:
        return None, (prefix, raw_type), ""
    if prefix is None:
        note = "a plain type is an I- tag; I- after O or another type begins an entity"
        return index.get(("I", type_)), (None, type_), note
    if (prefix, type_) in index:
        return index[prefix, type_], (prefix, type_), ""
    if prefix in _TO_IOB2 and (_TO_IOB2[prefix], type_) in index:
        return index[_TO_IOB2[prefix], type_], (prefix, type_), f"{prefix}- read as IOB2"
    return None, (prefix, type_), ""
