"""Discovery: newest models of each configured task x training dataset, down to a watermark.

A cycle costs requests in proportion to the models changed since the last cycle: listing is
sorted by ``lastModified`` (newest first) and stops at the stored watermark. A query the Hub
keeps refusing (429, 5xx, after the client's own retries) is skipped with its watermark kept:
the next cycle lists it again, and enqueueing is idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx2
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.hf_api import ModelInfo

from bot.fiftyone_export import use_store_for_fiftyone
from bot.ratelimit import is_transient
from evaluators.config import EvaluationModule
from store.db import Store
from store.types import ModelRecord

log = logging.getLogger(__name__)

EXPAND = ["sha", "lastModified", "pipeline_tag", "tags", "library_name", "createdAt"]


def to_record(info: ModelInfo) -> ModelRecord:
    """A ``ModelRecord`` from a Hub ``ModelInfo`` (list or single-model answer)."""
    tags = tuple(info.tags or ())
    datasets = tuple(t.split(":", 1)[1] for t in tags if t.startswith("dataset:"))
    card = info.card_data.to_dict() if info.card_data is not None else {}
    card_datasets = card.get("datasets") or []
    if isinstance(card_datasets, str):
        card_datasets = [card_datasets]
    merged = tuple(dict.fromkeys([*datasets, *(str(d) for d in card_datasets)]))
    return ModelRecord(
        repo_id=info.id,
        sha=info.sha or "",
        pipeline_tag=info.pipeline_tag,
        library_name=info.library_name,
        datasets=merged,
        tags=tags,
        last_modified=info.last_modified,
    )


@dataclass(frozen=True)
class DiscoveryReport:
    seen: int
    queued: list[ModelRecord]
    skipped_queries: int = 0  # refused by the Hub this cycle; listed again next cycle


def _queries(modules: Sequence[EvaluationModule]) -> Iterable[tuple[str, str]]:
    seen = set()
    for module in modules:
        for tag in module.trained_on:
            if (module.task, tag) not in seen:
                seen.add((module.task, tag))
                yield module.task, tag


def discover(
    api: HfApi,
    modules: Sequence[EvaluationModule],
    store: Store,
    *,
    limit: int,
    hub: bool = True,
    zoo: Sequence[str] | None = None,
) -> DiscoveryReport:
    """List new or changed models, store them and queue a job per new revision.

    Args:
        hub: Whether to list the Hub (the ``huggingface`` source).
        zoo: FiftyOne zoo model names (fnmatch patterns) to take as well; None: the FiftyOne
            source is off.
    """
    seen, skipped = 0, 0
    queued: list[ModelRecord] = []
    if zoo is not None:
        seen += _discover_zoo(modules, store, zoo, queued=queued)
    for task, dataset in _queries(modules) if hub else ():
        try:
            seen += _discover_one(api, store, task, dataset, limit=limit, queued=queued)
        except (HfHubHTTPError, httpx2.TransportError) as exc:
            if not is_transient(exc):
                raise
            skipped += 1
            log.warning("discovery of %s x %s skipped this cycle: %s", task, dataset, exc)
    log.info("discovery: %d models listed, %d new revisions queued", seen, len(queued))
    return DiscoveryReport(seen=seen, queued=queued, skipped_queries=skipped)


def _discover_zoo(
    modules: Sequence[EvaluationModule],
    store: Store,
    patterns: Sequence[str],
    *,
    queued: list[ModelRecord],
) -> int:
    """The FiftyOne zoo's models of configured tasks and datasets; a new version is queued."""
    from fnmatch import fnmatchcase

    from evaluators.fiftyone_models import PREFIX, zoo_candidates

    use_store_for_fiftyone(store)
    found = [
        m
        for m in zoo_candidates(modules)
        if any(fnmatchcase(m.repo_id.removeprefix(PREFIX), p) for p in patterns)
    ]
    for model in found:
        if store.upsert_model(model) and store.enqueue(model.repo_id, model.sha):
            queued.append(model)
    return len(found)


def _discover_one(
    api: HfApi, store: Store, task: str, dataset: str, *, limit: int, queued: list[ModelRecord]
) -> int:
    """One task x dataset query down to its watermark; returns the models listed."""
    key = f"huggingface:{task}:dataset:{dataset}"
    watermark = store.get_watermark(key)
    newest: datetime | None = None
    seen = 0
    for info in api.list_models(
        pipeline_tag=task,
        filter=f"dataset:{dataset}",
        sort="last_modified",
        limit=limit,
        expand=EXPAND,  # type: ignore[arg-type]
    ):
        if watermark and info.last_modified and info.last_modified < watermark:
            break
        seen += 1
        newest = (
            max(newest, info.last_modified)
            if newest and info.last_modified
            else (newest or info.last_modified)
        )
        record = to_record(info)
        if not record.sha:
            record = to_record(api.model_info(info.id))
        store.upsert_model(record)
        if store.enqueue(record.repo_id, record.sha):
            queued.append(record)
    if newest is not None:
        store.set_watermark(key, newest)
    return seen
