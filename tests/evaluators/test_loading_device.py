"""Weights go from the file to the device without a second copy on the CPU: a timm model
loaded so equals timm's own loading, with typed errors; a transformers model is mapped from its
safetensors file, not copied into the process's memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import timm
import torch
from safetensors.torch import save_file
from timm.models import save_for_hf
from transformers import (
    AutoModelForSequenceClassification,
    BertConfig,
    BertForSequenceClassification,
)

from evaluators.errors import EvaluationError
from evaluators.loading import load_config, load_timm_model, load_transformers_model
from store.types import FailureReason

CPU = torch.device("cpu")
SIZE = (3, 64, 64)  # images small enough for a fast test


def save_timm(folder: Path, architecture: str, dtype: torch.dtype = torch.float32) -> Path:
    """A small timm classifier in timm's Hub format for 64x64 images, its batch norm statistics
    trained away from their initial values."""
    torch.manual_seed(0)
    fixed = architecture != "test_resnet"  # attention over a fixed grid of patches
    options: dict[str, Any] = {"img_size": 64} if fixed else {}
    model = timm.create_model(architecture, num_classes=4, **options)
    with torch.no_grad():
        model.train()(torch.randn(2, *SIZE))
    save_for_hf(
        model.eval().to(dtype),
        str(folder),
        model_config={"label_names": ["a", "b", "c", "d"]},
        safe_serialization=True,
    )
    return folder


@pytest.mark.parametrize(
    ("architecture", "dtype"),
    [
        ("test_resnet", torch.float32),
        ("test_coatnet", torch.float32),  # buffers that are computed, not saved
        ("test_resnet", torch.bfloat16),  # converted to the model's float32, as timm does
    ],
)
def test_timm_model_equals_timms_own_loading(
    tmp_path: Path, architecture: str, dtype: torch.dtype
) -> None:
    path = save_timm(tmp_path, architecture, dtype)
    theirs = timm.create_model(f"local-dir:{path}", pretrained=True).eval()

    ours = load_timm_model("org/model", path, CPU)

    assert not ours.training
    assert {p.dtype for p in ours.parameters()} == {torch.float32}
    assert all(t.device == CPU for t in (*ours.parameters(), *ours.buffers()))
    assert timm.data.resolve_data_config({}, model=ours) == timm.data.resolve_data_config(
        {}, model=theirs
    )
    images = torch.randn(3, *SIZE)
    with torch.no_grad():  # the same weights; a busy machine may sum in another order
        torch.testing.assert_close(ours(images), theirs(images), rtol=1e-6, atol=1e-6)


def broken_config(path: Path, **changes: str) -> None:
    config = json.loads((path / "config.json").read_text())
    config.update(changes)
    (path / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("breakage", "words"),
    [
        ("truncated", "corrupt safetensors weights"),
        ("no weights", "No such file"),
        ("other architecture", "Error(s) in loading state_dict"),
        ("unknown architecture", "Unknown model (no_such_net)"),
    ],
)
def test_timm_load_failures_are_typed(tmp_path: Path, breakage: str, words: str) -> None:
    path = save_timm(tmp_path, "test_resnet")
    weights = path / "model.safetensors"
    if breakage == "truncated":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif breakage == "no weights":
        weights.unlink()
    elif breakage == "other architecture":
        broken_config(path, architecture="test_efficientnet")
    else:
        broken_config(path, architecture="no_such_net")
    with pytest.raises(EvaluationError) as caught:
        load_timm_model("org/model", path, CPU)
    assert caught.value.reason is FailureReason.LOAD_ERROR
    assert words in caught.value.detail


def _memory_kib() -> dict[str, int]:
    lines = Path("/proc/self/status").read_text().splitlines()
    return {k: int(v.split()[0]) for k, _, v in (ln.partition(":") for ln in lines) if "kB" in v}


def test_transformers_weights_are_mapped_from_the_file_not_copied(tmp_path: Path) -> None:
    config = BertConfig(
        hidden_size=384,
        num_hidden_layers=6,
        num_attention_heads=6,
        intermediate_size=1536,
        num_labels=3,
    )
    with torch.device("meta"):
        shapes = BertForSequenceClassification(config).state_dict()
    save_file(  # ~90 MB of zeros: real pages in the file all the same
        {name: torch.zeros(t.shape, dtype=t.dtype) for name, t in shapes.items()},
        tmp_path / "model.safetensors",
        metadata={"format": "pt"},
    )
    config.save_pretrained(tmp_path)
    weights_kib = (tmp_path / "model.safetensors").stat().st_size // 1024

    def load() -> torch.nn.Module:
        return load_transformers_model(
            "org/model",
            AutoModelForSequenceClassification,
            tmp_path,
            load_config("org/model", tmp_path),
            kind="a text classifier",
            device=CPU,
        )

    load()  # the first load imports the architecture's code
    Path("/proc/self/clear_refs").write_text("5")  # the peak resident size starts again from now
    before = _memory_kib()
    model = load()
    after = _memory_kib()

    assert sum(p.numel() for p in model.parameters()) * 4 // 1024 == pytest.approx(
        weights_kib, 0.01
    )
    peak = after["VmHWM"] - before["VmRSS"]
    # a copy would hold the weights once more (and page in the file besides): ~1-2x
    assert peak < weights_kib / 4, f"peak {peak} KiB while loading {weights_kib} KiB of weights"
    assert after["RssAnon"] - before["RssAnon"] < weights_kib / 4
