"""Datasets that configure their own evaluation: modules from datasets' ``train-eval-index``.

A model of a task evalbot evaluates whose card names a dataset that no YAML module covers
(neither its ``dataset.repo`` nor its ``trained_on``) is evaluated on the module that dataset's
own card configures, as Hugging Face's Evaluation on the Hub did (:mod:`evaluators.card_modules`).
A card is read once (one ``dataset_info`` with ``cardData``) and its answer stored in MongoDB's
``modules`` collection: the derived module, or why there is none (kept a week, so a dataset
without ``train-eval-index`` is not read every cycle). A maintainer's YAML module for the dataset
always wins: then the card is never read, and a module stored before is no longer used.

With ``discovery.self_configuring`` (bot.yaml), each cycle also lists each such task's newest
models down to a watermark (``discovery.limit_per_query`` new ones looked up per task and
cycle), and reads the cards of the datasets named by the models the store already knows.

Example:
    >>> report = self_configure(config, api=api, store=store)  # doctest: +SKIP
    >>> config = with_card_modules(config, store)  # the YAML modules and the cards' ones
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from pydantic import ValidationError

from bot.config import BotConfig
from bot.discovery import EXPAND, DiscoveryReport, Listing, _revision, to_record
from bot.ratelimit import is_transient
from evaluators import tasks as task_types
from evaluators.card_modules import CARD_TASKS, DerivedModule, covers, module_from_card
from evaluators.config import EvaluationModule, ModuleFile
from evaluators.errors import CardModuleError
from store.db import Store
from store.types import ModelRecord, utcnow

log = logging.getLogger(__name__)

REFUSAL_TTL = timedelta(days=7)  # a card that configures nothing is read again after this
RECHECK = timedelta(days=7)  # a card that configured a module is read again after this


def card_tasks() -> list[str]:
    """The registered task types a dataset card can configure."""
    return sorted(t for t in set(CARD_TASKS.values()) if task_types.find(t) is not None)


def watermark_key(task: str) -> str:
    """The discovery watermark of the listing of ``task``'s newest models."""
    return f"huggingface:{task}:self-configuring"


def card_path(dataset_id: str) -> Path:
    """Where a card module comes from, as ``evalbot modules`` shows it."""
    return Path("datasets", dataset_id, "README.md")


def read_card(api: HfApi, dataset_id: str) -> tuple[dict[str, Any], str | None]:
    """(the card's YAML front matter, the commit it was read at) of ``dataset_id``: one
    ``dataset_info`` request.

    Raises:
        huggingface_hub.errors.HfHubHTTPError: the Hub refused (no such dataset, 429, 5xx).
    """
    info = api.dataset_info(dataset_id, expand=["cardData", "sha"])
    card = info.card_data.to_dict() if info.card_data is not None else {}
    return card, info.sha


def derive(api: HfApi, dataset_id: str, *, tasks_dir: Path | None) -> DerivedModule:
    """The module ``dataset_id``'s card on the Hub configures.

    Raises:
        CardModuleError: the card configures none (the message says why).
        huggingface_hub.errors.HfHubHTTPError: the Hub refused to tell.
    """
    try:
        card, sha = read_card(api, dataset_id)
    except RepositoryNotFoundError as exc:
        raise CardModuleError(
            dataset_id,
            f"no dataset {dataset_id} on the Hub at {api.endpoint} (or it is private); "
            "check the id, or write its module YAML",
        ) from exc
    return module_from_card(dataset_id, card, revision=sha, features=None, tasks_dir=tasks_dir)


@dataclass
class CardReport:
    """What one pass over dataset cards did."""

    read: int = 0  # cards read
    derived: list[str] = field(default_factory=list)  # datasets whose card gave a module
    refused: list[str] = field(default_factory=list)  # datasets whose card gave none
    skipped: int = 0  # the Hub busy: read again next cycle


