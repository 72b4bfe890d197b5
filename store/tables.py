"""The tables of evalbot's public results dataset: names, Parquet schemas, files, version.

MongoDB is the bot's working store; the results dataset on the Hub is its public record, and the
Space reads only that. This module is the contract between the two: the bot writes these tables
(``bot.results_dataset``), the Space reads them (``space.data``), and anyone can read them with
``datasets.load_dataset``, pandas or DuckDB over ``hf://``. It imports no pymongo.

Conventions:
    * ``evaluation_id`` names one evaluation (a model revision on a dataset split and variant,
      at one config and code version): a digest of its identity (:func:`evaluation_id`), the same
      in every table and every publication.
    * Metric values are fractions in [0, 1] (or the metric's own unit), full precision, in the
      long table ``scores``: one signed row per value.
    * Nested things with a free shape (calibration bins, intervals, label mappings, per-class
      task metrics, perturbation parameters) are JSON strings, so every table is flat.
    * Timestamps are UTC, microseconds.
    * Rows are sorted by each table's ``sort`` columns: the same content writes the same bytes.

Bump :data:`SCHEMA_VERSION` on any change a reader would notice (a column renamed, removed or
retyped); adding a nullable column is not such a change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = 1
DATA_DIR = "data"  # the tables' folder in the dataset repo: data/<table>.parquet
KEYS_DIR = "keys"  # the public keys: keys/<key id>.pem

_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Table:
    """One table of the results dataset.

    Attributes:
        name: The table's name (its Parquet file is ``data/<name>.parquet``).
        schema: Its columns.
        sort: The columns its rows are sorted by (a stable, total order).
        doc: One sentence for the dataset card.
        columns: One line per column for the dataset card.
    """

    name: str
    schema: pa.Schema
    sort: tuple[str, ...]
    doc: str
    columns: Mapping[str, str]
    # A table split into one file per value of these columns (``data/<name>/<value>.parquet``),
    # so that a publication rewrites only the files whose rows changed.
    partition: tuple[str, ...] = ()
    # Rows per Parquet row group: small for a table of big rows read a few at a time (a reader
    # filtering on the sort columns then decompresses only the groups that can match).
    row_group_size: int = 128 * 1024

    @property
    def path(self) -> str:
        """Its file, or for a partitioned table the glob of its files."""
        if self.partition:
            return f"{DATA_DIR}/{self.name}/*.parquet"
        return f"{DATA_DIR}/{self.name}.parquet"

    def part_path(self, values: Sequence[object]) -> str:
        """The file of the partition whose columns hold ``values``.

        Example:
            >>> OUTCOMES.part_path(["dair-ai/emotion", None])
            'data/outcomes/dair-ai--emotion.parquet'
            >>> OUTCOMES.part_path(["fixie-ai/common_voice_17_0", "en"])
            'data/outcomes/fixie-ai--common_voice_17_0--en.parquet'
        """
        parts = [_slug(str(v)) for v in values if v not in (None, "")]
        return f"{DATA_DIR}/{self.name}/{'--'.join(parts) or '_'}.parquet"

    def partitions(self, arrow: pa.Table) -> dict[str, pa.Table]:
        """``arrow`` (rows of this partitioned table) as its files' tables, by path."""
        keys = [arrow.column(c).to_pylist() for c in self.partition]
        groups: dict[str, list[int]] = {}
        for index, values in enumerate(zip(*keys, strict=True)):
            groups.setdefault(self.part_path(values), []).append(index)
        return {path: arrow.take(pa.array(rows)) for path, rows in sorted(groups.items())}


def _slug(value: str) -> str:
    """A name safe in a file path: ``/`` becomes ``--``, anything unusual ``_``."""
    value = value.replace("/", "--")
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in value).strip(".") or "_"


def _table(
    name: str, doc: str, sort: Sequence[str], columns: Sequence[tuple[str, pa.DataType, str]]
) -> Table:
    schema = pa.schema([pa.field(n, t, nullable=True) for n, t, _ in columns])
    return Table(name, schema, tuple(sort), doc, {n: d for n, _, d in columns})


