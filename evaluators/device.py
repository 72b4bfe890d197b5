"""Pick the device: CUDA when present, else CPU."""

from __future__ import annotations

import os

import torch


def pick_device(requested: str | None = None) -> torch.device:
    """``requested`` or ``EVALBOT_DEVICE`` wins; otherwise CUDA if available, else CPU."""
    name = requested or os.environ.get("EVALBOT_DEVICE")
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"
