"""Re-planning at scale: 10,000 stored models against the shipped modules, after a module change
and with no change at all.

Seeds a throwaway database on its own embedded mongod with model documents as the bot leaves
them (bulk inserts, not one upsert each): a weighted mix over the shipped modules' ``trained_on``
entries (text and image classification, object detection; some with an unrelated second dataset
or another spelling), most ``evaluated`` with ``evaluated_tasks`` equal to what the planner plans
for them, some ``failed`` (config-dependent reasons such as ``unknown labels``, content failures
such as ``gated``, and ``unsupported``) with the current ``failure_digest``, a few with a new head
of the same content (``sha`` ≠ ``eval_sha``), and a few with a queued or running job; every other
model has a finished job.

Times ``bot.replan.replan(store, planner_for(config))`` as ``bot.cycle`` calls it each cycle,
side by side in one run, alternating (the seeded jobs restored before every run):

- ``steady``: the shipped config; nothing may be queued (what every cycle pays);
- ``change``: a copy of the config with one perturbation added to ``emotion`` and the
  ``version`` of ``imagenet-1k`` bumped; it must queue exactly the models those two modules
  evaluate (selected or ``also_evaluate_on``) that are evaluated, or failed for a reason a config
  change can clear, and have no queued or running job: the count is asserted.

Then times the parts of one ``change`` re-plan on their own (where the time goes). Ends with
``BENCH replan_10k_ms`` (median of ``change``), ``BENCH replan_10k_steady_ms`` and
``BENCH replan_change_vs_steady``.

    python -m bench.replan               # 10,000 models
    python -m bench.replan --models 1000 # a quick run
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.config import BotConfig, load_config
from bot.replan import replan
from bot.worker import planner_for
from evaluators.planner import CONTENT_FAILURES, Planner
from store.codec import model_to_doc
from store.db import ACTIVE_JOB_STATUSES, Store
from store.embedded import start_embedded
from store.types import FailureReason, ModelRecord, ModelStatus

if TYPE_CHECKING:
    from bench.common import Report

CONFIG = Path(__file__).resolve().parents[1] / "config"
PERTURBED, BUMPED = "emotion", "imagenet-1k"  # the two modules the change touches
WEIGHTS = {"emotion": 25, "imagenet-1k": 18, "imdb": 8, "cifar10": 6, "coco": 6, "ag_news": 5}
RETRYABLE = ("unknown labels", "unknown labels", "out of memory", "timeout", "load error")
CONTENT = ("gated", "unsafe weights format", "security issues")
FILES = {"model.safetensors": 267_832_560, "config.json": 935, "tokenizer.json": 711_396}
HYPERPARAMETERS: dict[str, object] = {  # what ``evaluators.metadata`` keeps of a config.json
    "architectures": ["DistilBertForSequenceClassification"],
    "model_type": "distilbert",
    "dim": 768,
    "hidden_dim": 3072,
    "n_heads": 12,
    "n_layers": 6,
    "vocab_size": 30522,
    "max_position_embeddings": 512,
    "dropout": 0.1,
    "attention_dropout": 0.1,
    "activation": "gelu",
    "initializer_range": 0.02,
    "problem_type": "single_label_classification",
    "torch_dtype": "float32",
    "transformers_version": "4.44.2",
}
# Cards no module selects: a task mismatch, or datasets no module lists.
UNSUPPORTED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("image-classification", ("dair-ai/emotion",)),
    ("text-classification", ("my-org/private-tweets",)),
    ("object-detection", ()),
)


@dataclass(frozen=True)
class Profile:
    """What a model card says (pipeline tag, datasets) and the modules that evaluate it."""

    pipeline_tag: str
    datasets: tuple[str, ...]
    modules: frozenset[str]


def profiles(config: BotConfig) -> tuple[list[Profile], list[int]]:
    """Every ``trained_on`` entry of every shipped module (alone, with an unrelated dataset, or
    capitalised), weighted by how many models a module's dataset has on the Hub, roughly."""
    found, weights = [], []
    for file in config.modules:
        m = file.module
        modules = frozenset({m.id, *m.also_evaluate_on})
        for entry in m.trained_on:
            for datasets in ((entry,), (entry, "my-org/extra-data"), (entry.title(),)):
                found.append(Profile(m.task, datasets, modules))
                weights.append(WEIGHTS.get(m.id, 3))
    return found, weights


