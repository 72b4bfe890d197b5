"""Load a model from a local snapshot onto its device: safetensors only, never remote code,
every failure a typed ``EvaluationError``.

The weights go from the file to the device without a second copy in the CPU's memory, so the
evaluation's memory limit (:mod:`evaluators.memory_limit`) counts only what stays on the CPU:

- transformers 5 builds the model on the meta device and maps the safetensors file: on the CPU
  the parameters are views of the file's pages (page cache, not the evaluation's own memory),
  and ``.to(device)`` copies each from there to an accelerator. (``device_map`` would place them
  tensor by tensor the same way, but transformers requires ``accelerate`` for it, which evalbot
  does not install; ``low_cpu_mem_usage`` is gone in transformers 5, where this is the default.)
- timm builds the model with random weights on the device itself (:func:`load_timm_model`), then
  takes the tensors that safetensors maps (CPU) or reads straight onto the device (CUDA) in place
  of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from huggingface_hub.errors import StrictDataclassError
from safetensors import SafetensorError
from safetensors.torch import load_file

from evaluators.errors import EvaluationError, IncompatibleLibraryError, InsufficientMetadataError
from evaluators.limits import load_json
from store.types import FailureReason

VOCABULARIES = ("tokenizer.json", "vocab.txt", "vocab.json")  # or a sentencepiece *.model
# Classes a config may declare by count: transformers makes ``num_labels`` names in memory
# (LABEL_0...) before anything else. The largest real heads have ~22k (ImageNet-22k); an
# id2label within the 8 MiB cap on settings files holds under 400k.
MAX_LABELS = 1_000_000


def load_config(repo_id: str, path: Path) -> Any:
    """transformers' ``AutoConfig`` of a local snapshot, never remote code.

    Raises:
        InsufficientMetadataError: ``config.json`` is missing, not JSON, has values
            transformers cannot read (``id2label: [..]``, ``id2label: {"a": ..}``), or a
            ``num_labels`` over ``MAX_LABELS``.
    """
    from transformers import AutoConfig

    _check_label_count(repo_id, path / "config.json")
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


def _check_label_count(repo_id: str, config_path: Path) -> None:
    """Refuse a ``num_labels`` that would make millions of label names before loading."""
    try:
        raw = load_json(config_path)
    except (OSError, ValueError):
        return  # AutoConfig reports an unreadable config.json
    count = raw.get("num_labels") if isinstance(raw, dict) else None
    if isinstance(count, int) and count > MAX_LABELS:
        raise InsufficientMetadataError(
            repo_id,
            f"config.json declares num_labels {count}, over the {MAX_LABELS:,} classes evalbot "
            "loads: set id2label to the classes the head has",
        )


def load_tokenizer(
    repo_id: str, path: Path, *, fast_for: str | None = None, split_words: bool = False
) -> Any:
    """transformers' ``AutoTokenizer`` of a local snapshot that can pad batches; never remote
    code. ``fast_for`` says why the task needs a fast tokenizer (word ids, character offsets),
    or None when any tokenizer does. With ``split_words`` (the text comes as words, one by one)
    a byte-level BPE tokenizer (RoBERTa, GPT-2) that marks no word start is loaded with
    ``add_prefix_space``: it reads a word as a word only after a space, as token classifiers are
    fine-tuned (transformers' ``run_ner.py``).

    Raises:
        InsufficientMetadataError: no vocabulary in the repo (transformers would build an empty
            tokenizer: every text would be ``[UNK]``), an unreadable tokenizer, no fast tokenizer
            where one is needed, or no padding token.
    """
    from transformers import AutoTokenizer

    if not any((path / name).is_file() for name in VOCABULARIES) and not any(path.glob("*.model")):
        raise InsufficientMetadataError(
            repo_id, f"no tokenizer vocabulary in the repo (one of {', '.join(VOCABULARIES)})"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        if split_words and _needs_prefix_space(tokenizer):
            tokenizer = AutoTokenizer.from_pretrained(
                path, trust_remote_code=False, add_prefix_space=True
            )
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        # KeyError: a partial tokenizer.json; AttributeError: a tokenizer_config.json list
        raise InsufficientMetadataError(repo_id, f"no usable tokenizer: {exc}") from exc
    if fast_for is not None and not getattr(tokenizer, "is_fast", False):
        raise InsufficientMetadataError(
            repo_id,
            f"no fast tokenizer ({type(tokenizer).__name__} gives no {fast_for}): add "
            "tokenizer.json to the repo",
        )
    if getattr(tokenizer, "pad_token", None) is None:  # batches need padding
        raise InsufficientMetadataError(
            repo_id, "the tokenizer has no padding token: set pad_token in tokenizer_config.json"
        )
    return tokenizer


def _needs_prefix_space(tokenizer: Any) -> bool:
    """Whether a byte-level BPE tokenizer marks no word start (``add_prefix_space`` false)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    pre_tokenizer = getattr(backend, "pre_tokenizer", None)
    return getattr(tokenizer, "add_prefix_space", None) is False and "ByteLevel" in repr(
        pre_tokenizer
    )


def load_transformers_model(
    repo_id: str, auto_class: Any, path: Path, config: Any, *, kind: str, device: torch.device
) -> torch.nn.Module:
    """``auto_class.from_pretrained`` in eval mode on ``device``; ``kind`` names it in errors.

    Example:
        >>> model = load_transformers_model(  # doctest: +SKIP
        ...     "org/model", AutoModelForSequenceClassification, path, config,
        ...     kind="a text classifier", device=torch.device("cuda"),
        ... )

    Raises:
        IncompatibleLibraryError: transformers cannot build ``auto_class`` from the config.
        EvaluationError: ``load error``: unreadable or corrupt weights, or weights that hold
            fewer than half of the model's tensors.
    """
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


def load_timm_model(repo_id: str, path: Path, device: torch.device) -> torch.nn.Module:
    """The timm model of a local snapshot in timm's Hub format, on ``device``, in eval mode.

    Built from ``config.json`` with random weights on ``device`` (so buffers that are not saved
    are computed there), then given the snapshot's safetensors tensors in their place: mapped
    from the file on the CPU, read straight onto an accelerator. Tensors saved in another dtype
    are converted to the model's, as ``timm.create_model(..., pretrained=True)`` does.

    Example:
        >>> model = load_timm_model("org/resnet", path, torch.device("cuda"))  # doctest: +SKIP
        >>> timm.data.resolve_data_config({}, model=model)  # doctest: +SKIP

    Raises:
        EvaluationError: ``load error``: an unknown architecture, no safetensors file, corrupt
            weights, or weights that do not fit the architecture (names or shapes).
    """
    import timm

    weights = path / "model.safetensors"
    if not weights.is_file():  # timm's own fallback: the first safetensors file by name
        weights = next(iter(sorted(path.glob("*.safetensors"))), weights)
    try:
        with torch.device(device):
            model = timm.create_model(f"local-dir:{path}", pretrained=False)
        state = load_file(weights, device=str(device))
        expected = model.state_dict()
        for name, tensor in state.items():
            if name in expected and tensor.dtype != expected[name].dtype:
                state[name] = tensor.to(expected[name].dtype)
        model.load_state_dict(state, strict=True, assign=True)
    except (RuntimeError, ValueError, KeyError, OSError) as exc:
        raise EvaluationError(
            repo_id, f"timm failed to load the model: {exc}", reason=FailureReason.LOAD_ERROR
        ) from exc
    except SafetensorError as exc:  # truncated, zero bytes, a header that lies
        raise EvaluationError(
            repo_id, f"corrupt safetensors weights: {exc}", reason=FailureReason.LOAD_ERROR
        ) from exc
    model.eval()
    return model
