"""The cost of isolation: one model evaluated in the worker's process vs in an isolated child.

The same model (the demo's tiny emotion classifier) on the same data (the whole test split, no
variants), through the real Executor and IsolatedExecutor against the sandbox Hub. The child pays
its start-up (importing torch, transformers, datasets) and the dataset cache linking; the ratio
shows how much of one job that is on this machine. Runs in its own process, because the Hub
endpoint must be set before huggingface_hub is imported.

The isolated child is forked from the preloaded server (the default; the server starts once per
worker, timed apart) and enters its sandbox (:mod:`evaluators.containment`), or, for comparison,
is forked without the sandbox, or started as a fresh interpreter. Ends with
``BENCH isolation_vs_inprocess <isolated time / in-process time> ratio`` (it rises for tiny jobs
and falls toward 1 for real ones), the same for the fresh interpreter, and the seconds a job
pays for isolation, sandbox included (``BENCH isolation_overhead_s``; the target is under 1.5 s),
and for the sandbox alone (``BENCH sandbox_overhead_s``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.common import Report, run_on_own_hub

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 3


def main(report: Report) -> None:
    times = run_on_own_hub("bench.isolation", report)
    if times is None:
        return
    n = times["examples"]
    row = report.row
    inprocess = row("isolation", "Executor.evaluate, in the worker's process", n, times["in"])
    isolated = row("isolation", "IsolatedExecutor, forked, in its sandbox", n, times["iso"])
    row("isolation", "IsolatedExecutor, forked, no sandbox", n, times["plain"])
    spawned = row("isolation", "IsolatedExecutor, fresh interpreter per model", n, times["spawn"])
    report.note(f"the fork server started in {times['server_start']:.1f} s (once per worker)")
    report.add("isolation_vs_inprocess", inprocess / isolated)
    report.add("isolation_spawned_vs_inprocess", inprocess / spawned)
    report.add("isolation_overhead_s", times["iso"] - times["in"], "s")
    report.add("sandbox_overhead_s", times["iso"] - times["plain"], "s")


def _measure(folder: str, port: int) -> None:
    import time

    from huggingface_hub import HfApi

    from bot.discovery import to_record
    from evaluators.config import load_module
    from evaluators.executor import Executor
    from evaluators.isolation import IsolatedExecutor
    from sandbox.seed import seed_world
    from sandbox.server import run_in_thread
    from sandbox.world import build_world

    server = run_in_thread(data_dir=Path(folder) / "hub", port=port)
    try:
        seed_world(build_world(), endpoint=server.url, token=server.tokens["demo"])
        api = HfApi(endpoint=server.url, token=server.tokens["evalbot"])
        module = load_module(ROOT / "config" / "tasks" / "text-classification" / "emotion.yaml")
        module = module.model_copy(update={"perturbations": []})
        model = to_record(api.model_info("demo/tiny-emotion"))
        executors: dict[str, Executor | IsolatedExecutor] = {
            "in": Executor([module], api=api),
            "iso": IsolatedExecutor([module], api=api),  # its fork server persists, as in a worker
            "plain": IsolatedExecutor([module], api=api, sandbox=False),
            "spawn": IsolatedExecutor([module], api=api, preload=False),
        }
        start = time.perf_counter()
        executors["iso"].evaluate(model)  # starts the fork server (once per worker)
        server_start = time.perf_counter() - start
        executors["plain"].evaluate(model)  # its own server
        best = {name: float("inf") for name in executors}
        examples = 0
        for _ in range(REPEATS):
            for name, executor in executors.items():
                start = time.perf_counter()
                records = executor.evaluate(model).records
                best[name] = min(best[name], time.perf_counter() - start)
                examples = records[0].num_examples
        print(json.dumps({**best, "examples": examples, "server_start": server_start}))
    finally:
        server.stop()


if __name__ == "__main__":
    _measure(sys.argv[1], int(sys.argv[2]))
