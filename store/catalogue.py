"""The Task and Metric entities (thesis table 3.3d): what evalbot computes, and how.

This is the one list of metric names. Each task type registers a :class:`TaskSpec` here: its
modality, what its results are disaggregated by, and one :class:`Metric` entry per number it
stores, which says everything the card, the claims audit, the PR, the CLI and the Space need
(display names, ``higher_is_better``, the model-index ``type`` and ``args``, the digits shown).
Nothing else in the house keeps its own list: it asks :func:`task` (or :func:`metric`).

Classification metrics are named by their key in a result's ``metrics`` (or a class result's
field). Object detection's COCO box metrics go on cards under the ids the Hub's tooling uses
(torchmetrics' ``MeanAveragePrecision``, which transformers' object-detection example reports and
Trainer cards carry: ``map``, ``map_50`` ... ``mar_large``); their ``key`` is where evalbot
stores the value (``ap``, ``ap50`` ... ``ar_large``).

Example:
    >>> spec = task("text-classification")
    >>> [m.key for m in spec.card_metrics()]
    ['accuracy', 'macro_f1', 'macro_precision', 'macro_recall']
    >>> task("object-detection").headline.hub_type
    'map'
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from store.types import ClassResult


@dataclass(frozen=True)
class Metric:
    """One number a task stores, as every reader of results names and shows it.

    Attributes:
        key: Where the value lives: a key of ``EvaluationRecord.metrics`` or, with ``per_class``,
            a ``ClassResult`` field or a key of its ``metrics``.
        name: The readable name on cards (model-index ``name``, the summary table).
        description: One sentence for the catalogue and the Space.
        calculation: How it is computed, precisely enough to reproduce.
        range: Its range and direction, in words.
        higher_is_better: False for errors (ECE...).
        hub_type: The model-index metric ``type``; None: not put on cards.
        hub_args: The model-index ``args`` (e.g. ``{"average": "macro"}``).
        label: The name in running text and the claims audit (default: ``name``).
        short: The name as a table column (default: ``label``).
        digits: Decimals shown in summaries (per-class tables show ``digits - 1``).
        per_class: Stored per disaggregation unit (class, entity type...), not per result.
        id: The catalogue id (default: ``hub_type`` for per-class COCO numbers, else ``key``).
    """

    key: str
    name: str
    description: str
    calculation: str
    range: str = "0 to 1, higher is better"
    higher_is_better: bool = True
    hub_type: str | None = None
    hub_args: Mapping[str, str] | None = None
    label: str = ""
    short: str = ""
    digits: int = 4
    per_class: bool = False
    id: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name)
        if not self.short:
            object.__setattr__(self, "short", self.label)
        if not self.id:
            object.__setattr__(self, "id", self.key)

    def class_value(self, result: ClassResult) -> float | None:
        """This per-class metric's value in one class result."""
        if self.key in result.metrics:
            return result.metrics[self.key]
        value = getattr(result, self.key, None)
        return value if isinstance(value, float | int) else None