MODELS = _table(
    "models",
    "Every model repo evalbot knows, at its current head, with what happened to it.",
    ["repo_id"],
    [
        ("repo_id", pa.string(), "the model repo (`org/name`)"),
        ("sha", pa.string(), "the head revision evalbot saw last"),
        ("eval_sha", pa.string(), "the revision whose results stand for the head (same content)"),
        ("fingerprint", pa.string(), "sha256 over the config, weights, tokenizer files' hashes"),
        ("origin", pa.string(), "`huggingface` or another model source"),
        ("pipeline_tag", pa.string(), "the task the repo declares"),
        ("library_name", pa.string(), "the library the repo declares"),
        ("datasets", pa.list_(pa.string()), "training datasets the card declares"),
        ("tags", pa.list_(pa.string()), "the repo's tags"),
        ("last_modified", _TS, "when the head was pushed"),
        ("num_parameters", pa.int64(), "parameters, from the weights' metadata"),
        ("weights_bytes", pa.int64(), "bytes of the weight files"),
        ("hyperparameters", pa.string(), "JSON: architecture settings from config.json"),
        ("reference", pa.string(), "key of the model's publication in `references`"),
        ("status", pa.string(), "`pending`, `evaluated` or `failed`"),
        ("failure_reason", pa.string(), "why it could not be evaluated (see the README)"),
        ("failure_detail", pa.string(), "the failure in a sentence"),
        ("declined_pr", pa.int64(), "the evalbot PR the author closed: no further PRs"),
        ("declined_by", pa.string(), "who closed it"),
        ("declined_at", _TS, "when it was closed"),
        ("file_sizes", pa.string(), "JSON: file name -> bytes, of the files the Hub lists"),
    ],
)

_IDENTITY = [
    ("evaluation_id", pa.string(), "the evaluation (a digest of the columns after it)"),
    ("model_id", pa.string(), "the model repo"),
    ("model_sha", pa.string(), "the evaluated revision"),
    ("dataset_id", pa.string(), "the dataset's Hub id"),
    ("dataset_config", pa.string(), "the dataset's config (subset), if any"),
    ("dataset_revision", pa.string(), "the dataset commit evaluated"),
    ("split", pa.string(), "the split evaluated"),
    ("variant", pa.string(), "`original` or the perturbation (see `variants`)"),
    ("config_version", pa.int64(), "the evaluation module's version"),
    ("code_version", pa.string(), "evalbot's version"),
]

EVALUATIONS = _table(
    "evaluations",
    "One row per evaluation of a model revision on a dataset split and variant.",
    ["model_id", "model_sha", "dataset_id", "split", "variant", "evaluation_id"],
    [
        *_IDENTITY,
        ("fingerprint", pa.string(), "the evaluated revision's content (see `models`)"),
        ("task", pa.string(), "the task, e.g. `text-classification`"),
        ("module_id", pa.string(), "the evaluation module (a YAML under config/tasks)"),
        (
            "training_data",
            pa.string(),
            "how the dataset was chosen for the model: `declared` (its card names it) or the rule"
            " that inferred it (`model-index`, `dataset-tag`, `labels`, `name`)",
        ),
        ("training_evidence", pa.string(), "what in the model's metadata pointed there"),
        ("dataset_name", pa.string(), "the dataset's display name"),
        ("num_examples", pa.int64(), "examples evaluated"),
        ("created_at", _TS, "when the evaluation finished"),
        ("ece", pa.float64(), "expected calibration error (classification)"),
        ("calibration", pa.string(), "JSON: ece, mce and the reliability bins"),
        ("intervals", pa.string(), "JSON: metric -> 95% bootstrap interval {low, high, ...}"),
        ("label_mapping", pa.string(), "JSON: the model's label -> the dataset's label"),
        (
            "settings",
            pa.string(),
            "JSON: how the numbers were produced where the task has choices (decoding, ROUGE "
            "stemmer, sacreBLEU signature, text normaliser)",
        ),
        (
            "confusion",
            pa.list_(pa.list_(pa.int64())),
            "the confusion matrix's non-zero cells, as [true class, predicted class, count]",
        ),
    ],
)

