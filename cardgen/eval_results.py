"""``.eval_results/*.yaml``: our results as Hub "Eval Results" entries, for Benchmark datasets.

A dataset registered on the Hub as a Benchmark (an ``eval.yaml`` at its root listing its tasks)
aggregates the scores that model repos keep in ``.eval_results/*.yaml`` into its leaderboard. For
a module whose YAML has ``benchmark:``, the PR also adds
``.eval_results/evalbot-<namespace>--<name>.yaml``: one entry with our value on the module's split
(original variant), the benchmark's ``task_id``, the dataset revision, the date of the result, a
link to the model's page on the Space and a short setup label (``notes``). The entries are
huggingface_hub's own `EvalResultEntry`, written with `eval_result_entries_to_yaml` and read back
with `parse_eval_result_entries`.

No ``verifyToken``: that field is Hugging Face's proof that an evaluation ran in HF Jobs, not ours.

The file is a pure function of the stored result (the date is the result's), so an identical
re-run changes nothing.

Example:
    >>> files = eval_result_files(records, {"mteb/mnist": BenchmarkSpec("mteb/mnist", "test",
    ...                           "MNIST")}, repo_id="org/model", space_url=url)  # doctest: +SKIP
    >>> list(files)  # doctest: +SKIP
    ['.eval_results/evalbot-mteb--mnist.yaml']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC

import yaml
from huggingface_hub import EvalResultEntry, eval_result_entries_to_yaml, parse_eval_result_entries

from store.types import EvaluationRecord

from .card import SOURCE_NAME
from .errors import EvalResultsError
from .results import card_records, rounded
from .section import space_page

FOLDER = ".eval_results"
PREFIX = "evalbot-"  # the files evalbot writes; the author's own files are never touched


@dataclass(frozen=True)
class BenchmarkSpec:
    """A dataset registered as a Hub Benchmark (from the module YAML's ``benchmark:``).

    Attributes:
        dataset_id: The Hub id of the benchmark dataset.
        split: The split the leaderboard ranks (the module's split).
        task_id: The benchmark's task, one of the ``tasks[].id`` of its ``eval.yaml``.
        metric: Our metric key whose value is published.
        scale: 100 when the leaderboard shows percentages, 1 for fractions.
    """

    dataset_id: str
    split: str
    task_id: str
    metric: str = "accuracy"
    scale: int = 100


def eval_result_path(dataset_id: str) -> str:
    """The file evalbot writes for one benchmark dataset."""
    return f"{FOLDER}/{PREFIX}{dataset_id.replace('/', '--')}.yaml"


def eval_result_entries(
    records: Sequence[EvaluationRecord],
    benchmarks: Mapping[str, BenchmarkSpec],
    *,
    repo_id: str,
    space_url: str,
) -> dict[str, list[EvalResultEntry]]:
    """Our entries for the benchmark datasets among ``records``, by the file that holds them.

    Args:
        records: Every record of one model revision (only the original variant is published).
        benchmarks: Benchmark datasets by Hub id.
        repo_id: The model repo.
        space_url: The Space; the entry's source is the model's page there.

    Returns:
        Path -> entries (one per benchmark dataset with a result); empty when none.
    """
    found: dict[str, list[EvalResultEntry]] = {}
    for record in card_records(records):
        spec = benchmarks.get(record.dataset_id)
        if spec is None or record.split != spec.split:
            continue
        value = rounded(record.metrics.get(spec.metric))
        if value is None:
            continue
        entry = EvalResultEntry(
            dataset_id=record.dataset_id,
            task_id=spec.task_id,
            value=round(value * 100, 2) if spec.scale == 100 else value,
            dataset_revision=record.dataset_revision,
            date=record.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            source_url=space_page(space_url, repo_id),
            source_name=SOURCE_NAME,
            notes=f"{SOURCE_NAME}, {record.variant} {record.split} split",
        )
        found.setdefault(eval_result_path(record.dataset_id), []).append(entry)
    return found


def eval_result_files(
    records: Sequence[EvaluationRecord],
    benchmarks: Mapping[str, BenchmarkSpec],
    *,
    repo_id: str,
    space_url: str,
) -> dict[str, str]:
    """The ``.eval_results`` files for the benchmark datasets among ``records``.

    Takes the arguments of `eval_result_entries`.

    Returns:
        Path -> YAML text (a list of entries, as the Hub reads it); empty when none.
    """
    entries = eval_result_entries(records, benchmarks, repo_id=repo_id, space_url=space_url)
    return {
        path: yaml.safe_dump(
            eval_result_entries_to_yaml(found), sort_keys=False, allow_unicode=True
        )
        for path, found in entries.items()
    }


def read_eval_results(text: str, *, path: str) -> list[EvalResultEntry]:
    """The entries of one ``.eval_results`` file, read with huggingface_hub's parser.

    Raises:
        EvalResultsError: When the file is not YAML, not a list of mappings, or an entry lacks
            a required field (``dataset.id``, ``dataset.task_id``, ``value``).

    Example:
        >>> [e.task_id for e in read_eval_results(
        ...     "- {dataset: {id: mteb/mnist, task_id: MNIST}, value: 97.5}", path="x.yaml")]
        ['MNIST']
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise EvalResultsError(path, f"not YAML: {error}") from error
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise EvalResultsError(path, "not a list of entries")
    try:
        return parse_eval_result_entries(data)
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise EvalResultsError(path, f"{type(error).__name__}: {error}") from error