@dataclass(frozen=True)
class TaskSpec:
    """What the house needs to know about one task type's results.

    Attributes:
        name: The Hub's ``pipeline_tag`` (and the model-index ``task.type``).
        modality: What its inputs are: ``text``, ``image``...
        description: One sentence.
        metrics: Every metric it stores, documentation-only entries included.
        card: Keys of the metrics on cards, in order: the first is the headline (what a result is
            summed up by, its robustness table's value), the second the robustness table's other
            column; the PR's headline table shows them all.
        summary: Keys of the card's summary table, in order.
        class_columns: Keys of the per-class table's metric columns, in order.
        unit: What results are disaggregated by, singular ("class", "entity type"...).
        support: The per-class table's support column ("support", "objects"...).
        class_note: A sentence under the per-class table, if it needs one.
        intervals: Keys that get a bootstrap confidence interval.
        explanation: What the card's tables mean, said once above them (default: the
            classification wording).
        counts: Whether the per-unit table shows TP, FP and FN (False where a unit holds scores,
            not counts: length buckets of generated texts).
    """

    name: str
    modality: str
    description: str
    metrics: tuple[Metric, ...]
    card: tuple[str, ...]
    summary: tuple[str, ...]
    class_columns: tuple[str, ...]
    unit: str = "class"
    support: str = "support"
    class_note: str = ""
    intervals: tuple[str, ...] = ()
    explanation: str = ""
    counts: bool = True
    _by_key: dict[str, Metric] = field(default_factory=dict, init=False, repr=False, compare=False)
    _per_class: dict[str, Metric] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # A per-class metric is also a result's (COCO's AP is both) unless the task has a
        # result metric of that key (QA's exact match overall and per group).
        for per_class in (False, True):
            for metric in (m for m in self.metrics if m.per_class is per_class):
                keyed = self._per_class if per_class else self._by_key
                if metric.key in keyed:
                    raise ValueError(f"task {self.name}: metric key {metric.key!r} twice")
                keyed[metric.key] = metric
                if per_class:
                    self._by_key.setdefault(metric.key, metric)
        for key in (*self.card, *self.summary, *self.intervals):
            if key not in self._by_key:
                raise ValueError(f"task {self.name}: {key!r} is not one of its result metrics")
        for key in self.class_columns:
            if key not in self._per_class:
                raise ValueError(f"task {self.name}: {key!r} is not one of its per-class metrics")
        for key in self.card:
            if self._by_key[key].hub_type is None:
                raise ValueError(f"task {self.name}: {key!r} goes on cards but has no hub_type")
        if len(self.card) < 2:
            raise ValueError(f"task {self.name}: name a headline and a second card metric")

    def metric(self, key: str) -> Metric:
        """The metric stored under ``key``: a result's, else a per-class one.

        Raises:
            KeyError: naming the task's metrics.
        """
        found = self._by_key.get(key) or self._per_class.get(key)
        if found is None:
            known = sorted({*self._by_key, *self._per_class})
            raise KeyError(f"task {self.name} has no metric {key!r} (it has {known})")
        return found

    @property
    def headline(self) -> Metric:
        return self._by_key[self.card[0]]

    @property
    def second(self) -> Metric:
        return self._by_key[self.card[1]]

    def card_metrics(self) -> list[Metric]:
        return [self._by_key[key] for key in self.card]

    def summary_metrics(self) -> list[Metric]:
        return [self._by_key[key] for key in self.summary]

    def class_metrics(self) -> list[Metric]:
        return [self._per_class[key] for key in self.class_columns]

    def document(self) -> dict[str, object]:
        """The task as stored in the ``tasks`` collection."""
        return {"name": self.name, "modality": self.modality, "description": self.description}


_TASKS: dict[str, TaskSpec] = {}


def register(spec: TaskSpec, *, replace: bool = False) -> TaskSpec:
    """Add a task type's catalogue entry (once per name, unless ``replace``)."""
    if spec.name in _TASKS and not replace and _TASKS[spec.name] != spec:
        raise ValueError(f"task {spec.name!r} is registered already")
    _TASKS[spec.name] = spec
    return spec


def task(name: str) -> TaskSpec:
    """The catalogue entry of task ``name``.

    Raises:
        KeyError: the task is not registered, with the closest registered name.
    """
    try:
        return _TASKS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_TASKS), n=1)
        hint = f" — did you mean '{close[0]}'?" if close else ""
        raise KeyError(f"unknown task '{name}'{hint} (known: {sorted(_TASKS)})") from None


def tasks() -> list[TaskSpec]:
    """Every registered task, in registration order."""
    return list(_TASKS.values())


def find(name: str) -> TaskSpec | None:
    """The catalogue entry of task ``name``, or None."""
    return _TASKS.get(name)


_SCHEMES: dict[str, list[TaskSpec]] = {}


def register_scheme(spec: TaskSpec) -> TaskSpec:
    """Add another scoring scheme of a registered task (token classification's word tags beside
    its entities): its results name the task, and :func:`of` tells them apart by their headline
    metric, which the task's own entry must not store."""
    main = task(spec.name)
    if spec.headline.key in main._by_key:
        raise ValueError(
            f"task {spec.name}: a scheme's headline {spec.headline.key!r} is also the task's"
        )
    schemes = _SCHEMES.setdefault(spec.name, [])
    if spec not in schemes:
        schemes.append(spec)
    return spec


def schemes(name: str) -> list[TaskSpec]:
    """Task ``name``'s entry, then its other scoring schemes' (see :func:`register_scheme`)."""
    return [task(name), *_SCHEMES.get(name, ())]


def of(task_name: str, metrics: Mapping[str, Any]) -> TaskSpec:
    """The entry that describes one result of task ``task_name`` with ``metrics``: the task's
    own, unless the result stores the headline of another of its schemes and not the task's.

    Example:
        >>> of("token-classification", {"accuracy": 0.9}).unit
        'tag'
        >>> of("token-classification", {"overall_f1": 0.8}).unit
        'entity type'
    """
    main = task(task_name)
    if main.headline.key in metrics:
        return main
    found = next((s for s in _SCHEMES.get(task_name, ()) if s.headline.key in metrics), None)
    return found or main


