"""Bounded memory on a real-size split: the shipped ImageNet-1k module, every variant, 50,000
ImageNet-shaped images, through the isolated executor, with the evaluation's memory sampled.

The dataset is made once and cached (``$EVALBOT_BENCH_CACHE``, default ``~/.cache/evalbot/bench``,
in a folder named by its recipe's digest): ``EVALBOT_BENCH_IMAGES`` (default 50,000) JPEGs at
ImageNet's usual sizes (500×375, 375×500, 500×333, 400×400, 500×500, 333×500, mixed, so batches
are ragged as ImageNet's are), each a low-resolution random colour field upscaled with some noise
(quality 85: ~40 KB a file), 50 per class of the 1,000 ImageNet-1k classes (the names of
``config/tasks/_templates/imagenet_classes.yaml``) in shuffled order, as Parquet shards of
~3,600 rows with an ``image`` and a ``label`` (ClassLabel) column and a README whose
``dataset_info`` declares them, as the Hub's ``ILSVRC/imagenet-1k`` is laid out.

Then, in a process of its own with its own sandbox Hub (the endpoint must be set before
huggingface_hub is imported): the dataset is uploaded as ``ILSVRC/imagenet-1k``, gated, with
access granted to the bot; a timm model is uploaded as the official checkpoints are
(``timm/test_convnext.r160_in1k``: timm's tiny test ConvNeXt, random weights, ``save_for_hf``, no
``label_names``, so evalbot names its classes from the pretrained tag); and
``config/tasks/image-classification/imagenet-1k.yaml`` (without ``also_evaluate_on``, pinned to
the sandbox's commit) evaluates it through :class:`~evaluators.isolation.IsolatedExecutor` with
its default memory limit and decode workers, every configured variant, first on a tenth of the
split (``limit``), then on all of it. Meanwhile a thread reads, every 0.2 s, the memory of the
evaluation's processes (the isolated child and its decode workers, found through
``/proc/<pid>/task/*/children``; the idle fork server is not counted): ``RssAnon + RssShmem``
summed over them, what the evaluation holds (the memory-mapped Arrow cache's file pages are page
cache the kernel reclaims). Printed beside it: ``Pss_Anon + Pss_Shmem`` (pages the forked
workers share counted once, as the isolation's memory watchdog counts them; read every 2 s, as
the kernel walks the whole address space for it) and total RSS.

Ends with ``BENCH eval_peak_rss_gib`` (the peak on the whole split), ``BENCH eval_rss_growth``
(that peak over the tenth's: target at most 1.2) and ``BENCH eval_images_per_s`` (images per
second on the whole split, every variant counted, from the records' runtime: reading, decoding,
perturbing, preprocessing and forward passes; the wall clock's rate is printed beside it). On a
machine with CUDA, also ``BENCH image_vs_forward_gpu`` and ``BENCH gpu_images_per_s``
(:func:`gpu`).

    python -m bench.streaming                         # 50,000 images: about an hour on 2 cores
    EVALBOT_BENCH_IMAGES=2000 python -m bench.streaming  # a quick run
    python -m bench.streaming --gpu                   # only the GPU lines (:func:`gpu`)
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import math
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import yaml

from bench.common import Report, cache_root, fastest, quiet, run_on_own_hub, timed

if TYPE_CHECKING:
    from evaluators.isolation import IsolatedExecutor
    from store.types import ModelRecord

ROOT = Path(__file__).resolve().parents[1]
MODULE_FILE = ROOT / "config" / "tasks" / "image-classification" / "imagenet-1k.yaml"
DATASET_ID = "ILSVRC/imagenet-1k"
SPLIT = "validation"
# timm's tiny official test ConvNeXt (0.27M parameters, 160×160): on 2 cores its forward costs
# about what reading, decoding and perturbing an image does (test_resnet's costs 2.7 times more)
MODEL_ARCH, MODEL_TAG = "test_convnext", "r160_in1k"
MODEL_ID = f"timm/{MODEL_ARCH}.{MODEL_TAG}"
IMAGES_ENV = "EVALBOT_BENCH_IMAGES"
CHUNK = 500  # images encoded per task of the generating pool
GIB = 2**30


@dataclass(frozen=True)
class ImageNetRecipe:
    """Every parameter of the generated split; its digest names the cache folder."""

    images: int = 50_000
    classes: int = 1000
    seed: int = 20261206
    # (width, height, share): ImageNet's validation images are mostly 500 pixels on the longer
    # side, in landscape 4:3 most often
    sizes: tuple[tuple[int, int, float], ...] = (
        (500, 375, 0.55),
        (375, 500, 0.15),
        (500, 333, 0.15),
        (400, 400, 0.05),
        (500, 500, 0.05),
        (333, 500, 0.05),
    )
    field_size: tuple[int, int] = (8, 6)  # the random colour field each image is upscaled from
    noise: int = 14  # uniform noise of ± this many grey levels: JPEG files of ~40 KB
    quality: int = 85
    rows_per_shard: int = 3572  # 14 shards for 50,000 rows

    def digest(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True) + inspect.getsource(_jpeg)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Plan:
    """Each image's size and class, drawn from the recipe's seed."""

    sizes: npt.NDArray[np.int64]  # (images, 2): width, height
    labels: npt.NDArray[np.int64]

    @classmethod
    def of(cls, recipe: ImageNetRecipe) -> Plan:
        rng = np.random.default_rng(recipe.seed)
        shares = np.array([s for _, _, s in recipe.sizes])
        kinds = rng.choice(len(recipe.sizes), size=recipe.images, p=shares / shares.sum())
        table = np.array([(w, h) for w, h, _ in recipe.sizes], dtype=np.int64)
        per_class = math.ceil(recipe.images / recipe.classes)
        labels = rng.permutation(np.repeat(np.arange(recipe.classes), per_class))
        return cls(table[kinds], labels[: recipe.images].astype(np.int64))

    def decoded_bytes(self) -> int:
        """The bytes of every image decoded to RGB uint8 at its own size."""
        return int((3 * self.sizes[:, 0] * self.sizes[:, 1]).sum())


def recipe_from_env() -> ImageNetRecipe:
    """The default recipe, with ``EVALBOT_BENCH_IMAGES`` images when set."""
    raw = os.environ.get(IMAGES_ENV, "").strip()
    if not raw:
        return ImageNetRecipe()
    try:
        images = int(raw)
    except ValueError:
        raise SystemExit(f"{IMAGES_ENV} must be a whole number of images (got {raw!r})") from None
    if images < 100:
        raise SystemExit(f"{IMAGES_ENV} must be at least 100 (got {images})")
    return ImageNetRecipe(images=images)


def dataset_dir(recipe: ImageNetRecipe) -> Path:
    return cache_root() / f"imagenet-{recipe.images}-{recipe.digest()}"


def _jpeg(recipe: ImageNetRecipe, index: int, width: int, height: int) -> bytes:
    """Image ``index``: a random colour field upscaled to ``width``×``height``, plus noise."""
    from PIL import Image

    rng = np.random.default_rng((recipe.seed, index))
    colours = rng.integers(0, 256, size=(*recipe.field_size[::-1], 3), dtype=np.uint8)
    smooth = Image.fromarray(colours).resize((width, height), Image.Resampling.BICUBIC)
    pixels = np.asarray(smooth).astype(np.int16)
    pixels += rng.integers(-recipe.noise, recipe.noise + 1, size=pixels.shape, dtype=np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
        buffer, format="JPEG", quality=recipe.quality
    )
    return buffer.getvalue()


def _encode(job: tuple[ImageNetRecipe, int, list[tuple[int, int]]]) -> list[bytes]:
    recipe, start, sizes = job
    return [_jpeg(recipe, start + i, w, h) for i, (w, h) in enumerate(sizes)]


def build_dataset(recipe: ImageNetRecipe) -> tuple[Path, float | None]:
    """The dataset folder (README.md, data/validation-*.parquet) and the seconds its generation
    took (None: it came from the cache)."""
    folder = dataset_dir(recipe)
    if (folder / "README.md").is_file():
        print(f"streaming: {recipe.images:,} images from the cache: {folder}", flush=True)
        return folder, None
    from evaluators.config import load_module
    from evaluators.streaming import cores

    names = load_module(MODULE_FILE).dataset.labels
    plan = Plan.of(recipe)
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    start = time.perf_counter()
    print(f"streaming: generating {recipe.images:,} JPEGs into {folder} ...", flush=True)
    try:
        shards = _write_shards(recipe, plan, names, partial / "data", workers=cores())
        size = sum(p.stat().st_size for p in shards)
        card = _card(recipe, names, size, plan)
        (partial / "README.md").write_text(card, encoding="utf-8")
        partial.rename(folder)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    took = time.perf_counter() - start
    print(f"  {size / GIB:.2f} GiB of Parquet in {len(shards)} shards, {took:.0f} s", flush=True)
    return folder, took


def _write_shards(
    recipe: ImageNetRecipe, plan: Plan, names: list[str], out: Path, *, workers: int
) -> list[Path]:
    from datasets import ClassLabel, Dataset, Features
    from datasets import Image as ImageFeature

    out.mkdir(parents=True)
    features = Features({"image": ImageFeature(), "label": ClassLabel(names=names)})
    count = math.ceil(recipe.images / recipe.rows_per_shard)
    jobs = [
        (recipe, lo, [(int(w), int(h)) for w, h in plan.sizes[lo : lo + CHUNK]])
        for lo in range(0, recipe.images, CHUNK)
    ]
    paths: list[Path] = []
    pending: list[bytes] = []
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for done, chunk in enumerate(pool.imap(_encode, jobs), start=1):
            pending.extend(chunk)
            while len(pending) >= recipe.rows_per_shard or (done == len(jobs) and pending):
                lo = len(paths) * recipe.rows_per_shard
                rows, pending = pending[: recipe.rows_per_shard], pending[recipe.rows_per_shard :]
                path = out / f"{SPLIT}-{len(paths):05d}-of-{count:05d}.parquet"
                table = {
                    "image": [{"bytes": b, "path": None} for b in rows],
                    "label": plan.labels[lo : lo + len(rows)].tolist(),
                }
                Dataset.from_dict(table, features=features).to_parquet(str(path))
                paths.append(path)
                print(
                    f"  shard {len(paths)}/{count} written ({lo + len(rows):,} images)", flush=True
                )
    return paths


def _size_category(n: int) -> str:
    for bound, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < bound:
            return name
    return "100K<n<1M"


def _card(recipe: ImageNetRecipe, names: list[str], size: int, plan: Plan) -> str:
    meta = {
        "pretty_name": "ImageNet-1k (evalbot benchmark stand-in)",
        "license": "other",
        "task_categories": ["image-classification"],
        "task_ids": ["multi-class-image-classification"],
        "size_categories": [_size_category(recipe.images)],
        "extra_gated_prompt": "Accept the ImageNet terms of access to use this dataset.",
        "dataset_info": {
            "features": [
                {"name": "image", "dtype": "image"},
                {
                    "name": "label",
                    "dtype": {"class_label": {"names": {str(i): n for i, n in enumerate(names)}}},
                },
            ],
            "splits": [{"name": SPLIT, "num_bytes": size, "num_examples": recipe.images}],
            "download_size": size,
            "dataset_size": size,
        },
        "configs": [
            {"config_name": "default", "data_files": [{"split": SPLIT, "path": f"data/{SPLIT}-*"}]}
        ],
    }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"""---
{front}---

