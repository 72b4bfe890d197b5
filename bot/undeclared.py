"""Models that declare no training dataset: list each task's newest, infer what they were
trained on (:mod:`evaluators.inference`), and queue those that point to one dataset.

The dataset queries of :mod:`bot.discovery` find only models whose card names a dataset; more
than half of the Hub's models name none. Each cycle this source lists, per task some module may
infer (``infer: true``), the newest models down to a watermark. A model with no ``dataset:`` tag
costs one ``model_info`` (its card's ``datasets:`` and model-index, and the fingerprint a job
needs) and, when it has a ``config.json`` of at most :data:`MAX_CONFIG_BYTES`, one download of
that file for its labels. At most ``discovery.limit_per_query`` such models per task and cycle;
the rest wait for the next cycle, and the watermark moves only once the listing down to it has
been taken in, as in :mod:`bot.discovery`.

A model whose training data is inferred is stored with the hints it was inferred from and
queued; one whose hints point to several datasets is stored as failed (``unsupported``) with
the candidates, so the author sees why; one with no usable hint is not stored. Each is
recorded in the census (:class:`bot.discovery.Census`): queued, ambiguous, gated, or why no
dataset was inferred.

Example:
    >>> report = discover_undeclared(config, api=api, store=store)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import httpx2
from huggingface_hub import HfApi, ModelInfo
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
)
from huggingface_hub.hf_api import RepoSibling

from bot.config import BotConfig
from bot.discovery import EXPAND, Census, DiscoveryReport, Listing, to_record
from bot.ratelimit import is_transient
from bot.worker import planner_for
from evaluators import tasks as task_types
from evaluators.config import EvaluationModule
from evaluators.hub import fingerprint
from evaluators.inference import Hints, Reason, Selector
from evaluators.limits import load_json
from evaluators.planner import Planner
from store.db import Store
from store.types import CoverageOutcome, FailureReason, ModelRecord, ModelStatus, utcnow

log = logging.getLogger(__name__)

MAX_CONFIG_BYTES = 1_000_000  # a config.json larger than this is not read for its labels


def watermark_key(task: str) -> str:
    """The watermark of the listing of ``task``'s newest models for inference."""
    return f"huggingface:{task}:undeclared"


def inferable_tasks(modules: Sequence[EvaluationModule]) -> list[str]:
    """The registered tasks of the modules that take part in inference."""
    return sorted({m.task for m in modules if m.infer and task_types.find(m.task) is not None})


def config_labels(api: HfApi, model: ModelRecord, size: int | None) -> tuple[str, ...]:
    """The names of ``config.json``'s ``id2label`` in id order, read at the model's revision;
    empty when there is no such file, it is larger than :data:`MAX_CONFIG_BYTES`, or it holds
    no usable ``id2label`` (never raises for what the file holds).

    Raises:
        huggingface_hub.errors.HfHubHTTPError, httpx2.TransportError: the Hub did not answer.
    """
    if size is None or size > MAX_CONFIG_BYTES:
        return ()
    with tempfile.TemporaryDirectory(prefix="evalbot-config-") as folder:
        try:
            path = api.hf_hub_download(
                model.repo_id, "config.json", revision=model.sha, local_dir=folder
            )
        except EntryNotFoundError:
            return ()
        try:
            config = load_json(Path(path), "config.json")  # bounded, depth-checked
        except (OSError, ValueError, RecursionError):
            return ()
    id2label = config.get("id2label") if isinstance(config, dict) else None
    if not isinstance(id2label, dict) or not id2label:
        return ()
    try:
        ordered = sorted((int(k), str(v)) for k, v in id2label.items())
    except (TypeError, ValueError):
        return ()
    return tuple(label for _, label in ordered)


def with_labels(api: HfApi, model: ModelRecord, siblings: Sequence[RepoSibling]) -> ModelRecord:
    """``model`` with the labels of its ``config.json`` (see :func:`config_labels`); ``siblings``
    are the files of its ``model_info`` with their sizes (``files_metadata=True``)."""
    size = next((f.size for f in siblings if f.rfilename == "config.json"), None)
    labels = config_labels(api, model, size)
    return replace(model, labels=labels) if labels else model


