"""On a GPU host: the isolated child initialises CUDA under the memory limit and evaluates there;
weights load straight onto the GPU."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import torch
from huggingface_hub import HfApi

from evaluators.isolation import DEFAULT_MEMORY_LIMIT, IsolatedExecutor
from evaluators.loading import load_timm_model
from sandbox.seed import seed_world
from sandbox.server import RunningSandbox
from sandbox.world import build_world
from tests.evaluators.test_isolation import emotion, record
from tests.evaluators.test_loading_device import SIZE, save_timm

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="needs a CUDA GPU (torch.cuda.is_available() is False here); run it on a GPU host",
)


@pytest.fixture(scope="module")
def tiny(sandbox: RunningSandbox) -> Path:
    world = build_world()
    seed_world(world, endpoint=sandbox.url, token=sandbox.tokens["demo"])
    return world.model("demo/tiny-emotion").path


@pytest.mark.parametrize("preload", [True, False], ids=["forked", "spawned"])
def test_the_child_initialises_cuda_under_the_memory_limit(
    tiny: Path,
    bot_api: HfApi,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    preload: bool,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    executor = IsolatedExecutor(
        [emotion()],
        api=bot_api,
        device="cuda",
        memory_limit=DEFAULT_MEMORY_LIMIT,
        preload=preload,
    )
    try:
        report = executor.evaluate(record(bot_api, "demo/tiny-emotion"))
    finally:
        executor.close()
    assert [r.variant for r in report.records] == ["original"]
    device = report.records[0].runtime.device
    assert device == f"cuda ({torch.cuda.get_device_name(0)})"


def test_timm_weights_load_straight_onto_the_gpu(tmp_path: Path) -> None:
    path = save_timm(tmp_path, "test_resnet")
    on_cpu = load_timm_model("org/model", path, torch.device("cpu"))

    on_gpu = load_timm_model("org/model", path, torch.device("cuda"))

    assert {t.device.type for t in (*on_gpu.parameters(), *on_gpu.buffers())} == {"cuda"}
    images = torch.randn(3, *SIZE)
    with torch.no_grad():
        expected = on_cpu(images)
        assert torch.allclose(on_gpu(images.cuda()).cpu(), expected, atol=1e-4, rtol=1e-3)
