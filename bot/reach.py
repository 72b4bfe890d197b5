"""Reach: how many models of each task the configured modules would evaluate.

Reads a corpus of model cards, one JSON object per line (``model_id``, ``pipeline_tag``,
``library``, ``front_matter``: the card's YAML metadata), builds each model's record as discovery
does from the Hub (:func:`bot.discovery.card_record`) and runs module selection
(:mod:`evaluators.inference`) against the configured modules. No Hub, no database.

Example:
    >>> report = measure(Path("cards.jsonl"), modules)
    >>> report.tasks["text-classification"].share
    31.2
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.discovery import card_record
from evaluators import tasks as task_types
from evaluators.config import EvaluationModule
from evaluators.inference import Hints, Reason, Selector
from store.types import ModelRecord

TOP = 10


class ReachError(ValueError):
    """The corpus cannot be read: the message names the file (and line) and what to fix."""


@dataclass
class TaskReach:
    """One pipeline task's models: how many get a planned evaluation, how, and why not."""

    models: int = 0
    planned: int = 0
    rules: Counter[str] = field(default_factory=Counter)  # rule that chose -> models
    reasons: Counter[str] = field(default_factory=Counter)  # reason for none -> models
    not_configured: Counter[str] = field(default_factory=Counter)  # dataset name -> models

    @property
    def share(self) -> float:
        """Percent of the task's models with at least one planned evaluation."""
        return round(100.0 * self.planned / self.models, 1) if self.models else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "models": self.models,
            "planned": self.planned,
            "share": self.share,
            "rules": dict(self.rules.most_common()),
            "reasons": dict(self.reasons.most_common()),
            "not_configured": self.not_configured.most_common(TOP),
        }


@dataclass
class ReachReport:
    tasks: dict[str, TaskReach]  # every registered task, in the registry's order
    other: Counter[str] = field(default_factory=Counter)  # pipeline tags of no registered task

    def as_json(self) -> dict[str, Any]:
        return {
            "tasks": {name: reach.as_json() for name, reach in self.tasks.items()},
            "other_tasks": dict(self.other.most_common()),
        }

    def lines(self) -> Iterator[str]:
        for name, reach in self.tasks.items():
            yield f"{name}: {reach.planned}/{reach.models} models planned ({reach.share} %)"
            if reach.rules:
                how = ", ".join(f"{rule} {n}" for rule, n in reach.rules.most_common())
                yield f"  chosen by: {how}"
            for reason, count in reach.reasons.most_common():
                yield f"  {count:5d}  {reason}"
            if reach.not_configured:
                top = ", ".join(f"{d} ({n})" for d, n in reach.not_configured.most_common(TOP))
                yield f"  top datasets not configured: {top}"
        if self.other:
            yield f"other pipeline tasks (not supported): {sum(self.other.values())} models"


def read_corpus(path: Path) -> Iterator[ModelRecord]:
    """The corpus's models as discovery records them.

    Raises:
        ReachError: the file is missing, or a line is not a JSON object with ``model_id``.
    """
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise ReachError(f"{path}: cannot read the corpus ({exc.strerror or exc})") from exc
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ReachError(f"{path}:{number}: not JSON ({exc.msg})") from exc
            if not isinstance(item, dict) or not isinstance(item.get("model_id"), str):
                raise ReachError(
                    f"{path}:{number}: expected an object with model_id, pipeline_tag and "
                    f"front_matter (one model card per line)"
                )
            yield corpus_record(item)


def corpus_record(item: dict[str, Any]) -> ModelRecord:
    """One corpus line's model, as :func:`bot.discovery.to_record` would make it from the Hub."""
    card = item.get("front_matter")
    card = card if isinstance(card, dict) else {}
    tags = card.get("tags") or []
    if isinstance(tags, str):
        tags = [tags]
    tag_list = tuple(str(t) for t in tags if isinstance(t, str)) if isinstance(tags, list) else ()
    languages = card.get("language") or []  # the Hub lists a card's languages among its tags
    languages = [languages] if isinstance(languages, str) else languages
    if isinstance(languages, list):
        tag_list = (*tag_list, *(t for t in languages if isinstance(t, str) and t not in tag_list))
    tag = item.get("pipeline_tag")
    return card_record(item["model_id"], tag if isinstance(tag, str) else None, tag_list, card)


def measure(path: Path, modules: Sequence[EvaluationModule]) -> ReachReport:
    """Selection over every model of the corpus at ``path``."""
    selector = Selector(modules)
    report = ReachReport(tasks={name: TaskReach() for name in task_types.names()})
    for model in read_corpus(path):
        reach = report.tasks.get(model.pipeline_tag or "")
        if reach is None:
            report.other[model.pipeline_tag or "(none)"] += 1
            continue
        reach.models += 1
        outcome = selector.select(Hints.of(model))
        if outcome.chosen:
            reach.planned += 1
            reach.rules[outcome.chosen[0].rule] += 1
            continue
        reach.reasons[str(outcome.reason)] += 1
        if outcome.reason == Reason.NOT_CONFIGURED:
            reach.not_configured.update(outcome.names)
    return report
