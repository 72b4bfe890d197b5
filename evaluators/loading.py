"""Load a transformers model from a local snapshot: safetensors only, never remote code,
every failure a typed ``EvaluationError``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from huggingface_hub.errors import StrictDataclassError
from safetensors import SafetensorError

from evaluators.errors import EvaluationError, IncompatibleLibraryError, InsufficientMetadataError
from store.types import FailureReason


def load_config(repo_id: str, path: Path) -> Any:
    """transformers' ``AutoConfig`` of a local snapshot, never remote code.

    Raises:
        InsufficientMetadataError: ``config.json`` is missing, not JSON, or has values
            transformers cannot read (``id2label: [..]``, ``id2label: {"a": ..}``).
    """
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(path, trust_remote_code=False)
    except (
        OSError,
        ValueError,
        TypeError,
        AttributeError,
        RecursionError,
        StrictDataclassError,  # a value of the wrong type: "hidden_size": "four"
    ) as exc:
        raise InsufficientMetadataError(repo_id, f"unreadable config.json: {exc}") from exc


def load_transformers_model(
    repo_id: str, auto_class: Any, path: Path, config: Any, *, kind: str, device: torch.device
) -> torch.nn.Module:
    """``auto_class.from_pretrained`` in eval mode on ``device``; ``kind`` names it in errors."""
    try:
        model, info = auto_class.from_pretrained(
            path,
            config=config,
            use_safetensors=True,
            trust_remote_code=False,
            output_loading_info=True,
        )
    except ValueError as exc:
        raise IncompatibleLibraryError(repo_id, f"not loadable as {kind}: {exc}") from exc
    except (OSError, RuntimeError, KeyError) as exc:
        raise EvaluationError(
            repo_id, f"model failed to load: {exc}", reason=FailureReason.LOAD_ERROR
        ) from exc
    except SafetensorError as exc:  # truncated, zero bytes, a header that lies
        raise EvaluationError(
            repo_id, f"corrupt safetensors weights: {exc}", reason=FailureReason.LOAD_ERROR
        ) from exc
    missing, total = len(info.get("missing_keys") or ()), len(model.state_dict())
    if missing * 2 > total:  # random weights would be evaluated (and published)
        raise EvaluationError(
            repo_id,
            f"the weights hold {total - missing} of the model's {total} tensors; "
            "the safetensors file does not match config.json",
            reason=FailureReason.LOAD_ERROR,
        )
    module: torch.nn.Module = model.eval().to(device)
    return module
