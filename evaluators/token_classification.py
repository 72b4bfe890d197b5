"""Token classification (named entities): a split of tagged sentences, a transformers token
classifier that predicts one tag per word, and the sentences the Space shows.

A split keeps each sentence's tags in memory (dataset tag indices, in the module's
``dataset.labels`` order) and reads its words from the ``datasets`` cache batch by batch; a
perturbed variant perturbs each sentence's words and tags together as they are read
(:meth:`perturbations.Perturbation.apply_words`, item index = sentence index), so word dropout
keeps the tags aligned.

A model predicts per sub-token; each word takes its first sub-token's tag and softmax confidence
(:func:`evaluators.ner_align.first_subtoken_batch`); a word cut by truncation is predicted ``O``
with confidence 0.

Example:
    >>> split = load_tagged_split(module, revision)  # doctest: +SKIP
    >>> model = TokenClassifier.load("org/ner", folder, torch.device("cpu"))  # doctest: +SKIP
    >>> predicted = predict_split(model, split, options)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import datasets
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import torch

from evaluators.datasets_io import DatasetError, load_rows
from evaluators.errors import TagFormatError
from evaluators.labels import model_labels
from evaluators.loading import load_config, load_tokenizer, load_transformers_model
from evaluators.ner import OUTSIDE, Span, parse_tag, spans
from evaluators.ner_align import first_subtoken_batch
from evaluators.predictions import Options, autocast
from evaluators.progress import tracked
from evaluators.streaming import Column
from store.types import DatasetExampleRecord

if TYPE_CHECKING:
    from evaluators.config import EvaluationModule
    from perturbations import Perturbation

EXAMPLES_PER_TYPE = 5
SNIPPET = 300  # characters, as evaluators.metadata.SNIPPET


def entity_types(tags: Sequence[str]) -> list[str]:
    """The entity types of IOB2 tag names, in order of first appearance: the class ids.

    Example:
        >>> entity_types(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
        ['PER', 'LOC']
    """
    return list(dict.fromkeys(parse_tag(tag)[1] for tag in tags if tag != OUTSIDE))


def check_tags(tags: Sequence[str]) -> None:
    """Check that ``tags`` (a module's ``dataset.labels``) are IOB2 tag names.

    Raises:
        ValueError: a name that is not ``O``, ``B-TYPE`` or ``I-TYPE``, a repeated name, no
            ``O``, or an ``I-`` tag without its ``B-`` tag; the message says what to write.
    """
    bad = []
    for tag in tags:
        try:
            prefix, _ = parse_tag(tag)
        except TagFormatError:
            prefix = "?"
        if prefix not in ("O", "B", "I"):
            bad.append(tag)
    if bad:
        raise ValueError(
            f"dataset.labels: {bad} are not IOB2 tag names; list the dataset's tags in its "
            "ClassLabel order as 'O', 'B-TYPE' and 'I-TYPE' (B-PER, I-PER)"
        )
    repeated = sorted({t for t in tags if list(tags).count(t) > 1})
    if repeated:
        raise ValueError(f"dataset.labels: {repeated} are listed twice; list each tag once")
    if OUTSIDE not in tags:
        raise ValueError("dataset.labels: no 'O' tag; list the outside tag 'O' too")
    lonely = [t for t in tags if t.startswith("I-") and f"B-{t[2:]}" not in tags]
    if lonely:
        raise ValueError(f"dataset.labels: {lonely} have no B- tag; list B-TYPE beside I-TYPE")


_PREFIX = re.compile(r"^[BIESLU][-_ ]", re.IGNORECASE)


def type_aliases(label_aliases: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """A module's ``label_aliases`` (keyed by dataset tags) as entity type aliases, the way
    :func:`evaluators.ner_align.map_tags` reads them: ``O`` stays ``O``; a tag's entity type gets
    the alias with any ``B-``/``I-`` prefix removed.

    Example:
        >>> type_aliases({"B-MISC": ["B-OTHER"], "I-MISC": ["I-OTHER"], "O": ["outside"]})
        {'MISC': ['OTHER'], 'O': ['outside']}
    """
    out: dict[str, list[str]] = {}
    for tag, aliases in label_aliases.items():
        key = tag if tag == OUTSIDE else parse_tag(tag)[1]
        names = out.setdefault(key, [])
        for alias in aliases:
            name = alias if tag == OUTSIDE else _PREFIX.sub("", alias)
            if name not in names:
                names.append(name)
    return out


@dataclass(frozen=True)
class TaggedSplit:
    """Sentences to evaluate on: their tags in memory, their words read on access.

    ``words`` is a :class:`~evaluators.streaming.Column` of word lists (any sequence of word
    lists does); ``tags`` holds each sentence's dataset tag indices into ``tag_names``. A
    perturbed variant (``perturbation`` set) perturbs words and tags as they are :meth:`read`.
    """

    dataset_id: str
    revision: str
    split: str
    words: Sequence[Any]
    tags: tuple[npt.NDArray[np.int64], ...]
    tag_names: tuple[str, ...]
    perturbation: Perturbation | None = None
    seed: int = 0

    def __len__(self) -> int:
        return len(self.tags)

    def entity_counts(self) -> list[int]:
        """Entities per type of the clean split, in :func:`entity_types` order."""
        types = entity_types(self.tag_names)
        counts = dict.fromkeys(types, 0)
        for index in range(len(self)):
            for span in _entities(self, index):
                counts[span.type] += 1
        return [counts[t] for t in types]

    def perturbed(self, perturbation: Perturbation, *, seed: int) -> TaggedSplit:
        """This split as ``perturbation`` makes it, words and tags perturbed as they are read."""
        return dataclasses.replace(self, perturbation=perturbation, seed=seed)

    def read(self, rows: Sequence[int]) -> tuple[list[list[str]], list[list[int]]]:
        """The words and tag indices of sentences ``rows`` (perturbed for a variant)."""
        rows = [int(i) for i in rows]
        if isinstance(self.words, Column):
            words = [list(w or ()) for w in self.words.raw(rows)] if rows else []
        else:
            words = [list(self.words[i]) for i in rows]
        tags = [self.tags[i].tolist() for i in rows]
        if self.perturbation is None:
            return words, tags
        out_words, out_tags = [], []
        for i, w, t in zip(rows, words, tags, strict=True):
            new_words, new_tags = self.perturbation.apply_words(
                w, t, seed=self.seed, index=i, labels=self.tag_names
            )
            out_words.append(new_words)
            out_tags.append([int(x) for x in new_tags])
        return out_words, out_tags


def load_tagged_split(module: EvaluationModule, revision: str) -> TaggedSplit:
    """``module.dataset`` at ``revision`` (limited to ``module.limit`` sentences): its tags read,
    its words left in the ``datasets`` cache.

    Tags are ``ClassLabel`` ids (whose names must be ``dataset.labels``, any order), tag names,
    or plain ids, read as indices into ``dataset.labels``.

    Raises:
        DatasetError: a column is missing, tags differ from ``dataset.labels``, or a sentence
            has not one tag per word.
    """
    ref = module.dataset
    ds = load_rows(module, revision)
    tokens, tags = ref.columns.role("tokens"), ref.columns.role("tags")
    words_per_sentence = _lengths(_list_column(module, ds, tokens))
    tag_lists = _list_column(module, ds, tags)
    lengths = _lengths(tag_lists)
    ids = _tag_ids(module, ds.features[tags], tag_lists.flatten())
    uneven = np.flatnonzero(lengths != words_per_sentence)
    if uneven.size:
        i = int(uneven[0])
        raise DatasetError(
            f"{ref.repo}: sentence {i} has {words_per_sentence[i]} words in '{tokens}' but "
            f"{lengths[i]} tags in '{tags}'; fix dataset.columns in the module '{module.id}'",
            module=module.id,
        )
    return TaggedSplit(
        dataset_id=ref.repo,
        revision=revision,
        split=ref.split,
        words=Column(ds, tokens, image=False),
        tags=tuple(np.split(ids, np.cumsum(lengths)[:-1])) if len(lengths) else (),
        tag_names=tuple(ref.labels),
    )


def _list_column(module: EvaluationModule, ds: datasets.Dataset, name: str) -> pa.Array:
    """A column holding one list per sentence, as one Arrow list array."""
    column = ds.select_columns([name]).with_format("arrow")[:][name]
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)):
        raise DatasetError(
            f"{module.dataset.repo}: column '{name}' holds {array.type}, not one list per "
            f"sentence; fix dataset.columns in the module '{module.id}'",
            module=module.id,
        )
    return array


def _lengths(array: pa.Array) -> npt.NDArray[np.int64]:
    """Each row's length (0 for a missing one)."""
    return np.asarray(array.value_lengths().fill_null(0).to_numpy(), dtype=np.int64)


def _tag_ids(module: EvaluationModule, feature: Any, values: pa.Array) -> npt.NDArray[np.int64]:
    """Dataset tag values as indices into ``dataset.labels``."""
    ref = module.dataset
    wanted = {name: i for i, name in enumerate(ref.labels)}
    inner = getattr(feature, "feature", None)
    if isinstance(inner, datasets.ClassLabel):
        if sorted(inner.names) != sorted(wanted):
            raise DatasetError(
                f"{ref.repo}: tag names {inner.names[:13]} differ from dataset.labels "
                f"{ref.labels[:13]} in the module '{module.id}'",
                module=module.id,
            )
        remap = np.array([wanted[n] for n in inner.names], dtype=np.int64)
        return remap[np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)]
    if pa.types.is_integer(values.type):
        ids = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= len(wanted)):
            raise DatasetError(
                f"{ref.repo}: tag ids {int(ids.min())}..{int(ids.max())} are not indices of the "
                f"{len(wanted)} dataset.labels of the module '{module.id}'",
                module=module.id,
            )
        return ids
    names = [str(v) for v in values.to_pylist()]
    unknown = sorted(set(names) - set(wanted))
    if unknown:
        raise DatasetError(
            f"{ref.repo}: tags {unknown[:10]} are not in dataset.labels of '{module.id}'",
            module=module.id,
        )
    return np.array([wanted[n] for n in names], dtype=np.int64)


