"""Shared pieces of the benchmarks: quiet libraries, min-of-N timing, a local metric, the demo
world's data, and the report (a table of examples/s, then the ``BENCH`` lines).

The machines are small (2 cores) and shared, so absolute times drift, at times by 4× within a
minute. Every comparison is made side by side in one process; each contender's work is cut into
units (one batch each), the contenders' units alternate, and a contender's time is the sum of
its units' fastest repeats (see :func:`fastest`). Compare the ratios, not the absolute rates.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import evaluate
import torch

from sandbox.world import World, build_world


def quiet() -> None:
    """No progress bars or chatty warnings between the table lines."""
    import transformers

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    evaluate.logging.set_verbosity_error()
    evaluate.utils.disable_progress_bar()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def fastest(
    contenders: dict[str, Sequence[Callable[[], float]]],
    *,
    repeats: int,
    warmup: int = 1,
    budget_s: float | None = None,
) -> dict[str, float]:
    """Each contender's time: the sum, over its units of work, of each unit's fastest run.

    A contender is a list of units (e.g. one per batch); a unit returns the seconds it took, so
    it may time only part of what it does. Within each repeat the contenders' units alternate
    (unit 0 of each, then unit 1 of each, ...), so a slow spell of the shared machine hits them
    alike, and a spell that spoils one unit spoils only that unit's repeat. ``warmup`` untimed
    runs of every contender's first unit come first. With ``budget_s``, no repeat starts once
    that many seconds have gone (the first always runs), so a busy machine does not make the
    benchmark run for ever.
    """
    for _ in range(warmup):
        for units in contenders.values():
            units[0]()
    start = time.perf_counter()
    best = {name: [float("inf")] * len(units) for name, units in contenders.items()}
    for repeat in range(repeats):
        if repeat and budget_s is not None and time.perf_counter() - start > budget_s:
            break
        for i in range(max(len(units) for units in contenders.values())):
            for name, units in contenders.items():
                if i < len(units):
                    best[name][i] = min(best[name][i], units[i]())
    return {name: sum(times) for name, times in best.items()}


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    """``fn`` as a unit of work: it returns the wall-clock seconds of one call."""

    def run() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return run


class LocalAccuracy(evaluate.Metric):
    """Accuracy without the Hub: ``evaluate.load("accuracy")`` downloads its script, this does
    not. ``evaluate``'s evaluators accept any ``EvaluationModule`` as ``metric``."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="Share of predictions equal to the reference.",
            citation="",
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions: list[int], references: list[int]) -> dict[str, float]:
        hits = sum(int(p == r) for p, r in zip(predictions, references, strict=True))
        return {"accuracy": hits / max(len(references), 1)}


_WORLD: World | None = None


def world() -> World:
    global _WORLD
    if _WORLD is None:
        _WORLD = build_world()
    return _WORLD


def split(repo_id: str, name: str = "test") -> datasets.Dataset:
    """A split of a demo-world dataset, read from its parquet files."""
    spec = next((d for d in world().datasets if d.repo_id == repo_id), None)
    if spec is None:
        have = [d.repo_id for d in world().datasets]
        raise SystemExit(f"bench: the demo world has no dataset {repo_id} (it has {have})")
    files = str(Path(spec.path) / "data" / f"{name}-*.parquet")
    ds = datasets.load_dataset("parquet", data_files=files, split="train")
    assert isinstance(ds, datasets.Dataset)
    return ds


@dataclass
class Report:
    """Table rows (what ran, examples/s) and the BENCH lines, printed at the very end."""

    rows: list[tuple[str, str, float]] = field(default_factory=list)  # section, what, ex/s
    notes: list[str] = field(default_factory=list)
    bench: list[tuple[str, float, str]] = field(default_factory=list)

    def row(self, section: str, what: str, examples: int, seconds: float) -> float:
        rate = examples / seconds
        self.rows.append((section, what, rate))
        print(f"  {section:<10} {what:<58} {rate:9.1f} ex/s", flush=True)
        return rate

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def add(self, name: str, value: float, unit: str = "ratio") -> None:
        self.bench.append((name, value, unit))

    def print(self) -> None:
        print()
        print(f"{'section':<10} {'what':<58} {'examples/s':>12}")
        print("-" * 82)
        for section, what, rate in self.rows:
            print(f"{section:<10} {what:<58} {rate:12.1f}")
        for text in self.notes:
            print(f"note: {text}")
        print()
        for name, value, unit in self.bench:
            print(f"BENCH {name} {value:.2f} {unit}")


def cache_root() -> Path:
    """Where benchmarks keep what is slow to make: ``$EVALBOT_BENCH_CACHE``, else
    ``~/.cache/evalbot/bench``."""
    env = os.environ.get("EVALBOT_BENCH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "evalbot" / "bench"


def header() -> str:
    return f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU"


def load() -> str:
    """The 1-minute load average against the core count: the ratios are trustworthy only while
    the load stays near or below the cores (other jobs slow the many small ops of a per-example
    loop far more than a batched forward)."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def evaluator_seconds(result: dict[str, Any]) -> float:
    """The evaluator's own timing of its pipeline call (model loading and metric excluded)."""
    return float(result["total_time_in_seconds"])


def run_on_own_hub(
    module: str, report: Report, *, timeout_s: float = 1800.0, relay: bool = False
) -> dict[str, Any] | None:
    """Run ``python -m <module> <tmp> <port>`` with ``HF_ENDPOINT`` on a free port (the module
    starts its own sandbox Hub there: the endpoint must be set before huggingface_hub is
    imported) and return the JSON object its last output line holds; None (noted) on failure.

    ``relay``: the module's stderr goes straight to ours (progress of a long run) instead of
    into the note of a failure."""
    import json
    import socket
    import subprocess
    import sys
    import tempfile

    from bot.keys import create_signer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="evalbot-bench-") as tmp:
        env = {
            **os.environ,
            "HF_ENDPOINT": f"http://127.0.0.1:{port}",
            "HF_HOME": str(Path(tmp) / "hf-home"),
            "HF_HUB_DISABLE_XET": "1",
            "EVALBOT_SIGNING_KEY": str(Path(tmp) / "key.pem"),
        }
        create_signer(Path(tmp) / "key.pem")  # workers refuse to start without a key
        env.pop("HF_TOKEN", None)
        done = subprocess.run(
            [sys.executable, "-m", module, tmp, str(port)],
            env=env,
            cwd=Path(__file__).resolve().parents[1],
            stdout=subprocess.PIPE,
            stderr=None if relay else subprocess.PIPE,
            text=True,
            timeout=timeout_s,
        )
    if done.returncode != 0:
        said = "its output above" if relay else done.stderr[-2000:]
        report.note(f"{module} failed (exit {done.returncode}): {said}")
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
