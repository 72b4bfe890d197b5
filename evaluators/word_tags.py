"""Token classification scored word by word (a module's ``tagging: words``): part-of-speech
tagging, where every word's tag is one class and there are no entities.

Tags are classes: each word counts once, under its reference tag, and the metrics are those of
single-label classification (:mod:`evaluators.metrics`) over the split's words, flattened:
word accuracy, per-tag precision/recall/F1/support and their macro and weighted averages, as
scikit-learn's ``classification_report`` over the words. A word cut by truncation has no
prediction: it is wrong (an FN of its tag), and the stored confusion matrix gives it a last
column, "no prediction" (with a last row of zeros, so that the matrix stays square).

Model tags map to the dataset's by name, ignoring case and separators (``PROPN``, ``propn``),
through the module's ``label_aliases``, and generic ``LABEL_N`` tags by position where the module
allows it (``positional_labels``), as :func:`evaluators.labels.map_labels` maps class labels.

Example:
    >>> import numpy as np
    >>> metrics, classes, matrix = score_words([[0, 1], [2]], [np.array([0, 1]), np.array([1])],
    ...                                        ["NOUN", "VERB", "DET"])
    >>> metrics["accuracy"], [c.f1 for c in classes]
    (0.6666666666666666, [1.0, 0.6666666666666666, 0.0])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evaluators.errors import InsufficientMetadataError
from evaluators.labels import describe_mapping, map_labels
from evaluators.metrics import class_results, confusion_matrix, dataset_metrics
from evaluators.token_classification import SNIPPET, TaggedSplit
from store.types import ClassResult, DatasetExampleRecord, Misclassification

NO_PREDICTION = "(no prediction)"  # the confusion matrix's last column: words cut by truncation
EXAMPLES_PER_TAG = 5
WRONG_PER_PAIR = 3  # most confident wrong words kept per (true, predicted) tag pair
WRONG_LIMIT = 500  # and overall


def check_word_tags(tags: Sequence[str]) -> None:
    """Check a ``tagging: words`` module's ``dataset.labels``: plain tag names, no IOB2 scheme.

    Raises:
        ValueError: fewer than two tags, or IOB2 entity tags (``B-PER``), with what to write.
    """
    if len(tags) < 2:
        raise ValueError("dataset.labels: list the dataset's word tags, at least 2")
    iob = [t for t in tags if t[:2] in ("B-", "I-")]
    if iob and len(iob) == len([t for t in tags if t != "O"]):
        raise ValueError(
            f"dataset.labels: {iob[:4]} are IOB2 entity tags; score them with "
            "'tagging: entities' (the default), or list plain word tags such as NOUN, VERB"
        )


@dataclass(frozen=True)
class WordTagMapping:
    """Model tag id -> dataset tag index, and the mapping as a card shows it."""

    ids: dict[int, int]
    description: dict[str, str]


def map_word_tags(
    repo_id: str,
    id2label: Mapping[int, str],
    tags: Sequence[str],
    *,
    aliases: Mapping[str, Sequence[str]] | None = None,
    positional: bool = True,
) -> WordTagMapping:
    """Map a tagger's ``id2label`` onto the dataset's word tags by name (see the module doc).

    Example:
        >>> m = map_word_tags("org/pos", {0: "propn", 1: "NOUN"}, ["NOUN", "PROPN", "VERB"])
        >>> m.ids, m.description
        ({0: 1, 1: 0}, {'propn': 'PROPN', 'NOUN': 'NOUN'})

    Raises:
        InsufficientMetadataError: no labels, or generic labels that cannot be read by position.
        LabelMappingError: tags that match no dataset tag, or two model tags of one dataset tag.
    """
    ids = map_labels(repo_id, id2label, tags, aliases=aliases, positional=positional)
    return WordTagMapping(ids, describe_mapping(id2label, ids, tags))


def dataset_tags(
    repo_id: str, predicted: Sequence[npt.NDArray[np.int64]], ids: Mapping[int, int]
) -> list[npt.NDArray[np.int64]]:
    """Per sentence, each word's predicted dataset tag index; -1 for a word cut by truncation.

    Raises:
        InsufficientMetadataError: the model predicts a tag id its ``id2label`` does not name.
    """
    top = max([-1, *(int(p.max(initial=-1)) for p in predicted), *ids])
    to_dataset = np.full(top + 2, -2, dtype=np.int64)
    for model_id, index in ids.items():
        to_dataset[model_id] = index
    to_dataset[-1] = -1  # -1: a word cut by truncation
    out = []
    for p in predicted:
        mapped = to_dataset[np.asarray(p, dtype=np.int64)]
        if (mapped < -1).any():
            raise InsufficientMetadataError(
                repo_id, "the model predicts tags that its id2label does not name"
            )
        out.append(mapped)
    return out


def score_words(
    true: Sequence[Sequence[int]], pred: Sequence[npt.NDArray[np.int64]], tags: Sequence[str]
) -> tuple[dict[str, float | None], tuple[ClassResult, ...], tuple[tuple[int, ...], ...]]:
    """Metrics, per-tag results (in ``tags`` order) and the confusion matrix of word tags.

    ``true`` holds dataset tag indices per sentence, ``pred`` predicted ones (-1: no
    prediction). The matrix has rows true tags, columns predicted tags, plus a last row and
    column for :data:`NO_PREDICTION`.
    """
    n = len(tags)
    y_true = np.fromiter((t for sentence in true for t in sentence), dtype=np.int64)
    y_pred = np.concatenate([np.asarray(p, dtype=np.int64) for p in pred] or [np.zeros(0, int)])
    y_pred = np.where(y_pred < 0, n, y_pred)
    matrix = confusion_matrix(y_true, y_pred, n + 1)
    classes = class_results(matrix, [*tags, NO_PREDICTION])[:n]
    metrics = dataset_metrics(classes)
    return metrics, classes, tuple(tuple(int(x) for x in row) for row in matrix)


def wrong_words(
    true: Sequence[Sequence[int]],
    pred: Sequence[npt.NDArray[np.int64]],
    confidences: Sequence[npt.NDArray[np.float32]],
    tags: Sequence[str],
) -> tuple[Misclassification, ...]:
    """The most confident wrongly tagged words, at most ``WRONG_PER_PAIR`` per (true,
    predicted) tag pair and ``WRONG_LIMIT`` in all; ``example_id`` is the sentence index."""
    wrong: list[tuple[float, int, int, int, int]] = []  # (-confidence, sentence, word, t, p)
    for i, (t, p, c) in enumerate(zip(true, pred, confidences, strict=True)):
        t_arr = np.asarray(t, dtype=np.int64)
        for j in np.flatnonzero((t_arr != p) & (p >= 0)).tolist():
            wrong.append((-float(c[j]), i, j, int(t_arr[j]), int(p[j])))
    kept: list[Misclassification] = []
    per_pair: dict[tuple[int, int], int] = {}
    for confidence, sentence, _, t_id, p_id in sorted(wrong):
        if per_pair.get((t_id, p_id), 0) >= WRONG_PER_PAIR:
            continue
        per_pair[(t_id, p_id)] = per_pair.get((t_id, p_id), 0) + 1
        kept.append(Misclassification(sentence, tags[t_id], tags[p_id], -confidence))
        if len(kept) >= WRONG_LIMIT:
            break
    return tuple(kept)


def tag_counts(split: TaggedSplit) -> list[int]:
    """Words per tag of the clean split, in ``tag_names`` order."""
    flat = np.concatenate([*split.tags, np.zeros(0, dtype=np.int64)])
    return np.bincount(flat, minlength=len(split.tag_names)).tolist()


def marked_words(words: Sequence[str], tags: Sequence[str]) -> str:
    """A sentence with each word's tag, cut to ``SNIPPET`` characters.

    Example:
        >>> marked_words(["The", "cat", "sat"], ["DET", "NOUN", "VERB"])
        'The/DET cat/NOUN sat/VERB'
    """
    return " ".join(f"{w}/{t}" for w, t in zip(words, tags, strict=True))[:SNIPPET]


def _texts(split: TaggedSplit, indices: Sequence[int]) -> dict[int, str]:
    words, tags = split.read(indices)
    return {
        i: marked_words(w, [split.tag_names[t] for t in ts])
        for i, w, ts in zip(indices, words, tags, strict=True)
    }


def _record(split: TaggedSplit, index: int, class_id: int, text: str) -> DatasetExampleRecord:
    return DatasetExampleRecord(
        dataset_id=split.dataset_id,
        split=split.split,
        class_id=class_id,
        label=split.tag_names[class_id],
        example_id=index,
        text=text,
    )


def word_tag_examples(
    split: TaggedSplit, per_tag: int = EXAMPLES_PER_TAG
) -> list[DatasetExampleRecord]:
    """Up to ``per_tag`` sentences showing each tag, in split order (a sentence counts for its
    first tag, in word order, that still needs one); ``class_id`` is the tag's index."""
    taken = [0] * len(split.tag_names)
    chosen: list[tuple[int, int]] = []
    for index in range(len(split)):
        if all(n >= per_tag for n in taken):
            break
        needed = [t for t in split.tags[index].tolist() if taken[t] < per_tag]
        if needed:
            taken[needed[0]] += 1
            chosen.append((index, needed[0]))
    texts = _texts(split, [i for i, _ in chosen])
    return [_record(split, i, t, texts[i]) for i, t in chosen]


def word_tag_error_examples(
    split: TaggedSplit, example_ids: Iterable[int]
) -> list[DatasetExampleRecord]:
    """The sentences behind stored wrong words, one record each, under the tag of its first word
    (a sentence holds many tags: the Space finds a stored error's sentence by its index)."""
    indices = [i for i in sorted(set(example_ids)) if len(split.tags[i])]
    texts = _texts(split, indices)
    return [_record(split, i, int(split.tags[i][0]), texts[i]) for i in indices]
