"""Evaluation modules: one YAML file per task x dataset under ``config/tasks/<task>/``.

Files are loaded with ``yaml.safe_load`` into a strict schema: unknown keys are errors that name the
file and the key. ``include:`` merges a template (path relative to the including file) under the
file's own keys.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evaluators import tasks as task_types
from evaluators.errors import ConfigError
from evaluators.identity import check_names
from perturbations import Perturbation, from_spec
from store import catalogue


def modality(task: str) -> str:
    """What task ``task``'s inputs are (``text``, ``image``...), from its catalogue entry."""
    return catalogue.task(task).modality


COMMIT_SHA = re.compile(r"[0-9a-f]{40}")  # a dataset revision, as the Hub names commits
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")  # an ISO 639-1 or 639-3 language code
# The Hub's Parquet conversion of a dataset repo: a branch, one folder per config and split
PARQUET_EXPORT = "refs/convert/parquet"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Columns(BaseModel):
    """Dataset column per role. Classification reads ``input`` and ``label``; other task types
    name their own roles (``tokens`` and ``tags``, ``question``, ``context`` and ``answers``...)
    and say which they need (:attr:`evaluators.tasks.TaskType.columns`)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, str] = Field(init=False)

    input: str = ""
    label: str = ""

    def roles(self) -> dict[str, str]:
        """Every role named: role -> column."""
        named = {"input": self.input, "label": self.label, **(self.__pydantic_extra__ or {})}
        return {role: column for role, column in named.items() if column}

    def role(self, name: str) -> str:
        """The column of role ``name``.

        Raises:
            KeyError: the module names no column for it.
        """
        column = self.roles().get(name)
        if column is None:
            raise KeyError(f"dataset.columns names no '{name}' column")
        return column


class ObjectColumns(_Strict):
    """Object detection: the fields of each object in the ``label`` column (a list of objects,
    or a struct of lists as in ``datasets``' ``Sequence`` of a dict)."""

    bbox: str = "bbox"
    category: str = "category"
    format: Literal["xyxy", "xywh"] = "xyxy"  # pixels; xywh is COCO's own
    area: str | None = None  # COCO's segment area (small/medium/large); default: the box area
    iscrowd: str | None = None


class Reference(_Strict):
    """A publication (thesis table 3.4)."""

    title: str
    authors: str | None = None
    year: int | None = Field(default=None, ge=1900, le=2100)
    url: str | None = None
    arxiv: str | None = Field(default=None, pattern=r"^\d{4}\.\d{4,5}(v\d+)?$")


class Generation(_Strict):
    """Decoding settings of a generation task, over the model's own (its
    ``generation_config.json``, its ``task_specific_params``); unset keys keep the model's.
    Texts are never sampled."""

    max_new_tokens: int | None = Field(default=None, ge=1, le=4096)
    min_new_tokens: int | None = Field(default=None, ge=0, le=4096)
    num_beams: int | None = Field(default=None, ge=1, le=16)
    length_penalty: float | None = Field(default=None, ge=-10.0, le=10.0)
    no_repeat_ngram_size: int | None = Field(default=None, ge=0, le=10)
    early_stopping: bool | None = None


class Direction(_Strict):
    """What a translation module translates from and into (ISO 639 codes)."""

    source: str = Field(pattern=r"^[a-z]{2,3}$")
    target: str = Field(pattern=r"^[a-z]{2,3}$")


class DatasetRef(_Strict):
    repo: str = Field(pattern=r"^[\w.-]+(/[\w.-]+)?$")
    name: str
    config: str | None = None
    split: str = "test"
    # A full commit sha of `repo`; None: the head of main (of its Parquet conversion with format
    # parquet-export), resolved and stored at evaluation time (`evalbot validate` warns: results
    # then follow whatever that head becomes)
    revision: str | None = None
    # How the split is stored: `datasets` (default): what `datasets.load_dataset(repo, config,
    # split=split)` reads; `parquet-export`: the Hub's Parquet conversion of the repo
    # (`refs/convert/parquet`, for a repo whose main holds a loading script, which `datasets`
    # no longer runs): `config` is its folder there, `revision` a commit of that branch;
    # `coco-zip`: the zip named by `files` holds `_annotations.coco.json` and its images (the
    # Roboflow export layout), read by evaluators.coco_zip
    format: Literal["datasets", "parquet-export", "coco-zip"] = "datasets"
    files: str | None = None  # with format coco-zip: the zip's path in the repo (data/test.zip)
    columns: Columns
    objects: ObjectColumns | None = None  # object detection only
    labels: list[str] = Field(default_factory=list)  # class names (NER: tag names), in order
    # The languages of its text (ISO 639 codes, as its Hub card's `language:`): training data is
    # never inferred to be this dataset for a model whose card or name states only others
    language: list[str] = Field(default_factory=list)
    description: str | None = None
    homepage: str | None = None
    reference: Reference | None = None

    @field_validator("revision")
    @classmethod
    def _full_commit_sha(cls, revision: str | None) -> str | None:
        if revision is not None and not COMMIT_SHA.fullmatch(revision):
            raise ValueError(
                f"use the full 40-character commit sha (lowercase hex) of the revision "
                f"evaluated, not {revision!r}: a branch or tag moves and a short sha can become "
                f"ambiguous (the dataset's commit history on the Hub shows full shas)"
            )
        return revision

    @property
    def source(self) -> tuple[str, str, str | None, str | None, str]:
        """What a split is read from, short of its revision: one loaded split per source."""
        return (self.repo, self.format, self.config, self.files, self.split)

    @property
    def head(self) -> str:
        """The branch whose head an unpinned revision follows."""
        return PARQUET_EXPORT if self.format == "parquet-export" else "main"

    @model_validator(mode="after")
    def _files_of_format(self) -> DatasetRef:
        if self.format == "coco-zip":
            if self.files is None or not self.files.lower().endswith(".zip"):
                raise ValueError(
                    f"files: format 'coco-zip' reads one zip in the repo: set files to its path "
                    f"(e.g. data/test.zip), not {self.files!r}"
                )
            if self.files.startswith("/") or ".." in self.files.split("/"):
                raise ValueError(
                    f"files: {self.files!r} must be a path inside the repo, relative to its root "
                    f"(e.g. data/test.zip)"
                )
            if self.config is not None:
                raise ValueError(
                    "config: a coco-zip split has no datasets config; remove config (files "
                    "names the zip)"
                )
        elif self.files is not None:
            raise ValueError(
                "files: only format 'coco-zip' reads a file by its path; remove files or set "
                "format: coco-zip"
            )
        return self

    @field_validator("language")
    @classmethod
    def _language_codes(cls, language: list[str]) -> list[str]:
        wrong = [code for code in language if not LANGUAGE_CODE.fullmatch(code)]
        if wrong:
            raise ValueError(
                f"language: {wrong} are not ISO 639 codes; write the two- or three-letter "
                f"lowercase codes of the dataset card's `language:` (e.g. en, de, swa)"
            )
        return language

    @field_validator("labels")
    @classmethod
    def _unique_labels(cls, labels: list[str]) -> list[str]:
        seen = {label.casefold() for label in labels}
        if len(seen) != len(labels):
            raise ValueError("labels must be unique (case-insensitively)")
        return labels


class Benchmark(_Strict):
    """The dataset is a Hub Benchmark: our result also goes to ``.eval_results/`` in the PR."""

    # One of the `tasks[].id` of the eval.yaml at the dataset's root (`evalbot validate` checks it)
    task_id: str = Field(min_length=1)
    metric: str = "accuracy"  # one of the task's card metrics (store.catalogue)
    scale: Literal[1, 100] = 100  # 100: the leaderboard shows percentages


def did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" — did you mean '{close[0]}'?" if close else ""


class EvaluationModule(_Strict):
    """One evaluation module: which models it selects and how they are evaluated on a dataset."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    task: str  # a registered task type (evaluators.tasks)
    version: int = Field(ge=1)
    dataset: DatasetRef
    trained_on: list[str] = Field(min_length=1)
    # A trained_on name with {version} (a versioned family, e.g.
    # mozilla-foundation/common_voice_{version}_0) stands for one name per version listed here
    trained_on_versions: list[str] = Field(default_factory=list)
    # Where several modules of one task share a trained_on name (a family such as glue,
    # tweet_eval or xnli), the words that name this module's part of it (its config): looked
    # for in the model-index's dataset config/args/name and in the model's name (evaluators.identity)
    config_hints: list[str] = Field(default_factory=list)
    # A family member (config_hints set) that is the one to pick for a model declaring the family
    # and this language (a card `language:` code, which the Hub lists among the model's tags)
    # without saying a config: the language's main treebank of universal_dependencies
    default_for_language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    # False: only models that declare one of trained_on are evaluated (no inferred training data)
    infer: bool = True
    # True: a model's generic LABEL_N labels map to dataset.labels by position (the order models
    # trained on the dataset keep); False: they are refused, for a dataset whose models come with
    # its classes in other orders (NLI: entailment/neutral/contradiction and the reverse)
    positional_labels: bool = True
    also_evaluate_on: list[str] = Field(default_factory=list)  # ids of compatible modules
    label_aliases: dict[str, list[str]] = Field(default_factory=dict)
    perturbations: list[str | dict[str, Any]] = Field(default_factory=list)
    processors: list[str] = Field(default_factory=list)  # default: all of the task's
    batch_size: int = Field(default=32, ge=1, le=4096)
    max_length: int = Field(default=128, ge=8, le=8192)  # text only: tokens per example
    limit: int | None = Field(default=None, ge=1)
    benchmark: Benchmark | None = None  # set when the dataset is registered as a Hub Benchmark
    # object detection: detections scoring below this are not counted as TP/FP (AP uses all)
    score_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    # token classification only: `entities` scores IOB2 entity spans, `words` scores each word's
    # tag as one class (part-of-speech tagging: word accuracy, per-tag precision/recall/F1)
    tagging: Literal["entities", "words"] = "entities"
    # generation tasks (summarization, translation): decoding settings over the model's own
    generation: Generation | None = None
    # translation only: the source and target languages
    direction: Direction | None = None
    # summarization only: ROUGE stems words with the Porter stemmer (rouge-score's
    # use_stemmer, on in transformers' run_summarization.py)
    rouge_stemmer: bool = True
    # speech recognition only: the text normaliser before WER and CER (default: Whisper's
    # English one for an English dataset, its basic one otherwise); rates without any are
    # stored beside (wer_raw, cer_raw)
    normalizer: Literal["whisper-english", "whisper-basic", "none"] | None = None
    # Groups of classes results are also summed up over (CIFAR-100's superclasses, COCO's
    # supercategories): group name -> dataset.labels of the group. A label belongs to at most one
    # group; labels in none are left out of every group (no "other" group is made up for them)
    class_groups: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("task")
    @classmethod
    def _known_task(cls, name: str) -> str:
        try:
            task_types.get(name)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        return name

    @model_validator(mode="before")
    @classmethod
    def _default_processors(cls, data: Any) -> Any:
        if isinstance(data, dict) and "processors" not in data:
            task_type = task_types.find(str(data.get("task")))
            if task_type is not None:
                return {**data, "processors": list(task_type.processors)}
        return data

    @field_validator("processors")
    @classmethod
    def _known_processors(cls, names: list[str]) -> list[str]:
        known = task_types.all_processors()
        for name in names:
            if name not in known:
                raise ValueError(f"unknown processor '{name}'{did_you_mean(name, known)}")
        return names

    @model_validator(mode="after")
    def _check(self) -> EvaluationModule:
        task_type = task_types.get(self.task)
        allowed = list(task_type.processors)
        if allowed[0] not in self.processors:
            raise ValueError(f"processors must include '{allowed[0]}'")
        other = [name for name in self.processors if name not in allowed]
        if other:
            raise ValueError(
                f"processors {other} are not for task '{self.task}' (it takes {allowed})"
            )
        if task_type.uses_objects != (self.dataset.objects is not None):
            needing = [name for name in task_types.names() if task_types.get(name).uses_objects]
            raise ValueError(
                f"dataset.objects is required for {' and '.join(needing)} and only there"
            )
        if self.dataset.format == "coco-zip" and not task_type.uses_objects:
            raise ValueError(
                f"dataset.format: 'coco-zip' holds object-detection boxes; task '{self.task}' "
                f"reads a datasets split: remove dataset.format and dataset.files"
            )
        if self.benchmark is not None and self.benchmark.metric not in task_type.spec.card:
            raise ValueError(
                f"benchmark.metric: '{self.benchmark.metric}' is not one of task "
                f"'{self.task}''s card metrics {list(task_type.spec.card)}"
            )
        roles = self.dataset.columns.roles()
        missing = [role for role in task_type.columns if role not in roles]
        reads = [*task_type.columns, *task_type.optional_columns]
        if missing:
            raise ValueError(
                f"dataset.columns.{missing[0]} is missing: task '{self.task}' reads {reads}"
            )
        extra = sorted(set(roles) - set(reads))
        if extra:
            raise ValueError(
                f"unknown key 'dataset.columns.{extra[0]}': task '{self.task}' reads {reads}"
            )
        fewest = 1 if task_type.uses_objects else 2  # one class of object is worth detecting
        if task_type.needs_labels and len(self.dataset.labels) < fewest:
            raise ValueError(
                f"dataset.labels: task '{self.task}' needs at least {fewest} "
                f"label{'s' if fewest > 1 else ''}"
            )
        if self.default_for_language is not None and not self.config_hints:
            raise ValueError(
                "default_for_language is for a member of a family: give the module config_hints "
                "too (the words that name its config)"
            )
        if self.tagging != "entities" and self.task != "token-classification":
            raise ValueError(
                f"tagging: '{self.tagging}' is for token-classification modules only; remove it "
                f"from this '{self.task}' module"
            )
        if self.generation is not None and not task_type.generates:
            raise ValueError(
                f"generation: decoding settings are for tasks that generate text; task "
                f"'{self.task}' does not: remove generation"
            )
        if self.direction is not None and self.task != "translation":
            raise ValueError(
                f"direction: is for translation modules only; remove it from this '{self.task}' "
                f"module"
            )
        if not self.rouge_stemmer and self.task != "summarization":
            raise ValueError(
                f"rouge_stemmer: is for summarization modules only; remove it from this "
                f"'{self.task}' module"
            )
        if self.normalizer is not None and self.task != "automatic-speech-recognition":
            raise ValueError(
                f"normalizer: is for automatic-speech-recognition modules only; remove it from "
                f"this '{self.task}' module"
            )
        task_type.check(self)
        unknown = sorted(set(self.label_aliases) - set(self.dataset.labels))
        if unknown:
            raise ValueError(f"label_aliases names labels not in dataset.labels: {unknown}")
        for spec in self.perturbations:
            try:
                perturbation = from_spec(spec)
            except (KeyError, ValueError, TypeError) as exc:
                raise ValueError(f"perturbations: {exc.args[0] if exc.args else exc}") from exc
            if not perturbation.supports(task_type.perturbs):
                raise ValueError(
                    f"perturbations: '{perturbation.name}' is for {perturbation.modality}, "
                    f"this module's task '{self.task}' takes {task_type.perturbs}"
                )
        ids = [p.variant_id for p in self.variants()]
        if len(set(ids)) != len(ids):
            raise ValueError(f"perturbations: duplicate variants {ids}")
        return self

    @model_validator(mode="after")
    def _check_class_groups(self) -> EvaluationModule:
        labels = self.dataset.labels
        owner: dict[str, str] = {}
        for group, members in self.class_groups.items():
            if not group.strip():
                raise ValueError("class_groups: a group needs a name")
            if not members:
                raise ValueError(f"class_groups.{group}: the group names no label")
            for label in members:
                if label not in labels:
                    raise ValueError(
                        f"class_groups.{group}: '{label}' is not in dataset.labels"
                        f"{did_you_mean(label, labels)}"
                    )
                if label in owner:
                    where = "twice" if owner[label] == group else f"also in '{owner[label]}'"
                    raise ValueError(
                        f"class_groups.{group}: '{label}' is {where}; a label belongs to one "
                        f"group at most"
                    )
                owner[label] = group
        return self

    def variants(self) -> list[Perturbation]:
        """The module's perturbations, parsed (the original variant is implicit)."""
        return [from_spec(spec) for spec in self.perturbations]


@dataclass(frozen=True)
class ModuleFile:
    path: Path
    module: EvaluationModule


def read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise ConfigError(str(path), "include cycle: " + " -> ".join(str(p) for p in (*seen, path)))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "file not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except (OSError, ValueError) as exc:  # a folder, no permission, a NUL in the name
        raise ConfigError(str(path), f"cannot read the file: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date such as 2020-13-45
        raise ConfigError(str(path), f"invalid YAML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(str(path), "invalid YAML: nested too deeply") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), f"expected a mapping at the top, got {type(data).__name__}")
    include = data.pop("include", None)
    if include is None:
        return data
    if not isinstance(include, str) or not include.strip() or "\0" in include:
        raise ConfigError(str(path), "include: must be a relative path")
    try:
        base = read_yaml((path.parent / include).resolve(), (*seen, path))
    except ConfigError as exc:
        raise ConfigError(str(path), f"include: {exc}") from exc
    return _deep_merge(base, data)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def format_validation_error(path: Path, exc: ValidationError) -> ConfigError:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top)"
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown key '{where}'")
        else:
            problems.append(f"{where}: {err['msg']}")
    return ConfigError(str(path), "; ".join(problems))


def load_module(path: Path) -> EvaluationModule:
    """Load and validate one module file.

    Raises:
        ConfigError: naming the file and every offending key.
    """
    data = read_yaml(path)
    try:
        return EvaluationModule.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(path, exc) from exc


def load_modules(tasks_dir: Path) -> list[ModuleFile]:
    """Load every ``<task>/<dataset>.yaml`` below ``tasks_dir`` (templates start with ``_``).

    Raises:
        ConfigError: on the first invalid file, a duplicate module id, a file whose folder is
            not its task, or two modules of one task claiming one dataset name outside a family
            (``evaluators.identity.check_names``).
    """
    files: list[ModuleFile] = []
    ids: dict[str, Path] = {}
    for path in sorted(tasks_dir.glob("*/*.yaml")):
        if path.name.startswith("_") or path.parent.name.startswith("_"):
            continue
        module = load_module(path)
        if path.parent.name != module.task:
            raise ConfigError(
                str(path), f"task '{module.task}' lives in folder '{path.parent.name}'"
            )
        if module.id in ids:
            raise ConfigError(
                str(path), f"duplicate module id '{module.id}' (also in {ids[module.id]})"
            )
        ids[module.id] = path
        files.append(ModuleFile(path=path, module=module))
    check_names((f.path, f.module) for f in files)
    for item in files:
        for other in item.module.also_evaluate_on:
            if other not in ids:
                raise ConfigError(
                    str(item.path),
                    f"also_evaluate_on: unknown module '{other}'{did_you_mean(other, ids)}",
                )
            if ids and _task_of(files, other) != item.module.task:
                raise ConfigError(
                    str(item.path), f"also_evaluate_on: module '{other}' is another task"
                )
    return files


def _task_of(files: list[ModuleFile], module_id: str) -> str:
    return next(f.module.task for f in files if f.module.id == module_id)
