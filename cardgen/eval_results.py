"""``.eval_results/*.yaml``: our results as Hub "Eval Results" entries, for Benchmark datasets.

A dataset registered on the Hub as a Benchmark aggregates the scores that model repos keep in
``.eval_results/*.yaml`` into its leaderboard. For a module whose YAML has ``benchmark:``, the PR
also adds ``.eval_results/evalbot-<namespace>--<name>.yaml``: one entry with our value on the
module's split (original variant), the dataset revision, the date of the result, a link to the
Space, a note saying how to reproduce it, and a ``verifyToken`` signed like the card's values.

The file is a pure function of the stored result: the date is the result's, and a valid token
already in the repo for the same claims is kept, so an identical re-run changes nothing.

Example:
    >>> files = eval_result_files(records, {"cais/hle": BenchmarkSpec("cais/hle", "test")},
    ...                           repo_id="org/model", space_url=url)  # doctest: +SKIP
    >>> list(files)  # doctest: +SKIP
    ['.eval_results/evalbot-cais--hle.yaml']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import yaml

from store.types import EvaluationRecord

from .errors import TokenError
from .results import card_records, rounded
from .signing import Signer, canonical_json

FOLDER = ".eval_results"
PREFIX = "evalbot-"  # the files evalbot writes; the author's own files are never touched


@dataclass(frozen=True)
class BenchmarkSpec:
    """A dataset registered as a Hub Benchmark (from the module YAML's ``benchmark:``).

    Attributes:
        dataset_id: The Hub id of the benchmark dataset.
        split: The split the leaderboard ranks (the module's split).
        metric: Our metric key whose value is published.
        task_id: The benchmark's task, when it has several.
        scale: 100 when the leaderboard shows percentages, 1 for fractions.
    """

    dataset_id: str
    split: str
    metric: str = "accuracy"
    task_id: str | None = None
    scale: int = 100


def eval_result_path(dataset_id: str) -> str:
    """The file evalbot writes for one benchmark dataset."""
    return f"{FOLDER}/{PREFIX}{dataset_id.replace('/', '--')}.yaml"


def eval_result_files(
    records: Sequence[EvaluationRecord],
    benchmarks: Mapping[str, BenchmarkSpec],
    *,
    repo_id: str,
    space_url: str,
    signer: Signer | None = None,
    existing: Mapping[str, str | None] | None = None,
) -> dict[str, str]:
    """The ``.eval_results`` files for the benchmark datasets among ``records``.

    Args:
        records: Every record of one model revision (only the original variant is published).
        benchmarks: Benchmark datasets by Hub id.
        repo_id: The model repo.
        space_url: The Space, linked as the source of the result.
        signer: Signs each value (``verifyToken``); None leaves the token out.
        existing: The current content of these files in the repo (path -> text or None).

    Returns:
        Path -> YAML text, for each benchmark dataset with a result; empty when none.
    """
    files: dict[str, str] = {}
    for record in card_records(records):
        spec = benchmarks.get(record.dataset_id)
        if spec is None or record.split != spec.split:
            continue
        value = rounded(record.metrics.get(spec.metric))
        if value is None:
            continue
        path = eval_result_path(record.dataset_id)
        entry = _entry(record, spec, value, repo_id=repo_id, space_url=space_url)
        if signer is not None:
            claims = _claims(repo_id, record, spec, entry["value"])
            kept = _valid_token((existing or {}).get(path), claims, signer)
            entry["verifyToken"] = kept or signer.sign(
                {**claims, "iat": int(record.created_at.timestamp())}
            )
        files[path] = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True)
    return files


def _entry(
    record: EvaluationRecord, spec: BenchmarkSpec, value: float, *, repo_id: str, space_url: str
) -> dict[str, Any]:
    dataset: dict[str, Any] = {"id": record.dataset_id}
    if spec.task_id:
        dataset["task_id"] = spec.task_id
    dataset["revision"] = record.dataset_revision
    shown = round(value * 100, 2) if spec.scale == 100 else value
    date = record.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "dataset": dataset,
        "value": shown,
        "date": date,
        "source": {"url": f"{space_url.rstrip('/')}/?model={repo_id}", "name": "evalbot"},
        "notes": (
            f"{spec.metric} on the {record.split} split ({record.num_examples} examples), "
            f"evalbot {record.code_version}, module version {record.config_version}; "
            f"reproduce: evalbot evaluate {repo_id}@{record.model_sha}"
        ),
    }


def _claims(
    repo_id: str, record: EvaluationRecord, spec: BenchmarkSpec, value: float
) -> dict[str, Any]:
    """What the token of one entry vouches for (see `cardgen.signing`)."""
    return {
        "sub": repo_id,
        "model_sha": record.model_sha,
        "dataset": record.dataset_id,
        "task_id": spec.task_id,
        "revision": record.dataset_revision,
        "split": record.split,
        "metric": spec.metric,
        "value": value,
    }


def _valid_token(text: str | None, claims: Mapping[str, Any], signer: Signer) -> str | None:
    """The token already in the file when this key signed exactly ``claims`` (iat aside)."""
    if not text:
        return None
    try:
        entries = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    for entry in entries if isinstance(entries, list) else []:
        token = entry.get("verifyToken") if isinstance(entry, dict) else None
        if not isinstance(token, str):
            continue
        try:
            signed = signer.verify(token)
        except TokenError:
            continue
        signed.pop("iat", None)
        if canonical_json(signed) == canonical_json(claims):
            return token
    return None