@dataclass
class TokenClassifier:
    """A transformers token classifier with its fast tokenizer, on its device."""

    repo_id: str
    model: torch.nn.Module
    tokenizer: Any
    id2label: dict[int, str]
    device: torch.device

    @classmethod
    def load(cls, repo_id: str, path: Path, device: torch.device) -> TokenClassifier:
        """Load from a local snapshot; safetensors only, never remote code.

        Raises:
            InsufficientMetadataError: no usable config, labels or fast tokenizer (words are
                placed by the tokenizer's word ids, which only fast tokenizers give).
            IncompatibleLibraryError: the architecture is not a token classifier.
            EvaluationError: any other load failure (reason ``load error``).
        """
        from transformers import AutoModelForTokenClassification

        config = load_config(repo_id, path)
        id2label = model_labels(repo_id, getattr(config, "id2label", None))
        tokenizer = load_tokenizer(
            repo_id,
            path,
            fast_for="word ids, by which sub-tokens map back to words",
            split_words=True,
        )
        model = load_transformers_model(
            repo_id,
            AutoModelForTokenClassification,
            path,
            config,
            kind="a token classifier",
            device=device,
        )
        return cls(
            repo_id=repo_id, model=model, tokenizer=tokenizer, id2label=id2label, device=device
        )

    def max_tokens(self, max_length: int) -> int:
        """``max_length``, never more than the model's positions."""
        positions = getattr(getattr(self.model, "config", None), "max_position_embeddings", None)
        if isinstance(positions, int) and positions > 0:
            return min(max_length, positions)
        return max_length

    @torch.inference_mode()
    def predict_words(
        self, sentences: list[list[str]], max_length: int
    ) -> tuple[list[npt.NDArray[np.int64]], list[npt.NDArray[np.float32]]]:
        """Per sentence, each word's predicted model tag id (-1 for a word cut by truncation)
        and its softmax confidence (0 for a cut word)."""
        batch = self.tokenizer(
            sentences,
            is_split_into_words=True,
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        word_ids = [batch.word_ids(i) for i in range(len(sentences))]
        logits = self.model(**batch.to(self.device)).logits.float()
        conf, pred = torch.softmax(logits, dim=-1).max(dim=-1)
        n_words = [len(s) for s in sentences]
        ids, _ = first_subtoken_batch(word_ids, pred.cpu().numpy(), n_words, fill=-1)
        confidences, _ = first_subtoken_batch(word_ids, conf.cpu().numpy(), n_words, fill=0.0)
        return ids, confidences


@dataclass(frozen=True)
class WordPredictions:
    """A split's tags as read (perturbed for a variant) and the predictions, per sentence."""

    true: list[list[int]]  # dataset tag indices
    predicted: list[npt.NDArray[np.int64]]  # model tag ids, -1 for words cut by truncation
    confidences: list[npt.NDArray[np.float32]]
    seconds: float  # reading, perturbing, tokenizing and forward passes


def length_order(lengths: Sequence[int]) -> npt.NDArray[np.intp]:
    """Sentences by word count (stable), so a batch holds sentences of similar length."""
    return np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")


def predict_split(model: TokenClassifier, split: TaggedSplit, options: Options) -> WordPredictions:
    """Predict every sentence of ``split``, in batches of similar length, reporting progress."""
    n = len(split)
    order = length_order([len(t) for t in split.tags])
    true: list[list[int]] = [[] for _ in range(n)]
    predicted: list[npt.NDArray[np.int64]] = [np.zeros(0, dtype=np.int64)] * n
    confidences: list[npt.NDArray[np.float32]] = [np.zeros(0, dtype=np.float32)] * n
    max_length = model.max_tokens(options.max_length)
    start = time.perf_counter()
    with autocast(model.device, options.precision), tracked(n) as advance:
        for lo in range(0, n, options.batch_size):
            rows = order[lo : lo + options.batch_size].tolist()
            words, tags = split.read(rows)
            ids, conf = model.predict_words(words, max_length)
            for k, i in enumerate(rows):
                true[i], predicted[i], confidences[i] = tags[k], ids[k], conf[k]
            advance(len(rows))
    if model.device.type == "cuda":
        torch.cuda.synchronize(model.device)
    return WordPredictions(true, predicted, confidences, time.perf_counter() - start)


def marked(words: Sequence[str], tags: Sequence[str]) -> str:
    """A sentence with its entities marked, cut to ``SNIPPET`` characters.

    Example:
        >>> marked(["Obama", "visited", "Paris"], ["B-PER", "O", "B-LOC"])
        '[Obama]PER visited [Paris]LOC'
    """
    out = list(words)
    for span in spans(tags):
        out[span.start] = "[" + out[span.start]
        out[span.end - 1] = f"{out[span.end - 1]}]{span.type}"
    return " ".join(out)[:SNIPPET]


def _entities(split: TaggedSplit, index: int) -> list[Span]:
    return spans([split.tag_names[t] for t in split.tags[index].tolist()])


def _record(
    split: TaggedSplit, index: int, class_id: int, label: str, text: str
) -> DatasetExampleRecord:
    return DatasetExampleRecord(
        dataset_id=split.dataset_id,
        split=split.split,
        class_id=class_id,
        label=label,
        example_id=index,
        text=text,
    )


def _texts(split: TaggedSplit, indices: Sequence[int]) -> dict[int, str]:
    words, tags = split.read(indices)
    return {
        i: marked(w, [split.tag_names[t] for t in ts])
        for i, w, ts in zip(indices, words, tags, strict=True)
    }


def tagged_examples(
    split: TaggedSplit, per_type: int = EXAMPLES_PER_TYPE
) -> list[DatasetExampleRecord]:
    """Up to ``per_type`` sentences showing each entity type, in split order (a sentence counts
    for its first type that still needs one); ``class_id`` is the type's index in
    :func:`entity_types`."""
    types = entity_types(split.tag_names)
    taken = dict.fromkeys(types, 0)
    chosen: list[tuple[int, str]] = []
    for index in range(len(split)):
        if all(n >= per_type for n in taken.values()):
            break
        present = [s.type for s in _entities(split, index) if taken[s.type] < per_type]
        if present:
            taken[present[0]] += 1
            chosen.append((index, present[0]))
    texts = _texts(split, [i for i, _ in chosen])
    return [_record(split, i, types.index(t), t, texts[i]) for i, t in chosen]


def tagged_error_examples(
    split: TaggedSplit, example_ids: Iterable[int]
) -> list[DatasetExampleRecord]:
    """The sentences behind stored wrong entities: one record per entity type in the sentence
    (a stored error names its true type), or, for a sentence without entities, one of the
    outside class ``O`` (``class_id`` = the number of entity types)."""
    types = entity_types(split.tag_names)
    indices = sorted(set(example_ids))
    texts = _texts(split, indices)
    out = []
    for i in indices:
        present = list(dict.fromkeys(s.type for s in _entities(split, i)))
        for type_ in present or [OUTSIDE]:
            class_id = types.index(type_) if type_ != OUTSIDE else len(types)
            out.append(_record(split, i, class_id, type_, texts[i]))
    return out
