"""The Space at scale: every view's answer time over 10,000 models × 100 classes × 6 variants,
read from the results dataset's Parquet files as the Space reads them.

Seeds a throwaway database on its own embedded mongod with documents in the store's own layout
(``store.codec`` of real ``EvaluationRecord`` parts: one result per model × variant with its
100 × 100 confusion matrix and calibration bins, its runtime, 100 class rows and ten
misclassifications; on the original variant, its per-example outcomes on the 10,000-example
split, with about 1% of the labels contradicted by most models), exports it as the results dataset (``store.export.export_tables``, written
by ``store.tables.write_tables`` as the bot publishes it, with the label issues the export
finds in the outcomes and the coverage table ``bot.results_dataset`` adds) into a folder of the bench cache
(``$EVALBOT_BENCH_CACHE``, default ``~/.cache/evalbot/bench``), keyed by the seed parameters,
the tables' schemas and the code that seeds and exports, so a second run neither seeds nor
exports. Then times each view function of ``space.views`` (what the Gradio callbacks call: the
queries of ``space.queries`` plus the tables and plotly figures) over varied parameters on a
``space.data.Snapshot`` of that folder.

Prints p50/p95 per view and ends with ``BENCH space_p95_ms <the worst view's p95> ms``. The
leaderboard's per-class aggregates are computed once per version of the data (the Space does
it before serving a version); the first (cold) call, on a fresh snapshot, is printed on its own
line and counted in that view's samples. ``BENCH space_rss_mib`` is the peak resident memory of
a fresh process that imports the Space (Gradio included), loads the data and runs every view.

    python -m bench.space                # 10,000 models (seeding and export take minutes, once)
    python -m bench.space --models 1000  # a quick run
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from bson import ObjectId

from bot.results_dataset import coverage_table
from space import views
from space.data import Snapshot
from store import export as store_export
from store import tables
from store.codec import (
    class_to_doc,
    misclassification_to_doc,
    outcomes_to_doc,
    result_to_doc,
    runtime_to_doc,
)
from store.db import Store
from store.embedded import start_embedded
from store.outcomes import pack
from store.types import (
    Calibration,
    CalibrationBin,
    ClaimRecord,
    ClassResult,
    DatasetExampleRecord,
    DatasetRecord,
    DatasetSplitRecord,
    EvaluationRecord,
    Misclassification,
    RuntimeStats,
    SigningIdentity,
    VariantRecord,
)

DATASET = "bench/animals-100"
VARIANTS = ("original", "greyscale", "flipped", "mirrored", "inverted", "rotated90")
ANIMALS = ("bear", "cat", "dog", "fox", "owl", "wolf", "lynx", "seal", "deer", "hare")
CHUNK = 20_000
#: every this many examples of the split, one whose label the models contradict (a label error)
MISLABELLED_EVERY = 97


def labels(n: int) -> list[str]:
    return [ANIMALS[i] if i < len(ANIMALS) else f"class_{i:03d}" for i in range(n)]


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (16, 16), 128).save(buffer, format="PNG")
    return buffer.getvalue()


def _template(classes: int) -> EvaluationRecord:
    """One real record; its codec documents are the layout every seeded document copies."""
    names = labels(classes)
    confusion = tuple(
        tuple(90 if t == p else (1 if p == (t + 1) % classes else 0) for p in range(classes))
        for t in range(classes)
    )
    return EvaluationRecord(
        model_id="bench/template",
        model_sha="0" * 40,
        task="image-classification",
        module_id="animals",
        dataset_id=DATASET,
        dataset_name="Animals-100",
        dataset_config=None,
        dataset_revision="r" * 40,
        split="test",
        variant="original",
        config_version=1,
        code_version="0.1.0",
        num_examples=classes * 100,
        metrics={},
        classes=tuple(
            ClassResult(i, names[i], 90, 10, 10, 100, 0.9, 0.9, 0.9) for i in range(classes)
        ),
        runtime=RuntimeStats(10.0, 1.0, 1000.0, "cuda", 64, {"torch": "2.14.1"}),
        confusion=confusion,
        calibration=Calibration(
            0.05, 0.2, tuple(CalibrationBin(i / 15, (i + 1) / 15, 10, 0.5, 0.5) for i in range(15))
        ),
    )


def _outcomes(truth: np.ndarray, level: float, gen: np.random.Generator) -> dict[str, Any]:
    """One model's per-example outcomes on the split: right with probability ``level`` (a
    random class otherwise), confident when right; on the mislabelled examples most models
    predict the same other class with confidence (what confident learning lists)."""
    classes = int(truth.max()) + 1
    right = gen.random(truth.size) < level
    predicted = np.where(right, truth, gen.integers(0, classes, truth.size))
    confidence = np.where(right, gen.beta(8, 2, truth.size), gen.beta(3, 3, truth.size))
    flipped = np.arange(0, truth.size, MISLABELLED_EVERY)
    agrees = gen.random(flipped.size) < 0.8
    predicted[flipped[agrees]] = (truth[flipped[agrees]] + 1) % classes
    confidence[flipped[agrees]] = gen.uniform(0.9, 1.0, int(agrees.sum()))
    return outcomes_to_doc(pack(truth=truth, predicted=predicted, confidence=confidence))


def _result_docs(
    template: EvaluationRecord, models: int, rng: random.Random
) -> Iterator[
    tuple[
        dict[str, Any],
        list[dict[str, Any]],
        dict[str, Any],
        list[dict[str, Any]],
        dict[str, Any] | None,
    ]
]:
    base = result_to_doc(template)
    truth = np.arange(template.num_examples) * len(template.classes) // template.num_examples
    gen = np.random.default_rng(rng.randrange(2**32))
    runtime = runtime_to_doc(template.runtime)
    class_base = [class_to_doc(c) for c in template.classes]
    names = [c.label for c in template.classes]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for m in range(models):
        model_id, sha = f"org{m % 97}/model-{m:05d}", f"{m:040x}"
        skill = rng.uniform(0.3, 0.99)
        speed = 10 ** rng.uniform(0, 4)
        for v, variant in enumerate(VARIANTS):
            rid = ObjectId()
            level = skill * (1.0 if v == 0 else rng.uniform(0.4, 1.0))
            per_class = [min(1.0, max(0.0, level + rng.uniform(-0.15, 0.15))) for _ in names]
            key = {
                "model_id": model_id,
                "model_sha": sha,
                "dataset_id": DATASET,
                "dataset_config": None,
                "dataset_revision": template.dataset_revision,
                "split": "test",
                "variant": variant,
                "config_version": 1,
                "code_version": "0.1.0",
            }
            acc = sum(per_class) / len(per_class)
            doc = {
                **base,
                **key,
                "_id": rid,
                "metrics": {
                    "accuracy": acc,
                    "macro_f1": acc - 0.01,
                    "macro_precision": acc + 0.01,
                    "macro_recall": acc,
                    "weighted_f1": acc - 0.005,
                },
                "calibration": {**base["calibration"], "ece": rng.uniform(0.01, 0.3)},
                "created_at": start + timedelta(seconds=m * 6 + v),
            }
            context = {**key, "result_id": rid}
            classes = [
                {**c, **context, "_id": ObjectId(), "precision": x, "recall": x, "f1": x}
                for c, x in zip(class_base, per_class, strict=True)
            ]
            rt = {
                **runtime,
                **context,
                "_id": ObjectId(),
                "instances_per_s": speed,
                "per_instance_ms": 1000 / speed,
                "total_s": template.num_examples / speed,
            }
            misses = [
                {
                    **misclassification_to_doc(
                        Misclassification(
                            k * 7 + m % 7, names[k], names[(k + 1) % len(names)], 0.95 - k * 0.05
                        )
                    ),
                    **context,
                    "_id": ObjectId(),
                }
                for k in range(10)
            ]
            outcomes = (
                {
                    **_outcomes(truth, level, gen),
                    **context,
                    "_id": ObjectId(),
                    "fingerprint": "",
                    "task": template.task,
                }
                if variant == "original"  # what the paired tests and label errors read
                else None
            )
            yield doc, classes, rt, misses, outcomes


def seed(store: Store, *, models: int, classes: int, seed_value: int = 0) -> float:
    """Bulk-insert the bench world; indexes are built afterwards, as on a restored dump."""
    rng = random.Random(seed_value)
    start = time.perf_counter()
    names = labels(classes)
    store.upsert_dataset(
        DatasetRecord(
            DATASET,
            "Animals-100",
            "image",
            "image-classification",
            tuple(names),
            description="A synthetic 100-class image dataset for the Space benchmark.",
            variants=VARIANTS,
        )
    )
    for v in VARIANTS[1:]:
        store.upsert_variant(VariantRecord(v, v, "image", f"{v} images", f"perturbations.{v}"))
    store.upsert_split(
        DatasetSplitRecord(DATASET, "r" * 40, "test", classes * 100, tuple([100] * classes))
    )
    png = _png()
    store.add_examples(
        [
            DatasetExampleRecord(DATASET, "test", c, names[c], c * 100 + k, thumbnail_png=png)
            for c in range(classes)
            for k in range(4)
        ]
    )
    model_docs = []
    for m in range(models):
        model_docs.append(
            {
                "_id": f"org{m % 97}/model-{m:05d}",
                "sha": f"{m:040x}",
                "pipeline_tag": "image-classification",
                "library_name": "timm" if m % 3 else "transformers",
                "datasets": [DATASET],
                "tags": ["image-classification", "bench"],
                "origin": "huggingface" if m % 5 else "timm",
                "file_sizes": {"model.safetensors": 4 * (m + 1) * 1000, "config.json": 800},
                "hyperparameters": {"hidden_size": 64 + m % 512, "num_labels": classes},
                "num_parameters": (m + 1) * 1000,
                "reference": None,
                "status": "evaluated",
                "failure_reason": None,
                "failure_detail": None,
                "last_modified": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=m),
            }
        )
    for m in range(models // 10):
        model_docs.append(
            {
                "_id": f"failed/model-{m:05d}",
                "sha": f"f{m:039x}",
                "pipeline_tag": "image-classification",
                "datasets": [DATASET],
                "origin": "huggingface",
                "status": "failed",
                "failure_reason": ("unknown labels", "unsafe weights format", "timeout")[m % 3],
                "failure_detail": "bench",
            }
        )
    store.models.insert_many(model_docs, ordered=False)
    results, class_rows, runtimes, misses, outcomes = [], [], [], [], []
    for doc, cls, rt, ms, out in _result_docs(_template(classes), models, rng):
        results.append(doc)
        class_rows.extend(cls)
        runtimes.append(rt)
        misses.extend(ms)
        outcomes.extend([out] if out is not None else [])
        if len(class_rows) >= CHUNK * 5:
            _flush(store, results, class_rows, runtimes, misses, outcomes)
    _flush(store, results, class_rows, runtimes, misses, outcomes)
    claims = [
        ClaimRecord(
            f"org{m % 97}/model-{m:05d}",
            f"{m:040x}",
            DATASET,
            "test",
            "accuracy",
            0.99,
            0.5,
            0.45,
            0.55,
            False,
            "claims 49.0 points more than measured",
        )
        for m in range(0, models, max(1, models // 500))
    ]
    for c in claims:
        store.save_claims(c.model_id, c.model_sha, [c])
    store.set_identity(
        SigningIdentity("bench", "-----BEGIN PUBLIC KEY-----\nBENCH\n-----END PUBLIC KEY-----\n")
    )
    store.ensure_indexes()
    return time.perf_counter() - start


def _flush(store: Store, *batches: list[dict[str, Any]]) -> None:
    for coll, batch in zip(
        (
            store.results,
            store.class_results,
            store.runtimes,
            store.misclassifications,
            store.outcomes,
        ),
        batches,
        strict=True,
    ):
        if batch:
            coll.insert_many(batch, ordered=False)
            batch.clear()


def cases(models: int, rng: random.Random) -> dict[str, Callable[[], dict[str, str]]]:
    """Varied page parameters per view, as visitors would send them."""
    names = labels(100)

    def model() -> str:
        m = rng.randrange(models)
        return f"org{m % 97}/model-{m:05d}"

    return {
        "models": lambda: rng.choice(
            [
                {},
                {"q": f"model-{rng.randrange(models):05d}"[: rng.randint(7, 11)]},
                {"sort": "parameters", "order": "desc", "page": str(rng.randint(1, 50))},
                {"evaluated": DATASET, "metrics": "yes", "page": str(rng.randint(1, 20))},
                {"failure": "unknown labels"},
                {"origin": "timm", "sort": "updated", "order": "desc"},
                {"q": '{"$gt": ""}'},
            ]
        ),
        "model": lambda: {"model": model()},
        "result": lambda: {"model": model(), "dataset": DATASET, "variant": rng.choice(VARIANTS)},
        "variants": lambda: {
            "model": model(),
            "dataset": DATASET,
            "metric": rng.choice(["f1", "recall"]),
            "mode": rng.choice(["absolute", "relative"]),
        },
        "compare": lambda: {
            "dataset": DATASET,
            "models": ",".join(model() for _ in range(rng.randint(2, 4))),
        },
        "dataset": lambda: {"dataset": DATASET},
        "scatter": lambda: rng.choice(
            [
                {"dataset": DATASET},
                {
                    "dataset": DATASET,
                    "x": "class:recall",
                    "y": "instances_per_s",
                    "class": rng.choice(names),
                },
                {
                    "dataset": DATASET,
                    "x": "size_mb",
                    "y": "macro_f1",
                    "variant": rng.choice(VARIANTS),
                },
            ]
        ),
        "leaderboard": lambda: {
            "dataset": DATASET,
            "w_speed": str(rng.randint(0, 5)),
            "w_size": str(rng.randint(0, 5)),
        },
        "find": lambda: {
            "dataset": DATASET,
            "class": rng.choice(["bear", *names]),
            "variant": "greyscale",
            "metric": "recall",
            "min_throughput": str(rng.choice([0, 2.8, 100])),
        },
        "audit": lambda: {},
        "coverage": lambda: {"by": rng.choice(["overall", "source", "task", "library", "week"])},
        "label-errors": lambda: {"dataset": DATASET, "page": str(rng.randint(1, 4))},
    }


def cache_root() -> Path:
    """Where benchmarks keep what is slow to make: ``$EVALBOT_BENCH_CACHE``, else
    ``~/.cache/evalbot/bench``."""
    env = os.environ.get("EVALBOT_BENCH_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "evalbot" / "bench"


def cache_key(*, models: int, classes: int, seed_value: int = 0) -> str:
    """The seed parameters, and a digest of what decides the files' content: the tables'
    schemas and layout (partitions, row groups) and the code that seeds, exports and writes (a
    change to any makes a new folder)."""
    digest = hashlib.sha256()
    for table in tables.TABLES:
        layout = f"{table.partition}:{table.row_group_size}"
        digest.update(f"{table.name}:{table.schema}:{table.sort}:{layout};".encode())
    for code in (
        _template,
        _outcomes,
        _result_docs,
        seed,
        store_export,
        coverage_table,
        tables.write_tables,
        tables.parquet_bytes,
    ):
        digest.update(inspect.getsource(code).encode())
    return f"space-{models}m-{classes}c-seed{seed_value}-{digest.hexdigest()[:12]}"


def results_dir(*, models: int, classes: int, seed_value: int = 0) -> Path:
    """The bench world as the results dataset's files (``<dir>/data/<table>.parquet``): made
    once (seed MongoDB, export, write), then read from the bench cache."""
    folder = cache_root() / cache_key(models=models, classes=classes, seed_value=seed_value)
    if (folder / tables.MODELS.path).is_file():
        print(f"results dataset from the cache: {folder}", flush=True)
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        with (
            tempfile.TemporaryDirectory(prefix="evalbot-space-bench-") as tmp,
            start_embedded(Path(tmp)) as mongo,
        ):
            store = Store.open(mongo.uri, db_name="space_bench")
            print(
                f"seeding {models:,} models × {classes} classes × {len(VARIANTS)} variants ...",
                flush=True,
            )
            took = seed(store, models=models, classes=classes, seed_value=seed_value)
            print(
                f"  seeded {store.results.estimated_document_count():,} results, "
                f"{store.class_results.estimated_document_count():,} class rows in {took:.0f} s",
                flush=True,
            )
            start = time.perf_counter()
            exported = store_export.export_tables(store)
            exported[tables.COVERAGE.name] = coverage_table(store)  # as the bot publishes it
            took = time.perf_counter() - start
            start = time.perf_counter()
            tables.write_tables(exported, partial)
            wrote = time.perf_counter() - start
            store.client.close()
        size = sum(f.stat().st_size for f in (partial / tables.DATA_DIR).iterdir())
        print(
            f"  exported in {took:.0f} s ({exported['class_results'].num_rows:,} class rows), "
            f"written in {wrote:.0f} s: {size / 2**20:.0f} MiB of Parquet",
            flush=True,
        )
        partial.rename(folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def measure(root: Path, models: int, *, repeats: int) -> dict[str, list[float]]:
    """Each view's answer times over one snapshot of ``root`` (the leaderboard's first call on
    a snapshot of its own, its aggregates not yet computed)."""
    rng = random.Random(1)
    start = time.perf_counter()
    data = Snapshot.open(root, revision="bench")
    print(f"  loaded the tables in {(time.perf_counter() - start) * 1000:.0f} ms", flush=True)
    samples: dict[str, list[float]] = {}
    for name, make in cases(models, rng).items():
        view = views.VIEWS[name]
        view(data, make())  # warm-up: imports, the files' first read
        snapshot = Snapshot.open(root, revision="cold") if name == "leaderboard" else data
        times = []
        for _ in range(repeats):
            params = make()
            start = time.perf_counter()
            view(snapshot, params)
            times.append(time.perf_counter() - start)
        if name == "leaderboard":
            print(f"  leaderboard cold (aggregates computed): {times[0] * 1000:.0f} ms", flush=True)
        samples[name] = times
    return samples


def _status_mib(field: str) -> float:
    """A ``/proc/self/status`` memory line in MiB: ``VmRSS`` (now) or ``VmHWM`` (the peak of
    this process image; ``ru_maxrss`` would carry a forking parent's peak across exec)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(f"/proc/self/status has no {field}")


def memory(root: Path, models: int) -> dict[str, float]:
    """The Space process's memory, measured in a fresh interpreter: after importing the app,
    after loading ``root``, and after every view ran (current and peak RSS, MiB)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.space", "--rss", str(root), "--models", str(models)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    found: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def _memory_child(root: Path, models: int) -> None:
    import space.app  # noqa: F401  (the Space process imports Gradio too)

    imported = _status_mib("VmRSS")
    data = Snapshot.open(root, revision="bench")
    loaded = _status_mib("VmRSS")
    rng = random.Random(2)
    for name, make in cases(models, rng).items():
        for _ in range(10):
            views.VIEWS[name](data, make())
    print(
        json.dumps(
            {
                "imported": imported,
                "loaded": loaded,
                "current": _status_mib("VmRSS"),
                "peak": _status_mib("VmHWM"),
            }
        )
    )


def p95(values: list[float]) -> float:
    return (
        statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]
    )


def main(
    report: Any = None, *, models: int = 10_000, classes: int = 100, repeats: int = 40
) -> float:
    root = results_dir(models=models, classes=classes)
    samples = measure(root, models, repeats=repeats)
    print(f"\n{'view':<12} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  ({repeats} calls each)")
    worst = 0.0
    for name, times in samples.items():
        ms = [t * 1000 for t in times]
        worst = max(worst, p95(ms))
        print(f"{name:<12} {statistics.median(ms):8.1f} {p95(ms):8.1f} {max(ms):8.1f}")
    rss = memory(root, models)
    print(
        f"\nmemory of the Space process: {rss['imported']:.0f} MiB with the app imported, "
        f"{rss['loaded']:.0f} MiB with the data loaded, {rss['current']:.0f} MiB after the views "
        f"(peak {rss['peak']:.0f} MiB)"
    )
    if report is not None:
        report.note(f"space: worst view p95 {worst:.0f} ms over {models:,} models (Parquet)")
        report.add("space_p95_ms", worst, "ms")
        report.add("space_rss_mib", rss["peak"], "MiB")
    else:
        print(f"\nBENCH space_p95_ms {worst:.2f} ms")
        print(f"BENCH space_rss_mib {rss['peak']:.2f} MiB")
    return worst


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m bench.space", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--rss", type=Path, help=argparse.SUPPRESS)  # the memory probe's child
    args = parser.parse_args()
    if args.rss is not None:
        _memory_child(args.rss, args.models)
    else:
        main(models=args.models, classes=args.classes, repeats=args.repeats)
