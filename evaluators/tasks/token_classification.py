"""Token classification: named entities (one IOB2 tag per word, entity scores per type) or,
with a module's ``tagging: words``, word tags scored as classes (part-of-speech tagging,
:mod:`evaluators.word_tags`).

A module names its word and tag columns (``columns: {tokens: tokens, tags: ner_tags}``) and
lists the dataset's tags in its ``ClassLabel`` order as ``dataset.labels``. Results are
disaggregated per entity type (class ids in order of first appearance in ``dataset.labels``):
TP/FP/FN/support and precision/recall/F1 of whole entities, as seqeval's default reading
(:mod:`evaluators.ner`). The stored confusion matrix is the span confusion: rows true types,
columns predicted types, in class id order, plus a last row and column for "no entity with
these boundaries" (missed entities in its column, spurious ones in its row).

With ``tagging: words`` the labels are plain tag names (``NOUN``, ``VERB``...), the result is
disaggregated per tag (class id = index in ``dataset.labels``) and scored as single-label
classification of every word; its metrics are those of :data:`store.catalogue.WORD_TAGGING`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from evaluators.errors import InsufficientMetadataError
from evaluators.ner import NerScores, WrongSpan, score, wrong_spans
from evaluators.ner_align import map_tags
from evaluators.tasks.base import Context, TaskType, register, result
from evaluators.token_classification import (
    TaggedSplit,
    TokenClassifier,
    WordPredictions,
    check_tags,
    entity_types,
    load_tagged_split,
    predict_split,
    tagged_error_examples,
    tagged_examples,
    type_aliases,
)
from evaluators.word_tags import (
    check_word_tags,
    dataset_tags,
    map_word_tags,
    score_words,
    tag_counts,
    word_tag_error_examples,
    word_tag_examples,
    wrong_words,
)
from store import catalogue
from store.types import (
    ClassResult,
    DatasetExampleRecord,
    DatasetSplitRecord,
    EvaluationRecord,
    Misclassification,
    ModelRecord,
)

if TYPE_CHECKING:
    import torch

    from evaluators.config import EvaluationModule
    from evaluators.executor import EvaluationTask

WRONG_PER_PAIR = 3  # most confident wrong entities kept per (true, predicted) type pair
WRONG_LIMIT = 500  # and overall


@register
class TokenClassification(TaskType):
    spec = catalogue.TOKEN_CLASSIFICATION
    columns = ("tokens", "tags")
    processors: ClassVar[Mapping[str, str]] = {
        "entities": (
            "entity-level precision/recall/F1 per type, micro/macro/weighted, word accuracy, "
            "type confusion"
        ),
        "misclassifications": "the most confident wrong entities (words: wrongly tagged words)",
    }

    @property
    def perturbs(self) -> str:
        return "words"

    def check(self, module: EvaluationModule) -> None:
        if module.tagging == "words":
            check_word_tags(module.dataset.labels)
        else:
            check_tags(module.dataset.labels)

    def load_model(self, model: ModelRecord, folder: Path, device: torch.device) -> Any:
        return TokenClassifier.load(model.repo_id, folder, device)

    def load_split(self, module: EvaluationModule, revision: str) -> TaggedSplit:
        return load_tagged_split(module, revision)

    def evaluate(
        self,
        context: Context,
        model: ModelRecord,
        predictor: TokenClassifier,
        split: TaggedSplit,
        task: EvaluationTask,
    ) -> EvaluationRecord:
        module = task.module
        if module.tagging == "words":
            return self._evaluate_words(context, model, predictor, split, task)
        labels = module.dataset.labels
        aliases = type_aliases(module.label_aliases)
        mapping = map_tags(model.repo_id, predictor.id2label, labels, aliases=aliases)
        options = context.options(module)
        predicted = predict_split(predictor, split, options)
        true, pred = _tag_names(model.repo_id, predicted, mapping.ids, labels)
        scores = score(true, pred)
        types = entity_types(labels)
        wanted = set(module.processors)
        return result(
            task,
            model,
            num_examples=len(split),
            metrics=_metrics(scores),
            classes=_classes(scores, types),
            confusion=_confusion(scores, types),
            misclassifications=(
                _wrong(true, pred, predicted.confidences) if "misclassifications" in wanted else ()
            ),
            runtime=context.runtime(predicted.seconds, len(split), options.batch_size),
            label_mapping=mapping.description,
        )

    def _evaluate_words(
        self,
        context: Context,
        model: ModelRecord,
        predictor: TokenClassifier,
        split: TaggedSplit,
        task: EvaluationTask,
    ) -> EvaluationRecord:
        """``tagging: words``: each word's tag is one class (see the module doc)."""
        module = task.module
        labels = module.dataset.labels
        mapping = map_word_tags(
            model.repo_id,
            predictor.id2label,
            labels,
            aliases=module.label_aliases,
            positional=module.positional_labels,
        )
        options = context.options(module)
        predicted = predict_split(predictor, split, options)
        pred = dataset_tags(model.repo_id, predicted.predicted, mapping.ids)
        metrics, classes, confusion = score_words(predicted.true, pred, labels)
        wanted = set(module.processors)
        return result(
            task,
            model,
            num_examples=len(split),
            metrics=metrics,
            classes=classes,
            confusion=confusion,
            misclassifications=(
                wrong_words(predicted.true, pred, predicted.confidences, labels)
                if "misclassifications" in wanted
                else ()
            ),
            runtime=context.runtime(predicted.seconds, len(split), options.batch_size),
            label_mapping=mapping.description,
        )

    def split_record(self, module: EvaluationModule, split: TaggedSplit) -> DatasetSplitRecord:
        """The split as stored: its sentences, and its entities per type (class id order) or,
        for ``tagging: words``, its words per tag."""
        counts = tag_counts(split) if module.tagging == "words" else split.entity_counts()
        return DatasetSplitRecord(
            dataset_id=split.dataset_id,
            revision=split.revision,
            split=split.split,
            num_examples=len(split),
            class_counts=tuple(counts),
        )

    def examples(
        self, module: EvaluationModule, split: TaggedSplit, made: Mapping[int, bytes]
    ) -> list[DatasetExampleRecord]:
        if module.tagging == "words":
            return word_tag_examples(split)
        return tagged_examples(split)

    def error_examples(
        self, module: EvaluationModule, split: TaggedSplit, example_ids: Iterable[int]
    ) -> list[DatasetExampleRecord]:
        if module.tagging == "words":
            return word_tag_error_examples(split, example_ids)
        return tagged_error_examples(split, example_ids)