def metric(task_name: str, key: str) -> Metric:
    """The metric ``key`` of task ``task_name`` (see :meth:`TaskSpec.metric`)."""
    return task(task_name).metric(key)


def _documents() -> Iterator[dict[str, Any]]:
    """Every metric once per catalogue id, with the tasks that store it."""
    seen: dict[str, dict[str, Any]] = {}
    for spec in (s for name in _TASKS for s in schemes(name)):
        for m in spec.metrics:
            doc = seen.get(m.id)
            if doc is not None:
                doc["tasks"].append(spec.name)
                continue
            doc = {
                "name": m.id,
                "key": m.key,
                "per_class": m.per_class,
                "tasks": [spec.name],
                "range": m.range,
                "higher_is_better": m.higher_is_better,
                "description": m.description,
                "calculation": m.calculation,
            }
            if m.hub_type is not None:
                doc["hub_type"] = m.hub_type
            seen[m.id] = doc
    yield from seen.values()


def metric_documents() -> list[dict[str, Any]]:
    """The Metric entities as stored in the ``metrics`` collection."""
    return list(_documents())


def task_documents() -> list[dict[str, object]]:
    """The Task entities as stored in the ``tasks`` collection."""
    return [spec.document() for spec in _TASKS.values()]


# -- the built-in tasks ------------------------------------------------------------------------

_MACRO = (
    "mean({}) over the classes in the references or the predictions, undefined as 0: "
    'as scikit-learn\'s default average="macro" (zero_division=0)'
)
_MACRO_ARGS = {"average": "macro"}

CLASSIFICATION_METRICS: tuple[Metric, ...] = (
    Metric(
        "accuracy",
        "Accuracy",
        "Share of examples whose predicted class is the true class.",
        "correct / examples",
        hub_type="accuracy",
        label="accuracy",
    ),
    Metric(
        "precision",
        "Precision",
        "Of the examples predicted as the class, the share that are the class.",
        "TP / (TP + FP)",
        range="0 to 1, higher is better; n/a when the class is never predicted",
        label="precision",
        per_class=True,
    ),
    Metric(
        "recall",
        "Recall",
        "Of the examples of the class, the share predicted as the class.",
        "TP / (TP + FN)",
        range="0 to 1, higher is better; n/a when the class has no examples",
        label="recall",
        per_class=True,
    ),
    Metric(
        "f1",
        "F1",
        "Harmonic mean of precision and recall.",
        "2 * precision * recall / (precision + recall); 0 when both are 0 or the class is "
        "never predicted",
        range="0 to 1, higher is better; n/a when the class has no examples",
        per_class=True,
    ),
    Metric(
        "macro_f1",
        "F1 (macro)",
        "Unweighted mean of per-class F1 over the classes in the references or the "
        "predictions, an undefined F1 counting as 0.",
        _MACRO.format("F1_c"),
        hub_type="f1",
        hub_args=_MACRO_ARGS,
    ),
    Metric(
        "macro_precision",
        "Precision (macro)",
        "Unweighted mean of per-class precision over the classes in the references or the "
        "predictions, an undefined precision (class never predicted) counting as 0.",
        _MACRO.format("precision_c"),
        hub_type="precision",
        hub_args=_MACRO_ARGS,
        label="precision (macro)",
    ),
    Metric(
        "macro_recall",
        "Recall (macro)",
        "Unweighted mean of per-class recall over the classes in the references or the "
        "predictions, an undefined recall (class without examples) counting as 0.",
        _MACRO.format("recall_c"),
        hub_type="recall",
        hub_args=_MACRO_ARGS,
        label="recall (macro)",
    ),
    Metric(
        "weighted_f1",
        "F1 (weighted)",
        "Per-class F1 weighted by the class's support.",
        "sum(F1_c * support_c) / examples, an undefined F1 counting as 0 "
        '(scikit-learn\'s f1_score(average="weighted"))',
    ),
    Metric(
        "ece",
        "ECE",
        "Expected calibration error: how far confidence is from accuracy.",
        "sum over 15 equal-width confidence bins of (n_b / N) * |accuracy_b - confidence_b|",
        range="0 to 1, lower is better",
        higher_is_better=False,
    ),
    Metric(
        "ci95",
        "95% CI",
        "95% bootstrap confidence interval of accuracy and macro F1.",
        "percentile method over 1,000 resamples of the examples (seed 0)",
        range="an interval",
    ),
    Metric(
        "instances_per_s",
        "Instances per second",
        "Examples evaluated per second, preprocessing included.",
        "examples / (preprocessing + forward time)",
        range="higher is faster",
    ),
)


