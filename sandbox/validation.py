"""`POST /api/validate-yaml`: the Hub's check of a card's front matter.

Errors read like the Hub's (`"model-index[0].results[0].dataset.name" is required`); an empty or
missing front matter is only a warning.
"""

from __future__ import annotations

from typing import Any

from sandbox.cards import front_matter
from sandbox.space_config import space_config_problems

_EMPTY_WARNING = (
    "empty or missing yaml metadata in repo card "
    "(https://huggingface.co/docs/hub/model-cards#model-card-metadata)"
)


def validate_card(content: str, repo_type: str) -> tuple[list[str], list[str]]:
    """(errors, warnings) for a README's content."""
    found, value, yaml_error = front_matter(content)
    if not found:
        return [], [_EMPTY_WARNING]
    if yaml_error is not None:
        return [f"Invalid YAML in README.md front matter: {yaml_error}"], []
    if value is None or value == {}:
        return [], [_EMPTY_WARNING]
    if not isinstance(value, dict):
        return ['"value" must be of type object'], []
    problems: list[str] = []
    for key in ("tags", "datasets", "language"):
        if key in value and not _is_strings(value[key]):
            problems.append(f'"{key}" must be a string or an array of strings')
    if "license" in value and not _is_strings(value["license"]):
        problems.append('"license" must be a string')
    if repo_type == "model" and "model-index" in value:
        problems.extend(_model_index(value["model-index"]))
    if repo_type == "space":
        problems.extend(p for p in space_config_problems(value) if p not in problems)
    return problems, []


def commit_problems(content: str, repo_type: str) -> list[str]:
    """Why the Hub refuses a commit of this README.md: front matter that is not valid YAML, or,
    in a model repo, an invalid `model-index` (the messages of `validate_card`)."""
    found, value, yaml_error = front_matter(content)
    if not found:
        return []
    if yaml_error is not None:
        return [f"Invalid YAML in README.md front matter: {yaml_error}"]
    if repo_type == "model" and isinstance(value, dict) and "model-index" in value:
        return _model_index(value["model-index"])
    return []


def _is_strings(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return all(isinstance(item, str) for item in items)


def _required(parent: Any, key: str, where: str, problems: list[str], kind: type = str) -> None:
    if not isinstance(parent, dict) or parent.get(key) is None:
        problems.append(f'"{where}.{key}" is required')
    elif kind is not object and not isinstance(parent[key], kind):
        problems.append(f'"{where}.{key}" must be a {kind.__name__}')


def _model_index(index: Any) -> list[str]:
    problems: list[str] = []
    if not isinstance(index, list):
        return ['"model-index" must be an array']
    for i, entry in enumerate(index):
        where = f"model-index[{i}]"
        if not isinstance(entry, dict):
            problems.append(f'"{where}" must be of type object')
            continue
        results = entry.get("results")
        if not isinstance(results, list):
            problems.append(f'"{where}.results" is required')
            continue
        for j, result in enumerate(results):
            problems.extend(_result(result, f"{where}.results[{j}]"))
    return problems


def _result(result: Any, where: str) -> list[str]:
    problems: list[str] = []
    if not isinstance(result, dict):
        return [f'"{where}" must be of type object']
    _required(result.get("task"), "type", f"{where}.task", problems)
    _required(result.get("dataset"), "type", f"{where}.dataset", problems)
    _required(result.get("dataset"), "name", f"{where}.dataset", problems)
    metrics = result.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        problems.append(f'"{where}.metrics" must contain at least 1 items')
        return problems
    for k, metric in enumerate(metrics):
        _required(metric, "type", f"{where}.metrics[{k}]", problems)
        _required(metric, "value", f"{where}.metrics[{k}]", problems, kind=object)
    source = result.get("source")
    if source is not None:
        _required(source, "url", f"{where}.source", problems)
    return problems
