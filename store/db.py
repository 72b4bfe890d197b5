"""The only code that talks to MongoDB.

Collections (unique keys in brackets):
    models            one document per repo [_id = repo_id]
    evaluation_results one per model revision x dataset revision x split x variant x versions
    class_results     one per evaluation result x class [result_id, class_id]
    misclassifications the most confident errors of a result [result_id, example_id]
    detection_errors  false positives and missed objects of a detection result [result_id]
    runtimes          one per evaluation result [result_id]
    outcomes          per-example outcomes of a result, packed (classification) [result_id]
    tasks, metrics    the catalogue of tasks and metrics [_id = name]
    datasets          one per dataset [_id = Hub id]; dataset_classes [dataset_id, class_id]
    dataset_splits    one per dataset revision x split, with class counts
    dataset_examples  up to 20 examples per class [dataset_id, split, class_id, example_id]
    variants          one per perturbation variant [_id = variant id]
    references        publications [_id = arXiv id or URL]
    jobs              one per model revision [repo_id, sha]
    pull_requests     one per opened PR [repo_id, num]
    poll_state        discovery watermarks [_id = source key]; the last results-dataset
                      publication [_id = "results-dataset:<repo id>"]
    locks             short-lived named locks, e.g. one publisher per repo [_id = name]
    claims            the card's self-reported values vs ours [model_id, dataset_id, split, metric]
    identity          the public key that signs results [_id = "signing"]
    workers           one per running worker: its host and last heartbeat [_id = worker name]
    modules           evaluation modules derived from datasets' cards (``train-eval-index``),
                      and cached refusals (expire after a TTL) [_id = dataset id, casefolded]
    sightings         the census: every model repo discovery saw, at its head, and what became
                      of it: queued, or why not [_id = repo_id]
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient, ReplaceOne, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError

from store.catalogue import metric_documents, task_documents
from store.codec import (
    as_utc,
    class_to_doc,
    detection_error_to_doc,
    doc_to_model,
    doc_to_outcomes,
    doc_to_result,
    misclassification_to_doc,
    model_to_doc,
    outcomes_to_doc,
    result_to_doc,
    runtime_to_doc,
)
from store.embedded import EmbeddedMongo, start_embedded
from store.errors import MongoAuthenticationError, MongoUnavailableError
from store.types import (
    ClaimRecord,
    CoverageOutcome,
    DatasetExampleRecord,
    DatasetRecord,
    DatasetSplitRecord,
    EvaluationRecord,
    FailureReason,
    ModelRecord,
    ModelStatus,
    Outcomes,
    ReferenceRecord,
    Sighting,
    SigningIdentity,
    VariantRecord,
    task_key,
    utcnow,
)

Doc = dict[str, Any]

_OUTCOME_FIELDS = frozenset(Outcomes.__dataclass_fields__)  # the rest of a document: identity
METADATA_FIELDS = ("file_sizes", "hyperparameters", "num_parameters", "reference")
RESULT_KEY_FIELDS = (
    "model_id",
    "model_sha",
    "dataset_id",
    "dataset_config",
    "dataset_revision",
    "split",
    "variant",
    "config_version",
    "code_version",
)


# A model evaluation with no failure recorded (a new one, or one that stands).
_NO_FAILURE: dict[str, Any] = {
    "failure_reason": None,
    "failure_detail": None,
    "failure_modules": [],
    "failure_digest": None,
}
# A job as queued: due now, no attempt spent, no trouble, never finished.
_FRESH_JOB: dict[str, Any] = {
    "status": "queued",
    "attempts": 0,
    "transient": 0,
    "finished": 0,
    "lease_until": None,
    "not_before": None,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a PR slot free since ever
# Jobs re-planning leaves alone: waiting, at work, or waiting for a module's fix.
ACTIVE_JOB_STATUSES = frozenset({"queued", "running", "blocked"})


@dataclass(frozen=True)
class Job:
    """A leased evaluation job; ``worker`` holds the lease (finishing it is checked against it)."""

    id: Any
    repo_id: str
    sha: str
    attempts: int
    worker: str = ""
    transient: int = 0  # failures in a row that were not the model's (outages): backoff
    reason: str = "new revision"  # why it was queued: new revision, a config change, requeue


@dataclass(frozen=True)
class WorkerHeartbeat:
    """A worker's last sign of life: fresh until ``fresh_until`` (a few lease periods on)."""

    worker: str
    host: str
    seen_at: datetime
    fresh_until: datetime


@dataclass(frozen=True)
class ExhaustedJob:
    """A job that used up its attempts.

    ``crashed``: its last lease expired while running (the worker was killed, ran out of memory
    or hung); otherwise it was handed back after errors, the last of which is ``last_error``.
    """

    job: Job
    crashed: bool
    last_error: str | None


@dataclass(frozen=True)
class PullRequestRecord:
    repo_id: str
    num: int
    model_sha: str
    result_hash: str
    url: str
    status: str  # open | closed | merged
    created_at: datetime