# What a classification run's percentile bootstrap computes (evaluators.processing), in order.
BOOTSTRAPPED = ("accuracy", "macro_f1")


def classification(name: str, modality: str, description: str) -> TaskSpec:
    """The catalogue entry of a single-label classification task."""
    return TaskSpec(
        name=name,
        modality=modality,
        description=description,
        metrics=CLASSIFICATION_METRICS,
        card=("accuracy", "macro_f1", "macro_precision", "macro_recall"),
        summary=("accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1"),
        class_columns=("precision", "recall", "f1"),
        intervals=BOOTSTRAPPED,
    )


_COCO = "pycocotools' COCOeval (bbox, 101 recall points), via faster-coco-eval"
# The 12 numbers pycocotools prints, in its order: (key, Hub id, name, short, description).
_COCO_NUMBERS = (
    ("ap", "map", "AP (IoU 0.50:0.95)", "AP", "AP averaged over IoU 0.50 to 0.95"),
    ("ap50", "map_50", "AP (IoU 0.50)", "AP50", "AP at IoU 0.50"),
    ("ap75", "map_75", "AP (IoU 0.75)", "AP75", "AP at IoU 0.75"),
    ("ap_small", "map_small", "AP small", "", "AP on objects under 32² pixels"),
    ("ap_medium", "map_medium", "AP medium", "", "AP on objects of 32² to 96² pixels"),
    ("ap_large", "map_large", "AP large", "", "AP on objects over 96² pixels"),
    ("ar1", "mar_1", "AR (1 detection)", "", "AR with 1 detection per image"),
    ("ar10", "mar_10", "AR (10 detections)", "", "AR with 10 detections per image"),
    ("ar100", "mar_100", "AR (100 detections)", "AR100", "AR with 100 detections per image"),
    ("ar_small", "mar_small", "AR small", "", "AR on objects under 32² pixels"),
    ("ar_medium", "mar_medium", "AR medium", "", "AR on objects of 32² to 96² pixels"),
    ("ar_large", "mar_large", "AR large", "", "AR on objects over 96² pixels"),
)
COCO_METRICS: tuple[Metric, ...] = tuple(
    Metric(
        key,
        name,
        f"{name}: COCO's {description}.",
        _COCO,
        range="0 to 1, higher is better; n/a for a class without ground truth",
        hub_type=hub_type,
        short=short,
        per_class=True,
        id=hub_type,
    )
    for key, hub_type, name, short, description in _COCO_NUMBERS
)

TEXT_CLASSIFICATION = register(
    classification("text-classification", "text", "Assign one class to a text.")
)
IMAGE_CLASSIFICATION = register(
    classification("image-classification", "image", "Assign one class to an image.")
)
OBJECT_DETECTION = register(
    TaskSpec(
        name="object-detection",
        modality="image",
        description="Find the objects of each class in an image, as scored boxes.",
        metrics=COCO_METRICS,
        card=("ap", "ap50", "ap75", "ar100"),
        summary=tuple(m.key for m in COCO_METRICS),
        class_columns=("ap", "ap50", "ar100"),
        support="objects",
        class_note=(
            "TP, FP and FN count detections matched at IoU 0.5 among those scoring at least the "
            "module's score threshold; AP and AR use every detection."
        ),
    )
)

