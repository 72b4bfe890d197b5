"""A hostile model's repo and the worker that must survive it.

Every hostile repo is a working demo model (``demo/tiny-emotion``, ``demo/vit-digits``,
``demo/timm-digits``) with some of its files replaced, pushed to the sandbox Hub with the real
client. One :class:`IsolatedExecutor` (sandboxed child, forked from its preloaded server)
evaluates them all, as a worker evaluates job after job; after each hostile model it evaluates
a good one.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import datasets
import pytest
from huggingface_hub import HfApi
from PIL import Image

from bot.discovery import to_record
from evaluators.config import EvaluationModule, load_module
from evaluators.errors import EvaluationError
from evaluators.isolation import IsolatedExecutor
from sandbox.world import World
from store.types import FailureReason, ModelRecord

ROOT = Path(__file__).resolve().parents[2]
TASKS = ROOT / "config" / "tasks"
MEMORY_LIMIT = 3 * 2**30  # tiny models need ~1 GiB; a runaway allocation fails fast
ROWS = 8
GOOD = {"text": "demo/tiny-emotion", "image": "demo/vit-digits"}
Edit = Callable[[dict[str, object]], None]


def module(path: str, **changes: object) -> EvaluationModule:
    """A module YAML of ``config/tasks`` cut to ``ROWS`` rows, without perturbations."""
    base = load_module(TASKS / path)
    return base.model_copy(update={"limit": ROWS, "perturbations": [], **changes})


def bomb_png(side: int) -> bytes:
    """A black greyscale PNG of ``side`` x ``side`` pixels: kilobytes on disk."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, format="PNG", optimize=True)
    return out.getvalue()


def digit_png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (28, 28), color=17).save(out, format="PNG")
    return out.getvalue()


def push_image_dataset(api: HfApi, repo_id: str, images: list[bytes]) -> None:
    """A parquet dataset repo of ``images`` (as MNIST's columns: image, label) and its test split."""
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "label": datasets.ClassLabel(names=[str(i) for i in range(10)]),
        }
    )
    rows = {"image": [{"bytes": b, "path": None} for b in images], "label": [0] * len(images)}
    table = io.BytesIO()
    datasets.Dataset.from_dict(rows, features=features).to_parquet(table)
    api.create_repo(repo_id, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=table.getvalue(),
        path_in_repo="data/test-00000-of-00001.parquet",
        repo_id=repo_id,
        repo_type="dataset",
    )


# A bomb first (decoded in the evaluating process: one batch, no worker started), one in the
# second of two batches (decoded in a decode worker process), and one of 100M pixels, where PIL
# only warns.
BOMBS = {
    "bomb-first": [bomb_png(50_000)] + [digit_png()] * 3,
    "bomb-in-a-worker": [digit_png()] * 5 + [bomb_png(50_000)] + [digit_png()] * 2,
    "bomb-under-twice-the-limit": [digit_png(), bomb_png(10_000)],  # PIL only warns there
}


@pytest.fixture(scope="session")
def bomb_datasets(demo_api: HfApi) -> dict[str, str]:
    """Dataset repos with decompression bombs among their images: name -> repo id."""
    repos = {}
    for name, images in BOMBS.items():
        repo_id = f"hostile{uuid.uuid4().hex[:6]}/{name}"
        push_image_dataset(demo_api, repo_id, images)
        repos[name] = repo_id
    return repos


def bomb_module(name: str, repo_id: str) -> EvaluationModule:
    """The MNIST module on the bomb dataset ``repo_id``, for models trained on it."""
    base = module("image-classification/mnist.yaml", id=f"hostile-{name}", trained_on=[repo_id])
    dataset = base.dataset.model_copy(
        update={"repo": repo_id, "revision": None, "name": name, "reference": None}
    )
    return base.model_copy(update={"dataset": dataset, "batch_size": 4})


@pytest.fixture(scope="session")
def executor(
    demo_world: World, bot_api: HfApi, bomb_datasets: dict[str, str]
) -> Iterator[IsolatedExecutor]:
    """The worker's isolated executor, shared by every hostile model of the session."""
    modules = [
        module("text-classification/emotion.yaml"),
        module("image-classification/mnist.yaml"),
        *(bomb_module(name, repo) for name, repo in bomb_datasets.items()),
    ]
    running = IsolatedExecutor(modules, api=bot_api, memory_limit=MEMORY_LIMIT, timeout=120)
    yield running
    running.close()


def edited(folder: Path, name: str, edit: Edit) -> bytes:
    """The JSON file ``name`` of ``folder`` (``{}`` when absent) after ``edit`` changed it."""
    path = folder / name
    data = json.loads(path.read_text()) if path.exists() else {}
    edit(data)
    return json.dumps(data).encode()


def push_model(
    api: HfApi,
    world: World,
    base: str,
    files: dict[str, bytes],
    *,
    namespace: str | None = None,
) -> str:
    """The demo model ``base`` (its card included) with ``files`` added or replaced, pushed as
    a new repo with the real client; its repo id."""
    repo_id = f"{namespace or 'hostile' + uuid.uuid4().hex[:8]}/{uuid.uuid4().hex[:8]}"
    api.create_repo(repo_id)
    api.upload_folder(
        repo_id=repo_id, folder_path=world.model(base).path, ignore_patterns=list(files)
    )
    for name, content in files.items():
        api.upload_file(path_or_fileobj=content, path_in_repo=name, repo_id=repo_id)
    return repo_id


def record(api: HfApi, repo_id: str) -> ModelRecord:
    return to_record(api.model_info(repo_id))


def refused(
    executor: IsolatedExecutor,
    api: HfApi,
    repo_id: str,
    reason: FailureReason | frozenset[FailureReason],
) -> EvaluationError:
    """The typed failure of evaluating ``repo_id`` (asserted to have ``reason``, or one of
    them)."""
    with pytest.raises(EvaluationError) as caught:
        executor.evaluate(record(api, repo_id))
    allowed = reason if isinstance(reason, frozenset) else {reason}
    assert caught.value.reason in allowed, caught.value.detail
    return caught.value


def evaluates(executor: IsolatedExecutor, api: HfApi, repo_id: str) -> None:
    """``repo_id`` evaluates in full: one record of ``ROWS`` examples."""
    report = executor.evaluate(record(api, repo_id))
    assert len(report.records) == 1
    assert report.records[0].num_examples > 0


def carries_on(executor: IsolatedExecutor, api: HfApi, kind: str = "text") -> None:
    """The worker's next job, a good model, evaluates as before."""
    evaluates(executor, api, GOOD[kind])