class Store:
    """Typed access to the evalbot database.

    Example:
        >>> store = Store.open()  # embedded mongod under ~/.cache/evalbot/mongo  # doctest: +SKIP
        >>> store.get_model("demo/minilm-emotion")  # doctest: +SKIP
    """

    def __init__(
        self,
        client: MongoClient[Doc],
        *,
        db_name: str = "evalbot",
        embedded: EmbeddedMongo | None = None,
    ) -> None:
        self.client = client
        self.db: Database[Doc] = client[db_name]
        self.embedded = embedded
        self.models: Collection[Doc] = self.db["models"]
        self.results: Collection[Doc] = self.db["evaluation_results"]
        self.runtimes: Collection[Doc] = self.db["runtimes"]
        self.outcomes: Collection[Doc] = self.db["outcomes"]
        self.class_results: Collection[Doc] = self.db["class_results"]
        self.tasks: Collection[Doc] = self.db["tasks"]
        self.metrics: Collection[Doc] = self.db["metrics"]
        self.datasets: Collection[Doc] = self.db["datasets"]
        self.dataset_classes: Collection[Doc] = self.db["dataset_classes"]
        self.dataset_splits: Collection[Doc] = self.db["dataset_splits"]
        self.dataset_examples: Collection[Doc] = self.db["dataset_examples"]
        self.variants: Collection[Doc] = self.db["variants"]
        self.references: Collection[Doc] = self.db["references"]
        self.misclassifications: Collection[Doc] = self.db["misclassifications"]
        self.detection_errors: Collection[Doc] = self.db["detection_errors"]
        self.jobs: Collection[Doc] = self.db["jobs"]
        self.pull_requests: Collection[Doc] = self.db["pull_requests"]
        self.poll_state: Collection[Doc] = self.db["poll_state"]
        self.locks: Collection[Doc] = self.db["locks"]
        self.claims: Collection[Doc] = self.db["claims"]
        self.identity: Collection[Doc] = self.db["identity"]
        self.module_problems: Collection[Doc] = self.db["module_problems"]
        self.pr_slots: Collection[Doc] = self.db["pr_slots"]
        self.workers: Collection[Doc] = self.db["workers"]
        self.modules: Collection[Doc] = self.db["modules"]

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        uri: str | None = None,
        *,
        data_dir: Path | None = None,
        db_name: str | None = None,
        timeout_ms: int = 5000,
        read_only: bool = False,
    ) -> Store:
        """Connect to ``uri`` (default: ``MONGODB_URI``), or start the embedded mongod.

        ``read_only`` connects as a reader and creates no indexes: without ``uri``, with
        ``MONGODB_READ_URI`` when it and ``MONGODB_URI`` are set, else ``MONGODB_URI``, else as
        the embedded server's read-only user (``evalbot-reader``). A ``uri`` given is used as is.

        Raises:
            MongoAuthenticationError: the server refused the URI's user or password.
            MongoUnavailableError: the server does not answer; the message names MONGODB_URI.
        """
        uri = uri or None
        if uri is None and os.environ.get("MONGODB_URI"):
            read_uri = os.environ.get("MONGODB_READ_URI") if read_only else None
            uri = read_uri or os.environ["MONGODB_URI"]
        read_setting = uri is not None and uri == os.environ.get("MONGODB_READ_URI")
        setting = "MONGODB_READ_URI" if read_setting else "MONGODB_URI"
        db_name = db_name or os.environ.get("EVALBOT_DB", "evalbot")
        embedded = None
        if uri is None:
            embedded = start_embedded(data_dir)
            uri = embedded.reader_uri if read_only else embedded.uri
            setting = f"the embedded server's {embedded.credentials_path}"
        client: MongoClient[Doc] = MongoClient(
            uri, serverSelectionTimeoutMS=timeout_ms, tz_aware=True
        )
        try:
            client.admin.command("ping")
        except PyMongoError as exc:
            client.close()
            if embedded is not None:
                embedded.stop()
            raise _connect_error(uri, exc, setting=setting) from exc
        store = cls(client, db_name=db_name, embedded=embedded)
        if not read_only:
            store.ensure_indexes()
            store.seed_catalogue()
        return store

    def close(self) -> None:
        self.client.close()
        if self.embedded is not None:
            self.embedded.stop()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ensure_indexes(self) -> None:
        self.results.create_index(
            [(f, ASCENDING) for f in RESULT_KEY_FIELDS], unique=True, name="result_key"
        )
        self.results.create_index([("dataset_id", ASCENDING), ("variant", ASCENDING)])
        self.runtimes.create_index("result_id", unique=True)
        self.outcomes.create_index("result_id", unique=True)
        self.outcomes.create_index(
            [("dataset_id", ASCENDING), ("split", ASCENDING), ("variant", ASCENDING)]
        )
        self.class_results.create_index(
            [("result_id", ASCENDING), ("class_id", ASCENDING)], unique=True
        )
        self.class_results.create_index(
            [("dataset_id", ASCENDING), ("label", ASCENDING), ("variant", ASCENDING)]
        )
        self.misclassifications.create_index(
            [("result_id", ASCENDING), ("example_id", ASCENDING)], unique=True
        )
        self.detection_errors.create_index([("result_id", ASCENDING), ("example_id", ASCENDING)])
        self.jobs.create_index([("repo_id", ASCENDING), ("sha", ASCENDING)], unique=True)
        self.jobs.create_index([("status", ASCENDING), ("lease_until", ASCENDING)])
        self.pull_requests.create_index(
            [("repo_id", ASCENDING), ("num", ASCENDING)], unique=True, name="pr_key"
        )
        self.pull_requests.create_index("created_at")
        self.models.create_index("status")
        self.models.create_index("declined.num", sparse=True)
        self.results.create_index([("model_id", ASCENDING), ("fingerprint", ASCENDING)])
        self.jobs.create_index([("status", ASCENDING), ("module", ASCENDING)])
        self._migrate()
        self.claims.create_index(
            [
                ("model_id", ASCENDING),
                ("dataset_id", ASCENDING),
                ("split", ASCENDING),
                ("metric", ASCENDING),
            ],
            unique=True,
            name="claim_key",
        )
        self.claims.create_index([("agrees", ASCENDING), ("created_at", DESCENDING)])
        # a worker that died leaves its record: gone a day after it went stale
        self.workers.create_index("fresh_until", expireAfterSeconds=86400)
        # a dataset card that configured no module is read again once its refusal expires
        self.modules.create_index("expires_at", expireAfterSeconds=0, sparse=True)
        self.dataset_classes.create_index(
            [("dataset_id", ASCENDING), ("class_id", ASCENDING)], unique=True
        )
        self.dataset_splits.create_index(
            [("dataset_id", ASCENDING), ("revision", ASCENDING), ("split", ASCENDING)], unique=True
        )
        self.dataset_examples.create_index(
            [
                ("dataset_id", ASCENDING),
                ("split", ASCENDING),
                ("class_id", ASCENDING),
                ("example_id", ASCENDING),
            ],
            unique=True,
        )
        self._census_indexes()

    def _migrate(self) -> None:
        """Bring documents written by earlier versions up to date (idempotent, cheap when done).

        Models from before content fingerprints get ``eval_sha`` = their sha and a fingerprint
        naming that revision; their stored tasks are counted from their results once.
        """
        for doc in self.models.find({"eval_sha": {"$exists": False}}, {"sha": 1}):
            self.models.update_one(
                {"_id": doc["_id"], "eval_sha": {"$exists": False}},
                {
                    "$set": {
                        "eval_sha": doc["sha"],
                        "fingerprint": f"rev:{doc['sha']}",
                        "evaluated_tasks": self._stored_tasks(doc["_id"], doc["sha"]),
                    }
                },
            )

    # -- models ------------------------------------------------------------------------------

    def upsert_model(self, model: ModelRecord) -> bool:
        """Insert or refresh a discovered model revision. Returns True when it needs evaluating.

        ``model.fingerprint`` names the revision's content (empty: unknown, so every revision
        counts as new content). A new head whose content the store has already seen (the same
        fingerprint as the current one, or one with stored results) takes over that evaluation:
        ``eval_sha`` keeps pointing at the revision that was evaluated, its status and results
        stand, and nothing is queued. New content resets the status to pending under its own
        ``eval_sha``. Discovery metadata (tags, datasets, pipeline tag) is refreshed either way.
        """
        doc = model_to_doc(model)
        repo_id = doc.pop("_id")
        for key in METADATA_FIELDS:  # set by update_model_metadata once the files are read
            doc.pop(key)
        fingerprint = model.fingerprint or f"rev:{model.sha}"
        doc["fingerprint"] = fingerprint
        previous = self.models.find_one(
            {"_id": repo_id}, {"sha": 1, "fingerprint": 1, "eval_sha": 1}
        )
        content: Doc = {}
        if previous is not None and previous.get("sha") == model.sha:
            content = {"eval_sha": previous.get("eval_sha") or model.sha}
            if not model.fingerprint and previous.get("fingerprint"):
                doc["fingerprint"] = previous["fingerprint"]  # a record that did not say
        elif previous is not None and previous.get("fingerprint") == fingerprint:
            content = {"eval_sha": previous.get("eval_sha") or previous["sha"]}
        elif (seen := self._evaluated_content(repo_id, fingerprint)) is not None:
            content = seen
        is_new = not content
        if is_new:
            content = {
                "eval_sha": model.sha,
                "status": ModelStatus.PENDING.value,
                **_NO_FAILURE,
                "evaluated_tasks": [],
            }
        for key in ("status", "failure_reason", "failure_detail", "eval_sha"):
            doc.pop(key)
        self.models.update_one(
            {"_id": repo_id},
            {
                "$set": {**doc, **content, "updated_at": utcnow()},
                "$setOnInsert": {"created_at": utcnow()},
            },
            upsert=True,
        )
        return is_new

    def _evaluated_content(self, repo_id: str, fingerprint: str) -> Doc | None:
        """The evaluation of an earlier revision of ``repo_id`` with this content, if stored
        (a revert to weights evaluated before): its sha, status and the tasks that ran."""
        if fingerprint.startswith("rev:"):
            return None
        found = self.results.find_one(
            {"model_id": repo_id, "fingerprint": fingerprint}, {"model_sha": 1}
        )
        if found is None:
            return None
        sha = found["model_sha"]
        return {
            "eval_sha": sha,
            "status": ModelStatus.EVALUATED.value,
            **_NO_FAILURE,
            "evaluated_tasks": self._stored_tasks(repo_id, sha),
        }

    def _stored_tasks(self, repo_id: str, sha: str) -> list[str]:
        """The task names (:func:`task_key`) of the results stored for one evaluation."""
        fields = ("module_id", "variant", "config_version", "code_version")
        docs = self.results.find({"model_id": repo_id, "model_sha": sha}, dict.fromkeys(fields, 1))
        return sorted({task_key(*(d[f] for f in fields)) for d in docs})

    def record_revision(self, model: ModelRecord) -> None:
        """Make sure ``model.repo_id`` is known, without moving its current revision.

        ``evalbot evaluate ORG/MODEL@old-sha`` stores results of an old revision: the model's
        head (what discovery found) stays what it is.
        """
        doc = model_to_doc(model)
        repo_id = doc.pop("_id")
        for key in METADATA_FIELDS:
            doc.pop(key)
        doc.update(fingerprint=model.fingerprint or f"rev:{model.sha}", eval_sha=model.sha)
        self.models.update_one(
            {"_id": repo_id},
            {"$setOnInsert": {**doc, "evaluated_tasks": [], "created_at": utcnow()}},
            upsert=True,
        )

    def mark_evaluated(self, repo_id: str, eval_sha: str, tasks: Sequence[str]) -> None:
        """Record that the tasks named ``tasks`` (see :func:`task_key`) are stored for this
        evaluation, and that it stands: status evaluated, no failure."""
        self.models.update_one(
            {"_id": repo_id, "eval_sha": eval_sha},
            {
                "$addToSet": {"evaluated_tasks": {"$each": list(tasks)}},
                "$set": {
                    "status": ModelStatus.EVALUATED.value,
                    **_NO_FAILURE,
                    "updated_at": utcnow(),
                },
            },
        )

    def update_model_metadata(
        self,
        repo_id: str,
        *,
        file_sizes: dict[str, int],
        hyperparameters: dict[str, object],
        num_parameters: int | None,
        reference: ReferenceRecord | None,
    ) -> None:
        """Metadata read from the model's files and card (thesis table 3.1)."""
        if reference is not None:
            self.upsert_reference(reference)
        self.models.update_one(
            {"_id": repo_id},
            {
                "$set": {
                    "file_sizes": file_sizes,
                    "hyperparameters": hyperparameters,
                    "num_parameters": num_parameters,
                    "reference": reference.key if reference else None,
                }
            },
        )

    def head_sha(self, repo_id: str) -> str | None:
        """The revision discovery last saw as the model's head, or None for a new model."""
        doc = self.models.find_one({"_id": repo_id}, {"sha": 1})
        return doc["sha"] if doc else None

    def get_model(self, repo_id: str) -> ModelRecord | None:
        doc = self.models.find_one({"_id": repo_id})
        return doc_to_model(doc) if doc else None

    def list_models(self) -> list[ModelRecord]:
        return [doc_to_model(d) for d in self.models.find().sort("_id", ASCENDING)]

    def set_model_status(
        self,
        repo_id: str,
        sha: str,
        status: ModelStatus,
        *,
        reason: FailureReason | None = None,
        detail: str | None = None,
        modules: Sequence[str] = (),
        digest: str | None = None,
    ) -> None:
        """Set the status of the evaluation ``sha`` (a model's ``eval_sha``); a failure names its
        reason, the modules hit and the digest of the config it failed under (re-planning tries
        it again when that digest changes)."""
        self.models.update_one(
            {"_id": repo_id, "eval_sha": sha},
            {
                "$set": {
                    "status": status.value,
                    "failure_reason": reason.value if reason else None,
                    "failure_detail": detail,
                    "failure_modules": list(modules),
                    "failure_digest": digest,
                    "updated_at": utcnow(),
                }
            },
        )

    def failures_by_reason(self) -> dict[str, int]:
        pipeline: list[Doc] = [
            {"$match": {"status": ModelStatus.FAILED.value}},
            {"$group": {"_id": "$failure_reason", "n": {"$sum": 1}}},
        ]
        return {d["_id"]: d["n"] for d in self.models.aggregate(pipeline)}

    def failures_by_module(self) -> dict[str, dict[str, int]]:
        """``{module id: {failure reason: models}}``; models matching no module count as "(none)"."""
        pipeline: list[Doc] = [
            {"$match": {"status": ModelStatus.FAILED.value}},
            {
                "$project": {
                    "reason": "$failure_reason",
                    "module": {"$ifNull": ["$failure_modules", []]},
                }
            },
            {
                "$project": {
                    "reason": 1,
                    "module": {"$cond": [{"$eq": ["$module", []]}, ["(none)"], "$module"]},
                }
            },
            {"$unwind": "$module"},
            {"$group": {"_id": {"module": "$module", "reason": "$reason"}, "n": {"$sum": 1}}},
        ]
        out: dict[str, dict[str, int]] = {}
        for row in self.models.aggregate(pipeline):
            out.setdefault(row["_id"]["module"], {})[row["_id"]["reason"]] = row["n"]
        return out

    # -- results -----------------------------------------------------------------------------

    def save_result(self, record: EvaluationRecord) -> None:
        """Store a result idempotently: the same key replaces, never duplicates."""
        key = record.key()
        doc = result_to_doc(record)
        saved = self.results.find_one_and_update(
            key, {"$set": doc}, upsert=True, return_document=ReturnDocument.AFTER
        )
        result_id = saved["_id"]
        context = {**key, "result_id": result_id}
        self.runtimes.update_one(
            {"result_id": result_id},
            {"$set": {**runtime_to_doc(record.runtime), **context}},
            upsert=True,
        )
        if record.classes:
            self.class_results.bulk_write(
                [
                    ReplaceOne(
                        {"result_id": result_id, "class_id": c.class_id},
                        {**class_to_doc(c), **context},
                        upsert=True,
                    )
                    for c in record.classes
                ]
            )
        keep = [m.example_id for m in record.misclassifications]
        self.misclassifications.delete_many({"result_id": result_id, "example_id": {"$nin": keep}})
        if record.misclassifications:
            self.misclassifications.bulk_write(
                [
                    ReplaceOne(
                        {"result_id": result_id, "example_id": m.example_id},
                        {**misclassification_to_doc(m), **context},
                        upsert=True,
                    )
                    for m in record.misclassifications
                ]
            )
        self.detection_errors.delete_many({"result_id": result_id})
        if record.detection_errors:
            self.detection_errors.insert_many(
                [{**detection_error_to_doc(e), **context} for e in record.detection_errors]
            )
        if record.outcomes is not None:
            self.outcomes.replace_one(
                {"result_id": result_id},
                {
                    **outcomes_to_doc(record.outcomes),
                    **context,
                    "fingerprint": record.fingerprint,
                    "task": record.task,
                },
                upsert=True,
            )

    def outcomes_for(
        self,
        dataset_id: str,
        split: str,
        *,
        variant: str = "original",
        dataset_revision: str | None = None,
        dataset_config: str | None = None,
    ) -> list[tuple[Doc, Outcomes]]:
        """The per-example outcomes stored for a dataset split and variant: each with its
        result's identity (model, revision, dataset revision, versions), newest code first."""
        query: Doc = {"dataset_id": dataset_id, "split": split, "variant": variant}
        if dataset_revision is not None:
            query["dataset_revision"] = dataset_revision
        if dataset_config is not None:
            query["dataset_config"] = dataset_config
        found = []
        for doc in self.outcomes.find(query, {"_id": 0}).sort(
            [("code_version", DESCENDING), ("model_id", ASCENDING)]
        ):
            identity = {k: v for k, v in doc.items() if k not in _OUTCOME_FIELDS}
            found.append((identity, doc_to_outcomes(doc)))
        return found

    def has_result(self, key: dict[str, object]) -> bool:
        return self.results.count_documents(key, limit=1) > 0

    def results_for(self, model_id: str, sha: str | None = None) -> list[EvaluationRecord]:
        query: Doc = {"model_id": model_id}
        if sha is not None:
            query["model_sha"] = sha
        docs = list(
            self.results.find(query).sort([("dataset_id", 1), ("split", 1), ("variant", 1)])
        )
        ids = [d["_id"] for d in docs]
        runtimes = {r["result_id"]: r for r in self.runtimes.find({"result_id": {"$in": ids}})}
        classes: dict[Any, list[Doc]] = {i: [] for i in ids}
        for c in self.class_results.find({"result_id": {"$in": ids}}):
            classes[c["result_id"]].append(c)
        misses: dict[Any, list[Doc]] = {i: [] for i in ids}
        for m in self.misclassifications.find({"result_id": {"$in": ids}}):
            misses[m["result_id"]].append(m)
        boxes: dict[Any, list[Doc]] = {i: [] for i in ids}
        for e in self.detection_errors.find({"result_id": {"$in": ids}}):
            boxes[e["result_id"]].append(e)
        return [
            doc_to_result(
                d, runtimes.get(d["_id"]), classes[d["_id"]], misses[d["_id"]], boxes[d["_id"]]
            )
            for d in docs
        ]

    # -- datasets, variants, references, catalogue (thesis tables 3.2, 3.3d, 3.4) -------------

    def upsert_reference(self, ref: ReferenceRecord) -> None:
        doc = asdict(ref)
        self.references.update_one({"_id": doc.pop("key")}, {"$set": doc}, upsert=True)

    def upsert_dataset(self, dataset: DatasetRecord) -> None:
        doc = asdict(dataset)
        dataset_id = doc.pop("dataset_id")
        labels = doc.pop("labels")
        doc["variants"] = list(dataset.variants)
        doc["compatible"] = list(dataset.compatible)
        self.datasets.update_one(
            {"_id": dataset_id}, {"$set": {**doc, "num_classes": len(labels)}}, upsert=True
        )
        if labels:
            self.dataset_classes.bulk_write(
                [
                    ReplaceOne(
                        {"dataset_id": dataset_id, "class_id": i},
                        {"dataset_id": dataset_id, "class_id": i, "label": label},
                        upsert=True,
                    )
                    for i, label in enumerate(labels)
                ]
            )

    def get_dataset(self, dataset_id: str) -> Doc | None:
        doc = self.datasets.find_one({"_id": dataset_id})
        if doc is not None:
            classes = self.dataset_classes.find({"dataset_id": dataset_id}).sort(
                "class_id", ASCENDING
            )
            doc["labels"] = [c["label"] for c in classes]
        return doc

    def upsert_split(self, split: DatasetSplitRecord) -> None:
        doc = asdict(split)
        doc["class_counts"] = list(split.class_counts)
        key = {k: doc[k] for k in ("dataset_id", "revision", "split")}
        self.dataset_splits.update_one(key, {"$set": doc}, upsert=True)

    def has_examples(self, dataset_id: str, split: str) -> bool:
        return (
            self.dataset_examples.count_documents(
                {"dataset_id": dataset_id, "split": split}, limit=1
            )
            > 0
        )

    def stored_example_ids(self, dataset_id: str, split: str) -> set[int]:
        """The ids of the examples of one split that the store holds."""
        docs = self.dataset_examples.find(
            {"dataset_id": dataset_id, "split": split}, {"example_id": 1, "_id": 0}
        )
        return {int(d["example_id"]) for d in docs}

    def add_examples(self, examples: Sequence[DatasetExampleRecord]) -> None:
        if not examples:
            return
        self.dataset_examples.bulk_write(
            [
                ReplaceOne(
                    {k: getattr(e, k) for k in ("dataset_id", "split", "class_id", "example_id")},
                    asdict(e),
                    upsert=True,
                )
                for e in examples
            ]
        )

    def upsert_variant(self, variant: VariantRecord) -> None:
        doc = asdict(variant)
        self.variants.update_one({"_id": doc.pop("variant_id")}, {"$set": doc}, upsert=True)

    def seed_catalogue(self) -> None:
        """The Task and Metric entities: what evalbot computes and how."""
        for task in task_documents():
            self.tasks.update_one({"_id": task["name"]}, {"$set": task}, upsert=True)
        for metric in metric_documents():
            self.metrics.update_one({"_id": metric["name"]}, {"$set": metric}, upsert=True)

    # -- jobs --------------------------------------------------------------------------------

    def enqueue(self, repo_id: str, sha: str, *, reason: str = "new revision") -> bool:
        """Queue an evaluation of one model revision; False when it is already known."""
        res = self.jobs.update_one(
            {"repo_id": repo_id, "sha": sha},
            {"$setOnInsert": {**_FRESH_JOB, "reason": reason, "created_at": utcnow()}},
            upsert=True,
        )
        return res.upserted_id is not None

    def requeue(self, repo_id: str, sha: str, *, reason: str) -> bool:
        """Queue one model revision again (a config change it may need, or an operator's
        request): a new job, or a finished one reset with fresh attempts. A job that is queued
        or running is left as it is. Returns True when a job was queued."""
        return self.requeue_many([(repo_id, sha, reason)]) == 1

    def claim_job(
        self, worker: str, *, lease_s: float = 600.0, max_attempts: int = 3
    ) -> Job | None:
        """Atomically lease the oldest due job: queued (past its ``not_before``), or running
        under a lease that expired (its worker died). Each claim counts one attempt; jobs that
        used ``max_attempts`` are left to :meth:`take_exhausted_job`.
        """
        now = utcnow()
        doc = self.jobs.find_one_and_update(
            {
                "attempts": {"$lt": max_attempts},
                "$or": [
                    {"status": "queued", "not_before": {"$not": {"$gt": now}}},
                    {"status": "running", "lease_until": {"$lt": now}},
                ],
            },
            {
                "$set": {
                    "status": "running",
                    "worker": worker,
                    "lease_until": now + timedelta(seconds=lease_s),
                    "not_before": None,
                    "started_at": now,
                    "reaping": False,
                },
                "$inc": {"attempts": 1},
            },
            sort=[("created_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        return _job(doc) if doc is not None else None

    def extend_lease(self, job: Job, *, lease_s: float) -> bool:
        """The heartbeat: push the lease forward. False when ``job.worker`` no longer holds it."""
        res = self.jobs.update_one(
            _owned(job), {"$set": {"lease_until": utcnow() + timedelta(seconds=lease_s)}}
        )
        return res.matched_count == 1

    def holds_lease(self, job: Job) -> bool:
        return self.jobs.count_documents(_owned(job), limit=1) > 0

    def finish_job(
        self, job: Job, *, status: str, error: str | None = None, module: str | None = None
    ) -> bool:
        """Close a job for good, only while ``job.worker`` holds its lease (status running).

        ``module``: the evaluation module whose problem blocks the job (status ``blocked``).
        Returns False when the lease was lost: another worker owns the job now.
        """
        res = self.jobs.update_one(
            _owned(job),
            {
                "$set": {
                    "status": status,
                    "error": error,
                    "module": module,
                    "finished_at": utcnow(),
                    "lease_until": None,
                },
                "$inc": {"finished": 1},  # completions since queued: one, unless a bug
            },
        )
        return res.matched_count == 1

    def release_job(
        self,
        job: Job,
        *,
        not_before: datetime,
        error: str | None = None,
        refund: bool = False,
        transient: bool = False,
    ) -> bool:
        """Hand a job back to the queue, due again at ``not_before``.

        ``refund`` gives the attempt back (the job was deferred by the bot's own policy, or
        stopped by trouble that is not the model's). ``transient`` counts one more failure in
        a row that was not the model's (``Job.transient``, which sets the backoff); without it
        the count starts again. Returns False when the worker no longer held it.
        """
        update: Doc = {
            "$set": {
                "status": "queued",
                "error": error,
                "not_before": not_before,
                "lease_until": None,
            }
        }
        inc: Doc = {}
        if refund:
            inc["attempts"] = -1
        if transient:
            inc["transient"] = 1
        else:
            update["$set"]["transient"] = 0
        if inc:
            update["$inc"] = inc
        return self.jobs.update_one(_owned(job), update).matched_count == 1

    def take_exhausted_job(
        self, max_attempts: int, *, worker: str = "reaper", lease_s: float = 60.0
    ) -> ExhaustedJob | None:
        """Atomically lease one job that used up its attempts, for ``worker`` to end it.

        Such a job is never claimed again; the caller records why (on the model, or on the job)
        and finishes it with :meth:`finish_job`, so nothing is lost silently. A reaper that dies
        meanwhile leaves an expired lease: the job is taken again.
        """
        now = utcnow()
        # One pipeline stage reads the job as it was: the first reaper judges the crash, a
        # later one (its predecessor died) keeps that verdict.
        first_take = {"$ne": ["$reaping", True]}
        crashed_now = {"$eq": ["$status", "running"]}
        doc = self.jobs.find_one_and_update(
            {
                "attempts": {"$gte": max_attempts},
                "$or": [
                    {"status": "queued"},
                    {"status": "running", "lease_until": {"$lt": now}},
                ],
            },
            [
                {
                    "$set": {
                        "reap_crashed": {
                            "$cond": [
                                first_take,
                                crashed_now,
                                {"$ifNull": ["$reap_crashed", False]},
                            ]
                        },
                        "status": "running",
                        "worker": worker,
                        "lease_until": now + timedelta(seconds=lease_s),
                        "reaping": True,
                    }
                }
            ],
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        return ExhaustedJob(
            job=_job(doc), crashed=bool(doc["reap_crashed"]), last_error=doc.get("error")
        )

    def get_job(self, repo_id: str, sha: str) -> Doc | None:
        return self.jobs.find_one({"repo_id": repo_id, "sha": sha})

    def job_counts(self) -> dict[str, int]:
        pipeline: list[Doc] = [{"$group": {"_id": "$status", "n": {"$sum": 1}}}]
        return {d["_id"]: d["n"] for d in self.jobs.aggregate(pipeline)}

    def jobs_with_status(self, status: str, *, limit: int = 1000) -> list[Doc]:
        """Jobs in one status (e.g. ``blocked``, ``error``), oldest first."""
        return list(self.jobs.find({"status": status}).sort("created_at", ASCENDING).limit(limit))

    # -- worker heartbeats -------------------------------------------------------------------

    def record_heartbeat(self, worker: str, *, fresh_s: float) -> None:
        """Note ``worker``, on this host, alive: fresh for ``fresh_s`` seconds from now."""
        now = utcnow()
        self.workers.update_one(
            {"_id": worker},
            {
                "$set": {
                    "host": socket.gethostname(),
                    "seen_at": now,
                    "fresh_until": now + timedelta(seconds=fresh_s),
                }
            },
            upsert=True,
        )

    def forget_worker(self, worker: str) -> None:
        """A worker that stopped cleanly: no heartbeat is due from it any more. When MongoDB
        does not answer, its record is left to go stale (the process is stopping anyway)."""
        with contextlib.suppress(PyMongoError):
            self.workers.delete_one({"_id": worker})

    def worker_heartbeats(self, *, host: str | None = None) -> list[WorkerHeartbeat]:
        """The workers' last heartbeats (of one host's workers, given ``host``), newest first."""
        found = self.workers.find({"host": host} if host else {}).sort("seen_at", DESCENDING)
        return [
            WorkerHeartbeat(
                worker=doc["_id"],
                host=doc["host"],
                seen_at=as_utc(doc["seen_at"]),
                fresh_until=as_utc(doc["fresh_until"]),
            )
            for doc in found
        ]

    # -- re-planning -------------------------------------------------------------------------

    def planning_view(self) -> Iterator[Doc]:
        """What re-planning reads of every model, projected to those fields (MongoDB still
        reads each document: ``evaluated_tasks`` is an array, no index can cover the scan)."""
        return self.models.find(
            {},
            {
                "_id": 1,
                "sha": 1,
                "eval_sha": 1,
                "pipeline_tag": 1,
                "datasets": 1,
                "model_index": 1,
                "labels": 1,
                "origin": 1,
                "tags": 1,
                "status": 1,
                "failure_reason": 1,
                "failure_digest": 1,
                "evaluated_tasks": 1,
            },
        )

    def active_jobs(self, *, blocked: bool = True) -> set[tuple[str, str]]:
        """(repo_id, sha) of every job queued, running or blocked: re-planning leaves them.

        ``blocked=False`` leaves out the jobs blocked on a module (an operator's requeue takes
        them up again).
        """
        statuses = ACTIVE_JOB_STATUSES if blocked else ACTIVE_JOB_STATUSES - {"blocked"}
        return {
            (d["repo_id"], d["sha"])
            for d in self.jobs.find(
                {"status": {"$in": sorted(statuses)}},
                {"repo_id": 1, "sha": 1, "_id": 0},
            )
        }

    def requeue_many(self, jobs: Sequence[tuple[str, str, str]]) -> int:
        """:meth:`requeue` for each (repo_id, sha, reason), in bulk; returns how many were
        queued (new jobs, or finished ones reset). Queued and running jobs stay as they are.

        One update per distinct reason over the existing jobs' ids, one insert of the missing
        ones: thousands of jobs cost a few round trips (re-planning after a config change).
        """
        if not jobs:
            return 0
        now = utcnow()
        wanted = {(repo_id, sha): reason for repo_id, sha, reason in jobs}
        found: dict[tuple[str, str], Any] = {}
        repos = sorted({repo_id for repo_id, _ in wanted})
        for doc in self.jobs.find({"repo_id": {"$in": repos}}, {"repo_id": 1, "sha": 1}):
            key = (doc["repo_id"], doc["sha"])
            if key in wanted:
                found[key] = doc["_id"]
        fresh: Doc = {
            **_FRESH_JOB,
            "error": None,
            "module": None,
            "reaping": False,
            "requeued_at": now,
        }
        by_reason: dict[str, list[Any]] = {}
        for key, job_id in found.items():
            by_reason.setdefault(wanted[key], []).append(job_id)
        queued = 0
        for reason, ids in by_reason.items():
            queued += self.jobs.update_many(
                {"_id": {"$in": ids}, "status": {"$nin": ["queued", "running"]}},
                {"$set": {**fresh, "reason": reason}},
            ).modified_count
        missing = [
            {"repo_id": r, "sha": s, **fresh, "reason": why, "created_at": now}
            for (r, s), why in wanted.items()
            if (r, s) not in found
        ]
        if missing:
            try:
                queued += len(self.jobs.insert_many(missing, ordered=False).inserted_ids)
            except BulkWriteError as exc:  # queued meanwhile by another process: as meant
                queued += int(exc.details.get("nInserted", 0))
        return queued

    def job_keys(self) -> set[tuple[str, str]]:
        """(repo_id, sha) of every job, whatever its status."""
        return set(self.job_states())

    def job_states(self) -> dict[tuple[str, str], str]:
        """The status of every job by (repo_id, sha): one scan of the queue."""
        return {
            (d["repo_id"], d["sha"]): d["status"]
            for d in self.jobs.find({}, {"repo_id": 1, "sha": 1, "status": 1, "_id": 0})
        }

    # -- module problems ---------------------------------------------------------------------

    def record_module_problem(self, module_id: str, digest: str, error: str) -> None:
        """A module's dataset cannot be used (see ``evaluators.datasets_io.DatasetError``): the
        jobs that need it wait (status ``blocked``) until the module changes."""
        now = utcnow()
        self.module_problems.update_one(
            {"_id": module_id},
            {
                "$set": {"digest": digest, "error": error[:1000], "updated_at": now},
                "$setOnInsert": {"since": now},
            },
            upsert=True,
        )

    def module_problems_by_id(self) -> dict[str, Doc]:
        return {d["_id"]: d for d in self.module_problems.find()}

    def clear_module_problem(self, module_id: str) -> None:
        self.module_problems.delete_one({"_id": module_id})

    def blocked_jobs(self, module_id: str) -> list[tuple[str, str]]:
        docs = self.jobs.find({"status": "blocked", "module": module_id}, {"repo_id": 1, "sha": 1})
        return [(d["repo_id"], d["sha"]) for d in docs]

    # -- modules derived from dataset cards ---------------------------------------------------

    def save_card_module(
        self,
        dataset_id: str,
        module: Doc,
        *,
        revision: str | None,
        warnings: Sequence[str] = (),
        recheck_after: timedelta,
    ) -> None:
        """The module ``dataset_id``'s card configures (``module``: the module's dict), read at
        ``revision``; the card is read again after ``recheck_after``."""
        now = utcnow()
        self.modules.replace_one(
            {"_id": dataset_id.casefold()},
            {
                "dataset_id": dataset_id,
                "source": "card",
                "module": module,
                "error": None,
                "revision": revision,
                "warnings": list(warnings),
                "derived_at": now,
                "recheck_at": now + recheck_after,
            },
            upsert=True,
        )

    def save_card_refusal(
        self, dataset_id: str, error: str, *, revision: str | None, ttl: timedelta
    ) -> None:
        """``dataset_id``'s card configures no module (``error`` says why): kept for ``ttl``,
        so that the card is not read every cycle."""
        now = utcnow()
        self.modules.replace_one(
            {"_id": dataset_id.casefold()},
            {
                "dataset_id": dataset_id,
                "source": "card",
                "module": None,
                "error": error[:1000],
                "revision": revision,
                "warnings": [],
                "derived_at": now,
                "recheck_at": now + ttl,
                "expires_at": now + ttl,
            },
            upsert=True,
        )

    def card_module_docs(self) -> list[Doc]:
        """Every stored module derived from a card, oldest first."""
        return list(self.modules.find({"module": {"$ne": None}}).sort("derived_at", ASCENDING))

    def card_answers_due(self, dataset_ids: Sequence[str]) -> list[str]:
        """The datasets of ``dataset_ids`` whose card has no stored answer, or one due for a
        new reading (a refusal past its TTL, a module past its recheck time)."""
        keys = {d.casefold(): d for d in dataset_ids}
        fresh = {
            doc["_id"]
            for doc in self.modules.find(
                {"_id": {"$in": list(keys)}, "recheck_at": {"$gt": utcnow()}}, {"_id": 1}
            )
        }
        return [dataset_id for key, dataset_id in keys.items() if key not in fresh]

    def card_modules_stamp(self) -> tuple[int, datetime | None]:
        """(count, newest derivation) of the card modules: changes when one is added or renewed."""
        docs = list(
            self.modules.find({"module": {"$ne": None}}, {"derived_at": 1})
            .sort("derived_at", DESCENDING)
            .limit(1)
        )
        count = self.modules.count_documents({"module": {"$ne": None}})
        return count, (docs[0]["derived_at"] if docs else None)

    # -- pull requests -----------------------------------------------------------------------

    def record_pr(self, pr: PullRequestRecord) -> None:
        self.pull_requests.update_one(
            {"repo_id": pr.repo_id, "num": pr.num},
            {
                "$set": {
                    "model_sha": pr.model_sha,
                    "result_hash": pr.result_hash,
                    "url": pr.url,
                    "status": pr.status,
                },
                "$setOnInsert": {"created_at": pr.created_at},
            },
            upsert=True,
        )

    def prs_for(self, repo_id: str) -> list[PullRequestRecord]:
        return [
            _pr(d) for d in self.pull_requests.find({"repo_id": repo_id}).sort("num", DESCENDING)
        ]

    def set_pr_status(self, repo_id: str, num: int, status: str) -> None:
        """Record what became of a PR on the Hub: open, merged or closed."""
        self.pull_requests.update_one(
            {"repo_id": repo_id, "num": num},
            {"$set": {"status": status, "checked_at": utcnow()}},
        )

    def open_prs(self, *, limit: int) -> list[PullRequestRecord]:
        """PRs last seen open, least recently checked first (their state is refreshed)."""
        docs = (
            self.pull_requests.find({"status": "open"})
            .sort([("checked_at", ASCENDING), ("num", ASCENDING)])
            .limit(limit)
        )
        return [_pr(d) for d in docs]

    def reserve_pr_slot(self, cap: int, *, holder: str) -> tuple[str | None, datetime]:
        """Take one of the ``cap`` hourly PR slots, atomically across workers.

        A slot is held for an hour from when it is taken, so at most ``cap`` PRs are opened in
        any hour. Returns ``(slot id, now)``, or ``(None, when the first slot frees)``.
        """
        now = utcnow()
        ids = [f"slot-{i}" for i in range(cap)]
        if not ids:
            return None, now + timedelta(hours=1)
        missing = set(ids) - {d["_id"] for d in self.pr_slots.find({"_id": {"$in": ids}})}
        for slot in sorted(missing):
            with contextlib.suppress(DuplicateKeyError):
                self.pr_slots.insert_one({"_id": slot, "until": _EPOCH})
        doc = self.pr_slots.find_one_and_update(
            {"_id": {"$in": ids}, "until": {"$lte": now}},
            {"$set": {"until": now + timedelta(hours=1), "holder": holder, "taken_at": now}},
        )
        if doc is not None:
            return str(doc["_id"]), now
        first = self.pr_slots.find({"_id": {"$in": ids}}).sort("until", ASCENDING).limit(1)
        frees = next(iter(first), None)
        return None, as_utc(frees["until"]) if frees else now + timedelta(hours=1)

    def release_pr_slot(self, slot: str, *, holder: str) -> None:
        """Give back a slot that opened no PR (the commit was refused or changed nothing)."""
        self.pr_slots.update_one(
            {"_id": slot, "holder": holder},
            {"$set": {"until": _EPOCH, "holder": None}},
        )

    # -- declined ----------------------------------------------------------------------------

    def set_declined(self, repo_id: str, num: int | None, *, by: str | None = None) -> None:
        """Record that the author closed evalbot's PR ``num`` (None: opted back in)."""
        value = None if num is None else {"num": num, "by": by, "at": utcnow()}
        self.models.update_one({"_id": repo_id}, {"$set": {"declined": value}})

    def declined_models(self) -> list[Doc]:
        """Repos whose authors declined evalbot's PRs: ``{_id, declined: {num, by, at}}``."""
        return list(
            self.models.find({"declined": {"$ne": None}}, {"declined": 1}).sort("_id", ASCENDING)
        )

    def pr_counts(self) -> dict[str, int]:
        pipeline: list[Doc] = [{"$group": {"_id": "$status", "n": {"$sum": 1}}}]
        return {d["_id"]: d["n"] for d in self.pull_requests.aggregate(pipeline)}

    # -- claims audit ------------------------------------------------------------------------

    def save_claims(self, model_id: str, model_sha: str, claims: Sequence[ClaimRecord]) -> None:
        """Replace the audit of ``model_id`` with ``claims`` (those of revision ``model_sha``).

        The card of a new revision may claim different things: older claims are dropped.
        """
        self.claims.delete_many({"model_id": model_id, "model_sha": {"$ne": model_sha}})
        keep = [(c.dataset_id, c.split, c.metric) for c in claims]
        for doc in self.claims.find(
            {"model_id": model_id}, {"dataset_id": 1, "split": 1, "metric": 1}
        ):
            if (doc["dataset_id"], doc["split"], doc["metric"]) not in keep:
                self.claims.delete_one({"_id": doc["_id"]})
        for claim in claims:
            doc = asdict(claim)
            created = doc.pop("created_at")
            key = {k: doc[k] for k in ("model_id", "dataset_id", "split", "metric")}
            self.claims.update_one(
                key, {"$set": doc, "$setOnInsert": {"created_at": created}}, upsert=True
            )

    def claims_for(self, model_id: str) -> list[ClaimRecord]:
        """The audit of one model, in a stable order (dataset, split, metric)."""
        docs = self.claims.find({"model_id": model_id}).sort(
            [("dataset_id", ASCENDING), ("split", ASCENDING), ("metric", ASCENDING)]
        )
        return [_claim(d) for d in docs]

    def discrepancies(self, *, limit: int = 1000) -> list[ClaimRecord]:
        """Claims that disagree with our measurement, newest first."""
        docs = self.claims.find({"agrees": False}).sort("created_at", DESCENDING).limit(limit)
        return [_claim(d) for d in docs]

    # -- signing identity --------------------------------------------------------------------

    def set_identity(self, identity: SigningIdentity) -> None:
        """Publish the public key that signs results (the Space shows it). The same key again
        keeps its date, so a restarted worker changes nothing the results dataset holds."""
        current = self.get_identity()
        if current is not None and (current.key_id, current.public_key_pem) == (
            identity.key_id,
            identity.public_key_pem,
        ):
            return
        self.identity.update_one({"_id": "signing"}, {"$set": asdict(identity)}, upsert=True)

    def get_identity(self) -> SigningIdentity | None:
        doc = self.identity.find_one({"_id": "signing"})
        if doc is None:
            return None
        return SigningIdentity(
            key_id=doc["key_id"], public_key_pem=doc["public_key_pem"], updated_at=doc["updated_at"]
        )

    # -- locks -------------------------------------------------------------------------------

    def acquire_lock(self, name: str, owner: str, *, ttl_s: float) -> bool:
        """Take the lock ``name`` (or renew it when ``owner`` holds it); False when another
        owner holds it and it has not expired. Expiry frees the lock of a dead owner.
        """
        now = utcnow()
        try:
            self.locks.update_one(
                {"_id": name, "$or": [{"owner": owner}, {"until": {"$lt": now}}]},
                {"$set": {"owner": owner, "until": now + timedelta(seconds=ttl_s)}},
                upsert=True,
            )
        except DuplicateKeyError:  # held by someone else: the upsert's insert collided
            return False
        return True

    def release_lock(self, name: str, owner: str) -> None:
        self.locks.delete_one({"_id": name, "owner": owner})

    # -- discovery watermarks ----------------------------------------------------------------

    def get_watermark(self, key: str) -> datetime | None:
        doc = self.poll_state.find_one({"_id": key})
        return doc["watermark"] if doc else None

    def set_watermark(self, key: str, value: datetime) -> None:
        self.poll_state.update_one(
            {"_id": key}, {"$set": {"watermark": value, "updated_at": utcnow()}}, upsert=True
        )

    # -- results dataset ---------------------------------------------------------------------

    def get_publication(self, repo_id: str) -> tuple[str, str] | None:
        """(state, head commit) of the last publication to the results dataset ``repo_id``."""
        doc = self.poll_state.find_one({"_id": f"results-dataset:{repo_id}"})
        return (doc["state"], doc["commit"]) if doc else None

    def set_publication(self, repo_id: str, state: str, commit: str) -> None:
        self.poll_state.update_one(
            {"_id": f"results-dataset:{repo_id}"},
            {"$set": {"state": state, "commit": commit, "updated_at": utcnow()}},
            upsert=True,
        )

    # -- census of what discovery sees --------------------------------------------------------

    @property
    def census(self) -> Collection[Doc]:
        """One document per model repo discovery has seen (:class:`Sighting`), [_id = repo_id]."""
        return self.db["sightings"]

    def _census_indexes(self) -> None:
        self.census.create_index("outcome")

    def record_sighting(self, sighting: Sighting, *, provisional: bool = False) -> None:
        """Store what discovery saw of a repo at its head and what became of it.

        ``first_seen`` is kept from the first sighting; ``last_seen`` is now. A ``provisional``
        outcome (the census's own reading of a listing) never replaces ``queued`` at the same
        head: the source that queued the model knows better.
        """
        doc = asdict(sighting)
        repo_id = doc.pop("repo_id")
        doc.pop("first_seen")
        doc.pop("last_seen")
        doc["datasets"] = list(sighting.datasets)
        doc["outcome"] = sighting.outcome.value
        now = utcnow()
        if provisional:
            previous = self.census.find_one({"_id": repo_id}, {"sha": 1, "outcome": 1})
            if previous is not None and (previous.get("sha"), previous.get("outcome")) == (
                sighting.sha,
                CoverageOutcome.QUEUED.value,
            ):
                doc = {"last_seen": now}
        self.census.update_one(
            {"_id": repo_id},
            {"$set": {**doc, "last_seen": now}, "$setOnInsert": {"first_seen": now}},
            upsert=True,
        )

    def sighting_sha(self, repo_id: str) -> str | None:
        """The head at which discovery last recorded ``repo_id``, or None if never seen."""
        doc = self.census.find_one({"_id": repo_id}, {"sha": 1})
        return doc["sha"] if doc else None

    def sightings(self) -> list[Sighting]:
        """Every repo discovery has seen, by repo id."""
        return [_sighting(d) for d in self.census.find().sort("_id", ASCENDING)]


def _claim(doc: Doc) -> ClaimRecord:
    fields = {k: doc[k] for k in ClaimRecord.__dataclass_fields__ if k in doc}
    return ClaimRecord(**fields)


def _sighting(doc: Doc) -> Sighting:
    return Sighting(
        repo_id=doc["_id"],
        sha=doc["sha"],
        source=doc.get("source") or "huggingface",
        outcome=CoverageOutcome(doc["outcome"]),
        pipeline_tag=doc.get("pipeline_tag"),
        library_name=doc.get("library_name"),
        datasets=tuple(doc.get("datasets") or ()),
        self_reports=bool(doc.get("self_reports")),
        detail=doc.get("detail"),
        first_seen=as_utc(doc["first_seen"]) if doc.get("first_seen") else None,
        last_seen=as_utc(doc["last_seen"]) if doc.get("last_seen") else None,
    )


def _pr(doc: Doc) -> PullRequestRecord:
    return PullRequestRecord(
        repo_id=doc["repo_id"],
        num=doc["num"],
        model_sha=doc["model_sha"],
        result_hash=doc["result_hash"],
        url=doc["url"],
        status=doc["status"],
        created_at=as_utc(doc["created_at"]),
    )


def _job(doc: Doc) -> Job:
    return Job(
        id=doc["_id"],
        repo_id=doc["repo_id"],
        sha=doc["sha"],
        attempts=doc["attempts"],
        worker=doc.get("worker") or "",
        transient=doc.get("transient") or 0,
        reason=doc.get("reason") or "new revision",
    )


def _owned(job: Job) -> Doc:
    """The filter of a job as long as ``job.worker`` holds its lease (status running)."""
    return {"_id": job.id, "status": "running", "worker": job.worker}


def _connect_error(uri: str, exc: PyMongoError, *, setting: str) -> MongoUnavailableError:
    """The error of a failed first ping: refused credentials, or no answer."""
    if isinstance(exc, OperationFailure) and exc.code == 18:  # AuthenticationFailed
        return MongoAuthenticationError(
            f"MongoDB at {_redact(uri)} refused the user or password: check {setting} "
            "(user, password and authSource)",
            uri=_redact(uri),
        )
    return MongoUnavailableError(
        f"MongoDB at {_redact(uri)} is unreachable ({type(exc).__name__}). "
        f"Check {setting}, or unset MONGODB_URI to use the embedded server.",
        uri=_redact(uri),
    )


def _redact(uri: str) -> str:
    """Hide the password of a MongoDB URI."""
    if "@" not in uri or "://" not in uri:
        return uri
    scheme, rest = uri.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
