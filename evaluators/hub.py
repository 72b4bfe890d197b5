"""Fetch what an evaluation needs from the Hub, safely.

Only safetensors weights, configs and tokenizer/processor files are downloaded; pickle-only repos
are refused; remote code is never run (``trust_remote_code=False`` wherever a model is loaded).
Every small file is checked against its cap (``evaluators.limits``) from the Hub's file metadata
before anything is downloaded, and JSON files are checked again once downloaded. Hub errors about
the model become typed :class:`EvaluationError` s; connection problems are not the model's fault
and propagate unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.hf_api import RepoSibling

from evaluators.errors import (
    EvaluationError,
    FileTooLargeError,
    IncompatibleLibraryError,
    InsufficientMetadataError,
    JsonDepthError,
    UnsafeWeightsError,
)
from evaluators.limits import CARD, UNCAPPED, check_json, check_size, load_json
from store.types import FailureReason

log = logging.getLogger(__name__)

ALLOWED_FILES = [
    "config.json",
    "*.safetensors",
    "*.safetensors.index.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "*.model",
    "preprocessor_config.json",
    "processor_config.json",  # transformers 5 saves a processor's feature extractor here
    "generation_config.json",  # decoding settings of text generators
    "*.spm",  # Marian's sentencepiece models (source.spm, target.spm)
    "README.md",
]
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# The files that decide an evaluation's numbers: everything evalbot loads except the card.
CONTENT_FILES = [p for p in ALLOWED_FILES if p != "README.md"]


def fingerprint(siblings: Sequence[RepoSibling] | None) -> str:
    """The content of a model revision that decides its numbers, as one digest.

    Made from the Hub's file metadata (``model_info(files_metadata=True)``): the path and the
    LFS sha256 (or git blob id) of the config, weights, tokenizer and processor files. A commit
    that touches only the card (a merge of evalbot's PR, a typo fix) keeps it; new weights or a
    new ``id2label`` change it. Empty when the Hub did not say what a file holds (the revision
    then counts as new content).

    Example:
        >>> fingerprint(api.model_info("org/m", files_metadata=True).siblings)  # doctest: +SKIP
        'sha256:5d41402abc4b2a76...'
    """
    entries = []
    for sibling in siblings or ():
        if not any(fnmatch(sibling.rfilename, p) for p in CONTENT_FILES):
            continue
        content = sibling.lfs.sha256 if sibling.lfs is not None else sibling.blob_id
        if not content:
            return ""
        entries.append((sibling.rfilename, content))
    if not entries:
        return ""
    digest = hashlib.sha256(json.dumps(sorted(entries)).encode()).hexdigest()
    return f"sha256:{digest}"


@dataclass(frozen=True)
class FetchedModel:
    repo_id: str
    sha: str
    path: Path
    file_sizes: dict[str, int]


def fetch_model(
    api: HfApi, repo_id: str, revision: str, *, max_bytes: int | None = None
) -> FetchedModel:
    """Download the safe files of one model revision into the local cache.

    Args:
        max_bytes: Refuse a revision whose files to download weigh more (None: no cap).

    Raises:
        EvaluationError: with reason ``not found``, ``gated``, ``security issues`` (the Hub's
            scan flags files of the repo) or ``too large`` (over ``max_bytes``, or a file over
            its cap in ``evaluators.limits``: nothing is downloaded then).
        UnsafeWeightsError: the repo has pickle weights but no safetensors.
        InsufficientMetadataError: no ``config.json``, or a JSON file nested too deep.
        IncompatibleLibraryError: the model needs remote code (see :func:`check_remote_code`).

    A ``README.md`` over its cap is left out (it only serves to find the model's paper); the
    publisher refuses such a card on its own.
    """
    try:
        info = api.model_info(repo_id, revision=revision, files_metadata=True, securityStatus=True)
    except GatedRepoError as exc:
        raise EvaluationError(repo_id, "the repo is gated", reason=FailureReason.GATED) from exc
    except RevisionNotFoundError as exc:
        raise EvaluationError(
            repo_id, f"revision {revision} not found", reason=FailureReason.NOT_FOUND
        ) from exc
    except RepositoryNotFoundError as exc:
        raise EvaluationError(
            repo_id, "repository not found (deleted or private)", reason=FailureReason.NOT_FOUND
        ) from exc
    if info.id and info.id.casefold() != repo_id.casefold():  # redirected: renamed
        raise EvaluationError(
            repo_id, f"the repo was renamed to {info.id}", reason=FailureReason.NOT_FOUND
        )
    files = [s.rfilename for s in info.siblings or []]
    if "config.json" not in files:
        raise InsufficientMetadataError(repo_id, "the repo has no config.json")
    if not any(f.endswith(".safetensors") for f in files):
        pickles = [f for f in files if f.endswith(PICKLE_SUFFIXES)]
        detail = (
            f"only pickle weights ({', '.join(pickles)}); evalbot loads safetensors only"
            if pickles
            else "no weights in safetensors format"
        )
        raise UnsafeWeightsError(repo_id, detail)
    _check_security(repo_id, info.security_repo_status)
    sizes = {s.rfilename: int(s.size) for s in info.siblings or [] if s.size is not None}
    _check_size(repo_id, sizes, max_bytes)
    left_out = _check_file_caps(repo_id, sizes)
    sha = info.sha or revision
    try:
        config = hf_hub_download(
            repo_id, "config.json", revision=sha, token=api.token, endpoint=api.endpoint
        )
        check_remote_code(repo_id, Path(str(config)), files)  # before any weights come down
        path = snapshot_download(
            repo_id,
            revision=sha,
            allow_patterns=ALLOWED_FILES,
            ignore_patterns=left_out or None,
            token=api.token,
            endpoint=api.endpoint,
        )
    except GatedRepoError as exc:
        raise EvaluationError(repo_id, "the repo is gated", reason=FailureReason.GATED) from exc
    _check_json_files(repo_id, Path(path))
    return FetchedModel(repo_id=repo_id, sha=sha, path=Path(path), file_sizes=sizes)


def _check_security(repo_id: str, status: object) -> None:
    """Refuse a repo whose files the Hub's security scan flags (malware, unsafe pickles ...)."""
    issues = status.get("filesWithIssues") if isinstance(status, dict) else None
    if not issues:
        return
    paths = sorted({str(i.get("path", i)) if isinstance(i, dict) else str(i) for i in issues})
    raise EvaluationError(
        repo_id,
        f"the Hub's security scan flags {', '.join(paths)}; evalbot does not load such repos",
        reason=FailureReason.SECURITY_ISSUES,
    )


def _check_size(repo_id: str, sizes: dict[str, int], max_bytes: int | None) -> None:
    """Refuse a revision whose files to download exceed ``max_bytes``."""
    if max_bytes is None:
        return
    wanted = sum(n for name, n in sizes.items() if _allowed(name))
    if wanted > max_bytes:
        raise EvaluationError(
            repo_id,
            f"{wanted / 2**30:.2f} GiB to download, over the cap of {max_bytes / 2**30:.2f} GiB "
            "(hub.max_model_gib in bot.yaml)",
            reason=FailureReason.TOO_LARGE,
        )


def _check_file_caps(repo_id: str, sizes: Mapping[str, int]) -> list[str]:
    """Refuse a revision with a file to download over its cap (``evaluators.limits``), before
    any download; returns the files to leave out instead (a card over its cap)."""
    left_out = []
    for name, size in sorted(sizes.items()):
        if not _allowed(name) or any(fnmatch(name, p) for p in UNCAPPED):
            continue
        try:
            check_size(name, size)
        except FileTooLargeError as exc:
            if name not in CARD.patterns:
                raise EvaluationError(repo_id, str(exc), reason=FailureReason.TOO_LARGE) from exc
            log.warning("%s: %s; evaluated without it", repo_id, exc)
            left_out.append(name)
    return left_out


def _check_json_files(repo_id: str, path: Path) -> None:
    """Read each downloaded JSON file within its cap and check its nesting, so that the
    loaders (transformers, tokenizers) parse only sane ones."""
    for local in sorted(path.rglob("*.json")):
        _read_json(repo_id, local, local.relative_to(path).as_posix(), parse=False)


def _read_json(repo_id: str, local: Path, name: str, *, parse: bool = True) -> object:
    """``load_json`` (or, without ``parse``, ``check_json``) with its refusals typed for the
    model: too large, nested too deep."""
    try:
        if not parse:
            check_json(local, name)
            return None
        return load_json(local, name)
    except FileTooLargeError as exc:
        raise EvaluationError(repo_id, str(exc), reason=FailureReason.TOO_LARGE) from exc
    except JsonDepthError as exc:
        raise InsufficientMetadataError(repo_id, f"unreadable {name}: {exc}") from exc


def _allowed(name: str) -> bool:
    return any(fnmatch(name, p) for p in ALLOWED_FILES)


def check_remote_code(repo_id: str, config_path: Path, files: Sequence[str] = ()) -> None:
    """Refuse a model whose architecture exists only as Python code in its repo.

    Its ``config.json`` has an ``auto_map`` (classes in the repo's ``*.py`` files) and a
    ``model_type`` or ``architectures`` that transformers does not know: loading it would need
    ``trust_remote_code=True``. An ``auto_map`` beside a known architecture is harmless (the
    transformers class is used) and passes.

    Example:
        >>> check_remote_code("org/model", Path("config.json"), ["modeling_x.py"])  # doctest: +SKIP

    Raises:
        IncompatibleLibraryError: "needs remote code, which evalbot never runs".
        EvaluationError: ``too large``, the file is over its cap (``evaluators.limits``).
        InsufficientMetadataError: it nests too deep to be parsed.
    """
    try:
        config = _read_json(repo_id, config_path, "config.json")
    except (OSError, ValueError):
        return  # the loader reports an unreadable config.json as insufficient metadata
    if not isinstance(config, dict) or not config.get("auto_map") or _in_transformers(config):
        return
    code = sorted(f for f in files if f.endswith(".py"))
    where = f"; its code: {', '.join(code)}" if code else ""
    raise IncompatibleLibraryError(
        repo_id,
        f"needs remote code, which evalbot never runs (config.json has an auto_map and "
        f"model_type {config.get('model_type')!r} with architectures "
        f"{config.get('architectures')!r} is not in transformers{where})",
    )


def _in_transformers(config: dict[str, object]) -> bool:
    import transformers
    from transformers import CONFIG_MAPPING

    architectures = config.get("architectures") or []
    return (
        config.get("model_type") in CONFIG_MAPPING
        and isinstance(architectures, list)
        and all(isinstance(a, str) and hasattr(transformers, a) for a in architectures)
    )


def resolve_dataset_revision(
    api: HfApi, repo_id: str, revision: str | None, *, head: str = "main"
) -> str:
    """The commit sha that ``revision`` (default: the head of branch ``head``, ``main`` or the
    Hub's Parquet conversion ``refs/convert/parquet``) of a dataset points at."""
    info = api.dataset_info(repo_id, revision=revision or head)
    if not info.sha:
        raise RuntimeError(f"dataset {repo_id} has no commit sha at {revision or head}")
    return info.sha
