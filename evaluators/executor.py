"""The Executor: the five steps of thesis 4.3, in this order, in one place.

1. module selection: the modules whose task and ``trained_on`` match the model;
2. task creation: dataset x split x variant, plus the compatible datasets (``also_evaluate_on``);
3. task filtering: drop what the store already holds for this model revision, dataset revision,
   variant, module version and code version (so adding a perturbation runs only that variant);
4. execution: download and load the model once, then stream each split through it in batches
   (:mod:`evaluators.streaming`): decode worker processes read, decode and perturb each batch
   ahead of the model, so neither a split nor a variant is ever held whole;
5. processing: the module's Processors turn predictions into per-class results and metrics.

The Executor returns records; storing them is the caller's job (``bot``).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import HfApi
from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

from evaluators import tasks as task_types
from evaluators.config import EvaluationModule
from evaluators.datasets_io import DatasetError
from evaluators.device import Compute, describe, pick_device
from evaluators.errors import (
    Cancelled,
    FileTooLargeError,
    IncompatibleLibraryError,
    UnsupportedModelError,
)
from evaluators.hub import FetchedModel, fetch_model, resolve_dataset_revision
from evaluators.inference import Hints, Selector
from evaluators.limits import read_bounded
from evaluators.metadata import (
    ModelMetadata,
    count_parameters,
    dataset_record,
    dataset_reference,
    find_reference,
    hyperparameters,
    variant_record,
)
from evaluators.object_detection import Detector
from evaluators.planner import with_compatible
from evaluators.predictions import Classifier, Options, autocast_dtype
from evaluators.progress import labelled
from evaluators.streaming import Loading
from evaluators.variants import SEED
from perturbations import Perturbation
from store.db import Store
from store.types import (
    DatasetExampleRecord,
    DatasetRecord,
    DatasetSplitRecord,
    EvaluationRecord,
    ModelRecord,
    ReferenceRecord,
    RuntimeStats,
    Selection,
    VariantRecord,
)

CODE_VERSION = importlib.metadata.version("evalbot")
ORIGINAL = "original"
ERROR_IMAGES = 100  # images kept behind one result's detection errors, for the Space's gallery


@dataclass(frozen=True)
class EvaluationTask:
    """One unit of work: a module's dataset split, at a resolved revision, in one variant."""

    module: EvaluationModule
    dataset_revision: str
    perturbation: Perturbation | None = None
    selection: Selection = field(default_factory=Selection)  # how its module was chosen

    @property
    def variant(self) -> str:
        return self.perturbation.variant_id if self.perturbation else ORIGINAL

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
    """What one evaluation produced: results plus the metadata met on the way (thesis 3.2)."""

    model: ModelRecord
    records: list[EvaluationRecord] = field(default_factory=list)
    skipped: list[EvaluationTask] = field(default_factory=list)  # already in the store
    model_metadata: ModelMetadata | None = None
    datasets: list[DatasetRecord] = field(default_factory=list)
    references: list[ReferenceRecord] = field(default_factory=list)
    splits: list[DatasetSplitRecord] = field(default_factory=list)
    examples: list[DatasetExampleRecord] = field(default_factory=list)
    variants: list[VariantRecord] = field(default_factory=list)


def _versions() -> dict[str, str]:
    import transformers

    versions = {
        "torch": str(torch.__version__),  # a str subclass otherwise (TorchVersion)
        "transformers": transformers.__version__,
        "evalbot": CODE_VERSION,
        "timm": importlib.metadata.version("timm"),
    }
    return versions


