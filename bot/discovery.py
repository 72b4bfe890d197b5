"""Discovery: newest models of each configured task x training dataset, down to a watermark.

A cycle costs requests in proportion to the models changed since the last cycle: listing is
sorted by ``lastModified`` (newest first), pages down to the stored watermark (on the first run,
``discovery.backfill_days`` back), and looks up each new head once for its files' hashes. A
head whose content fingerprint the store has seen (a merge of evalbot's PR, a README commit)
takes over that evaluation and queues nothing. A query the Hub keeps refusing (429, 5xx, after
the client's own retries) is skipped with its watermark kept: the next cycle lists it again,
and enqueueing is idempotent.

Every repo a source looks at is recorded in the census (``Store.record_sighting``): queued, or
why not. With ``census=True`` a cycle also lists the Hub's newest models of any task down to
a watermark of its own (:func:`take_census`), reading only what the listing answers, so that
the models evalbot cannot evaluate (another task, another library, no training dataset) are
counted too, at one request per listing page.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import httpx2
from huggingface_hub import HfApi
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.hf_api import ModelInfo

from bot.fiftyone_export import use_store_for_fiftyone
from bot.ratelimit import is_transient
from evaluators.config import EvaluationModule
from evaluators.hub import fingerprint
from evaluators.identity import dataset_aliases, hub_dataset_id, trained_names
from evaluators.inference import Hints, Reason, Selector
from store.db import Store
from store.types import (
    CoverageOutcome,
    DatasetMention,
    FailureReason,
    ModelRecord,
    ModelStatus,
    Sighting,
    utcnow,
)

log = logging.getLogger(__name__)

EXPAND = ["sha", "lastModified", "pipeline_tag", "tags", "library_name", "createdAt"]
# the census reads each model's card metadata and gating from the listing itself
CENSUS_EXPAND = [*EXPAND, "cardData", "gated"]
CENSUS_KEY = "huggingface:census"  # the census listing's watermark
# the libraries whose models evalbot loads (a repo that names none is tried by its config.json)
LIBRARIES = frozenset({"transformers", "timm"})


def to_record(info: ModelInfo) -> ModelRecord:
    """A ``ModelRecord`` from a Hub ``ModelInfo`` (list or single-model answer)."""
    card = info.card_data.to_dict() if info.card_data is not None else {}
    config = info.config if isinstance(info.config, dict) else {}
    return replace(
        card_record(info.id, info.pipeline_tag, tuple(info.tags or ()), card),
        sha=info.sha or "",
        library_name=info.library_name,
        last_modified=info.last_modified,
        labels=id2label_names(config.get("id2label")),
    )


def card_record(
    repo_id: str, pipeline_tag: str | None, tags: tuple[str, ...], card: object
) -> ModelRecord:
    """The selection hints of a model from its Hub tags and card metadata (``card``: the card's
    YAML front matter; anything but a mapping gives no hints)."""
    card = card if isinstance(card, dict) else {}
    datasets = [t.split(":", 1)[1] for t in tags if t.startswith("dataset:")]
    card_datasets = card.get("datasets") or []
    if isinstance(card_datasets, str):
        card_datasets = [card_datasets]
    if not isinstance(card_datasets, list):
        card_datasets = []
    merged = tuple(dict.fromkeys([*datasets, *(str(d) for d in card_datasets if d)]))
    return ModelRecord(
        repo_id=repo_id,
        sha="",
        pipeline_tag=pipeline_tag,
        datasets=merged,
        tags=tags,
        model_index=model_index_datasets(card.get("model-index")),
    )


def model_index_datasets(model_index: object) -> tuple[DatasetMention, ...]:
    """The ``results[].dataset`` entries of a card's model-index; what is not a list of
    mappings (a broken model-index) is skipped."""
    found: list[DatasetMention] = []
    for entry in model_index if isinstance(model_index, list) else ():
        results = entry.get("results") if isinstance(entry, dict) else None
        for result in results if isinstance(results, list) else ():
            dataset = result.get("dataset") if isinstance(result, dict) else None
            if not isinstance(dataset, dict):
                continue
            mention = DatasetMention(
                **{k: _text(dataset.get(k)) for k in ("type", "name", "config", "args")}
            )
            if mention != DatasetMention() and mention not in found:
                found.append(mention)
    return tuple(found)


def _text(value: object) -> str:
    """A model-index field as text: a string, a number, or a list's or mapping's values."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        return " ".join(_text(v) for v in value if isinstance(v, str | int | float))
    if isinstance(value, dict):
        return " ".join(_text(v) for v in value.values() if isinstance(v, str | int | float))
    return ""


