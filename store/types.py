"""Typed records that flow between the evaluators, the store, cardgen and the Space.

These are plain dataclasses: the store converts them to and from MongoDB documents, so no other
package needs to know how they are laid out in the database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime


class FailureReason(enum.StrEnum):
    """Why a model could not be evaluated. Stored on the model and counted per module."""

    UNSUPPORTED = "unsupported"  # no evaluation module matches task + training datasets
    INCOMPATIBLE_LIBRARY = "incompatible library"
    INSUFFICIENT_METADATA = "insufficient metadata"  # no config / no labels
    UNKNOWN_LABELS = "unknown labels"  # labels that cannot be mapped to the dataset's
    UNSAFE_WEIGHTS = "unsafe weights format"  # pickle-only repo
    NOT_FOUND = "not found"  # repo or revision missing
    GATED = "gated"  # gated or private repo the bot cannot read
    LOAD_ERROR = "load error"
    OUT_OF_MEMORY = "out of memory"
    TIMEOUT = "timeout"
    SECURITY_ISSUES = "security issues"  # the Hub's security scan flags files of the repo
    TOO_LARGE = "too large"  # the files to download exceed the configured cap
    WORKER_LOST = "worker lost"  # the Ray task's worker or node died, retries exhausted


class ModelStatus(enum.StrEnum):
    PENDING = "pending"
    EVALUATED = "evaluated"
    FAILED = "failed"


def utcnow() -> datetime:
    return datetime.now(UTC)


def task_key(module_id: str, variant: str, config_version: int, code_version: str) -> str:
    """The name of one evaluation task of a model revision, as planning counts them.

    Example:
        >>> task_key("emotion", "typos(rate=0.05)", 2, "0.2.0")
        'emotion/typos(rate=0.05)/v2/0.2.0'
    """
    return f"{module_id}/{variant}/v{config_version}/{code_version}"


@dataclass(frozen=True)
class DatasetMention:
    """One ``results[].dataset`` of a card's model-index: a dataset the model reports a score on
    (``type`` is its Hub id, ``config``/``args`` its configuration, ``name`` a human name)."""

    type: str = ""
    name: str = ""
    config: str = ""
    args: str = ""


@dataclass(frozen=True)
class Selection:
    """How a result's module was chosen for its model (``evaluators.inference``): ``rule`` is
    ``declared``, ``model-index``, ``dataset-tag``, ``labels`` or ``name``; ``evidence`` says
    what in the model's metadata pointed there, in one line."""

    rule: str = "declared"
    evidence: str = ""


@dataclass(frozen=True)
class ModelRecord:
    """One model revision as discovered on the Hub (thesis table 3.1)."""

    repo_id: str
    sha: str
    pipeline_tag: str | None = None
    library_name: str | None = None
    datasets: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    last_modified: datetime | None = None
    origin: str = "huggingface"
    file_sizes: dict[str, int] = field(default_factory=dict)  # file name -> bytes
    hyperparameters: dict[str, object] = field(default_factory=dict)  # from config.json
    num_parameters: int | None = None
    reference: str | None = None  # ReferenceRecord.key (arXiv id from the card)
    status: ModelStatus = ModelStatus.PENDING
    failure_reason: FailureReason | None = None
    failure_detail: str | None = None
    # What decides the numbers: a digest of the revision's config, weights, tokenizer and
    # processor files as the Hub lists them (``evaluators.hub.fingerprint``). Revisions with the
    # same fingerprint share one evaluation, stored under ``eval_sha``: the first of them seen.
    fingerprint: str = ""
    eval_sha: str = ""
    declined_pr: int | None = None  # the evalbot PR the author closed: no further PRs
    # Hints for inferring the training data of a model that declares none (evaluators.inference)
    model_index: tuple[DatasetMention, ...] = ()  # the card's model-index datasets
    labels: tuple[str, ...] = ()  # config.json id2label names in id order, when known

    @property
    def evaluated_sha(self) -> str:
        """The revision whose results stand for this one (itself unless its content was seen)."""
        return self.eval_sha or self.sha


@dataclass(frozen=True)
class ClassResult:
    """Sufficient statistics and derived metrics for one dataset class.

    Precision/recall/F1 are ``None`` ("n/a") when undefined (zero denominator).
    """

    class_id: int
    label: str
    tp: int
    fp: int
    fn: int
    support: int
    precision: float | None
    recall: float | None
    f1: float | None
    # Task-specific per-class metrics, e.g. object detection's COCO ``ap``, ``ap50`` ... ``ar100``.
    metrics: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RuntimeStats:
    total_s: float
    per_instance_ms: float
    instances_per_s: float
    device: str
    batch_size: int
    versions: dict[str, str] = field(default_factory=dict)  # torch, transformers, timm ...


