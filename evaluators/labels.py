"""Map a model's ``id2label`` onto a dataset's class names.

Rules, in order (thesis 5.3, the label cases that made 18.8% of evaluations fail):
1. generic labels ``LABEL_0..LABEL_{n-1}`` mean dataset class ``i``, when the counts agree and
   the module allows it (``positional_labels``: NLI models come with their classes in several
   orders, so there generic labels are refused);
2. otherwise each model label matches a dataset label or one of its YAML aliases, ignoring case,
   surrounding whitespace, and runs of spaces/underscores/hyphens; the common spellings of the
   NLI and paraphrase classes (:data:`SYNONYMS`: ``ENTAILMENT``, ``entails``, ``contradictory``,
   ``not_duplicate``...) match the dataset label they name, in whatever order the model has them;
3. a model label set that is a subset of the dataset's is fine (those classes are never
   predicted); anything unmatched or ambiguous is a :class:`LabelMappingError` listing the labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from evaluators.errors import InsufficientMetadataError, LabelMappingError

_GENERIC = re.compile(r"^LABEL_(\d+)$")
_SEPARATORS = re.compile(r"[\s_\-]+")

# One class each, as NLI (MNLI, RTE, XNLI, SNLI, ANLI...) and paraphrase (MRPC, QQP, PAWS) models
# and datasets spell it; normalised (see `normalize`). A model label and a dataset label in one
# group name the same class.
SYNONYMS: tuple[frozenset[str], ...] = (
    frozenset({"entailment", "entails", "entailed", "entail", "entailing"}),
    frozenset(
        {
            "not entailment",
            "non entailment",
            "no entailment",
            "not entailed",
            "not entails",
            "not entail",
            "nonentailment",
        }
    ),
    frozenset({"neutral"}),
    frozenset({"contradiction", "contradictory", "contradicts", "contradicted", "contradict"}),
    frozenset(
        {
            "equivalent",
            "paraphrase",
            "paraphrases",
            "is paraphrase",
            "duplicate",
            "is duplicate",
            "duplicates",
        }
    ),
    frozenset(
        {
            "not equivalent",
            "non equivalent",
            "not paraphrase",
            "not a paraphrase",
            "no paraphrase",
            "non paraphrase",
            "not duplicate",
            "non duplicate",
            "not duplicates",
        }
    ),
)
_GROUP = {name: group for group in SYNONYMS for name in group}


def normalize(label: str) -> str:
    return _SEPARATORS.sub(" ", label.strip()).casefold()


def synonyms(label: str) -> frozenset[str]:
    """The normalised spellings of the class ``label`` names (itself alone when it has none).

    Example:
        >>> sorted(synonyms("CONTRADICTION"))[:2]
        ['contradict', 'contradicted']
    """
    name = normalize(label)
    return _GROUP.get(name, frozenset({name}))


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
    positional: bool = True,
) -> dict[int, int]:
    """Return ``{model class index: dataset class index}``.

    ``positional``: whether generic ``LABEL_N`` labels map to dataset class ``N`` (a module's
    ``positional_labels``).

    Example:
        >>> map_labels("org/m", {0: "NEG", 1: "pos"}, ["neg", "pos"])
        {0: 0, 1: 1}
        >>> map_labels("org/m", {0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"},
        ...            ["entailment", "neutral", "contradiction"])
        {0: 2, 1: 1, 2: 0}

    Raises:
        InsufficientMetadataError: no labels, generic labels whose count differs, or generic
            labels where the module refuses them (``positional`` false).
        LabelMappingError: labels that match no dataset label (listed), or two model labels
            mapping onto one dataset class.
    """
    if not id2label:
        raise InsufficientMetadataError(repo_id, "the model config has no id2label")
    generic = {i: _GENERIC.match(str(label)) for i, label in id2label.items()}
    if all(generic.values()):
        if not positional:
            raise InsufficientMetadataError(
                repo_id,
                f"the model's labels {sorted(map(str, id2label.values()))[:6]} are generic and "
                f"models trained on this dataset order its classes {list(dataset_labels)} in "
                "several ways, so they cannot be matched by position; the model's author "
                "should set id2label and label2id in config.json to the class names, e.g. "
                f'{{"0": "{dataset_labels[0]}", ...}} in the order the model was trained with',
            )
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
    for position, label in enumerate(dataset_labels):  # exact names and aliases come first
        for name in synonyms(label):
            lookup.setdefault(name, position)

    in_order = _by_position(id2label, dataset_labels, lookup)
    if in_order is not None:
        return in_order
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