def _tag_names(
    repo_id: str, predicted: WordPredictions, ids: Mapping[int, int], labels: Sequence[str]
) -> tuple[list[list[str]], list[list[str]]]:
    """Reference and predicted dataset tag names per sentence; a cut word is ``O``."""
    top = max([-1, *(int(p.max(initial=-1)) for p in predicted.predicted)])
    to_dataset = np.full(max(top, max(ids, default=-1)) + 2, -1, dtype=np.int64)
    for model_id, index in ids.items():
        to_dataset[model_id] = index
    to_dataset[-1] = labels.index("O")  # -1: a word cut by truncation
    names = np.array(labels, dtype=object)
    pred = []
    for p in predicted.predicted:
        mapped = to_dataset[p]
        if (mapped < 0).any():
            raise InsufficientMetadataError(
                repo_id, "the model predicts tags that its id2label does not name"
            )
        pred.append(names[mapped].tolist())
    true = [names[np.asarray(t, dtype=np.int64)].tolist() for t in predicted.true]
    return true, pred


def _metrics(scores: NerScores) -> dict[str, float | None]:
    return {
        "overall_f1": scores.micro.f1,
        "overall_precision": scores.micro.precision,
        "overall_recall": scores.micro.recall,
        "overall_accuracy": scores.accuracy,
        "macro_f1": scores.macro.f1,
        "weighted_f1": scores.weighted.f1,
    }


def _classes(scores: NerScores, types: Sequence[str]) -> tuple[ClassResult, ...]:
    """One result per entity type of the dataset, in class id order (zeros when absent)."""
    found = {t.type: t for t in scores.types}
    out = []
    for class_id, type_ in enumerate(types):
        t = found.get(type_)
        if t is None:
            out.append(ClassResult(class_id, type_, 0, 0, 0, 0, None, None, None))
            continue
        out.append(
            ClassResult(class_id, type_, t.tp, t.fp, t.fn, t.support, t.precision, t.recall, t.f1)
        )
    return tuple(out)


def _confusion(scores: NerScores, types: Sequence[str]) -> tuple[tuple[int, ...], ...]:
    """The span confusion in class id order, "no entity" last (see the module doc)."""
    source = scores.confusion
    order = [source.types.index(t) if t in source.types else None for t in types]
    matrix: npt.NDArray[np.int64] = np.zeros((len(types) + 1, len(types) + 1), dtype=np.int64)
    positions = [(i, j) for i, j in enumerate(order) if j is not None]
    rows = [i for i, _ in positions] + [len(types)]
    cols = [j for _, j in positions] + [len(source.types)]
    matrix[np.ix_(rows, rows)] = source.matrix[np.ix_(cols, cols)]
    return tuple(tuple(int(x) for x in row) for row in matrix)


def _wrong(
    true: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    confidences: Sequence[npt.NDArray[np.float32]],
) -> tuple[Misclassification, ...]:
    """The most confident wrong entities, at most ``WRONG_PER_PAIR`` per (true, predicted)
    type pair and ``WRONG_LIMIT`` in all; ``example_id`` is the sentence index."""
    wrong: list[WrongSpan] = []
    for i, (t, p, c) in enumerate(zip(true, pred, confidences, strict=True)):
        wrong.extend(wrong_spans(t, p, c, i, len(p)))
    kept: list[Misclassification] = []
    per_pair: dict[tuple[str, str], int] = {}
    for w in sorted(wrong, key=lambda w: w.rank):
        pair = (w.true_type, w.type)
        if per_pair.get(pair, 0) >= WRONG_PER_PAIR:
            continue
        per_pair[pair] = per_pair.get(pair, 0) + 1
        kept.append(Misclassification(w.sentence, w.true_type, w.type, w.confidence))
        if len(kept) >= WRONG_LIMIT:
            break
    return tuple(kept)
