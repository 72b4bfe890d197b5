"""The Executor: the five steps of thesis 4.3, in this order, in one place.

1. module selection: the modules whose task and ``trained_on`` match the model;
2. task creation: dataset x split x variant (only the original variant so far);
3. task filtering: drop what the store already holds for this model revision and versions;
4. execution: download and load the model once, batched inference per task;
5. processing: Processors turn predictions into per-class results and metrics.

The Executor returns records; storing them is the caller's job (``bot``).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from huggingface_hub import HfApi

from evaluators.config import EvaluationModule
from evaluators.datasets_io import EvalSplit, load_split
from evaluators.device import describe, pick_device
from evaluators.errors import UnsupportedModelError
from evaluators.hub import fetch_model, resolve_dataset_revision
from evaluators.labels import describe_mapping, map_labels
from evaluators.metrics import classification_metrics
from evaluators.text_classification import TextClassifier
from store.db import Store
from store.types import EvaluationRecord, ModelRecord, RuntimeStats

CODE_VERSION = importlib.metadata.version("evalbot")


@dataclass(frozen=True)
class EvaluationTask:
    """One unit of work: a module's dataset split, at a resolved revision, in one variant."""

    module: EvaluationModule
    dataset_revision: str
    variant: str = "original"

    def key(self, model: ModelRecord) -> dict[str, object]:
        ref = self.module.dataset
        return {
            "model_id": model.repo_id,
            "model_sha": model.sha,
            "dataset_id": ref.repo,
            "dataset_config": ref.config,
            "dataset_revision": self.dataset_revision,
            "split": ref.split,
            "variant": self.variant,
            "config_version": self.module.version,
            "code_version": CODE_VERSION,
        }


@dataclass
class ExecutionReport:
    model: ModelRecord
    records: list[EvaluationRecord] = field(default_factory=list)
    skipped: list[EvaluationTask] = field(default_factory=list)  # already in the store


def select_modules(
    model: ModelRecord, modules: Sequence[EvaluationModule]
) -> list[EvaluationModule]:
    """Modules whose task is the model's pipeline tag and that list one of its datasets."""
    trained = {d.casefold() for d in model.datasets}
    return [
        m
        for m in modules
        if m.task == model.pipeline_tag and trained & {t.casefold() for t in m.trained_on}
    ]


class Executor:
    """Evaluate one model revision with every matching module.

    Example:
        >>> executor = Executor(modules, api=HfApi(), store=store)  # doctest: +SKIP
        >>> report = executor.evaluate(model_record)  # doctest: +SKIP
    """

    def __init__(
        self,
        modules: Sequence[EvaluationModule],
        *,
        api: HfApi,
        store: Store | None = None,
        device: str | None = None,
    ) -> None:
        self.modules = list(modules)
        self.api = api
        self.store = store
        self.device = pick_device(device)
        self._splits: dict[tuple[str, str, str | None, str], EvalSplit] = {}

    def plan(self, model: ModelRecord) -> tuple[list[EvaluationTask], list[EvaluationTask]]:
        """Steps 1-3: (tasks to run, tasks skipped because their results are stored)."""
        selected = select_modules(model, self.modules)
        if not selected:
            raise UnsupportedModelError(
                model.repo_id,
                f"no evaluation module for task '{model.pipeline_tag}' and training datasets "
                f"{list(model.datasets) or '(none in the card)'}",
            )
        tasks = [
            EvaluationTask(
                module=m,
                dataset_revision=resolve_dataset_revision(
                    self.api, m.dataset.repo, m.dataset.revision
                ),
            )
            for m in selected
        ]
        if self.store is None:
            return tasks, []
        todo = [t for t in tasks if not self.store.has_result(t.key(model))]
        return todo, [t for t in tasks if t not in todo]

    def evaluate(self, model: ModelRecord) -> ExecutionReport:
        """Steps 1-5 for one model revision. Raises a typed ``EvaluationError`` on failure."""
        todo, skipped = self.plan(model)
        report = ExecutionReport(model=model, skipped=skipped)
        if not todo:
            return report
        fetched = fetch_model(self.api, model.repo_id, model.sha)
        classifier = TextClassifier.load(model.repo_id, fetched.path, self.device)
        for task in todo:
            report.records.append(self._run_task(model, classifier, task))
        return report

    def _split(self, task: EvaluationTask) -> EvalSplit:
        ref = task.module.dataset
        key = (ref.repo, task.dataset_revision, ref.config, ref.split)
        if key not in self._splits:
            self._splits[key] = load_split(task.module, task.dataset_revision)
        return self._splits[key]

    def _run_task(
        self, model: ModelRecord, classifier: TextClassifier, task: EvaluationTask
    ) -> EvaluationRecord:
        module = task.module
        labels = module.dataset.labels
        mapping = map_labels(
            model.repo_id, classifier.id2label, labels, aliases=module.label_aliases
        )
        split = self._split(task)
        predictions = classifier.predict(
            split.texts, batch_size=module.batch_size, max_length=module.max_length
        )
        to_dataset = np.full(max(mapping) + 1, -1, dtype=np.int64)
        for model_index, dataset_index in mapping.items():
            to_dataset[model_index] = dataset_index
        y_pred = to_dataset[predictions.labels]
        metrics, classes = classification_metrics(split.labels, y_pred, labels)
        n = len(split.texts)
        seconds = max(predictions.seconds, 1e-9)
        return EvaluationRecord(
            model_id=model.repo_id,
            model_sha=model.sha,
            task=module.task,
            module_id=module.id,
            dataset_id=module.dataset.repo,
            dataset_name=module.dataset.name,
            dataset_config=module.dataset.config,
            dataset_revision=task.dataset_revision,
            split=module.dataset.split,
            variant=task.variant,
            config_version=module.version,
            code_version=CODE_VERSION,
            num_examples=n,
            metrics=metrics,
            classes=classes,
            runtime=RuntimeStats(
                total_s=predictions.seconds,
                per_instance_ms=1000 * predictions.seconds / max(n, 1),
                instances_per_s=n / seconds,
                device=describe(self.device),
                batch_size=module.batch_size,
            ),
            label_mapping=describe_mapping(classifier.id2label, mapping, labels),
        )