class Executor:
    """Evaluate one model revision with every matching module, original data and variants.

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
        max_model_bytes: int | None = None,
        compute: Compute | None = None,
        wrap: Callable[[Any, task_types.TaskType], Any] | None = None,
    ) -> None:
        self.modules = list(modules)
        self.wrap = wrap  # applied to each loaded model (a predictor wrapper; None: as loaded)
        self.api = api
        self.store = store
        self.max_model_bytes = max_model_bytes  # refuse bigger downloads ("too large")
        self.device = pick_device(device)
        self.compute = compute or Compute()
        self.compute.apply_threads()
        self.loading = Loading.for_device(self.device, self.compute.decode_workers)
        # clean splits: labels in memory, inputs read lazily from the datasets cache
        self._splits: dict[tuple[object, ...], Any] = {}  # source, revision, limit -> split
        self._shown: dict[tuple[str, str], dict[int, bytes]] = {}  # thumbnails made on the way
        self._versions = _versions()
        self._cancel: threading.Event | None = None
        self._selector: Selector | None = None

    # steps 1-3 -------------------------------------------------------------------------------

    def plan(self, model: ModelRecord) -> tuple[list[EvaluationTask], list[EvaluationTask]]:
        """(tasks to run, tasks skipped because their results are stored)."""
        if self._selector is None:
            self._selector = Selector(self.modules)
        outcome = self._selector.select(Hints.of(model))
        if not outcome.chosen:
            raise UnsupportedModelError(
                model.repo_id,
                f"no evaluation module for task '{model.pipeline_tag}' and training datasets "
                f"{list(model.datasets) or '(none in the card)'} ({outcome.explain()})",
            )
        how = {c.module.id: c.selection for c in outcome.chosen}
        tasks = []
        for module in with_compatible(outcome.modules, self.modules):
            revision = self._dataset_revision(module)
            chosen = how.get(module.id, outcome.chosen[0].selection)  # a compatible module
            tasks.append(EvaluationTask(module, revision, selection=chosen))
            tasks.extend(
                EvaluationTask(module, revision, p, selection=chosen) for p in module.variants()
            )
        if self.store is None:
            return tasks, []
        todo = [t for t in tasks if not self.store.has_result(t.key(model))]
        return todo, [t for t in tasks if t not in todo]

    def _dataset_revision(self, module: EvaluationModule) -> str:
        """The commit of the module's dataset to evaluate on (its pinned one, or main's head).

        Raises:
            DatasetError: the dataset or the pinned revision does not exist (the module's
                problem, not the model's).
        """
        try:
            ref = module.dataset
            return resolve_dataset_revision(self.api, ref.repo, ref.revision, head=ref.head)
        except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
            raise DatasetError(
                f"{module.dataset.repo}: {type(exc).__name__} on the Hub; fix dataset.repo or "
                f"dataset.revision in the module '{module.id}'",
                module=module.id,
            ) from exc

    # steps 4-5 -------------------------------------------------------------------------------

    def evaluate(
        self,
        model: ModelRecord,
        *,
        cancel: threading.Event | None = None,
        todo: Sequence[EvaluationTask] | None = None,
    ) -> ExecutionReport:
        """Steps 1-5 for one model revision. Raises a typed ``EvaluationError`` on failure.

        ``cancel``: checked between tasks; once set, :class:`Cancelled` is raised.
        ``todo``: the tasks to run, planned elsewhere (a Ray driver against its store); by
        default :meth:`plan` decides.
        """
        self._cancel = cancel
        todo, skipped = self.plan(model) if todo is None else (list(todo), [])
        report = ExecutionReport(model=model, skipped=skipped)
        if not todo:
            return report
        if model.origin == "fiftyone":  # the FiftyOne model zoo: loaded by FiftyOne, not fetched
            from evaluators.fiftyone_models import FiftyOneDetector

            detector = FiftyOneDetector.load(model.repo_id, self.device)
            return self.execute_loaded(report, todo, detector, ModelMetadata({}, {}, None, None))
        fetched = fetch_model(self.api, model.repo_id, model.sha, max_bytes=self.max_model_bytes)
        return self.execute(report, todo, fetched)

    def execute_loaded(
        self,
        report: ExecutionReport,
        todo: Sequence[EvaluationTask],
        predictor: Classifier | Detector,
        metadata: ModelMetadata,
    ) -> ExecutionReport:
        """Steps 4-5 for a model loaded by its own source (no Hub snapshot)."""
        report.model_metadata = metadata
        for task in todo:
            self._check_cancel()
            report.records.append(self._run_task(report.model, predictor, task))
        self._describe(report, todo)
        return report

    def execute(
        self, report: ExecutionReport, todo: Sequence[EvaluationTask], fetched: FetchedModel
    ) -> ExecutionReport:
        """Steps 4-5 on a downloaded snapshot: load, predict, process, describe into ``report``.

        Talks to the Hub only to load the datasets (which ``datasets`` may serve from its cache);
        :class:`evaluators.isolation.IsolatedExecutor` runs it in an offline child process.
        """
        model = report.model
        classifier = self.load(model, fetched.path)
        card = fetched.path / "README.md"
        report.model_metadata = ModelMetadata(
            file_sizes=fetched.file_sizes,
            hyperparameters=hyperparameters(fetched.path / "config.json"),
            num_parameters=count_parameters(classifier),
            reference=find_reference(model.tags, _card_text(card)),
        )
        for task in todo:
            self._check_cancel()
            report.records.append(self._run_task(model, classifier, task))
        self._describe(report, todo)
        return report

    def _check_cancel(self) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise Cancelled("the evaluation was cancelled")

    def _describe(self, report: ExecutionReport, tasks: Sequence[EvaluationTask]) -> None:
        """Dataset, split, example and variant records for the tasks that ran."""
        seen: set[str] = set()
        for task in tasks:
            module = task.module
            if task.perturbation is not None:
                report.variants.append(variant_record(task.perturbation, SEED))
            if module.id in seen:
                continue
            seen.add(module.id)
            report.datasets.append(dataset_record(module, self.modules))
            if (reference := dataset_reference(module)) is not None:
                report.references.append(reference)
            clean = self.split(EvaluationTask(module, task.dataset_revision))
            task_type = task_types.get(module.task)
            report.splits.append(task_type.split_record(module, clean))
            made = self._shown.pop((clean.dataset_id, clean.split), {})
            if self.wants_examples(clean):
                report.examples.extend(task_type.examples(module, clean, made))
            report.examples.extend(self._errors_shown(report, module, clean))

    def _errors_shown(
        self, report: ExecutionReport, module: EvaluationModule, clean: task_types.Split
    ) -> list[DatasetExampleRecord]:
        """The examples behind the stored misclassifications on the original data (the Space
        shows them), less those already in the report."""
        originals = [
            r
            for r in report.records
            if r.variant == ORIGINAL and (r.dataset_id, r.split) == (clean.dataset_id, clean.split)
        ]
        wrong = {m.example_id for r in originals for m in r.misclassifications}
        for r in originals:  # the images behind detection errors, the most confident first
            wrong.update(
                list(dict.fromkeys(e.example_id for e in r.detection_errors))[:ERROR_IMAGES]
            )
        wrong -= {
            e.example_id
            for e in report.examples
            if (e.dataset_id, e.split) == (clean.dataset_id, clean.split)
        }
        return task_types.get(module.task).error_examples(module, clean, wrong)

    def load(self, model: ModelRecord, path: object) -> Classifier | Detector:
        """The model of ``model`` from its snapshot at ``path``, by its task type's loader."""
        from pathlib import Path

        task_type = task_types.find(model.pipeline_tag)
        if task_type is None:
            raise IncompatibleLibraryError(
                model.repo_id, f"no loader for task '{model.pipeline_tag}'"
            )
        loaded: Classifier | Detector = task_type.load_model(model, Path(str(path)), self.device)
        return loaded if self.wrap is None else self.wrap(loaded, task_type)

    def _device_label(self) -> str:
        """The device as stored with each runtime, naming the autocast precision if any."""
        dtype = autocast_dtype(self.device, self.compute.precision)
        label = describe(self.device)
        return label if dtype is None else f"{label}, {str(dtype).removeprefix('torch.')} autocast"

    def wants_examples(self, split: task_types.Split) -> bool:
        """Whether the store still needs the example records of ``split``."""
        return self.store is None or not self.store.has_examples(split.dataset_id, split.split)

    def keep_thumbnails(self, split: task_types.Split, thumbnails: Mapping[int, bytes]) -> None:
        """Thumbnails made while ``split`` streamed by, for its example records."""
        self._shown[(split.dataset_id, split.split)] = dict(thumbnails)

    def runtime(self, seconds: float, examples: int, batch_size: int) -> RuntimeStats:
        """The runtime record of one evaluated split on this machine."""
        return RuntimeStats(
            total_s=seconds,
            per_instance_ms=1000 * seconds / max(examples, 1),
            instances_per_s=examples / max(seconds, 1e-9),
            device=self._device_label(),
            batch_size=batch_size,
            versions=self._versions,
        )

    def options(
        self, module: EvaluationModule, thumbnails: frozenset[int] = frozenset()
    ) -> Options:
        """How ``module``'s splits are predicted on this machine."""
        return Options(
            batch_size=self.compute.batch_size or module.batch_size,
            max_length=module.max_length,
            loading=self.loading,
            thumbnails=thumbnails,
            precision=self.compute.precision,
            probe=self.compute.batch_size is None,
        )

    def split(self, task: EvaluationTask) -> Any:
        """The task's split: targets read, inputs read lazily (perturbed as they are read)."""
        ref = task.module.dataset
        key = (*ref.source, task.dataset_revision, task.module.limit)
        if key not in self._splits:
            load = task_types.get(task.module.task).load_split
            self._splits[key] = load(task.module, task.dataset_revision)
        clean = self._splits[key]
        if task.perturbation is None:
            return clean
        return clean.perturbed(task.perturbation, seed=SEED)

    def _run_task(
        self, model: ModelRecord, predictor: Classifier | Detector, task: EvaluationTask
    ) -> EvaluationRecord:
        label = f"{model.repo_id} on {task.module.dataset.repo} [{task.variant}]"
        task_type = task_types.get(task.module.task)
        with labelled(label):
            record = task_type.evaluate(self, model, predictor, self.split(task), task)
        return dataclasses.replace(record, fingerprint=model.fingerprint, selection=task.selection)


def _card_text(card: Path) -> str | None:
    """The model card's text, read at most to its cap (None: absent or over the cap)."""
    if not card.exists():
        return None
    try:
        return read_bounded(card, "README.md").decode(errors="replace")
    except FileTooLargeError:
        return None