_SEQEVAL = "seqeval 1.2.2's default (conlleval) reading of the tags; equal to its {}"
_ENTITY = "an entity is right when its sentence, start, end and type all match the reference"
NER_METRICS: tuple[Metric, ...] = (
    Metric(
        "overall_f1",
        "F1 (entities)",
        f"Harmonic mean of entity precision and recall over all entity types ({_ENTITY}).",
        _SEQEVAL.format("f1_score (micro average)"),
        hub_type="f1",
        short="F1",
    ),
    Metric(
        "overall_precision",
        "Precision (entities)",
        "Of the entities predicted, the share that are right.",
        _SEQEVAL.format("precision_score (micro average)"),
        hub_type="precision",
        short="precision",
    ),
    Metric(
        "overall_recall",
        "Recall (entities)",
        "Of the reference entities, the share predicted right.",
        _SEQEVAL.format("recall_score (micro average)"),
        hub_type="recall",
        short="recall",
    ),
    Metric(
        "overall_accuracy",
        "Accuracy (words)",
        "Share of words whose predicted tag is the reference tag.",
        "correct words / words (seqeval's accuracy_score)",
        hub_type="accuracy",
        short="word accuracy",
    ),
    Metric(
        "macro_f1",
        "F1 (macro over entity types)",
        "Unweighted mean of per-type entity F1, an undefined F1 counting as 0.",
        _SEQEVAL.format('classification_report "macro avg"'),
    ),
    Metric(
        "weighted_f1",
        "F1 (weighted over entity types)",
        "Per-type entity F1 weighted by the type's reference entities.",
        _SEQEVAL.format('classification_report "weighted avg"'),
    ),
    Metric(
        "precision",
        "Precision",
        "Of the entities predicted with the type, the share that are right.",
        "TP / (TP + FP) over entities of the type",
        range="0 to 1, higher is better; n/a when the type is never predicted",
        label="precision",
        per_class=True,
        id="entity_precision",
    ),
    Metric(
        "recall",
        "Recall",
        "Of the reference entities of the type, the share predicted right.",
        "TP / (TP + FN) over entities of the type",
        range="0 to 1, higher is better; n/a when the type has no entities",
        label="recall",
        per_class=True,
        id="entity_recall",
    ),
    Metric(
        "f1",
        "F1",
        "Harmonic mean of the type's entity precision and recall.",
        "2 * precision * recall / (precision + recall)",
        range="0 to 1, higher is better; n/a when the type has no entities",
        per_class=True,
        id="entity_f1",
    ),
)
TOKEN_CLASSIFICATION = register(
    TaskSpec(
        name="token-classification",
        modality="text",
        description="Tag each word of a sentence with an entity type (named-entity recognition).",
        metrics=NER_METRICS,
        card=("overall_f1", "overall_precision", "overall_recall", "overall_accuracy"),
        summary=(
            "overall_precision",
            "overall_recall",
            "overall_f1",
            "macro_f1",
            "weighted_f1",
            "overall_accuracy",
        ),
        class_columns=("precision", "recall", "f1"),
        unit="entity type",
        support="entities",
        class_note=(
            "An entity counts as right (TP) only when its start, end and type all match a "
            "reference entity; a predicted entity that does not is an FP, a reference entity "
            "not found an FN."
        ),
        explanation=(
            "Entity scores are those of seqeval's default (conlleval) reading of the IOB tags, "
            "each word tagged by its first sub-token: precision, recall and F1 count whole "
            "entities over all types (micro average); macro and weighted F1 average the entity "
            "types, an undefined value counting as 0; word accuracy counts tags."
        ),
    )
)