SCORES = _table(
    "scores",
    "Every metric value evalbot measured, one signed row each (see Signatures).",
    ["model_id", "model_sha", "dataset_id", "split", "variant", "evaluation_id", "metric"],
    [
        *_IDENTITY,
        ("fingerprint", pa.string(), "the evaluated revision's content"),
        ("metric", pa.string(), "evalbot's metric id, e.g. `macro_f1`, `ap50`"),
        ("type", pa.string(), "the model-index metric `type`, e.g. `f1`, `map_50`"),
        ("args", pa.string(), 'JSON: the model-index metric `args`, e.g. {"average": "macro"}'),
        ("value", pa.float64(), "the value (a fraction for accuracy, F1, AP ...); null: undefined"),
        ("low", pa.float64(), "95% bootstrap interval, low end (when computed)"),
        ("high", pa.float64(), "95% bootstrap interval, high end"),
        ("key_id", pa.string(), "the signing key (its public key is keys/<key_id>.pem)"),
        ("signature", pa.string(), "Ed25519 signature (base64url) of the row's canonical form"),
    ],
)

CLASS_RESULTS = _table(
    "class_results",
    "Per-class (entity type, question group) counts and metrics of every evaluation.",
    ["dataset_id", "variant", "model_id", "model_sha", "split", "evaluation_id", "class_id"],
    [
        ("evaluation_id", pa.string(), "the evaluation (see `evaluations`)"),
        ("model_id", pa.string(), "the model repo"),
        ("model_sha", pa.string(), "the evaluated revision"),
        ("dataset_id", pa.string(), "the dataset"),
        ("split", pa.string(), "the split"),
        ("variant", pa.string(), "the variant"),
        ("class_id", pa.int64(), "the dataset's class index"),
        ("label", pa.string(), "the dataset's class name"),
        ("tp", pa.int64(), "true positives"),
        ("fp", pa.int64(), "false positives"),
        ("fn", pa.int64(), "false negatives"),
        ("support", pa.int64(), "examples (objects, entities, questions) of the class"),
        ("precision", pa.float64(), "null when undefined (nothing predicted as the class)"),
        ("recall", pa.float64(), "null when undefined (no example of the class)"),
        ("f1", pa.float64(), "null when undefined"),
        (
            "metrics",
            pa.string(),
            "JSON: task-specific per-class metrics (detection: ap, ap50 ...; QA: exact_match, f1)",
        ),
    ],
)

RUNTIMES = _table(
    "runtimes",
    "How long each evaluation took, where, and with which library versions.",
    ["evaluation_id"],
    [
        ("evaluation_id", pa.string(), "the evaluation"),
        ("model_id", pa.string(), "the model repo"),
        ("dataset_id", pa.string(), "the dataset"),
        ("variant", pa.string(), "the variant"),
        ("total_s", pa.float64(), "wall time of prediction, seconds"),
        ("per_instance_ms", pa.float64(), "milliseconds per example"),
        ("instances_per_s", pa.float64(), "examples per second"),
        ("device", pa.string(), "`cpu`, `cuda:0` ..."),
        ("batch_size", pa.int64(), "batch size used"),
        ("versions", pa.string(), "JSON: library -> version (torch, transformers ...)"),
    ],
)

MISCLASSIFICATIONS = _table(
    "misclassifications",
    "The most confident errors of each evaluation; the examples are in `examples`.",
    ["evaluation_id", "example_id"],
    [
        ("evaluation_id", pa.string(), "the evaluation"),
        ("dataset_id", pa.string(), "the dataset"),
        ("split", pa.string(), "the split"),
        ("example_id", pa.int64(), "the example's index in the split"),
        ("true_label", pa.string(), "the dataset's label"),
        ("predicted_label", pa.string(), "the model's prediction, as a dataset label"),
        ("confidence", pa.float64(), "the model's probability of its prediction"),
    ],
)

DETECTION_ERRORS = _table(
    "detection_errors",
    "Object detection: false positives and missed objects (IoU 0.5) of each evaluation.",
    ["evaluation_id", "example_id", "kind", "label", "x1", "y1", "x2", "y2", "confidence"],
    [
        ("evaluation_id", pa.string(), "the evaluation"),
        ("dataset_id", pa.string(), "the dataset"),
        ("split", pa.string(), "the split"),
        ("example_id", pa.int64(), "the image's index in the split"),
        ("kind", pa.string(), "`false positive` or `missed`"),
        ("label", pa.string(), "the class"),
        ("confidence", pa.float64(), "the detection's score (null for a missed object)"),
        ("x1", pa.float64(), "box, pixels"),
        ("y1", pa.float64(), "box, pixels"),
        ("x2", pa.float64(), "box, pixels"),
        ("y2", pa.float64(), "box, pixels"),
    ],
)

