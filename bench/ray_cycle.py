"""The cost of the engine: one bot cycle with ``executor: local`` vs ``executor: ray``.

The same models (``MODELS`` copies of the demo's tiny emotion classifier, each on the whole
emotion test split plus one variant) go through a full cycle (discover, evaluate in an isolated
child, store in MongoDB, open a PR on the sandbox Hub) once per executor, on this machine: a
local Ray instance with every CPU, one task at a time (``run_cycle`` drains one worker) using
all of them. Both executors are warmed first (the fork server, Ray's worker pool and the
datasets cache), and the contenders alternate over ``REPEATS`` rounds, each on fresh model
repos; a contender's time is its fastest round. Runs in its own process, because the Hub
endpoint must be set before huggingface_hub is imported.

Prints ``BENCH ray_vs_local <local time / ray time> ratio`` (1: Ray costs nothing; the target is
at least 0.9 on one machine) and, on a machine with GPUs, ``BENCH ray_examples_per_s_per_gpu``
(the Ray cycle's evaluated examples per second, divided by the GPUs Ray sees).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from bench.common import Report, run_on_own_hub

ROOT = Path(__file__).resolve().parents[1]
MODELS = 4
REPEATS = 3


def main(report: Report) -> None:
    times = run_on_own_hub("bench.ray_cycle", report)
    if times is None:
        return
    n = times["examples"]
    local = report.row("ray", f"one cycle, {MODELS} models, executor: local", n, times["local"])
    on_ray = report.row("ray", f"one cycle, {MODELS} models, executor: ray", n, times["ray"])
    report.add("ray_vs_local", on_ray / local)
    if times["gpus"]:
        report.add("ray_examples_per_s_per_gpu", on_ray / times["gpus"], "ex/s")
    else:
        report.note("no GPU here: throughput per GPU not measured (run `make bench` on one)")


def _config(root: Path, tag: str, executor: str, gpus: int) -> Path:
    import yaml

    bot = yaml.safe_load((ROOT / "config" / "bot.yaml").read_text())
    bot["executor"] = executor
    bot["ray"] = {
        **bot["ray"],
        "address": None,
        "gpus_per_job": 1 if gpus else 0,
        "cpus_per_job": os.cpu_count() or 1,
        "memory_gib": None,
    }
    module = yaml.safe_load(
        (ROOT / "config" / "tasks" / "text-classification" / "emotion.yaml").read_text()
    )
    module.update(trained_on=[tag], perturbations=["lowercase"])
    tasks = root / "tasks" / "text-classification"
    tasks.mkdir(parents=True)
    (root / "bot.yaml").write_text(yaml.safe_dump(bot))
    (tasks / "emotion.yaml").write_text(yaml.safe_dump(module))
    return root


def _measure(folder: str, port: int) -> None:
    import time
    import uuid

    import ray
    import torch
    from huggingface_hub import HfApi

    from bot.config import load_config
    from bot.cycle import run_cycle
    from sandbox.seed import seed_world
    from sandbox.server import run_in_thread
    from sandbox.world import build_world
    from store.db import Store
    from store.embedded import start_embedded

    root = Path(folder)
    gpus = torch.cuda.device_count()
    server = run_in_thread(data_dir=root / "hub", port=port)
    ray.init(
        num_cpus=os.cpu_count(),
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=tempfile.mkdtemp(prefix="ray-", dir="/tmp"),
    )
    try:
        world = build_world()
        seed_world(world, endpoint=server.url, token=server.tokens["demo"])
        demo = HfApi(endpoint=server.url, token=server.tokens["demo"])
        bot = HfApi(endpoint=server.url, token=server.tokens["evalbot"])
        tiny = world.model("demo/tiny-emotion").path
        with start_embedded(root / "mongo") as mongo, Store.open(mongo.uri) as store:

            def cycle(executor: str) -> tuple[float, int]:
                tag = f"bench-{uuid.uuid4().hex[:8]}"
                for i in range(MODELS):
                    repo_id = f"bench-{tag}/m{i}"
                    demo.create_repo(repo_id)
                    demo.upload_folder(repo_id=repo_id, folder_path=tiny, ignore_patterns=["*.md"])
                    card = f"---\ndatasets:\n- {tag}\npipeline_tag: text-classification\n---\n"
                    demo.upload_file(
                        path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id
                    )
                config = load_config(_config(root / "configs" / tag, tag, executor, gpus))
                start = time.perf_counter()
                done = run_cycle(config, api=bot, store=store)
                seconds = time.perf_counter() - start
                assert done.evaluated == MODELS and not done.failed, done.summary()
                examples = 0
                for i in range(MODELS):
                    model = store.get_model(f"bench-{tag}/m{i}")
                    assert model is not None
                    examples += sum(
                        r.num_examples for r in store.results_for(model.repo_id, model.sha)
                    )
                return seconds, examples

            for executor in ("local", "ray"):  # warm: fork servers, Ray workers, caches
                cycle(executor)
            best = {"local": float("inf"), "ray": float("inf")}
            examples = 0
            for _ in range(REPEATS):
                for executor in best:
                    seconds, examples = cycle(executor)
                    best[executor] = min(best[executor], seconds)
        print(json.dumps({**best, "examples": examples, "gpus": gpus}))
    finally:
        ray.shutdown()
        server.stop()


if __name__ == "__main__":
    _measure(sys.argv[1], int(sys.argv[2]))
