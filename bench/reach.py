"""Reach: the share of real Hub models of each task that the configured modules would evaluate.

Runs ``evalbot reach`` (:func:`bot.reach.measure`) on the reach corpus,
``../shared/reach/cards-metadata.jsonl`` (3,002 real model cards, read in place), against
``config/``, and adds ``BENCH reach_<task> <percent> %`` for every registered task, with the time
selection took.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.common import Report
from bot.reach import measure
from evaluators.config import load_modules

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "reach" / "cards-metadata.jsonl"
CONFIG = ROOT / "config" / "tasks"


def main(report: Report | None = None, corpus: Path = CORPUS) -> dict[str, float]:
    report = report or Report()
    modules = [item.module for item in load_modules(CONFIG)]
    start = time.perf_counter()
    reach = measure(corpus, modules)
    seconds = time.perf_counter() - start
    models = sum(task.models for task in reach.tasks.values()) + sum(reach.other.values())
    for line in reach.lines():
        print(f"  {line}", flush=True)
    report.note(f"reach: {models} model cards selected in {seconds:.2f} s")
    shares = {name: task.share for name, task in reach.tasks.items()}
    for name, share in shares.items():
        report.add(f"reach_{name}", share, "%")
    return shares


if __name__ == "__main__":
    bench = Report()
    main(bench)
    bench.print()