_WORDS = "over every word of the split, each word's tag (its first sub-token's) one class"
_WEIGHTED_ARGS = {"average": "weighted"}
WORD_TAG_METRICS: tuple[Metric, ...] = (
    Metric(
        "accuracy",
        "Accuracy (words)",
        "Share of words whose predicted tag is the reference tag.",
        f"correct / words, {_WORDS}",
        hub_type="accuracy",
        label="word accuracy",
        short="accuracy",
        id="tag_accuracy",
    ),
    Metric(
        "macro_f1",
        "F1 (macro over tags)",
        "Unweighted mean of per-tag F1 over the tags in the references or the predictions, an "
        "undefined F1 counting as 0.",
        _MACRO.format("F1_tag") + f", {_WORDS}",
        hub_type="f1",
        hub_args=_MACRO_ARGS,
        label="F1 (macro over tags)",
        id="tag_macro_f1",
    ),
    Metric(
        "weighted_f1",
        "F1 (weighted over tags)",
        "Per-tag F1 weighted by the tag's number of words.",
        "sum(F1_tag * support_tag) / words, an undefined F1 counting as 0 "
        f'(scikit-learn\'s f1_score(average="weighted")), {_WORDS}',
        hub_type="f1",
        hub_args=_WEIGHTED_ARGS,
        label="F1 (weighted over tags)",
        id="tag_weighted_f1",
    ),
    Metric(
        "macro_precision",
        "Precision (macro over tags)",
        "Unweighted mean of per-tag precision, an undefined precision (tag never predicted) "
        "counting as 0.",
        _MACRO.format("precision_tag") + f", {_WORDS}",
        label="precision (macro over tags)",
        id="tag_macro_precision",
    ),
    Metric(
        "macro_recall",
        "Recall (macro over tags)",
        "Unweighted mean of per-tag recall, an undefined recall (tag without words) counting as 0.",
        _MACRO.format("recall_tag") + f", {_WORDS}",
        label="recall (macro over tags)",
        id="tag_macro_recall",
    ),
    Metric(
        "precision",
        "Precision",
        "Of the words predicted with the tag, the share whose reference tag it is.",
        "TP / (TP + FP) over words",
        range="0 to 1, higher is better; n/a when the tag is never predicted",
        label="precision",
        per_class=True,
        id="tag_precision",
    ),
    Metric(
        "recall",
        "Recall",
        "Of the words whose reference tag it is, the share predicted with it.",
        "TP / (TP + FN) over words",
        range="0 to 1, higher is better; n/a when no word has the tag",
        label="recall",
        per_class=True,
        id="tag_recall",
    ),
    Metric(
        "f1",
        "F1",
        "Harmonic mean of the tag's precision and recall.",
        "2 * precision * recall / (precision + recall)",
        range="0 to 1, higher is better; n/a when no word has the tag",
        per_class=True,
        id="tag_f1",
    ),
)
# Token classification scored word by word (part-of-speech tagging): a module's `tagging: words`
WORD_TAGGING = register_scheme(
    TaskSpec(
        name="token-classification",
        modality="text",
        description="Tag each word of a sentence with one class (part-of-speech tagging).",
        metrics=WORD_TAG_METRICS,
        card=("accuracy", "macro_f1", "weighted_f1"),
        summary=("accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1"),
        class_columns=("precision", "recall", "f1"),
        unit="tag",
        support="words",
        class_note=(
            "Each word counts once, under its reference tag: a word tagged right is a TP of its "
            "tag, a word tagged wrong an FN of its reference tag and an FP of the predicted one."
        ),
        explanation=(
            "Word tags are scored as classes, each word tagged by its first sub-token: word "
            "accuracy is the share of words tagged right; precision, recall and F1 are per tag "
            "over words, and their macro and weighted averages run over the tags in the "
            "references or the predictions, an undefined value counting as 0 (scikit-learn's "
            "classification_report)."
        ),
    )
)

_SQUAD = "after SQuAD's normalisation (lowercase; no punctuation, articles or extra spaces)"
QA_METRICS: tuple[Metric, ...] = (
    Metric(
        "exact_match",
        "Exact match",
        "Share of questions whose answer equals one of the reference answers.",
        f"max over the references of normalised answer == normalised reference, {_SQUAD}; "
        "as evaluate-v1.1.py and evaluate-v2.0.py (which print percent)",
        hub_type="exact_match",
        label="exact match",
    ),
    Metric(
        "f1",
        "F1",
        "Mean token overlap F1 of the answer with the closest reference answer.",
        f"max over the references of the token F1, {_SQUAD}; as the official scripts",
        hub_type="f1",
    ),
    Metric(
        "has_answer_exact_match",
        "Exact match (answerable)",
        "Exact match over the questions the context answers (SQuAD v2's HasAns_exact).",
        "exact match restricted to questions with a reference answer",
        label="exact match (answerable)",
    ),
    Metric(
        "has_answer_f1",
        "F1 (answerable)",
        "F1 over the questions the context answers (SQuAD v2's HasAns_f1).",
        "F1 restricted to questions with a reference answer",
    ),
    Metric(
        "no_answer_accuracy",
        "No-answer accuracy",
        "Share of unanswerable questions answered with nothing (SQuAD v2's NoAns_exact).",
        "exact match restricted to questions without a reference answer",
        label="no-answer accuracy",
    ),
    Metric(
        "best_f1",
        "F1 (best no-answer threshold)",
        "F1 when the no-answer probability is cut at the threshold that maximises it "
        "(SQuAD v2's best_f1).",
        "evaluate-v2.0.py's find_best_thresh over the no-answer probabilities",
    ),
    Metric(
        "best_f1_threshold",
        "Best no-answer threshold",
        "The no-answer probability threshold that gives best_f1.",
        "evaluate-v2.0.py's best_f1_thresh",
        range="0 to 1",
    ),
    Metric(
        "exact_match",
        "Exact match",
        "Exact match over the questions of the group.",
        "as exact_match, restricted to the group",
        label="exact match",
        per_class=True,
        id="group_exact_match",
    ),
    Metric(
        "f1",
        "F1",
        "F1 over the questions of the group.",
        "as f1, restricted to the group",
        per_class=True,
        id="group_f1",
    ),
)
QUESTION_ANSWERING = register(
    TaskSpec(
        name="question-answering",
        modality="text",
        description="Extract the answer to a question from a context passage.",
        metrics=QA_METRICS,
        card=("exact_match", "f1"),
        summary=(
            "exact_match",
            "f1",
            "has_answer_exact_match",
            "has_answer_f1",
            "no_answer_accuracy",
            "best_f1",
        ),
        class_columns=("exact_match", "f1"),
        unit="group",
        support="questions",
        class_note=(
            "Groups: the reference answer's type (number, date, proper name, phrase, no answer) "
            "and the question word, so each question is counted twice, once in each grouping; "
            "TP counts exact matches, FN the other questions."
        ),
        explanation=(
            "Answers are scored as the official SQuAD scripts score them, as fractions: exact "
            "match and token F1 against the closest reference answer after SQuAD's "
            "normalisation; where some questions have no answer, the answerable and "
            "unanswerable ones are also scored apart (SQuAD v2.0)."
        ),
    )
)

