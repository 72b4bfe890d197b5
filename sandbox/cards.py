"""What the Hub derives from a repo's files: card data, tags, pipeline tag, library, config.

The Hub reads the YAML front matter of `README.md` (`cardData`) and a few files (`config.json`,
`*.safetensors` headers) and turns them into searchable fields. A front matter that is not valid
YAML, or not a mapping, gives no `cardData` rather than an error, as on the Hub.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

# Same pattern as huggingface_hub.repocard.REGEX_YAML_BLOCK.
_YAML_BLOCK = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")

_ARCHITECTURE_TASKS = {
    "ForSequenceClassification": ("text-classification", "AutoModelForSequenceClassification"),
    "ForImageClassification": ("image-classification", "AutoModelForImageClassification"),
    "ForObjectDetection": ("object-detection", "AutoModelForObjectDetection"),
    "ForTokenClassification": ("token-classification", "AutoModelForTokenClassification"),
    "ForQuestionAnswering": ("question-answering", "AutoModelForQuestionAnswering"),
    "ForCausalLM": ("text-generation", "AutoModelForCausalLM"),
    "ForMaskedLM": ("fill-mask", "AutoModelForMaskedLM"),
    "ForSemanticSegmentation": ("image-segmentation", "AutoModelForSemanticSegmentation"),
    "ForConditionalGeneration": ("text2text-generation", "AutoModelForSeq2SeqLM"),
}

_DATASET_TAG_KEYS = (
    "task_categories",
    "task_ids",
    "language",
    "license",
    "size_categories",
    "multilinguality",
    "language_creators",
    "annotations_creators",
    "source_datasets",
)

_SAFETENSORS_HEADER_LIMIT = 100_000_000


@dataclass
class RepoMeta:
    """Fields the Hub derives from one commit of a repo."""

    card_data: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)
    pipeline_tag: str | None = None
    library_name: str | None = None
    config: dict[str, Any] | None = None
    transformers_info: dict[str, Any] | None = None
    safetensors: dict[str, Any] | None = None
    model_index: Any = None


def front_matter(readme: str) -> tuple[bool, Any, str | None]:
    """Parse a card's front matter: (found, value, YAML error message or None)."""
    match = _YAML_BLOCK.search(readme)
    if not match:
        return False, None, None
    try:
        return True, yaml.safe_load(match.group(2)), None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:  # a date 2020-13-45, deep nesting
        return True, None, str(exc).replace("\n", " ")


def card_data(readme: bytes | None) -> dict[str, Any] | None:
    """The mapping in a README's front matter, or None (absent, broken or not a mapping)."""
    if readme is None:
        return None
    _, value, _ = front_matter(readme.decode("utf-8", errors="replace"))
    return value if isinstance(value, dict) else None


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items if isinstance(item, str | int | float) and str(item)]


def _add(tags: list[str], *new: str) -> None:
    tags.extend(tag for tag in new if tag and tag not in tags)


def derive(
    repo_type: str,
    paths: list[str],
    read: Callable[[str, int | None], bytes | None],
) -> RepoMeta:
    """Derive the searchable fields of one commit.

    Args:
        repo_type: "model", "dataset" or "space".
        paths: every file path of the commit.
        read: `read(path, limit)` returns the first `limit` bytes (all when None) of a file.
    """
    card = card_data(read("README.md", None) if "README.md" in paths else None)
    if repo_type == "dataset":
        return _derive_dataset(card, paths)
    if repo_type == "model":
        return _derive_model(card, paths, read)
    meta = RepoMeta(card_data=card)
    sdk = card.get("sdk") if card else None
    _add(meta.tags, sdk if isinstance(sdk, str) else "")
    _add(meta.tags, *(_strings(card.get("tags")) if card else []), "region:us")
    return meta