@dataclass(frozen=True)
class Misclassification:
    """One error (thesis table 3.3c): the example, its true and predicted class, the confidence."""

    example_id: int  # index of the example in the evaluated split
    true_label: str
    predicted_label: str
    confidence: float  # the model's probability of the predicted class


@dataclass(frozen=True)
class DetectionError:
    """One object-detection error: a false positive or a missed object (IoU 0.5).

    ``box`` is (x1, y1, x2, y2) in pixels of the evaluated image; ``confidence`` is the
    detection's score, None for a missed object.
    """

    example_id: int  # index of the image in the evaluated split
    kind: str  # "false positive" | "missed"
    label: str
    confidence: float | None
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class CalibrationBin:
    lower: float
    upper: float
    count: int
    accuracy: float | None  # None when count == 0
    confidence: float | None  # mean confidence in the bin, None when empty


@dataclass(frozen=True)
class Calibration:
    ece: float  # expected calibration error (L1, count-weighted), in [0, 1]
    mce: float  # maximum calibration error over non-empty bins
    bins: tuple[CalibrationBin, ...]


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    level: float = 0.95
    resamples: int = 1000


@dataclass(frozen=True)
class Outcomes:
    """What happened to each example of one evaluation, in split order, packed (``store.outcomes``
    reads and writes them): enough to compare two models on the same examples (McNemar's test,
    a paired bootstrap) and to find examples whose label most models contradict, with no
    re-evaluation.

    Attributes:
        count: Examples evaluated.
        correct: One bit per example, set where the prediction was right (``numpy.packbits``,
            little bit order).
        truth: The dataset's class of each example (int16, or int32 past 32,767 classes,
            little-endian); empty for tasks without one class per example.
        predicted: The dataset class the model predicted for each example (same layout; -1 where
            its label maps to none).
        confidence: The model's probability of its predicted class, per example, as uint16
            (``round(p * 65535)``, little-endian).
    """

    count: int
    correct: bytes
    truth: bytes = b""
    predicted: bytes = b""
    confidence: bytes = b""


@dataclass(frozen=True)
class EvaluationRecord:
    """One model revision evaluated on one dataset split and variant (thesis table 3.3a).

    The identity of a result is :meth:`key`: re-running the same evaluation replaces nothing and
    adds nothing.
    """

    model_id: str
    model_sha: str
    task: str  # e.g. "text-classification"
    module_id: str  # the evaluation module (YAML) id, e.g. "emotion"
    dataset_id: str  # Hub id, e.g. "dair-ai/emotion"
    dataset_name: str  # human name, e.g. "Emotion"
    dataset_config: str | None
    dataset_revision: str  # resolved commit sha of the dataset
    split: str
    variant: str  # "original" or a perturbation name
    config_version: int
    code_version: str
    num_examples: int
    metrics: dict[
        str, float | None
    ]  # accuracy, macro_precision, macro_recall, macro_f1, weighted_f1 ...
    classes: tuple[ClassResult, ...]
    runtime: RuntimeStats
    label_mapping: dict[str, str] = field(default_factory=dict)  # model label -> dataset label
    confusion: tuple[tuple[int, ...], ...] = ()  # rows: true class, columns: predicted class
    misclassifications: tuple[Misclassification, ...] = ()
    calibration: Calibration | None = None
    intervals: dict[str, Interval] = field(default_factory=dict)  # metric -> bootstrap CI
    created_at: datetime = field(default_factory=utcnow)
    detection_errors: tuple[DetectionError, ...] = ()  # object detection only
    fingerprint: str = ""  # the evaluated revision's content (see ModelRecord.fingerprint)
    selection: Selection = field(default_factory=Selection)  # how its module was chosen
    # How the numbers were produced where a task has choices that change them: decoding
    # (beams, max new tokens, prefix), ROUGE's stemmer, sacreBLEU's signature, the text
    # normaliser of speech recognition. Name -> a JSON scalar.
    settings: dict[str, str | int | float | bool | None] = field(default_factory=dict)
    # Per-example outcomes (classification); stored beside the result, not in its document.
    outcomes: Outcomes | None = None

    def task_name(self) -> str:
        """This result's task name (see :func:`task_key`)."""
        return task_key(self.module_id, self.variant, self.config_version, self.code_version)

    def key(self) -> dict[str, object]:
        return {
            "model_id": self.model_id,
            "model_sha": self.model_sha,
            "dataset_id": self.dataset_id,
            "dataset_config": self.dataset_config,
            "dataset_revision": self.dataset_revision,
            "split": self.split,
            "variant": self.variant,
            "config_version": self.config_version,
            "code_version": self.code_version,
        }


