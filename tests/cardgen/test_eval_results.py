"""`.eval_results/*.yaml` entries for datasets configured as Hub Benchmarks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from cardgen.eval_results import BenchmarkSpec, eval_result_files, eval_result_path
from cardgen.signing import Signer
from store.types import EvaluationRecord

MakeRecords = Callable[..., list[EvaluationRecord]]

SPACE = "https://huggingface.co/spaces/evalbot/explorer"
BENCH = {"dair-ai/emotion": BenchmarkSpec("dair-ai/emotion", "test", task_id="emotion")}


def test_one_entry_per_benchmark_dataset(make_records: MakeRecords) -> None:
    files = eval_result_files(make_records(), BENCH, repo_id="acme/m", space_url=SPACE)
    assert list(files) == [".eval_results/evalbot-dair-ai--emotion.yaml"]
    (entry,) = yaml.safe_load(files[eval_result_path("dair-ai/emotion")])
    assert entry["dataset"] == {
        "id": "dair-ai/emotion",
        "task_id": "emotion",
        "revision": "cab853a1dbdf4c42c2b3ef2173804746df8825fe",
    }
    assert entry["value"] == 80.0  # the original variant's accuracy, in percent
    assert entry["date"] == "2026-11-25T12:00:00Z"
    assert entry["source"] == {"url": f"{SPACE}/?model=acme/m", "name": "evalbot"}
    assert "evalbot evaluate acme/m@0123456789abcdef" in entry["notes"]
    assert "verifyToken" not in entry


def test_fractions_other_metrics_and_no_benchmark(make_records: MakeRecords) -> None:
    spec = BenchmarkSpec("dair-ai/emotion", "test", metric="macro_f1", scale=1)
    files = eval_result_files(
        make_records(), {"dair-ai/emotion": spec}, repo_id="acme/m", space_url=SPACE
    )
    (entry,) = yaml.safe_load(next(iter(files.values())))
    assert entry["value"] == 0.7619 and "task_id" not in entry["dataset"]
    assert eval_result_files(make_records(), {}, repo_id="acme/m", space_url=SPACE) == {}
    other_split = {"dair-ai/emotion": BenchmarkSpec("dair-ai/emotion", "validation")}
    assert eval_result_files(make_records(), other_split, repo_id="a/m", space_url=SPACE) == {}


def test_signed_and_stable_across_reruns(make_records: MakeRecords, tmp_path: Path) -> None:
    signer = Signer.load_or_create(tmp_path / "key.pem")
    first = eval_result_files(
        make_records(), BENCH, repo_id="acme/m", space_url=SPACE, signer=signer
    )
    (entry,) = yaml.safe_load(next(iter(first.values())))
    claims = signer.verify(entry["verifyToken"])
    assert claims["value"] == 80.0 and claims["sub"] == "acme/m" and claims["metric"] == "accuracy"
    again = eval_result_files(
        make_records(), BENCH, repo_id="acme/m", space_url=SPACE, signer=signer, existing=first
    )
    assert again == first
    changed = eval_result_files(
        make_records(metrics={"accuracy": 0.9}),
        BENCH,
        repo_id="acme/m",
        space_url=SPACE,
        signer=signer,
        existing=first,
    )
    (entry,) = yaml.safe_load(next(iter(changed.values())))
    assert entry["value"] == 90.0 and signer.verify(entry["verifyToken"])["value"] == 90.0
