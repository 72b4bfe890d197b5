"""Pick the device (CUDA when present, else CPU) and how an evaluation uses the machine."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import torch

Precision = Literal["auto", "fp32", "bf16", "fp16"]


@dataclass(frozen=True)
class Compute:
    """How an evaluation uses the machine; None: chosen from the machine (README, "Sizing").

    decode_workers: processes that read, decode and perturb batches ahead of the model (default:
        half the cores on a CPU-only host, all but one on a GPU host, at most 8 / 16).
    torch_threads: torch's intra-op threads in the evaluating process (default: torch's own,
        one per core).
    batch_size: every module's batch size (default: the module's; on CUDA, image classifiers
        probe for the largest of up to 8x the module's that fits).
    precision: on CUDA, ``auto`` runs the model under bf16 autocast (fp16 where the GPU has no
        bf16); ``fp32`` turns autocast off. The CPU always computes in fp32.
    """

    decode_workers: int | None = None
    torch_threads: int | None = None
    batch_size: int | None = None
    precision: Precision = "auto"

    def apply_threads(self) -> None:
        """Set torch's threads in this process, when configured."""
        if self.torch_threads is not None:
            torch.set_num_threads(self.torch_threads)


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
