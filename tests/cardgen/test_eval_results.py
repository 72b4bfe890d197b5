"""`.eval_results/*.yaml` entries for datasets configured as Hub Benchmarks, written and read
with huggingface_hub's own `EvalResultEntry`, `eval_result_entries_to_yaml` and
`parse_eval_result_entries`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
import yaml
from huggingface_hub import EvalResultEntry, parse_eval_result_entries

from cardgen.errors import EvalResultsError
from cardgen.eval_results import (
    BenchmarkSpec,
    eval_result_entries,
    eval_result_files,
    eval_result_path,
    read_eval_results,
)
from store.types import EvaluationRecord

MakeRecords = Callable[..., list[EvaluationRecord]]

SPACE = "https://huggingface.co/spaces/evalbot/explorer"
BENCH = {"dair-ai/emotion": BenchmarkSpec("dair-ai/emotion", "test", "emotion_default_test")}
PATH = ".eval_results/evalbot-dair-ai--emotion.yaml"


def parsed(text: str) -> list[EvalResultEntry]:
    """What the Hub's own client reads from a file we write."""
    return parse_eval_result_entries(yaml.safe_load(text))


def test_one_entry_per_benchmark_dataset(make_records: MakeRecords) -> None:
    files = eval_result_files(make_records(), BENCH, repo_id="acme/m", space_url=SPACE)

    assert list(files) == [PATH] == [eval_result_path("dair-ai/emotion")]
    (entry,) = parsed(files[PATH])
    assert entry == EvalResultEntry(
        dataset_id="dair-ai/emotion",
        task_id="emotion_default_test",
        value=80.0,  # the original variant's accuracy, in percent
        dataset_revision="cab853a1dbdf4c42c2b3ef2173804746df8825fe",
        date="2026-11-25T12:00:00Z",
        source_url=f"{SPACE}/?view=model&model=acme/m",
        source_name="evalbot",
        notes="evalbot, original test split",
    )
    assert read_eval_results(files[PATH], path=PATH) == [entry]
    assert "verifyToken" not in files[PATH]


def test_the_file_is_the_hubs_yaml_layout(make_records: MakeRecords) -> None:
    (text,) = eval_result_files(make_records(), BENCH, repo_id="acme/m", space_url=SPACE).values()

    assert text == (
        "- dataset:\n"
        "    id: dair-ai/emotion\n"
        "    task_id: emotion_default_test\n"
        "    revision: cab853a1dbdf4c42c2b3ef2173804746df8825fe\n"
        "  value: 80.0\n"
        "  date: '2026-11-25T12:00:00Z'\n"
        "  source:\n"
        f"    url: {SPACE}/?view=model&model=acme/m\n"
        "    name: evalbot\n"
        "  notes: evalbot, original test split\n"
    )


def test_fractions_other_metrics_and_no_benchmark(make_records: MakeRecords) -> None:
    spec = BenchmarkSpec("dair-ai/emotion", "test", "emotion", metric="macro_f1", scale=1)
    files = eval_result_files(
        make_records(), {"dair-ai/emotion": spec}, repo_id="acme/m", space_url=SPACE
    )
    (entry,) = parsed(next(iter(files.values())))
    assert entry.value == 0.7619 and entry.task_id == "emotion"
    assert eval_result_files(make_records(), {}, repo_id="acme/m", space_url=SPACE) == {}
    other_split = {"dair-ai/emotion": BenchmarkSpec("dair-ai/emotion", "validation", "emotion")}
    assert eval_result_files(make_records(), other_split, repo_id="a/m", space_url=SPACE) == {}
    no_value = make_records(metrics={"macro_f1": 0.5})  # no accuracy: no entry
    assert eval_result_files(no_value, BENCH, repo_id="a/m", space_url=SPACE) == {}


def test_every_file_carries_task_id_and_parses(make_records: MakeRecords) -> None:
    """Several benchmark datasets, several splits: one file each, each read back by the Hub's
    parser with its task_id."""
    records = [
        *make_records(),
        *make_records(dataset_id="mteb/mnist", split="test", dataset_config=None),
        *make_records(dataset_id="mteb/mnist", split="train", dataset_config=None),
    ]
    benchmarks = {**BENCH, "mteb/mnist": BenchmarkSpec("mteb/mnist", "test", "MNIST")}

    files = eval_result_files(records, benchmarks, repo_id="acme/m", space_url=SPACE)

    assert sorted(files) == [PATH, ".eval_results/evalbot-mteb--mnist.yaml"]
    for path, text in files.items():
        entries = read_eval_results(text, path=path)
        assert len(entries) == 1 and entries[0].task_id
        assert entries == parsed(text)
    assert [
        e.task_id
        for es in eval_result_entries(
            records, benchmarks, repo_id="acme/m", space_url=SPACE
        ).values()
        for e in es
    ] == ["emotion_default_test", "MNIST"]


def test_an_identical_rerun_changes_nothing(make_records: MakeRecords) -> None:
    first = eval_result_files(make_records(), BENCH, repo_id="acme/m", space_url=SPACE)
    rerun = [dataclasses.replace(r) for r in make_records()]

    assert eval_result_files(rerun, BENCH, repo_id="acme/m", space_url=SPACE) == first
    changed = eval_result_files(
        make_records(metrics={"accuracy": 0.9}), BENCH, repo_id="acme/m", space_url=SPACE
    )
    assert parsed(changed[PATH])[0].value == 90.0


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("- [unclosed", "not YAML"),
        ("dataset: {id: a/b}", "not a list of entries"),
        ("- {dataset: {id: a/b}, value: 1}", "KeyError: 'task_id'"),
        ("- {dataset: {id: a/b, task_id: t}}", "KeyError: 'value'"),
    ],
)
def test_unreadable_files_are_typed_errors(text: str, detail: str) -> None:
    with pytest.raises(EvalResultsError) as error:
        read_eval_results(text, path=PATH)
    assert error.value.path == PATH and detail in str(error.value)