OUTCOMES = Table(
    "outcomes",
    pa.schema(
        [
            pa.field(n, kind, nullable=True)
            for n, kind in [
                *((n, k) for n, k, _ in _IDENTITY),
                ("fingerprint", pa.string()),
                ("task", pa.string()),
                ("count", pa.int64()),
                ("correct", pa.binary()),
                ("truth", pa.binary()),
                ("predicted", pa.binary()),
                ("confidence", pa.binary()),
            ]
        ]
    ),
    ("dataset_id", "split", "variant", "model_id", "model_sha", "evaluation_id"),
    "What happened to each example of each classification evaluation, packed: what two models "
    "are compared on (McNemar's test, the paired bootstrap) and what likely label errors are "
    "found from. One file per dataset (and config), `data/outcomes/<org>--<name>.parquet`.",
    {
        **{n: d for n, _, d in _IDENTITY},
        "fingerprint": "the evaluated revision's content",
        "task": "the task",
        "count": "examples, in the split's order",
        "correct": "one bit per example, set where the prediction was right "
        '(`numpy.unpackbits(numpy.frombuffer(v, "u1"), count=count, bitorder="little")`)',
        "truth": "the dataset's class per example: little-endian int16 (int32 when the bytes "
        "are 4 × count)",
        "predicted": "the class the model predicted per example, as `truth`; -1: none",
        "confidence": "the predicted class's probability per example: little-endian uint16, "
        "divided by 65535",
    },
    partition=("dataset_id", "dataset_config"),
    row_group_size=32,  # a row is tens of kilobytes: the Space reads two or a few at a time
)

EXAMPLES = _table(
    "examples",
    "Examples of each class, and the examples misclassifications point at.",
    ["dataset_id", "split", "class_id", "example_id"],
    [
        ("dataset_id", pa.string(), "the dataset"),
        ("split", pa.string(), "the split"),
        ("class_id", pa.int64(), "the example's class"),
        ("label", pa.string(), "the class name"),
        ("example_id", pa.int64(), "its index in the split"),
        ("text", pa.string(), "the text (text datasets)"),
        ("thumbnail_png", pa.binary(), "a small PNG (image datasets)"),
        ("width", pa.int64(), "the evaluated image's width, pixels (boxes are in these pixels)"),
        ("height", pa.int64(), "the evaluated image's height, pixels"),
    ],
)

DATASETS = _table(
    "datasets",
    "The datasets evalbot evaluates on, with their classes.",
    ["dataset_id"],
    [
        ("dataset_id", pa.string(), "the Hub id"),
        ("name", pa.string(), "display name"),
        ("modality", pa.string(), "`text` or `image`"),
        ("task", pa.string(), "the task"),
        ("labels", pa.list_(pa.string()), "class names, by class index"),
        ("description", pa.string(), "a sentence"),
        ("homepage", pa.string(), "its homepage"),
        ("reference", pa.string(), "key of its publication in `references`"),
        ("compatible", pa.list_(pa.string()), "datasets whose models are also evaluated here"),
        ("variants", pa.list_(pa.string()), "the variants evaluated on it"),
        (
            "class_groups",
            pa.string(),
            "JSON: group name -> its labels (e.g. CIFAR-100's superclasses), as its module "
            "declares; null: no groups",
        ),
    ],
)

SPLITS = _table(
    "splits",
    "Each dataset split at each evaluated revision, with its class counts.",
    ["dataset_id", "split", "revision"],
    [
        ("dataset_id", pa.string(), "the dataset"),
        ("revision", pa.string(), "the dataset commit"),
        ("split", pa.string(), "the split"),
        ("num_examples", pa.int64(), "examples"),
        ("class_counts", pa.list_(pa.int64()), "examples per class, by class index"),
    ],
)

VARIANTS = _table(
    "variants",
    "The perturbations, described so anyone can reproduce them.",
    ["variant_id"],
    [
        ("variant_id", pa.string(), "the variant, as `variant` elsewhere"),
        ("name", pa.string(), "the perturbation"),
        ("modality", pa.string(), "`text` or `image`"),
        ("description", pa.string(), "what it does"),
        ("method", pa.string(), "how, exactly"),
        ("params", pa.string(), "JSON: its parameters"),
    ],
)

