"""Which evaluation tasks a model revision needs, from config alone (no Hub, no model files).

Module selection (thesis step 1, :mod:`evaluators.inference`) and task creation (step 2) without resolving dataset
revisions: a task is named by :func:`store.types.task_key` (module, variant, module version,
code version). The Executor runs the same selection; re-planning (``bot.replan``) compares these
names with the tasks a model has stored, and a failure's :func:`failure_digest` with the current
one, so a config change reaches every model it applies to and only the missing tasks run.

Example:
    >>> planner = Planner(modules, code_version="0.2.0")
    >>> sorted(planner.tasks("text-classification", ["dair-ai/emotion"]))
    ['emotion/lowercase/v1/0.2.0', 'emotion/no_punctuation/v1/0.2.0', ...]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from evaluators.config import EvaluationModule
from evaluators.inference import Hints, Selector
from store.types import DatasetExampleRecord, FailureReason, ModelRecord, task_key

if TYPE_CHECKING:
    from store.db import Store

ORIGINAL = "original"

# Failures that only new content of the repo can change (a new fingerprint is a new job anyway):
# a config change never re-plans them.
CONTENT_FAILURES = frozenset(
    {
        FailureReason.NOT_FOUND,
        FailureReason.GATED,
        FailureReason.UNSAFE_WEIGHTS,
        FailureReason.SECURITY_ISSUES,
    }
)


def select_modules(
    model: ModelRecord, modules: Sequence[EvaluationModule]
) -> list[EvaluationModule]:
    """The modules that evaluate ``model`` (:mod:`evaluators.inference`): those of its pipeline
    tag that list one of its datasets, or, when it declares none, those its hints point to."""
    return Selector(modules).select(Hints.of(model)).modules


def with_compatible(
    selected: Sequence[EvaluationModule], modules: Sequence[EvaluationModule]
) -> list[EvaluationModule]:
    """``selected`` plus the modules they name in ``also_evaluate_on``, without repeats."""
    by_id = {m.id: m for m in modules}
    out: dict[str, EvaluationModule] = {}
    for module in selected:
        out.setdefault(module.id, module)
        for other in module.also_evaluate_on:
            if other in by_id:
                out.setdefault(other, by_id[other])
    return list(out.values())


def module_digest(module: EvaluationModule) -> str:
    """A digest of everything a module says (aliases, perturbations, labels, version...).

    Keys left at their defaults are left out, so a key added to the schema later changes no
    module's digest (and re-plans no failure) until a module sets it."""
    said = module.model_dump(mode="json", exclude_defaults=True)
    text = json.dumps(said, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Planner:
    """The tasks and failure digests of model revisions under one config and code version.

    Args:
        modules: the evaluation modules of ``config/tasks``.
        code_version: evalbot's version (stored with every result).
        limits: settings that decide failures besides the modules (memory, time and size
            limits), as one string; a change re-plans the failures they may have caused.
    """

    def __init__(
        self, modules: Sequence[EvaluationModule], *, code_version: str, limits: str = ""
    ) -> None:
        self.modules = list(modules)
        self.code_version = code_version
        self.limits = limits
        self.digests = {m.id: module_digest(m) for m in self.modules}
        self._module_tasks = {m.id: self._tasks_of(m) for m in self.modules}
        self.selector = Selector(self.modules)
        self._cache: dict[Hints, tuple[frozenset[str], str]] = {}

    def _tasks_of(self, module: EvaluationModule) -> list[str]:
        variants = [ORIGINAL, *(p.variant_id for p in module.variants())]
        return [task_key(module.id, v, module.version, self.code_version) for v in variants]

    def plan(
        self, pipeline_tag: str | None, datasets: Iterable[str] = (), hints: Hints | None = None
    ) -> tuple[frozenset[str], str]:
        """(task names, failure digest) of a model with this pipeline tag and these datasets, or
        with these selection ``hints`` (a model's whole metadata: :meth:`Hints.of`)."""
        if hints is None:
            hints = Hints(pipeline_tag, tuple(sorted({d.casefold() for d in datasets})))
        if hints not in self._cache:
            chosen = with_compatible(self.selector.select(hints).modules, self.modules)
            tasks = frozenset(t for m in chosen for t in self._module_tasks[m.id])
            parts = [self.code_version, self.limits, *sorted(self.digests[m.id] for m in chosen)]
            digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
            self._cache[hints] = (tasks, digest)
        return self._cache[hints]

    def plan_model(self, model: ModelRecord) -> tuple[frozenset[str], str]:
        """:meth:`plan` with all of ``model``'s hints (its model-index, tags, labels, name)."""
        return self.plan(model.pipeline_tag, hints=Hints.of(model))

    def tasks(self, pipeline_tag: str | None, datasets: Iterable[str]) -> frozenset[str]:
        return self.plan(pipeline_tag, datasets)[0]

    def failure_digest(self, model: ModelRecord) -> str:
        """What a failure of ``model`` depended on: stored with it, compared when re-planning."""
        return self.plan_model(model)[1]

    def modules_of(self, model: ModelRecord) -> list[EvaluationModule]:
        """The modules (selected and compatible) that evaluate ``model``."""
        return with_compatible(self.selector.select(Hints.of(model)).modules, self.modules)


def unstored_examples(
    store: Store | None, examples: Iterable[DatasetExampleRecord]
) -> list[DatasetExampleRecord]:
    """The example records ``store`` does not hold yet: a runner that evaluated without the store
    (the isolated child, a Ray task) sends them all; one of each is kept."""
    if store is None:
        return list(examples)
    stored: dict[tuple[str, str], set[int]] = {}
    out = []
    for example in examples:
        key = (example.dataset_id, example.split)
        if key not in stored:
            stored[key] = set(store.stored_example_ids(*key))
        if example.example_id not in stored[key]:
            stored[key].add(example.example_id)
            out.append(example)
    return out