def learn_cards(
    api: HfApi,
    store: Store,
    dataset_ids: Iterable[str],
    *,
    modules: Sequence[EvaluationModule],
    tasks_dir: Path | None,
    limit: int,
) -> CardReport:
    """Read the cards of the datasets of ``dataset_ids`` that no module of ``modules`` covers
    and whose answer the store lacks (or holds past its time); at most ``limit`` cards."""
    report = CardReport()
    wanted = [d for d in dict.fromkeys(dataset_ids) if not covers(modules, d)]
    for dataset_id in store.card_answers_due(wanted)[:limit]:
        report.read += 1
        try:
            derived = derive(api, dataset_id, tasks_dir=tasks_dir)
        except CardModuleError as exc:
            store.save_card_refusal(dataset_id, exc.detail, revision=None, ttl=REFUSAL_TTL)
            report.refused.append(dataset_id)
            log.info("dataset card of %s configures no module: %s", dataset_id, exc.detail)
            continue
        except (HfHubHTTPError, httpx2.TransportError) as exc:
            if is_transient(exc):
                report.skipped += 1
                log.warning("dataset card of %s not read this cycle: %s", dataset_id, exc)
                continue
            store.save_card_refusal(
                dataset_id, f"the Hub refused its card: {exc}", revision=None, ttl=REFUSAL_TTL
            )
            report.refused.append(dataset_id)
            continue
        store.save_card_module(
            dataset_id,
            derived.module.model_dump(mode="json"),
            revision=derived.revision,
            warnings=derived.warnings,
            recheck_after=RECHECK,
        )
        report.derived.append(dataset_id)
        log.info("dataset card of %s configures module '%s'", dataset_id, derived.module.id)
    return report


def card_module_files(store: Store, modules: Sequence[EvaluationModule]) -> list[ModuleFile]:
    """The stored card modules that ``modules`` (the YAML ones) neither cover nor share an id
    with; one that no longer validates (a task type changed) is left out with a warning."""
    ids = {m.id for m in modules}
    out: list[ModuleFile] = []
    for doc in store.card_module_docs():
        dataset_id = doc["dataset_id"]
        if covers(modules, dataset_id):
            continue
        try:
            module = EvaluationModule.model_validate(doc["module"])
        except ValidationError as exc:
            log.warning("card module of %s left out, it no longer validates: %s", dataset_id, exc)
            continue
        if module.id in ids:
            log.warning("card module of %s left out: a YAML module is '%s'", dataset_id, module.id)
            continue
        ids.add(module.id)
        out.append(ModuleFile(path=card_path(dataset_id), module=module))
    return out


def with_card_modules(config: BotConfig, store: Store) -> BotConfig:
    """``config`` with the stored card modules after its YAML ones (unchanged when
    ``discovery.self_configuring`` is off)."""
    if not config.settings.discovery.self_configuring:
        return config
    yaml_modules = [m.module for m in config.modules]
    return _joined(config, card_module_files(store, yaml_modules))


def _joined(config: BotConfig, cards: list[ModuleFile]) -> BotConfig:
    """``config`` with ``cards`` after its YAML modules."""
    if not cards:
        return config
    return BotConfig(path=config.path, settings=config.settings, modules=[*config.modules, *cards])


def configured_for(
    config: BotConfig, *, api: HfApi, store: Store | None, model: ModelRecord
) -> BotConfig:
    """``config`` with the card modules for one model, as ``evalbot evaluate ORG/MODEL`` needs.

    With a store, the cards of the model's datasets that no YAML module covers are read (as a
    cycle reads them: answers and refusals stored), then every stored card module is added
    (:func:`with_card_modules`). Without one (``--dry-run``), those cards are read and their
    modules added in memory only; a card that configures nothing, or that the Hub does not
    serve now, adds nothing. Unchanged when ``discovery.self_configuring`` is off.
    """
    if not config.settings.discovery.self_configuring:
        return config
    yaml_modules = [m.module for m in config.modules]
    if store is not None:
        learn_cards(
            api,
            store,
            model.datasets,
            modules=yaml_modules,
            tasks_dir=tasks_dir_of(config),
            limit=len(model.datasets),
        )
        return with_card_modules(config, store)
    ids = {m.id for m in yaml_modules}
    cards: list[ModuleFile] = []
    for dataset_id in dict.fromkeys(model.datasets):
        if covers(yaml_modules, dataset_id):
            continue
        try:
            module = derive(api, dataset_id, tasks_dir=tasks_dir_of(config)).module
        except (CardModuleError, HfHubHTTPError, httpx2.TransportError) as exc:
            log.info("dataset card of %s configures no module here: %s", dataset_id, exc)
            continue
        if module.id not in ids:
            ids.add(module.id)
            cards.append(ModuleFile(path=card_path(dataset_id), module=module))
    return _joined(config, cards)