CLAIMS = _table(
    "claims",
    "Values model cards self-report, next to what evalbot measured (the claims audit).",
    ["model_id", "model_sha", "dataset_id", "split", "metric"],
    [
        ("model_id", pa.string(), "the model repo"),
        ("model_sha", pa.string(), "the revision whose card was read"),
        ("dataset_id", pa.string(), "the dataset"),
        ("split", pa.string(), "the split"),
        ("metric", pa.string(), "evalbot's metric id"),
        ("claimed", pa.float64(), "the card's value, as a fraction"),
        ("measured", pa.float64(), "evalbot's value"),
        ("low", pa.float64(), "95% interval of the measurement, low end"),
        ("high", pa.float64(), "high end"),
        ("agrees", pa.bool_(), "false: a discrepancy"),
        ("verdict", pa.string(), "in words"),
        ("note", pa.string(), "anything the reader should know"),
        ("created_at", _TS, "when the card was audited"),
    ],
)

REFERENCES = _table(
    "references",
    "Publications of models and datasets.",
    ["key"],
    [
        ("key", pa.string(), "arXiv id or URL"),
        ("title", pa.string(), "title"),
        ("authors", pa.string(), "authors"),
        ("year", pa.int64(), "year"),
        ("url", pa.string(), "link"),
        ("arxiv", pa.string(), "arXiv id"),
    ],
)

PROBLEMS = _table(
    "problems",
    "Evaluation modules whose dataset cannot be used now (their jobs wait for a fix).",
    ["module_id"],
    [
        ("module_id", pa.string(), "the module"),
        ("error", pa.string(), "the error, as text"),
        ("since", _TS, "since when"),
        ("waiting", pa.int64(), "jobs waiting for it"),
    ],
)

KEYS = _table(
    "keys",
    "The public keys of the keys that signed `scores` rows (also as keys/<key_id>.pem).",
    ["key_id"],
    [
        ("key_id", pa.string(), "the key id (see `scores.key_id`)"),
        ("public_key_pem", pa.string(), "the Ed25519 public key, PEM"),
        ("updated_at", _TS, "when it was last published"),
    ],
)

COVERAGE = _table(
    "coverage",
    "How many models discovery found, queued, evaluated and why the rest were not, per source, "
    "task, training dataset, library and week of first sighting; models evaluated per variant "
    "and compatible dataset; self-reported values that disagree with evalbot's measurement. "
    "Each row is `count` of `total`; in each view and key, found = queued + every "
    "`not queued: ...` and queued = evaluated + failed + pending.",
    ["view", "key", "measure"],
    [
        (
            "view",
            pa.string(),
            "`overall`, `source`, `task`, `dataset` (a model counts under each training dataset), "
            "`library`, `week` (ISO week of first sighting), `variant`, `compatible`, `claims`",
        ),
        ("key", pa.string(), "the source, task, dataset id, library, week, variant or module id"),
        (
            "measure",
            pa.string(),
            "`found`, `queued`, `evaluated`, `failed`, `pending`, `not queued: <reason>`, "
            "`failed: <reason>`, `self-reports results` (cards with a model-index), `models "
            "evaluated`, `self-reported values disagreeing`",
        ),
        ("count", pa.int64(), "models (claims: self-reported values) counted by the measure"),
        (
            "total",
            pa.int64(),
            "what `count` is a share of: the models found for this key; evaluated models for "
            "`variant` and `compatible`; self-reported values for `claims`",
        ),
    ],
)

LABEL_ISSUES = _table(
    "label_issues",
    "Likely label errors: examples whose given label most models evaluated on the split "
    "contradict with confidence (confident learning over the stored outcomes; see `method`).",
    ["dataset_id", "dataset_config", "split", "dataset_revision", "example_id"],
    [
        ("dataset_id", pa.string(), "the dataset"),
        ("dataset_config", pa.string(), "its config, if any"),
        ("split", pa.string(), "the split"),
        ("dataset_revision", pa.string(), "the dataset commit whose labels were judged"),
        ("example_id", pa.int64(), "the example's index in the split"),
        ("given", pa.string(), "the dataset's label"),
        ("suggested", pa.string(), "the class the confident models agree on"),
        ("agree", pa.int64(), "models predicting `suggested` confidently"),
        ("models", pa.int64(), "models that predicted this example"),
        ("share", pa.float64(), "`agree / models`"),
        ("confidence", pa.float64(), "the agreeing models' mean confidence"),
        ("score", pa.float64(), "how likely a label error: `share × confidence`, in (0, 1]"),
        ("evaluated_models", pa.int64(), "models evaluated on the split (each counted once)"),
        ("method", pa.string(), "how the examples were found, with the thresholds, in words"),
    ],
)