def discover_undeclared(config: BotConfig, *, api: HfApi, store: Store) -> DiscoveryReport:
    """One cycle of this source (see the module docstring)."""
    discovery = config.settings.discovery
    modules = [m.module for m in config.modules]
    selector = Selector(modules)
    census = Census(store, modules)
    planner = planner_for(config)
    shown = {
        m.id: m.dataset.repo + (f" ({m.dataset.config})" if m.dataset.config else "")
        for m in modules
    }
    floor = utcnow() - timedelta(days=discovery.backfill_days)
    seen = skipped = 0
    queued: list[ModelRecord] = []
    for task in inferable_tasks(modules):
        try:
            seen += _list_task(
                api,
                store,
                selector,
                task,
                planner=planner,
                shown=shown,
                limit=discovery.limit_per_query,
                floor=floor,
                queued=queued,
                census=census,
            )
        except (HfHubHTTPError, httpx2.TransportError) as exc:
            if not is_transient(exc):
                raise
            skipped += 1
            log.warning("listing of the newest %s models skipped this cycle: %s", task, exc)
    if queued:
        log.info("inferred training data: %d models queued", len(queued))
    return DiscoveryReport(seen=seen, queued=queued, skipped_queries=skipped)


def _list_task(
    api: HfApi,
    store: Store,
    selector: Selector,
    task: str,
    *,
    planner: Planner,
    shown: Mapping[str, str],
    limit: int,
    floor: datetime,
    queued: list[ModelRecord],
    census: Census,
) -> int:
    """``task``'s newest models down to the watermark; returns the models listed."""
    listing = Listing(store, watermark_key(task), floor)
    looked_up = 0
    for info in listing.new(
        api.list_models(
            pipeline_tag=task,
            sort="last_modified",
            expand=EXPAND,  # type: ignore[arg-type]
        )
    ):
        if any(t.startswith("dataset:") for t in info.tags or ()):
            continue  # it declares datasets: the dataset queries take it
        if looked_up >= limit:
            listing.complete = False
            break
        looked_up += 1
        try:
            found = _look_up(api, info)
            if found is None or found[0].datasets:
                continue  # gone, gated, or its card declares datasets after all
            record = with_labels(api, *found)
        except (HfHubHTTPError, httpx2.TransportError) as exc:
            if not is_transient(exc):
                raise
            log.warning("%s: not looked up this cycle (%s); next cycle", info.id, exc)
            listing.complete = False
            continue
        _take(store, selector, planner, record, queued, shown, census)
    listing.close()
    return listing.seen


def _look_up(api: HfApi, info: ModelInfo) -> tuple[ModelRecord, list[RepoSibling]] | None:
    """The listed model's head with its fingerprint, and its files; None when it is gone or
    gated (a model the bot cannot read is not worth storing when nothing says what it is)."""
    try:
        detail = api.model_info(info.id, revision=info.sha, files_metadata=True)
    except (RepositoryNotFoundError, GatedRepoError):
        return None
    siblings = list(detail.siblings or ())
    return replace(to_record(detail), fingerprint=fingerprint(siblings)), siblings


def _take(
    store: Store,
    selector: Selector,
    planner: Planner,
    record: ModelRecord,
    queued: list[ModelRecord],
    shown: Mapping[str, str],
    census: Census,
) -> None:
    """Queue ``record`` when its training data is inferred; store it as failed when ambiguous
    (``shown``: module id -> its dataset as a reader knows it); record either in the census,
    or why no dataset was inferred."""
    outcome = selector.select(Hints.of(record))
    if outcome.chosen:
        if store.upsert_model(record) and store.enqueue(record.repo_id, record.sha):
            queued.append(record)
        census.record(record, CoverageOutcome.QUEUED)
        log.info(
            "%s: training data inferred (%s)",
            record.repo_id,
            "; ".join(f"{c.module.id}: {c.evidence}" for c in outcome.chosen),
        )
    elif outcome.reason is Reason.AMBIGUOUS:
        candidates = list(outcome.candidates)
        store.upsert_model(record)
        store.set_model_status(
            record.repo_id,
            record.sha,
            ModelStatus.FAILED,
            reason=FailureReason.UNSUPPORTED,
            modules=candidates,
            digest=planner.plan_model(record)[1],
            detail=(
                f"its card names no training dataset and its metadata points to several: "
                f"{', '.join(shown.get(i, i) for i in candidates)}; list the "
                "datasets it was trained on under `datasets:` in the card's metadata"
            ),
        )
        census.record(record, CoverageOutcome.AMBIGUOUS, detail=outcome.explain())
    else:
        reason = CoverageOutcome.NO_TRAINING_DATASET
        if outcome.reason is Reason.TASK_NOT_SUPPORTED:
            reason = CoverageOutcome.UNSUPPORTED_TASK
        census.record(record, reason, detail=outcome.explain())