# ImageNet-1k (stand-in for evalbot's streaming benchmark)

{recipe.images:,} generated JPEGs with the schema, class names and image sizes of the
ILSVRC 2012 validation split (mostly 500 pixels on the longer side; {plan.decoded_bytes() / GIB:.1f}
GiB decoded), each a random colour field with noise. Not photographs: made by evalbot's
`bench/streaming.py` to measure speed and memory only.
"""


# -- the measured part, in its own process with its own Hub -----------------------------------


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            out.extend(int(p) for p in task.read_text().split())
        except (OSError, ValueError):  # the process or thread ended meanwhile
            continue
    return out


def _descendants(pid: int) -> list[int]:
    found, todo = [], _children(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(_children(child))
    return found


def _is_fork_server(pid: int) -> bool:
    try:
        return b"evaluators.forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _kib(path: str, fields: Sequence[str]) -> dict[str, int]:
    """The ``fields`` (in KiB) of a ``/proc`` file such as ``/proc/<pid>/status``; 0 when the
    process ended meanwhile."""
    out = dict.fromkeys(fields, 0)
    try:
        text = Path(path).read_text()
    except OSError:
        return out
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name in out:
            out[name] = int(value.split()[0])
    return out


def _usage(pid: int, *, pss: bool) -> dict[str, int]:
    """What ``pid`` holds, in bytes: ``held`` (RssAnon + RssShmem), ``rss`` (VmRSS) and, with
    ``pss``, ``pss`` (Pss_Anon + Pss_Shmem: pages shared with forked workers counted once; the
    kernel walks the whole address space for it, ~50 ms for an evaluation child here)."""
    status = _kib(f"/proc/{pid}/status", ("RssAnon", "RssShmem", "VmRSS"))
    usage = {"held": 1024 * (status["RssAnon"] + status["RssShmem"]), "rss": 1024 * status["VmRSS"]}
    if pss:
        rollup = _kib(f"/proc/{pid}/smaps_rollup", ("Pss_Anon", "Pss_Shmem"))
        usage["pss"] = 1024 * (rollup["Pss_Anon"] + rollup["Pss_Shmem"])
    return usage


@dataclass
class Sampler:
    """Samples, every ``interval`` s, the memory of this process's descendants less the fork
    server (a direct child that forks the evaluations and holds only its preloaded imports):
    the evaluation child and its decode workers. Peaks are of the sums over those processes;
    the PSS, dearer to read, every ``pss_every`` samples."""

    interval: float = 0.2
    pss_every: int = 10
    peak: dict[str, int] = field(default_factory=lambda: {"held": 0, "rss": 0, "pss": 0})
    at_peak: list[int] = field(default_factory=list)  # each process's "held" at the held peak
    peak_processes: int = 0
    samples: int = 0
    server_held: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.interval):
            servers = {p for p in _children(me) if _is_fork_server(p)}
            pids = [p for p in _descendants(me) if p not in servers]
            pss = self.samples % self.pss_every == 0
            usage = [_usage(p, pss=pss) for p in pids]
            if sum(u["held"] for u in usage) > self.peak["held"]:
                self.at_peak = [u["held"] for u in usage]
            for key in self.peak:
                total = sum(u.get(key, 0) for u in usage)
                self.peak[key] = max(self.peak[key], total)
            self.peak_processes = max(self.peak_processes, len(pids))
            for server in servers:
                self.server_held = max(self.server_held, _usage(server, pss=False)["held"])
            self.samples += 1


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _upload_dataset(url: str, tokens: dict[str, str], folder: Path) -> str:
    """The dataset as ``ILSVRC/imagenet-1k`` (one commit per shard), gated, the bot granted;
    its commit sha."""
    import httpx
    from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
    from huggingface_hub.errors import GatedRepoError

    api = HfApi(endpoint=url, token=tokens["demo"])
    api.create_repo(DATASET_ID, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=str(folder / "README.md"),
        path_in_repo="README.md",
        repo_id=DATASET_ID,
        repo_type="dataset",
    )
    shards = sorted((folder / "data").glob("*.parquet"))
    for number, shard in enumerate(shards, start=1):
        api.create_commit(
            DATASET_ID,
            [CommitOperationAdd(f"data/{shard.name}", str(shard))],
            commit_message=f"Add {shard.name}",
            repo_type="dataset",
        )
        _say(f"  uploaded shard {number}/{len(shards)}")
    api.update_repo_settings(DATASET_ID, repo_type="dataset", gated="auto")
    granted = httpx.post(
        f"{url}/_sandbox/repos/datasets/{DATASET_ID}", json={"granted": ["evalbot"]}
    )
    granted.raise_for_status()
    try:
        hf_hub_download(DATASET_ID, "README.md", repo_type="dataset", token=False)
    except GatedRepoError:
        pass
    else:
        raise SystemExit(f"bench: {DATASET_ID} should be gated on the sandbox Hub")
    sha = api.dataset_info(DATASET_ID).sha
    assert sha is not None
    return sha


def _upload_model(url: str, token: str, folder: Path) -> None:
    """A random ``timm/test_convnext.r160_in1k`` saved as the official timm checkpoints are."""
    import timm
    import torch
    from huggingface_hub import HfApi
    from timm.models import save_for_hf

    torch.manual_seed(0)
    model = timm.create_model(f"{MODEL_ARCH}.{MODEL_TAG}", pretrained=False)
    save_for_hf(model, str(folder), safe_serialization=True)
    config = json.loads((folder / "config.json").read_text())
    config.pop("model_args", None)  # the official exports carry neither
    config.pop("label_names", None)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    meta = {
        "tags": ["image-classification", "timm"],
        "library_name": "timm",
        "license": "apache-2.0",
        "datasets": ["imagenet-1k"],
        "pipeline_tag": "image-classification",
    }
    (folder / "README.md").write_text(
        f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n\n# Model card for {MODEL_ID}\n\n"
        "A tiny test model with random weights, exported as timm exports its checkpoints.\n"
    )
    api = HfApi(endpoint=url, token=token)
    api.create_repo(MODEL_ID)
    api.upload_folder(repo_id=MODEL_ID, folder_path=str(folder), commit_message="Add model")


def _evaluate(
    executor: IsolatedExecutor, model: ModelRecord, expected: set[str], limit: int
) -> dict[str, Any]:
    """One isolated evaluation under the sampler; checks that every variant ran on ``limit``
    examples."""
    with Sampler() as sampler:
        start = time.perf_counter()
        report = executor.evaluate(model)
        wall = time.perf_counter() - start
    variants = {r.variant for r in report.records}
    sizes = {r.num_examples for r in report.records}
    if variants != expected or sizes != {limit}:
        raise SystemExit(
            f"bench: expected variants {sorted(expected)} on {limit} examples, got "
            f"{sorted(variants)} on {sorted(sizes)}"
        )
    return {
        "limit": limit,
        "wall_s": wall,
        "records": len(report.records),
        "runtime_s": sum(r.runtime.total_s for r in report.records),
        "peak_held": sampler.peak["held"],
        "peak_rss": sampler.peak["rss"],
        "peak_pss": sampler.peak["pss"],
        "at_peak": sampler.at_peak,
        "processes": sampler.peak_processes,
        "samples": sampler.samples,
        "server_held": sampler.server_held,
    }


def _measure(tmp: str, port: int) -> None:
    import logging

    import datasets
    from huggingface_hub import HfApi

    from bot.discovery import to_record
    from evaluators.config import load_module
    from evaluators.isolation import DEFAULT_MEMORY_LIMIT, IsolatedExecutor
    from sandbox.server import run_in_thread

    logging.basicConfig(stream=sys.stderr, format="  %(message)s")
    logging.getLogger("evaluators.isolation").setLevel(logging.INFO)  # the child's progress
    recipe = recipe_from_env()
    folder = dataset_dir(recipe)
    server = run_in_thread(data_dir=Path(tmp) / "hub", port=port)
    try:
        start = time.perf_counter()
        revision = _upload_dataset(server.url, server.tokens, folder)
        (Path(tmp) / "model").mkdir()
        _upload_model(server.url, server.tokens["demo"], Path(tmp) / "model")
        upload = time.perf_counter() - start
        _say(f"streaming: uploaded to the sandbox Hub in {upload:.0f} s")
        api = HfApi(endpoint=server.url, token=server.tokens["evalbot"])
        module = load_module(MODULE_FILE)
        dataset = module.dataset.model_copy(update={"revision": revision})
        module = module.model_copy(update={"dataset": dataset, "also_evaluate_on": []})
        start = time.perf_counter()  # the worker puts the split into its datasets cache once
        datasets.load_dataset(DATASET_ID, split=SPLIT, revision=revision, token=api.token)
        prepare = time.perf_counter() - start
        _say(f"streaming: downloaded and prepared the split in {prepare:.0f} s")
        model = to_record(api.model_info(MODEL_ID))
        expected = {"original", *(p.variant_id for p in module.variants())}
        runs = []
        for limit in (recipe.images // 10, recipe.images):
            executor = IsolatedExecutor(
                [module.model_copy(update={"limit": limit})], api=api, timeout=12 * 3600.0
            )
            try:
                _say(f"streaming: evaluating {MODEL_ID} on {limit:,} images × {len(expected)}")
                runs.append(_evaluate(executor, model, expected, limit))
            finally:
                executor.close()
            _say(f"  done: {json.dumps(runs[-1])}")
        print(
            json.dumps(
                {
                    "runs": runs,
                    "variants": sorted(expected),
                    "upload_s": upload,
                    "prepare_s": prepare,
                    "memory_limit": DEFAULT_MEMORY_LIMIT,
                }
            )
        )
    finally:
        server.stop()


# -- the report ---------------------------------------------------------------------------------


def main(report: Report) -> None:
    recipe = recipe_from_env()
    folder, took = build_dataset(recipe)
    if took is not None:
        report.note(f"streaming: generated {recipe.images:,} ImageNet-shaped JPEGs in {took:.0f} s")
    result = run_on_own_hub("bench.streaming", report, timeout_s=24 * 3600.0, relay=True)
    if result is not None:
        _report_evaluations(report, recipe, result)
    gpu(report, folder)


def _report_evaluations(report: Report, recipe: ImageNetRecipe, result: dict[str, Any]) -> None:
    small, full = result["runs"]
    variants = len(result["variants"])
    report.note(
        f"streaming: uploaded in {result['upload_s']:.0f} s, split downloaded and prepared in "
        f"{result['prepare_s']:.0f} s; memory limit {result['memory_limit'] / GIB:.0f} GiB"
    )
    for run in (small, full):
        n = run["limit"] * variants
        what = f"{run['limit']:,} images × {variants} variants, {run['records']} records"
        report.row("streaming", f"{what}, runtime", n, run["runtime_s"])
        report.row("streaming", f"{what}, wall clock", n, run["wall_s"])
        report.note(
            f"streaming at {run['limit']:,}: wall {run['wall_s']:.0f} s, runtime "
            f"{run['runtime_s']:.0f} s; peak RssAnon+RssShmem {run['peak_held'] / GIB:.2f} GiB "
            f"(Pss_Anon+Pss_Shmem {run['peak_pss'] / GIB:.2f} GiB, total RSS "
            f"{run['peak_rss'] / GIB:.2f} GiB) over {run['processes']} processes (at the peak: "
            f"{', '.join(f'{b / GIB:.2f}' for b in run['at_peak'])} GiB), "
            f"{run['samples']} samples; fork server {run['server_held'] / GIB:.2f} GiB apart"
        )
    decoded = Plan.of(recipe).decoded_bytes()
    report.note(
        f"streaming: a split held decoded would be {decoded / GIB:.1f} GiB at these sizes, "
        f"{2 * decoded / GIB:.1f} GiB with one perturbed copy, {9 * decoded / GIB:.1f} GiB with "
        f"8 variants held; streamed, the evaluation peaked at {full['peak_held'] / GIB:.2f} GiB"
    )
    report.note("streaming: eval_images_per_s counts the records' runtime, not the wall clock")
    report.add("eval_peak_rss_gib", full["peak_held"] / GIB, "GiB")
    report.add("eval_rss_growth", full["peak_held"] / small["peak_held"])
    report.add("eval_images_per_s", full["limit"] * variants / full["runtime_s"], "images/s")


# -- on a GPU -----------------------------------------------------------------------------------

GPU_ARCH, GPU_TAG = "resnet50", "a1_in1k"  # 25.6M parameters, 224×224, bicubic


def gpu(report: Report, folder: Path, *, rows: int = 8192, batch_size: int = 256) -> None:
    """``BENCH image_vs_forward_gpu``: evalbot's streamed ``.predict`` on CUDA (decode workers,
    pinned memory, bf16 autocast) over the first ``rows`` generated JPEGs against a bare forward
    over the same images decoded and preprocessed beforehand, already on the GPU, under the
    same autocast; ``BENCH gpu_images_per_s``: the streamed rate. A random timm ResNet-50
    exported as the official ``timm/resnet50.a1_in1k``; whole passes, alternated."""
    import torch

    if not torch.cuda.is_available():
        print("no GPU: image_vs_forward_gpu and gpu_images_per_s not measured", flush=True)
        return
    device = torch.device("cuda")
    n, times = measure_device(folder, device, rows=rows, batch_size=batch_size)
    name = torch.cuda.get_device_name(device)
    bare = report.row("gpu", f"bare forward, {name}, bf16, batch {batch_size}", n, times["bare"])
    ours = report.row("gpu", f"evalbot streamed .predict, {name}", n, times["ours"])
    report.add("image_vs_forward_gpu", ours / bare)
    report.add("gpu_images_per_s", ours, "images/s")


def measure_device(
    folder: Path, device: Any, *, rows: int, batch_size: int, repeats: int = 3
) -> tuple[int, dict[str, float]]:
    """(rows, {"bare": s, "ours": s}) of whole passes on ``device`` (see :func:`gpu`)."""
    import datasets
    import timm
    import torch
    from timm.models import save_for_hf

    from evaluators.image_classification import TimmImageClassifier
    from evaluators.predictions import Options, autocast
    from evaluators.streaming import Column, Loading

    shards = sorted(str(p) for p in (folder / "data").glob("*.parquet"))
    ds = datasets.load_dataset("parquet", data_files=shards, split="train")
    assert isinstance(ds, datasets.Dataset)
    ds = ds.select(range(min(rows, len(ds))))
    column = Column(ds, "image", image=True)
    with tempfile.TemporaryDirectory(prefix="evalbot-bench-") as tmp:
        save_for_hf(
            timm.create_model(f"{GPU_ARCH}.{GPU_TAG}", pretrained=False),
            tmp,
            safe_serialization=True,
        )
        clf = TimmImageClassifier.load(f"timm/{GPU_ARCH}.{GPU_TAG}", Path(tmp), device)
    options = Options(batch_size=batch_size, loading=Loading.for_device(device))
    with torch.inference_mode():
        pixels = [
            clf.preprocess(column[lo : lo + batch_size], device)
            for lo in range(0, len(column), batch_size)
        ]

    def bare() -> None:
        with torch.inference_mode(), autocast(device, options.precision):
            for batch in pixels:
                torch.softmax(clf.model(batch).float(), dim=-1).max(dim=-1)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    best = fastest(
        {"bare": [timed(bare)], "ours": [timed(lambda: clf.predict(column, options))]},
        repeats=repeats,
    )
    return len(column), best


if __name__ == "__main__":
    quiet()
    if len(sys.argv) == 3:  # run_on_own_hub's call: <folder> <port>
        _measure(sys.argv[1], int(sys.argv[2]))
        sys.exit()
    r = Report()
    if sys.argv[1:] == ["--gpu"]:
        gpu(r, build_dataset(recipe_from_env())[0])
    else:
        main(r)
    r.print()