TABLES: tuple[Table, ...] = (
    MODELS,
    EVALUATIONS,
    SCORES,
    CLASS_RESULTS,
    RUNTIMES,
    MISCLASSIFICATIONS,
    DETECTION_ERRORS,
    OUTCOMES,
    LABEL_ISSUES,
    EXAMPLES,
    DATASETS,
    SPLITS,
    VARIANTS,
    CLAIMS,
    REFERENCES,
    PROBLEMS,
    KEYS,
    COVERAGE,
)
BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

#: the columns of a ``scores`` row that its signature covers, in this order
SIGNED_COLUMNS = (
    "model_id",
    "fingerprint",
    "dataset_id",
    "dataset_config",
    "split",
    "dataset_revision",
    "variant",
    "metric",
    "type",
    "args",
    "value",
    "code_version",
    "key_id",
)


def evaluation_id(identity: Mapping[str, Any]) -> str:
    """The id of an evaluation: a digest of its identity columns (``_IDENTITY`` after the id).

    Example:
        >>> evaluation_id({"model_id": "org/m", "model_sha": "abc", "dataset_id": "d",
        ...     "dataset_config": None, "dataset_revision": "r", "split": "test",
        ...     "variant": "original", "config_version": 1, "code_version": "0.1"})[:12]
        'fe2f2a1d5071'
    """
    keys = [name for name, _, _ in _IDENTITY[1:]]
    text = json.dumps([identity.get(k) for k in keys], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def canonical_row(row: Mapping[str, Any]) -> bytes:
    """The bytes a ``scores`` row's signature covers: its :data:`SIGNED_COLUMNS` as compact,
    key-sorted JSON (a float keeps its shortest repr, so a reader reproduces it exactly)."""
    return json.dumps(
        {k: row.get(k) for k in SIGNED_COLUMNS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode()


def to_table(table: Table, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """``rows`` as the Arrow table of ``table``, sorted by its sort columns."""
    names = table.schema.names
    columns = {n: [r.get(n) for r in rows] for n in names}
    arrow = pa.Table.from_pydict(columns, schema=table.schema)
    if arrow.num_rows > 1:
        arrow = arrow.sort_by([(c, "ascending") for c in table.sort])
    return arrow


def dumps(value: object) -> str | None:
    """A nested value as the compact, key-sorted JSON the tables hold (None stays None)."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def parquet_bytes(arrow: pa.Table, *, row_group_size: int = 128 * 1024) -> bytes:
    """``arrow`` as Parquet, written the same way every time (zstd, fixed row groups), so the
    same rows give the same bytes and an unchanged table is never committed again."""
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(
        arrow,
        sink,
        compression="zstd",
        row_group_size=row_group_size,
        write_statistics=True,
        use_dictionary=True,
    )
    return bytes(sink.getvalue().to_pybytes())


def write_tables(tables: Mapping[str, pa.Table], root: Any) -> list[str]:
    """Write ``tables`` under ``root`` as ``data/<name>.parquet``; returns the paths written."""
    from pathlib import Path

    base = Path(root)
    (base / DATA_DIR).mkdir(parents=True, exist_ok=True)
    written = []
    for name, arrow in tables.items():
        for path, part in table_files(BY_NAME[name], arrow).items():
            (base / path).parent.mkdir(parents=True, exist_ok=True)
            size = BY_NAME[name].row_group_size
            (base / path).write_bytes(parquet_bytes(part, row_group_size=size))
            written.append(path)
    return written


def table_files(table: Table, arrow: pa.Table) -> dict[str, pa.Table]:
    """The files of ``table`` holding ``arrow``'s rows, by path: one, or one per partition."""
    return table.partitions(arrow) if table.partition else {table.path: arrow}
