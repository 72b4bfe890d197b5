"""Map a model's ``id2label`` onto a dataset's class names.

Rules, in order (thesis 5.3, the label cases that made 18.8% of evaluations fail):
1. generic labels ``LABEL_0..LABEL_{n-1}`` mean dataset class ``i``, when the counts agree;
2. otherwise each model label matches a dataset label or one of its YAML aliases, ignoring case,
   surrounding whitespace, and runs of spaces/underscores/hyphens;
3. a model label set that is a subset of the dataset's is fine (those classes are never
   predicted); anything unmatched or ambiguous is a :class:`LabelMappingError` listing the labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from evaluators.errors import InsufficientMetadataError, LabelMappingError

_GENERIC = re.compile(r"^LABEL_(\d+)$")
_SEPARATORS = re.compile(r"[\s_\-]+")


def normalize(label: str) -> str:
    return _SEPARATORS.sub(" ", label.strip()).casefold()


def model_labels(repo_id: str, id2label: object) -> dict[int, str]:
    """A classifier config's ``id2label`` as ``{class index: label}``; numbers read as text.

    Example:
        >>> model_labels("org/m", {"0": "neg", "1": 5})
        {0: 'neg', 1: '5'}

    Raises:
        InsufficientMetadataError: not a mapping, ids other than the integers 0..n-1 (the
            classifier's outputs), or labels that are not text or numbers.
    """
    if not id2label:
        return {}
    if not isinstance(id2label, Mapping):
        raise InsufficientMetadataError(repo_id, "id2label in config.json is not a mapping")
    try:
        ids = sorted(int(i) for i in id2label)
    except (TypeError, ValueError):
        ids = []
    if ids != list(range(len(id2label))):
        keys = sorted(map(str, id2label))[:10]
        raise InsufficientMetadataError(
            repo_id, f"id2label ids {keys} are not 0..{len(id2label) - 1}, one per class output"
        )
    bad = [
        v for v in id2label.values() if isinstance(v, bool) or not isinstance(v, str | int | float)
    ]
    if bad:
        raise InsufficientMetadataError(repo_id, f"id2label labels {bad[:10]} are not names")
    return {int(i): str(label) for i, label in id2label.items()}


def map_labels(
    repo_id: str,
    id2label: Mapping[int, str],
    dataset_labels: Sequence[str],
    *,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> dict[int, int]:
    """Return ``{model class index: dataset class index}``.

    Example:
        >>> map_labels("org/m", {0: "NEG", 1: "pos"}, ["neg", "pos"])
        {0: 0, 1: 1}

    Raises:
        InsufficientMetadataError: no labels, or generic labels whose count differs.
        LabelMappingError: labels that match no dataset label (listed), or two model labels
            mapping onto one dataset class.
    """
    if not id2label:
        raise InsufficientMetadataError(repo_id, "the model config has no id2label")
    generic = {i: _GENERIC.match(str(label)) for i, label in id2label.items()}
    if all(generic.values()):
        if len(id2label) != len(dataset_labels):
            raise InsufficientMetadataError(
                repo_id,
                f"the model has {len(id2label)} generic labels (LABEL_N) but the dataset has "
                f"{len(dataset_labels)} classes, so they cannot be matched by position",
            )
        by_position = {i: int(m.group(1)) for i, m in generic.items() if m}
        if sorted(by_position.values()) != list(range(len(dataset_labels))):
            raise InsufficientMetadataError(
                repo_id, f"generic labels are not LABEL_0..LABEL_{len(dataset_labels) - 1}"
            )
        return by_position

    lookup: dict[str, int] = {}
    for position, label in enumerate(dataset_labels):
        lookup[normalize(label)] = position
        for alias in (aliases or {}).get(label, ()):
            lookup.setdefault(normalize(alias), position)

    positional = _by_position(id2label, dataset_labels, lookup)
    if positional is not None:
        return positional
    mapping: dict[int, int] = {}
    unmatched: list[str] = []
    for i, label in sorted(id2label.items()):
        index = lookup.get(normalize(str(label)))
        if index is None:
            unmatched.append(str(label))
        else:
            mapping[int(i)] = index
    if unmatched:
        raise LabelMappingError(repo_id, unmatched, list(dataset_labels))
    targets = list(mapping.values())
    if len(set(targets)) != len(targets):
        clashes = sorted({str(id2label[i]) for i, t in mapping.items() if targets.count(t) > 1})
        raise LabelMappingError(repo_id, clashes, list(dataset_labels))
    return mapping


def _by_position(
    id2label: Mapping[int, str], dataset_labels: Sequence[str], lookup: Mapping[str, int]
) -> dict[int, int] | None:
    """Identity mapping when the model names the dataset's classes in the dataset's order.

    A label that the model uses twice (ImageNet's two "crane" classes) can only be identified
    by its position; it is accepted there when its name is one of the dataset's labels.
    """
    if sorted(id2label) != list(range(len(dataset_labels))):
        return None
    names = [normalize(str(id2label[i])) for i in range(len(dataset_labels))]
    repeated = {n for n in names if names.count(n) > 1}
    if not repeated:
        return None  # names alone decide, below
    for i, name in enumerate(names):
        if lookup.get(name) != i and not (name in repeated and name in lookup):
            return None
    return {i: i for i in range(len(dataset_labels))}


def describe_mapping(
    id2label: Mapping[int, str], mapping: Mapping[int, int], dataset_labels: Sequence[str]
) -> dict[str, str]:
    """``{model label: dataset label}`` for storing and for the card."""
    return {str(id2label[i]): dataset_labels[j] for i, j in sorted(mapping.items())}