def tasks_dir_of(config: BotConfig) -> Path:
    """The folder of ``config``'s YAML modules (its ``_templates`` give card modules defaults)."""
    return config.path.parent / config.settings.tasks_dir


def self_configure(config: BotConfig, *, api: HfApi, store: Store) -> DiscoveryReport:
    """One cycle's part of self-configuring datasets: the cards named by the models the store
    knows, then each card task's newest models (queued when a card module covers them)."""
    discovery = config.settings.discovery
    modules = [m.module for m in config.modules]
    tasks = card_tasks()
    known = [
        dataset_id
        for doc in store.planning_view()
        if doc.get("pipeline_tag") in tasks
        for dataset_id in doc.get("datasets") or ()
    ]
    learned = learn_cards(
        api,
        store,
        known,
        modules=modules,
        tasks_dir=tasks_dir_of(config),
        limit=discovery.limit_per_query,
    )
    seen, skipped = 0, learned.skipped
    queued: list[ModelRecord] = []
    floor = utcnow() - timedelta(days=discovery.backfill_days)
    for task in tasks:
        try:
            seen += _list_task(
                api,
                store,
                task,
                modules=modules,
                tasks_dir=tasks_dir_of(config),
                limit=discovery.limit_per_query,
                floor=floor,
                queued=queued,
            )
        except (HfHubHTTPError, httpx2.TransportError) as exc:
            if not is_transient(exc):
                raise
            skipped += 1
            log.warning("listing of the newest %s models skipped this cycle: %s", task, exc)
    return DiscoveryReport(seen=seen, queued=queued, skipped_queries=skipped)


def _card_datasets(store: Store, task: str) -> set[str]:
    """The datasets (casefolded) whose stored card module is of ``task``."""
    return {
        doc["dataset_id"].casefold()
        for doc in store.card_module_docs()
        if doc["module"].get("task") == task
    }


def _list_task(
    api: HfApi,
    store: Store,
    task: str,
    *,
    modules: Sequence[EvaluationModule],
    tasks_dir: Path,
    limit: int,
    floor: datetime,
    queued: list[ModelRecord],
) -> int:
    """``task``'s newest models down to the watermark; returns the models listed.

    A model whose datasets all have YAML modules is left to the YAML modules' own listing; one
    naming an uncovered dataset costs the card reads not stored yet, and a ``model_info`` when
    a card module covers it. At most ``limit`` such requests per task and cycle; the watermark
    moves once the whole listing down to it has been taken in, as in :mod:`bot.discovery`.
    """
    listing = Listing(store, watermark_key(task), floor)
    looked_up = 0
    covered = _card_datasets(store, task)
    for info in listing.new(
        api.list_models(
            pipeline_tag=task,
            sort="last_modified",
            expand=EXPAND,  # type: ignore[arg-type]
        )
    ):
        uncovered = [d for d in to_record(info).datasets if not covers(modules, d)]
        if not uncovered:
            continue  # the YAML modules' listing takes it
        if looked_up >= limit:
            listing.complete = False
            break
        learned = learn_cards(
            api, store, uncovered, modules=modules, tasks_dir=tasks_dir, limit=len(uncovered)
        )
        looked_up += learned.read
        if learned.skipped:
            listing.complete = False  # the watermark waits for the cards the Hub did not give
        if learned.derived:
            covered = _card_datasets(store, task)
        if not {d.casefold() for d in uncovered} & covered:
            continue
        looked_up += 1
        try:
            record = _revision(api, store, info)
        except (HfHubHTTPError, httpx2.TransportError) as exc:
            if not is_transient(exc):
                raise
            log.warning("%s: not looked up this cycle (%s); next cycle", info.id, exc)
            listing.complete = False
            continue
        if (
            record is not None
            and store.upsert_model(record)
            and store.enqueue(record.repo_id, record.sha)
        ):
            queued.append(record)
    listing.close()
    return listing.seen