# -- text generation: summarization and translation ---------------------------------------------

_ROUGE = (
    "rouge-score 0.1.2's tokenizer (lower case, runs of [a-z0-9] only; with the Porter stemmer on "
    "tokens longer than 3 characters where the result records use_stemmer), F-measure per "
    "example, mean over the examples (evaluate's rouge with use_aggregator=False, then the mean)"
)
_LENGTH_BUCKETS = "the examples of one length bucket of the input (words)"


def _rouge_metrics() -> tuple[Metric, ...]:
    kinds = (
        ("rouge1", "ROUGE-1", "unigram overlap", "unigram"),
        ("rouge2", "ROUGE-2", "bigram overlap", "bigram"),
        ("rougeL", "ROUGE-L", "longest common subsequence", "sentence-level LCS"),
        (
            "rougeLsum",
            "ROUGE-Lsum",
            "longest common subsequence over sentences",
            "summary-level union LCS over sentences split at newlines",
        ),
    )
    out: list[Metric] = []
    for key, name, what, how in kinds:
        out.append(
            Metric(
                key,
                name,
                f"Mean F-measure of the {what} of each generated text with its reference.",
                f"{how} precision and recall per example, F = 2PR/(P+R); {_ROUGE}",
                hub_type=key,
            )
        )
    for key, name, _, _ in kinds:
        out.append(
            Metric(
                key,
                name,
                f"{name} over {_LENGTH_BUCKETS}.",
                f"as {key}, restricted to the bucket",
                per_class=True,
                id=f"bucket_{key}",
            )
        )
    return tuple(out)


_GEN_LENGTH = Metric(
    "gen_len",
    "Generated length",
    "Mean number of tokens generated per example (the model's tokenizer, special tokens out).",
    "mean over the examples of the generated token ids that are not special tokens",
    range="0 upward",
    digits=2,
)

SUMMARIZATION = register(
    TaskSpec(
        name="summarization",
        modality="text",
        description="Write a short summary of a longer text.",
        metrics=(*_rouge_metrics(), _GEN_LENGTH),
        card=("rouge1", "rouge2", "rougeL", "rougeLsum"),
        summary=("rouge1", "rouge2", "rougeL", "rougeLsum", "gen_len"),
        class_columns=("rouge1", "rouge2", "rougeL", "rougeLsum"),
        unit="input length",
        support="examples",
        counts=False,
        class_note=(
            "Buckets: the input's length in words (split at white space); each example is in one "
            "bucket."
        ),
        explanation=(
            "Summaries are generated without sampling (the decoding settings are listed below) "
            "and scored with ROUGE against the reference summary, as fractions: the mean "
            "F-measure of unigram (ROUGE-1) and bigram (ROUGE-2) overlap and of the longest "
            "common subsequence (ROUGE-L per text, ROUGE-Lsum per sentence)."
        ),
    )
)