def id2label_names(id2label: object) -> tuple[str, ...]:
    """The class names of a config.json ``id2label`` in id order (empty when it is broken)."""
    if not isinstance(id2label, dict):
        return ()
    try:
        ordered = sorted(id2label.items(), key=lambda kv: int(kv[0]))
    except (TypeError, ValueError):
        return ()
    return tuple(str(name) for _, name in ordered)


@dataclass(frozen=True)
class DiscoveryReport:
    seen: int
    queued: list[ModelRecord]
    skipped_queries: int = 0  # refused by the Hub this cycle; listed again next cycle


def _queries(modules: Sequence[EvaluationModule]) -> Iterable[tuple[str, str]]:
    seen = set()
    for module in modules:
        for tag in trained_names(module):
            if (module.task, tag) not in seen:
                seen.add((module.task, tag))
                yield module.task, tag


def discover(
    api: HfApi,
    modules: Sequence[EvaluationModule],
    store: Store,
    *,
    limit: int,
    backfill_days: float = 3.0,
    hub: bool = True,
    zoo: Sequence[str] | None = None,
    census: bool = False,
) -> DiscoveryReport:
    """List new or changed models, store them and queue a job per revision with new content.

    Args:
        limit: At most this many new revisions looked up per query and cycle.
        backfill_days: How far back a query with no watermark yet (the first run) lists;
            that floor is stored as its watermark, so a first run spread over cycles by
            ``limit`` keeps its window.
        hub: Whether to list the Hub (the ``huggingface`` source).
        zoo: FiftyOne zoo model names (fnmatch patterns) to take as well; None: the FiftyOne
            source is off.
        census: Whether to list the Hub's newest models of any task as well, after the
            queries, and record what became of each (:func:`take_census`; with ``hub``).
    """
    seen, skipped = 0, 0
    queued: list[ModelRecord] = []
    floor = utcnow() - timedelta(days=backfill_days)
    recorder = Census(store, modules)
    if zoo is not None:
        seen += _discover_zoo(modules, store, zoo, queued=queued, census=recorder)
    for task, dataset in _queries(modules) if hub else ():
        try:
            seen += _discover_one(
                api,
                store,
                task,
                dataset,
                limit=limit,
                floor=floor,
                queued=queued,
                census=recorder,
            )
        except (HfHubHTTPError, httpx2.TransportError) as exc:
            if not is_transient(exc):
                raise
            skipped += 1
            log.warning("discovery of %s x %s skipped this cycle: %s", task, dataset, exc)
    if census and hub:
        try:
            take_census(api, recorder, limit=limit, floor=floor)
        except (HfHubHTTPError, httpx2.TransportError) as exc:
            if not is_transient(exc):
                raise
            skipped += 1
            log.warning("the census listing skipped this cycle: %s", exc)
    log.info("discovery: %d models listed, %d new revisions queued", seen, len(queued))
    return DiscoveryReport(seen=seen, queued=queued, skipped_queries=skipped)