def seed(
    store: Store, planner: Planner, config: BotConfig, *, models: int, seed_value: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Bulk-insert ``models`` model documents as the bot leaves them; returns their jobs (to
    insert again after each repeat) and how many models the change must queue."""
    rng = random.Random(seed_value)
    supported, weights = profiles(config)
    for p in supported:  # the seed's own view of selection agrees with the planner's
        tasks, _ = planner.plan(p.pipeline_tag, p.datasets)
        assert {t.split("/", 1)[0] for t in tasks} == p.modules, (p, sorted(tasks))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    docs, jobs, affected = [], [], 0
    for i in range(models):
        roll = rng.random()
        if roll < 0.03:
            tag, datasets = rng.choice(UNSUPPORTED)
            profile = Profile(tag, datasets, frozenset())
        else:
            profile = rng.choices(supported, weights)[0]
        tasks, digest = planner.plan(profile.pipeline_tag, profile.datasets)
        repo_id, sha = f"org{i % 211}/model-{i:05d}", f"{i:040x}"
        eval_sha = f"e{i:039x}" if rng.random() < 0.05 else sha  # a new head, same content
        status, reason, job = "evaluated", None, "done"
        if not profile.modules:
            status, reason, job = "failed", "unsupported", "failed"
        elif roll < 0.13:
            status, reason, job = "failed", rng.choice(RETRYABLE + CONTENT), "failed"
        elif roll < 0.15:
            status, job = "pending", "queued"
        elif roll < 0.16:
            job = "running"
        record = ModelRecord(
            repo_id,
            sha,
            pipeline_tag=profile.pipeline_tag,
            library_name="transformers",
            datasets=profile.datasets,
            tags=(profile.pipeline_tag, "transformers", "safetensors", "en"),
            last_modified=start + timedelta(minutes=i),
            file_sizes=FILES,
            hyperparameters=HYPERPARAMETERS,
            num_parameters=66_000_000 + i,
            status=ModelStatus(status),
            failure_reason=FailureReason(reason) if reason else None,
            failure_detail="bench" if reason else None,
            fingerprint=f"rev:{eval_sha}",
            eval_sha=eval_sha,
        )
        doc = {
            **model_to_doc(record),
            "failure_modules": sorted(profile.modules) if reason else [],
            "failure_digest": digest if reason else None,
            "evaluated_tasks": sorted(tasks) if status == "evaluated" else [],
            "created_at": record.last_modified,
            "updated_at": record.last_modified,
        }
        docs.append(doc)
        jobs.append(_job(repo_id, eval_sha, job, start + timedelta(minutes=i)))
        affected += _affected(profile, status, reason, job)
    store.models.insert_many(docs, ordered=False)
    return jobs, affected


def _job(repo_id: str, sha: str, status: str, created: datetime) -> dict[str, Any]:
    active = status in ("queued", "running")
    return {
        "repo_id": repo_id,
        "sha": sha,
        "status": status,
        "attempts": 1 if status != "queued" else 0,
        "transient": 0,
        "reason": "new revision",
        "lease_until": created + timedelta(days=3650) if status == "running" else None,
        "not_before": None,
        "created_at": created,
        "finished_at": None if active else created + timedelta(minutes=5),
    }


def _affected(profile: Profile, status: str, reason: str | None, job: str) -> bool:
    """Whether the change must queue this model (computed from the seed, not by the planner)."""
    if job in ("queued", "running") or not profile.modules & {PERTURBED, BUMPED}:
        return False
    if status == ModelStatus.EVALUATED.value:
        return True
    return reason is not None and FailureReason(reason) not in CONTENT_FAILURES


def changed_config(tmp: Path) -> BotConfig:
    """A copy of the shipped config with a perturbation added to one module and another
    module's version bumped."""
    root = tmp / "config"
    shutil.copytree(CONFIG, root)
    edit(root, PERTURBED, lambda d: d["perturbations"].append("uppercase"))
    edit(root, BUMPED, lambda d: d.update(version=d["version"] + 1))
    return load_config(root)


def edit(root: Path, module_id: str, change: Callable[[dict[str, Any]], object]) -> None:
    (path,) = root.glob(f"tasks/*/{module_id}.yaml")
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def reset_jobs(store: Store, jobs: list[dict[str, Any]]) -> None:
    store.jobs.delete_many({})
    store.jobs.insert_many([dict(j) for j in jobs], ordered=False)


def measure(
    store: Store,
    jobs: list[dict[str, Any]],
    configs: dict[str, BotConfig],
    expected: dict[str, int],
    *,
    repeats: int,
) -> dict[str, list[float]]:
    """Each contender ``repeats`` times (after one untimed run), alternating; the jobs are reset
    before every run, so each starts from the same store after the same writes. Every run's
    queued count is checked."""
    samples: dict[str, list[float]] = {name: [] for name in configs}
    for repeat in range(repeats + 1):
        for name, config in configs.items():
            reset_jobs(store, jobs)
            start = time.perf_counter()
            report = replan(store, planner_for(config))
            took = time.perf_counter() - start
            assert report.total == expected[name], (name, report.summary(), expected[name])
            if repeat:
                samples[name].append(took)
            else:
                print(f"  {name}: {report.summary()}", flush=True)
    return samples


def parts(
    store: Store, jobs: list[dict[str, Any]], config: BotConfig, affected: int, *, repeats: int
) -> dict[str, float]:
    """Median ms of each part of one re-plan after the change, timed on its own."""
    times: dict[str, list[float]] = {}

    def clock(name: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        out = fn()
        times.setdefault(name, []).append(time.perf_counter() - start)
        return out

    for _ in range(repeats):
        reset_jobs(store, jobs)
        planner = clock("planner_for(config)", partial(planner_for, config))
        clock("store.module_problems_by_id()", store.module_problems_by_id)
        states = clock("store.job_states()", store.job_states)  # one scan, as replan does
        active = {key for key, status in states.items() if status in ACTIVE_JOB_STATUSES}
        docs = clock("list(store.planning_view())", lambda: list(store.planning_view()))
        wanted = clock("plan + compare in Python", partial(_wanted, planner, docs, active))
        queued = clock(
            f"store.requeue_many({len(wanted):,} jobs)", partial(store.requeue_many, wanted)
        )
        assert queued == affected, (queued, affected)
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


def _wanted(
    planner: Planner, docs: list[dict[str, Any]], active: set[tuple[str, str]]
) -> list[tuple[str, str, str]]:
    """The loop of ``replan`` without the store: what it compares, per model."""
    wanted = []
    for doc in docs:
        key = (doc["_id"], doc.get("eval_sha") or doc["sha"])
        if key in active:
            continue
        tasks, digest = planner.plan(doc.get("pipeline_tag"), doc.get("datasets") or ())
        failure = doc.get("failure_reason")
        if doc.get("status") == "evaluated" and tasks - set(doc.get("evaluated_tasks") or ()):
            wanted.append((*key, "config"))
        elif (
            failure is not None
            and FailureReason(failure) not in CONTENT_FAILURES
            and doc.get("failure_digest") != digest
        ):
            wanted.append((*key, "failure"))
    return wanted


def main(report: Report | None = None, *, models: int = 10_000, repeats: int = 7) -> float:
    config = load_config(CONFIG)
    with (
        tempfile.TemporaryDirectory(prefix="evalbot-replan-bench-") as tmp,
        start_embedded(Path(tmp) / "mongo") as mongo,
    ):
        changed = changed_config(Path(tmp))
        store = Store.open(mongo.uri, db_name="replan_bench")
        start = time.perf_counter()
        jobs, affected = seed(store, planner_for(config), config, models=models)
        reset_jobs(store, jobs)
        statuses = Counter(d["status"] for d in store.models.find({}, {"status": 1}))
        print(
            f"seeded {models:,} models ({', '.join(f'{k} {v:,}' for k, v in statuses.items())}) "
            f"and their jobs in {time.perf_counter() - start:.1f} s; the change must queue "
            f"{affected:,}",
            flush=True,
        )
        samples = measure(
            store,
            jobs,
            {"steady": config, "change": changed},
            {"steady": 0, "change": affected},
            repeats=repeats,
        )
        breakdown = parts(store, jobs, changed, affected, repeats=max(3, repeats // 2))
        store.client.close()
    steady, change = (statistics.median(samples[n]) * 1000 for n in ("steady", "change"))
    print(f"\n{'re-plan':<8} {'median ms':>10} {'min ms':>8} {'max ms':>8}  ({repeats} runs each)")
    for name, times in samples.items():
        ms = [t * 1000 for t in times]
        print(f"{name:<8} {statistics.median(ms):10.1f} {min(ms):8.1f} {max(ms):8.1f}")
    print("\nwhere the time of one re-plan after the change goes (median ms, each part alone):")
    for name, part_ms in breakdown.items():
        print(f"  {name:<40} {part_ms:8.1f}")
    print(
        f"\nre-planning {models:,} models: {change:.0f} ms after a module change "
        f"({affected:,} queued), {steady:.0f} ms with no change (target: < 2,000 ms)"
    )
    lines = [  # the names say 10k whatever --models is: the summary above says how many
        ("replan_10k_ms", change, "ms"),
        ("replan_10k_steady_ms", steady, "ms"),
        ("replan_change_vs_steady", change / steady, "ratio"),
    ]
    if report is not None:
        report.note(f"replan: {change:.0f} ms after a module change, {steady:.0f} ms steady")
        for name, value, unit in lines:
            report.add(name, value, unit)
    else:
        for name, value, unit in lines:
            print(f"BENCH {name} {value:.2f} {unit}")
    return change


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m bench.replan", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    main(models=args.models, repeats=args.repeats)
