"""A card's YAML front matter, found and read exactly as `propose_card` reads it."""

from __future__ import annotations

import re
from typing import Any

import yaml
from huggingface_hub.repocard import REGEX_YAML_BLOCK

from .errors import CardError, Refusal

_OPENING = re.compile(r"\s*---[ \t]*(?:\r\n|\r|\n)")


class _DuplicateKeyError(yaml.constructor.ConstructorError):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and reads only true/false as booleans (YAML 1.2).

    PyYAML follows YAML 1.1, where ``language: no`` (Norwegian) reads as ``False`` and would be
    re-dumped as ``false``; read as YAML 1.2 it stays the string "no" (dumped quoted). Duplicate
    keys would silently lose all but the last value on re-dump.
    """

    yaml_implicit_resolvers = {  # noqa: RUF012 (PyYAML's own per-class registry)
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        keys = [
            self.construct_object(key, deep=True)
            for key, _ in node.value
            if key.tag != "tag:yaml.org,2002:merge"
        ]
        if len({repr(key) for key in keys}) != len(keys):
            raise _DuplicateKeyError(None, None, "duplicate key", node.start_mark)
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def split_front_matter(text: str, *, repo_id: str) -> tuple[dict[str, Any], str]:
    """(front matter, body), finding the front matter exactly as the Hub does.

    The front matter is read as YAML 1.2 (see `_Loader`); a card without one reads ``{}``.

    Raises:
        CardError: When the front matter is not closed, not valid YAML, holds duplicate or
            non-string keys, or is not a mapping.

    Example:
        >>> split_front_matter("---\\nlicense: mit\\n---\\n# M\\n", repo_id="org/m")
        ({'license': 'mit'}, '# M\\n')
    """
    match = REGEX_YAML_BLOCK.search(text)
    if match is None:
        if _OPENING.match(text):
            raise CardError(Refusal.UNCLOSED_FRONT_MATTER, repo_id=repo_id)
        return {}, text
    try:
        front = yaml.load(match.group(2), Loader=_Loader)
    except _DuplicateKeyError as error:
        raise CardError(Refusal.DUPLICATE_KEYS, repo_id=repo_id, detail=str(error)) from error
    except (yaml.YAMLError, ValueError) as error:  # ValueError: a date such as 2020-13-45
        detail = " ".join(str(error).split())
        raise CardError(Refusal.INVALID_YAML, repo_id=repo_id, detail=detail) from error
    except RecursionError as error:  # PyYAML parses nested collections recursively
        detail = "nested too deeply to parse; flatten the nested lists or mappings"
        raise CardError(Refusal.INVALID_YAML, repo_id=repo_id, detail=detail) from error
    if front is None:
        front = {}
    if not isinstance(front, dict):
        raise CardError(Refusal.NOT_A_MAPPING, repo_id=repo_id, detail=type(front).__name__)
    if not all(isinstance(key, str) for key in front):
        raise CardError(Refusal.NON_STRING_KEYS, repo_id=repo_id)
    return front, text[match.end() :]