def _discover_zoo(
    modules: Sequence[EvaluationModule],
    store: Store,
    patterns: Sequence[str],
    *,
    queued: list[ModelRecord],
    census: Census,
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
        census.record(model, CoverageOutcome.QUEUED, source="fiftyone")
    return len(found)


class Listing:
    """One newest-first listing of models down to its watermark, taken in over cycles.

    :meth:`new` yields the listed models whose head the store does not know yet, and stops at
    the watermark (a first run's floor, stored at once so that its window stays put). A caller
    whose budget for the cycle is spent, or that could not look a model up, sets ``complete``
    to False: :meth:`close` then leaves the watermark where it is, so no model is ever skipped.

    Example:
        >>> listing = Listing(store, "huggingface:text-classification:dataset:emotion", floor)
        >>> for info in listing.new(api.list_models(...)): ...  # doctest: +SKIP
        >>> listing.close()  # doctest: +SKIP
    """

    def __init__(self, store: Store, key: str, floor: datetime) -> None:
        self.store, self.key = store, key
        watermark = store.get_watermark(key)
        if watermark is None:
            watermark = floor
            store.set_watermark(key, floor)
        self.watermark = watermark
        self.newest: datetime | None = None
        self.seen = 0
        self.complete = True

    def new(self, infos: Iterable[ModelInfo]) -> Iterator[ModelInfo]:
        """The listed models newer than the watermark whose head is new to the store."""
        for info in infos:
            if info.last_modified and info.last_modified < self.watermark:
                return
            self.seen += 1
            if info.last_modified and (self.newest is None or info.last_modified > self.newest):
                self.newest = info.last_modified
            if info.sha and self.known(info):
                continue  # nothing new in this repo since it was last seen
            yield info

    def known(self, info: ModelInfo) -> bool:
        """Whether the store holds the listed model at this head already."""
        return self.store.head_sha(info.id) == info.sha

    def close(self) -> None:
        """Move the watermark to the newest model listed, if the listing was taken in."""
        if self.complete and self.newest is not None:
            self.store.set_watermark(self.key, self.newest)


def _discover_one(
    api: HfApi,
    store: Store,
    task: str,
    dataset: str,
    *,
    limit: int,
    floor: datetime,
    queued: list[ModelRecord],
    census: Census,
) -> int:
    """One task x dataset query, newest first, down to its watermark; returns the models listed.

    The listing pages down as far as needed. A model whose head the store already knows costs
    nothing more; a new head costs one ``model_info`` (its files' hashes make the fingerprint).
    At most ``limit`` new heads are looked up per query and cycle: the rest wait for the next
    cycle, and the watermark moves only once the whole listing down to it has been taken in,
    so no model is ever skipped.
    """
    listing = Listing(store, f"huggingface:{task}:dataset:{dataset}", floor)
    looked_up = 0
    for info in listing.new(
        api.list_models(
            pipeline_tag=task,
            filter=f"dataset:{dataset}",
            sort="last_modified",
            expand=EXPAND,  # type: ignore[arg-type]
        )
    ):
        if looked_up >= limit:
            listing.complete = False
            break
        looked_up += 1
        try:
            record = _revision(api, store, info, census=census)
        except (HfHubHTTPError, httpx2.TransportError) as exc:
            if not is_transient(exc):
                raise
            log.warning("%s: not looked up this cycle (%s); next cycle", info.id, exc)
            listing.complete = False  # the watermark waits for it
            continue
        if record is None:
            continue
        if store.upsert_model(record) and store.enqueue(record.repo_id, record.sha):
            queued.append(record)
        census.record(record, CoverageOutcome.QUEUED)
    listing.close()
    if not listing.complete:
        log.info(
            "discovery of %s x %s: %d new revisions looked up this cycle, more next cycle",
            task,
            dataset,
            looked_up,
        )
    return listing.seen


def _revision(
    api: HfApi, store: Store, info: ModelInfo, *, census: Census | None = None
) -> ModelRecord | None:
    """The listed model's head with its content fingerprint; None when it vanished meanwhile.

    A gated repo is stored as failed (``gated``): the bot cannot read it.
    """
    try:
        detail = api.model_info(info.id, revision=info.sha, files_metadata=True)
    except RepositoryNotFoundError:
        log.info("%s: listed but gone (deleted or renamed) before it could be read", info.id)
        return None
    except GatedRepoError:
        record = to_record(info)
        store.upsert_model(record)
        store.set_model_status(
            record.repo_id,
            record.sha,
            ModelStatus.FAILED,
            reason=FailureReason.GATED,
            detail="the repo is gated: evalbot cannot read its files",
        )
        if census is not None:
            census.record(record, CoverageOutcome.GATED)
        return None
    return replace(to_record(detail), fingerprint=fingerprint(detail.siblings))


# -- the census -------------------------------------------------------------------------------

# why selection chose no module, as the census counts it
_NOT_SELECTED = {
    Reason.TASK_NOT_SUPPORTED: CoverageOutcome.UNSUPPORTED_TASK,
    Reason.NO_HINT: CoverageOutcome.NO_TRAINING_DATASET,
    Reason.NOT_CONFIGURED: CoverageOutcome.NOT_CONFIGURED,
    Reason.FAMILY_WITHOUT_CONFIG: CoverageOutcome.NOT_CONFIGURED,
    Reason.AMBIGUOUS: CoverageOutcome.AMBIGUOUS,
}


class Census:
    """Records what discovery saw of each model repo and what became of it
    (``Store.record_sighting``), its training datasets as Hub ids of the configured modules.

    Example:
        >>> census = Census(store, modules)  # doctest: +SKIP
        >>> census.record(record, CoverageOutcome.QUEUED)  # doctest: +SKIP
    """

    def __init__(self, store: Store, modules: Sequence[EvaluationModule]) -> None:
        self.store = store
        self.modules = list(modules)
        self.aliases = dataset_aliases(self.modules)
        self._selector: Selector | None = None

    @property
    def selector(self) -> Selector:
        if self._selector is None:
            self._selector = Selector(self.modules)
        return self._selector

    def record(
        self,
        model: ModelRecord,
        outcome: CoverageOutcome,
        *,
        source: str = "huggingface",
        detail: str | None = None,
        provisional: bool = False,
    ) -> None:
        """Record ``model`` (at ``model.sha``) with ``outcome``; a ``provisional`` outcome
        never replaces ``queued`` at the same head."""
        datasets = tuple(dict.fromkeys(hub_dataset_id(d, self.aliases) for d in model.datasets))
        sighting = Sighting(
            repo_id=model.repo_id,
            sha=model.sha,
            source=source,
            outcome=outcome,
            pipeline_tag=model.pipeline_tag,
            library_name=model.library_name,
            datasets=datasets,
            self_reports=bool(model.model_index),
            detail=detail,
        )
        self.store.record_sighting(sighting, provisional=provisional)

    def classify(self, model: ModelRecord, *, gated: bool = False) -> tuple[CoverageOutcome, str]:
        """What discovery makes of a listed model, from what the listing says (no request):
        ``queued`` when the store holds it at this head, else why it is not, in a line."""
        if self.store.head_sha(model.repo_id) == model.sha:
            return CoverageOutcome.QUEUED, ""
        if gated:
            return CoverageOutcome.GATED, "the repo is gated: evalbot cannot read its files"
        library = model.library_name
        if model.pipeline_tag in self.selector.index.tasks and library not in (None, *LIBRARIES):
            return CoverageOutcome.UNSUPPORTED_LIBRARY, f"library '{library}'"
        outcome = self.selector.select(Hints.of(model))
        if outcome.reason is None:
            modules = ", ".join(m.id for m in outcome.modules)
            return CoverageOutcome.WAITING, f"modules {modules}: looked up in a later cycle"
        return _NOT_SELECTED[outcome.reason], outcome.explain()


class _CensusListing(Listing):
    """The census listing: a model is new until the census has recorded it at this head."""

    def known(self, info: ModelInfo) -> bool:
        return self.store.sighting_sha(info.id) == info.sha


def take_census(api: HfApi, census: Census, *, limit: int, floor: datetime) -> int:
    """List the Hub's newest models of any task down to the census watermark and record each
    new head with what became of it (:meth:`Census.classify`); returns the models listed.

    It costs the listing's pages and nothing per model: the listing answers each model's
    pipeline tag, library, tags (``dataset:`` among them), card metadata and gating. At most
    ``limit`` new heads are recorded per cycle; the rest wait, and the watermark moves only once
    the listing down to it has been taken in, as with the dataset queries. Run after the other
    sources of a cycle, it finds the models they queued in the store, and never overwrites
    the outcome a source recorded at the same head.
    """
    store = census.store
    listing = _CensusListing(store, CENSUS_KEY, floor)
    listed = api.list_models(sort="last_modified", expand=CENSUS_EXPAND)  # type: ignore[arg-type]
    for recorded, info in enumerate(listing.new(listed)):
        if recorded >= limit:
            listing.complete = False
            break
        record = to_record(info)
        outcome, detail = census.classify(record, gated=bool(info.gated))
        census.record(record, outcome, detail=detail or None, provisional=True)
    listing.close()
    return listing.seen