TRANSLATION = register(
    TaskSpec(
        name="translation",
        modality="text",
        description="Translate a text from one language into another.",
        metrics=(
            Metric(
                "bleu",
                "BLEU",
                "Corpus BLEU of the translations against the references (sacreBLEU).",
                "sacrebleu 2.6's corpus_bleu: n-gram precisions 1-4 summed over the corpus, "
                "geometric mean times the brevity penalty, exponential smoothing, the tokenizer "
                "of its signature (stored with the result); its score / 100",
                hub_type="bleu",
                hub_args=None,
            ),
            Metric(
                "chrf",
                "chrF",
                "Corpus character n-gram F-score of the translations (sacreBLEU's chrF).",
                "sacrebleu 2.6's corpus_chrf: character 6-grams, beta 2, statistics summed over "
                "the corpus; its score / 100",
                hub_type="chrf",
            ),
            Metric(
                "bleu",
                "BLEU",
                f"Corpus BLEU over {_LENGTH_BUCKETS}.",
                "as bleu, the statistics summed over the bucket's examples",
                per_class=True,
                id="bucket_bleu",
            ),
            Metric(
                "chrf",
                "chrF",
                f"Corpus chrF over {_LENGTH_BUCKETS}.",
                "as chrf, the statistics summed over the bucket's examples",
                per_class=True,
                id="bucket_chrf",
            ),
            _GEN_LENGTH,
        ),
        card=("bleu", "chrf"),
        summary=("bleu", "chrf", "gen_len"),
        class_columns=("bleu", "chrf"),
        unit="input length",
        support="examples",
        counts=False,
        class_note=(
            "Buckets: the source text's length in words (split at white space); each example is "
            "in one bucket, scored as a corpus of its own."
        ),
        explanation=(
            "Translations are generated without sampling (the decoding settings are listed "
            "below) and scored with sacreBLEU against the reference translation, as fractions "
            "(sacreBLEU prints them times 100): corpus BLEU and chrF, under the signature shown."
        ),
    )
)

# -- speech: recognition and audio classification ----------------------------------------------

AUDIO_CLASSIFICATION = register(
    classification("audio-classification", "audio", "Assign one class to an audio clip.")
)

_ERROR_RATE = (
    "edit operations (substitutions + deletions + insertions) summed over the utterances, "
    "divided by the reference {unit} summed over them: jiwer 4.0's {fn} (a corpus rate, not a "
    "mean of per-utterance rates), on texts after the normaliser the result records"
)
_RAW = "the same on the texts as they are (no normaliser: case and punctuation count)"
_GROUPS = "the utterances of one group (speaker gender, accent, or utterance length)"


def _speech_metrics() -> tuple[Metric, ...]:
    lower = "0 upward (insertions can take it past 1), lower is better"
    return (
        Metric(
            "wer",
            "WER",
            "Word error rate of the transcripts against the references.",
            _ERROR_RATE.format(unit="words", fn="wer"),
            range=lower,
            higher_is_better=False,
            hub_type="wer",
        ),
        Metric(
            "cer",
            "CER",
            "Character error rate of the transcripts against the references.",
            _ERROR_RATE.format(unit="characters", fn="cer"),
            range=lower,
            higher_is_better=False,
            hub_type="cer",
        ),
        Metric(
            "wer_raw",
            "WER (not normalised)",
            "Word error rate with no text normalisation.",
            f"as wer, {_RAW}",
            range=lower,
            higher_is_better=False,
            label="WER without normalisation",
        ),
        Metric(
            "cer_raw",
            "CER (not normalised)",
            "Character error rate with no text normalisation.",
            f"as cer, {_RAW}",
            range=lower,
            higher_is_better=False,
            label="CER without normalisation",
        ),
        Metric(
            "wer",
            "WER",
            f"Word error rate over {_GROUPS}.",
            "as wer, restricted to the group",
            range=lower,
            higher_is_better=False,
            per_class=True,
            id="group_wer",
        ),
        Metric(
            "cer",
            "CER",
            f"Character error rate over {_GROUPS}.",
            "as cer, restricted to the group",
            range=lower,
            higher_is_better=False,
            per_class=True,
            id="group_cer",
        ),
    )


SPEECH_RECOGNITION = register(
    TaskSpec(
        name="automatic-speech-recognition",
        modality="audio",
        description="Transcribe speech into text.",
        metrics=_speech_metrics(),
        card=("wer", "cer"),
        summary=("wer", "cer", "wer_raw", "cer_raw"),
        class_columns=("wer", "cer"),
        unit="group",
        support="utterances",
        counts=False,
        class_note=(
            "Groups: the speaker's gender and accent where the dataset records them (each "
            "utterance counted once per grouping), else the utterance's length in seconds."
        ),
        explanation=(
            "Transcripts are decoded without sampling and scored against the reference "
            "transcripts as error rates, as fractions (0.05 is 5%), lower is better: word (WER) "
            "and character (CER) error rates summed over the utterances, after the text "
            "normaliser named below, and without it."
        ),
    )
)
