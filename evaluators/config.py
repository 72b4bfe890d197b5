"""Evaluation modules: one YAML file per task x dataset under ``config/tasks/<task>/``.

Files are loaded with ``yaml.safe_load`` into a strict schema: unknown keys are errors that name the
file and the key. ``include:`` merges a template (path relative to the including file) under the
file's own keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evaluators.errors import ConfigError

SUPPORTED_TASKS = ("text-classification",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Columns(_Strict):
    input: str
    label: str


class DatasetRef(_Strict):
    repo: str = Field(pattern=r"^[\w.-]+(/[\w.-]+)?$")
    name: str
    config: str | None = None
    split: str = "test"
    revision: str | None = None  # None: the head of main, resolved and stored at evaluation time
    columns: Columns
    labels: list[str] = Field(min_length=2)

    @field_validator("labels")
    @classmethod
    def _unique_labels(cls, labels: list[str]) -> list[str]:
        seen = {label.casefold() for label in labels}
        if len(seen) != len(labels):
            raise ValueError("labels must be unique (case-insensitively)")
        return labels


class EvaluationModule(_Strict):
    """One evaluation module: which models it selects and how they are evaluated on a dataset."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    task: Literal["text-classification"]
    version: int = Field(ge=1)
    dataset: DatasetRef
    trained_on: list[str] = Field(min_length=1)
    label_aliases: dict[str, list[str]] = Field(default_factory=dict)
    batch_size: int = Field(default=32, ge=1, le=4096)
    max_length: int = Field(default=128, ge=8, le=8192)
    limit: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _aliases_name_dataset_labels(self) -> EvaluationModule:
        unknown = sorted(set(self.label_aliases) - set(self.dataset.labels))
        if unknown:
            raise ValueError(f"label_aliases names labels not in dataset.labels: {unknown}")
        return self


@dataclass(frozen=True)
class ModuleFile:
    path: Path
    module: EvaluationModule


def read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise ConfigError(str(path), "include cycle: " + " -> ".join(str(p) for p in (*seen, path)))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), f"invalid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), f"expected a mapping at the top, got {type(data).__name__}")
    include = data.pop("include", None)
    if include is None:
        return data
    if not isinstance(include, str):
        raise ConfigError(str(path), "include: must be a relative path")
    base = read_yaml((path.parent / include).resolve(), (*seen, path))
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
        ConfigError: on the first invalid file, a duplicate module id, or a file whose folder is
            not its task.
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
    return files