def _derive_model(
    card: dict[str, Any] | None, paths: list[str], read: Callable[[str, int | None], bytes | None]
) -> RepoMeta:
    card = card or {}
    config = _json_mapping(read("config.json", 1_000_000)) if "config.json" in paths else None
    meta = RepoMeta(card_data=card or None, model_index=card.get("model-index"))
    library = card.get("library_name")
    meta.library_name = library if isinstance(library, str) else None
    if meta.library_name is None and "config.json" in paths:
        meta.library_name = "transformers"
    pipeline = card.get("pipeline_tag")
    meta.pipeline_tag = pipeline if isinstance(pipeline, str) else None
    if config is not None:
        meta.config = {k: config[k] for k in ("architectures", "model_type") if k in config}
        meta.transformers_info = _transformers_info(config)
        if (
            meta.pipeline_tag is None
            and meta.library_name == "transformers"
            and meta.transformers_info
        ):
            meta.pipeline_tag = meta.transformers_info.get("pipeline_tag")
    meta.safetensors = _safetensors(paths, read)

    tags = meta.tags
    _add(tags, meta.library_name or "")
    _add(tags, *(["safetensors"] if any(p.endswith(".safetensors") for p in paths) else []))
    _add(tags, *(["pytorch"] if "pytorch_model.bin" in paths else []))
    model_type = (config or {}).get("model_type")
    _add(tags, model_type if isinstance(model_type, str) else "")
    _add(tags, meta.pipeline_tag or "")
    _add(tags, *_strings(card.get("tags")))
    _add(tags, *(f"dataset:{d}" for d in _strings(card.get("datasets"))))
    _add(tags, *_strings(card.get("language")))
    for base in _strings(card.get("base_model")):
        _add(tags, f"base_model:{base}", f"base_model:finetune:{base}")
    _add(tags, *(f"license:{lic}" for lic in _strings(card.get("license"))))
    _add(tags, "region:us")
    return meta


def _derive_dataset(card: dict[str, Any] | None, paths: list[str]) -> RepoMeta:
    meta = RepoMeta(card_data=card)
    card = card or {}
    _add(meta.tags, *_strings(card.get("tags")))
    for key in _DATASET_TAG_KEYS:
        _add(meta.tags, *(f"{key}:{value}" for value in _strings(card.get(key))))
    formats = {p.rsplit(".", 1)[-1] for p in paths if "." in p}
    _add(meta.tags, *(f"format:{fmt}" for fmt in ("parquet", "csv", "json") if fmt in formats))
    _add(meta.tags, "library:datasets", "region:us")
    return meta


def _json_mapping(content: bytes | None) -> dict[str, Any] | None:
    try:
        value = json.loads(content or b"")
    except (ValueError, RecursionError):  # not JSON, or nested too deeply
        return None
    return value if isinstance(value, dict) else None


def _transformers_info(config: dict[str, Any]) -> dict[str, Any] | None:
    architectures = config.get("architectures")
    if not isinstance(architectures, list) or not architectures:
        return None
    first = str(architectures[0])
    for suffix, (pipeline, auto_model) in _ARCHITECTURE_TASKS.items():
        if first.endswith(suffix):
            return {
                "auto_model": auto_model,
                "pipeline_tag": pipeline,
                "processor": "AutoTokenizer",
            }
    return {"auto_model": "AutoModel"}


def _safetensors(
    paths: list[str], read: Callable[[str, int | None], bytes | None]
) -> dict[str, Any] | None:
    """Parameter counts per dtype from the headers of the `*.safetensors` files, like the Hub."""
    parameters: dict[str, int] = {}
    for path in (p for p in paths if p.endswith(".safetensors")):
        head = read(path, 8) or b""
        if len(head) < 8:
            continue
        (length,) = struct.unpack("<Q", head)
        if length > _SAFETENSORS_HEADER_LIMIT:
            continue
        header = _json_mapping((read(path, 8 + length) or b"")[8:])
        for name, info in (header or {}).items():
            if name == "__metadata__" or not isinstance(info, dict):
                continue
            count = 1
            for dim in info.get("shape", []):
                count *= int(dim)
            dtype = str(info.get("dtype"))
            parameters[dtype] = parameters.get(dtype, 0) + count
    if not parameters:
        return None
    return {"parameters": parameters, "total": sum(parameters.values())}
