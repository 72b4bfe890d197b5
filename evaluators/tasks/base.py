"""The task registry: one class per task type, registered by name.

A task type says everything the rest of the house needs about a task: its catalogue entry
(modality, metrics, layouts: :mod:`store.catalogue`), the dataset columns it reads, its
processors, how to load a model for it, how to load a split, and how to turn a split and a model
into a stored result (predict, map labels, process). The executor runs one fixed sequence (plan,
load the split, evaluate, describe) and calls these hooks; the card, the claims audit, the CLI
and the Space read names and layouts from the catalogue entry.

Adding a task type is one module::

    @register
    class Similarity(TaskType):
        spec = catalogue.register(TaskSpec(name="sentence-similarity", ...))
        columns = ("sentence1", "sentence2", "label")
        processors = {"similarity": "Pearson and Spearman correlation"}

        def load_model(self, model, folder, device): ...
        def load_split(self, module, revision): ...
        def evaluate(self, context, model, predictor, split, task): ...

The built-in task types are imported the first time one is looked up, so that this module (and
``evaluators.config``, which validates module files against the registry) imports nothing heavy.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from store.catalogue import TaskSpec
from store.types import (
    DatasetExampleRecord,
    DatasetSplitRecord,
    EvaluationRecord,
    ModelRecord,
    RuntimeStats,
)

if TYPE_CHECKING:
    import torch

    from evaluators.config import EvaluationModule
    from evaluators.executor import EvaluationTask
    from evaluators.predictions import Options

BUILTIN = (
    "evaluators.tasks.classification",
    "evaluators.tasks.generation",
    "evaluators.tasks.object_detection",
    "evaluators.tasks.question_answering",
    "evaluators.tasks.speech",
    "evaluators.tasks.token_classification",
)


class Split(Protocol):
    """What the executor needs of a loaded split (each task type has its own kind)."""

    @property
    def dataset_id(self) -> str: ...

    @property
    def split(self) -> str: ...

    @property
    def revision(self) -> str: ...

    def __len__(self) -> int: ...

    def perturbed(self, perturbation: Any, *, seed: int) -> Any: ...


class Context(Protocol):
    """What a task type's ``evaluate`` may ask of the runner that calls it."""

    def options(self, module: EvaluationModule, thumbnails: frozenset[int] = ...) -> Options:
        """How ``module``'s splits are predicted on this machine (batch size, workers...)."""
        ...

    def wants_examples(self, split: Any) -> bool:
        """Whether the store still needs the example records of ``split``."""
        ...

    def keep_thumbnails(self, split: Any, thumbnails: Mapping[int, bytes]) -> None:
        """Thumbnails made while ``split`` streamed by, for its example records."""
        ...

    def runtime(self, seconds: float, examples: int, batch_size: int) -> RuntimeStats:
        """The runtime record of one evaluated split on this machine."""
        ...


class TaskType:
    """One task type. Subclasses set the class attributes and implement the hooks.

    Attributes:
        spec: The catalogue entry (:class:`store.catalogue.TaskSpec`).
        columns: The roles of ``dataset.columns`` a module of this task must name.
        optional_columns: Roles it may name besides.
        needs_labels: Whether ``dataset.labels`` lists its classes (at least two; one where
            ``uses_objects``: a detector may find a single class).
        processors: Processor name -> what it adds to a result; the first is always on.
        uses_objects: Whether a module describes objects (``dataset.objects``).
        generates: Whether it generates text (a module may set ``generation:``).
    """

    spec: ClassVar[TaskSpec]
    columns: ClassVar[tuple[str, ...]] = ("input", "label")
    optional_columns: ClassVar[tuple[str, ...]] = ()
    needs_labels: ClassVar[bool] = True
    processors: ClassVar[Mapping[str, str]] = {}
    uses_objects: ClassVar[bool] = False
    generates: ClassVar[bool] = False

    @property
    def perturbs(self) -> str:
        """What its perturbations apply to (``Perturbation.supports``): its modality by default;
        ``words`` for tagged words, ``qa`` for question and context."""
        return self.modality

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def modality(self) -> str:
        return self.spec.modality

    def check(self, module: EvaluationModule) -> None:
        """Checks of a module beyond the schema's; raise ValueError with what to fix."""

    def load_model(self, model: ModelRecord, folder: Path, device: torch.device) -> Any:
        """The model of ``model`` from its downloaded snapshot ``folder``, on ``device``."""
        raise NotImplementedError

    def load_split(self, module: EvaluationModule, revision: str) -> Split:
        """The module's split at ``revision``: targets read, inputs read lazily."""
        raise NotImplementedError

    def evaluate(
        self,
        context: Context,
        model: ModelRecord,
        predictor: Any,
        split: Any,
        task: EvaluationTask,
    ) -> EvaluationRecord:
        """Predict ``split`` with ``predictor``, map the labels, process: one stored result."""
        raise NotImplementedError

    def split_record(self, module: EvaluationModule, split: Any) -> DatasetSplitRecord:
        """The split as stored (thesis table 3.2c): its size, and its examples per class where
        the task has classes."""
        return DatasetSplitRecord(
            dataset_id=split.dataset_id,
            revision=split.revision,
            split=split.split,
            num_examples=len(split),
            class_counts=(),
        )

    def examples(
        self, module: EvaluationModule, split: Any, made: Mapping[int, bytes]
    ) -> list[DatasetExampleRecord]:
        """The examples shown per class (``made``: thumbnails made on the way)."""
        return []

    def error_examples(
        self, module: EvaluationModule, split: Any, example_ids: Iterable[int]
    ) -> list[DatasetExampleRecord]:
        """The examples behind stored errors, for the Space's gallery."""
        return []


def result(
    task: EvaluationTask,
    model: ModelRecord,
    *,
    num_examples: int,
    metrics: dict[str, float | None],
    runtime: RuntimeStats,
    **fields: Any,
) -> EvaluationRecord:
    """A stored result of ``task``: its identity from the task, the numbers from the caller."""
    module = task.module
    return EvaluationRecord(
        **task.key(model),  # type: ignore[arg-type]
        task=module.task,
        module_id=module.id,
        dataset_name=module.dataset.name,
        num_examples=num_examples,
        metrics=metrics,
        runtime=runtime,
        **fields,
    )


_TYPES: dict[str, TaskType] = {}
_loaded = False
T = TypeVar("T", bound=type[TaskType])


def register(cls: T) -> T:
    """Class decorator: register a task type under its catalogue name."""
    name = cls.spec.name
    if name in _TYPES and type(_TYPES[name]) is not cls:
        raise ValueError(f"task type {name!r} is registered already ({type(_TYPES[name])})")
    _TYPES[name] = cls()
    return cls


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN:
            importlib.import_module(module)


def get(name: str) -> TaskType:
    """The task type ``name``.

    Raises:
        KeyError: no such task type, with the closest name and the known ones.
    """
    _load_builtins()
    try:
        return _TYPES[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_TYPES), n=1)
        hint = f" — did you mean '{close[0]}'?" if close else ""
        raise KeyError(f"unknown task '{name}'{hint} (known: {sorted(_TYPES)})") from None


def find(name: str | None) -> TaskType | None:
    """The task type ``name``, or None."""
    _load_builtins()
    return _TYPES.get(name) if name else None


def names() -> list[str]:
    """Every registered task type's name."""
    _load_builtins()
    return list(_TYPES)


def all_processors() -> dict[str, str]:
    """Every processor of every task type: name -> what it adds."""
    _load_builtins()
    out: dict[str, str] = {}
    for task_type in _TYPES.values():
        out.update(task_type.processors)
    return out