@dataclass(frozen=True)
class ClaimRecord:
    """A value the model card self-reports, next to what evalbot measured (the claims audit).

    ``claimed`` and ``measured`` are fractions in [0, 1]; ``low``/``high`` are our 95% bootstrap
    interval when the metric has one. ``agrees`` is False for a discrepancy.
    """

    model_id: str
    model_sha: str
    dataset_id: str
    split: str
    metric: str  # our metric key: accuracy, macro_f1, macro_precision, macro_recall
    claimed: float
    measured: float
    low: float | None
    high: float | None
    agrees: bool
    verdict: str  # "agrees (within the 95% CI)", "claims 17.4 points more than measured" ...
    note: str = ""
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class SigningIdentity:
    """The public half of the key that signs evalbot's results, published for verification."""

    key_id: str
    public_key_pem: str
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class ReferenceRecord:
    """A publication (thesis table 3.4); ``key`` is its arXiv id or URL."""

    key: str
    title: str | None = None
    authors: str | None = None
    year: int | None = None
    url: str | None = None
    arxiv: str | None = None


@dataclass(frozen=True)
class DatasetRecord:
    """A dataset known to evalbot (thesis table 3.2a), with its classes (table 3.2b)."""

    dataset_id: str  # Hub id
    name: str
    modality: str  # "text" | "image"
    task: str
    labels: tuple[str, ...]
    description: str | None = None
    homepage: str | None = None
    reference: str | None = None  # ReferenceRecord.key
    compatible: tuple[str, ...] = ()  # datasets whose models are also evaluated here
    variants: tuple[str, ...] = ()  # variant ids evaluated on this dataset
    # Groups of classes results are also summed up over (CIFAR-100's superclasses): group name
    # -> its labels; labels in no group belong to none (store.class_groups)
    class_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetSplitRecord:
    """One split at one revision, with its class counts (thesis table 3.2c)."""

    dataset_id: str
    revision: str
    split: str
    num_examples: int
    class_counts: tuple[int, ...]


@dataclass(frozen=True)
class DatasetExampleRecord:
    """An example of one class (thesis table 3.2d): a text snippet or a small PNG thumbnail.

    A text-pair dataset (NLI, paraphrase) keeps its second text in ``text_pair``; where one
    text is shown (the results dataset, the Space), ``shown_text`` joins them.
    """

    dataset_id: str
    split: str
    class_id: int
    label: str
    example_id: int
    text: str | None = None
    thumbnail_png: bytes | None = None
    text_pair: str | None = None
    # The evaluated image's size in pixels (detection errors' boxes are in these pixels; the
    # thumbnail is smaller)
    width: int | None = None
    height: int | None = None

    @property
    def shown_text(self) -> str | None:
        """The text, or both texts of a pair joined by :data:`PAIR_SEPARATOR`."""
        return join_pair(self.text, self.text_pair)


PAIR_SEPARATOR = " ‖ "  # between the two texts of a pair where one text is shown


def join_pair(text: str | None, text_pair: str | None) -> str | None:
    """``text``, or ``text ‖ text_pair`` for the two texts of a pair.

    Example:
        >>> join_pair("A man sleeps.", "He rests.")
        'A man sleeps. ‖ He rests.'
    """
    if text_pair is None:
        return text
    return f"{text or ''}{PAIR_SEPARATOR}{text_pair}"


@dataclass(frozen=True)
class VariantRecord:
    """A perturbation of a dataset (thesis table 3.2e), described for reproducibility."""

    variant_id: str
    name: str
    modality: str
    description: str
    method: str
    params: dict[str, object] = field(default_factory=dict)


class CoverageOutcome(enum.StrEnum):
    """What discovery did with a model repo it saw (the census, :class:`Sighting`): ``queued``,
    or why not. Values shared with :class:`FailureReason` mean the same thing."""

    QUEUED = "queued"  # stored and queued for evaluation (or its content's results stand)
    UNSUPPORTED_TASK = "unsupported task"  # no module of its pipeline tag (or it has none)
    UNSUPPORTED_LIBRARY = FailureReason.INCOMPATIBLE_LIBRARY.value
    NO_TRAINING_DATASET = "no training dataset"  # none in its metadata, and none inferred
    NOT_CONFIGURED = "dataset not configured"  # its training datasets have no module
    AMBIGUOUS = "ambiguous"  # its metadata points to several candidate datasets
    GATED = FailureReason.GATED.value
    WAITING = "waiting"  # a module matches: a listing looks it up in a later cycle


@dataclass(frozen=True)
class Sighting:
    """One model repo as discovery last saw it, at its head: what the listing said of it and
    what became of it (the census that coverage statistics count).

    ``datasets`` are its training datasets as Hub ids (``evaluators.identity.hub_dataset_id``);
    ``self_reports`` is True when its card carries a model-index with results.
    """

    repo_id: str
    sha: str
    source: str  # "huggingface" or "fiftyone"
    outcome: CoverageOutcome
    pipeline_tag: str | None = None
    library_name: str | None = None
    datasets: tuple[str, ...] = ()
    self_reports: bool = False
    detail: str | None = None
    first_seen: datetime | None = None  # set by the store
    last_seen: datetime | None = None  # set by the store
