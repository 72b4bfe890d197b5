"""Load a transformers model from a local snapshot: safetensors only, never remote code,
every failure a typed ``EvaluationError``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from evaluators.errors import EvaluationError, IncompatibleLibraryError
from store.types import FailureReason


def load_transformers_model(
    repo_id: str, auto_class: Any, path: Path, config: Any, *, kind: str, device: torch.device
) -> torch.nn.Module:
    """``auto_class.from_pretrained`` in eval mode on ``device``; ``kind`` names it in errors."""
    try:
        model = auto_class.from_pretrained(
            path, config=config, use_safetensors=True, trust_remote_code=False
        )
    except ValueError as exc:
        raise IncompatibleLibraryError(repo_id, f"not loadable as {kind}: {exc}") from exc
    except (OSError, RuntimeError, KeyError) as exc:
        raise EvaluationError(
            repo_id, f"model failed to load: {exc}", reason=FailureReason.LOAD_ERROR
        ) from exc
    module: torch.nn.Module = model.eval().to(device)
    return module
