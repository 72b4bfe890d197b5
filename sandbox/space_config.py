"""A Space's configuration: the front matter of its README.md, checked as the Hub checks it.

The rules are those of the Hub's Spaces configuration reference (`sdk`, `colorFrom`,
`python_version`, `suggested_hardware`, `custom_headers` ...), plus the 60-character limit the Hub
puts on `short_description`. A commit whose README.md breaks them is refused with a 400 whose
message lists each problem (`Invalid metadata in README.md.` then `- "sdk" is required`), as the
Hub answers a push; `/api/validate-yaml` with `repoType: space` answers the same problems.

The Hub builds and runs Spaces; the sandbox only stores them. A Space's `runtime` shows what the
Hub would see before building it: `CONFIG_ERROR` (a README that breaks the rules, seeded around
the check), `NO_APP_FILE` (the app file is missing), otherwise `STOPPED` (nothing runs it here).

Example:
    >>> space_config_problems({"sdk": "gradio", "short_description": "x" * 61})
    ['"short_description" length must be less than or equal to 60 characters long']
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from typing import Any

SDKS = ("gradio", "docker", "static", "streamlit")
COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
HARDWARE = (
    "cpu-basic",
    "cpu-upgrade",
    "t4-small",
    "t4-medium",
    "l4x1",
    "l4x4",
    "l40sx1",
    "l40sx4",
    "l40sx8",
    "a10g-small",
    "a10g-large",
    "a10g-largex2",
    "a10g-largex4",
    "a100-large",
    "a100x4",
    "a100x8",
)
STORAGE = ("small", "medium", "large")
HEADERS = ("mini", "default")
CUSTOM_HEADERS = (
    "cross-origin-embedder-policy",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
)
SHORT_DESCRIPTION_MAX = 60
OAUTH_EXPIRATION_MAX = 43200

_PYTHON_VERSION = re.compile(r"^3\.\d+(\.\d+)?$")
_DURATION = re.compile(r"^\d+(\.\d+)?\s*(s|m|h|d)$")
# Emoji are symbols (So, modifiers Sk), joined and styled by ZWJ (Cf), selectors and keycaps (M*).
_EMOJI_CATEGORIES = {"So", "Sk", "Mn", "Me", "Cf"}
_APP_FILES = {"gradio": "app.py", "streamlit": "app.py", "static": "index.html"}


def _one_of(key: str, allowed: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value in allowed:
            return None
        return f'"{key}" must be one of [{", ".join(allowed)}]'

    return check


def _of_type(key: str, kind: type, name: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return None
        return f'"{key}" must be a {name}'

    return check


def _strings(key: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        items = value if isinstance(value, list) else [value]
        if all(isinstance(item, str) for item in items):
            return None
        return f'"{key}" must be a string or an array of strings'

    return check


def _emoji(value: Any) -> str | None:
    if not isinstance(value, str):
        return '"emoji" must be a string'
    categories = [unicodedata.category(char) for char in value]
    if "So" in categories and all(c in _EMOJI_CATEGORIES for c in categories):
        return None
    return f'"emoji" must be an emoji, got "{value}"'


def _short_description(value: Any) -> str | None:
    if not isinstance(value, str):
        return '"short_description" must be a string'
    if len(value) > SHORT_DESCRIPTION_MAX:
        return (
            f'"short_description" length must be less than or equal to {SHORT_DESCRIPTION_MAX} '
            "characters long"
        )
    return None


def _python_version(value: Any) -> str | None:
    if isinstance(value, str) and _PYTHON_VERSION.match(value):
        return None
    return (
        f'"python_version" with value "{value}" fails to match the required pattern: '
        f"/{_PYTHON_VERSION.pattern}/ (quote it: 3.10 written bare is the number 3.1)"
    )


def _base_path(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("/"):
        return None
    return '"base_path" must start with "/"'


def _expiration(value: Any) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return '"hf_oauth_expiration_minutes" must be a number'
    if not 0 < value <= OAUTH_EXPIRATION_MAX:
        return f'"hf_oauth_expiration_minutes" must be less than or equal to {OAUTH_EXPIRATION_MAX}'
    return None


def _duration(value: Any) -> str | None:
    if isinstance(value, str) and _DURATION.match(value.strip()):
        return None
    return f'"startup_duration_timeout" must be a duration such as "30m" or "1h", got "{value}"'


def _custom_headers(value: Any) -> str | None:
    if not isinstance(value, dict):
        return '"custom_headers" must be of type object'
    for name, header in value.items():
        if name not in CUSTOM_HEADERS:
            return f'"custom_headers.{name}" is not allowed'
        if not isinstance(header, str) or header != header.lower():
            return f'"custom_headers.{name}" must be a lowercase string'
    return None


_RULES: dict[str, Callable[[Any], str | None]] = {
    "title": _of_type("title", str, "string"),
    "emoji": _emoji,
    "colorFrom": _one_of("colorFrom", COLORS),
    "colorTo": _one_of("colorTo", COLORS),
    "sdk": _one_of("sdk", SDKS),
    "python_version": _python_version,
    "sdk_version": _of_type("sdk_version", str, "string"),
    "suggested_hardware": _one_of("suggested_hardware", HARDWARE),
    "suggested_storage": _one_of("suggested_storage", STORAGE),
    "app_file": _of_type("app_file", str, "string"),
    "app_build_command": _of_type("app_build_command", str, "string"),
    "app_port": _of_type("app_port", int, "number"),
    "base_path": _base_path,
    "fullWidth": _of_type("fullWidth", bool, "boolean"),
    "header": _one_of("header", HEADERS),
    "short_description": _short_description,
    "models": _strings("models"),
    "datasets": _strings("datasets"),
    "tags": _strings("tags"),
    "thumbnail": _of_type("thumbnail", str, "string"),
    "pinned": _of_type("pinned", bool, "boolean"),
    "hf_oauth": _of_type("hf_oauth", bool, "boolean"),
    "hf_oauth_scopes": _strings("hf_oauth_scopes"),
    "hf_oauth_expiration_minutes": _expiration,
    "hf_oauth_authorized_org": _strings("hf_oauth_authorized_org"),
    "disable_embedding": _of_type("disable_embedding", bool, "boolean"),
    "startup_duration_timeout": _duration,
    "custom_headers": _custom_headers,
    "preload_from_hub": _strings("preload_from_hub"),
}


def space_config_problems(config: dict[str, Any]) -> list[str]:
    """The problems of a Space README's front matter (a mapping), in the Hub's wording."""
    problems = [] if "sdk" in config else ['"sdk" is required']
    for key, check in _RULES.items():
        if key in config and (problem := check(config[key])) is not None:
            problems.append(problem)
    return problems


def rejection(problems: list[str]) -> str:
    """The message of a refused commit: one line per problem."""
    return "Invalid metadata in README.md.\n" + "\n".join(f"- {p}" for p in problems)


def app_file(config: dict[str, Any]) -> str:
    """The file the Hub starts: `app_file`, else the SDK's default (`Dockerfile` for docker)."""
    if config.get("sdk") == "docker":
        return "Dockerfile"
    named = config.get("app_file")
    return named if isinstance(named, str) else _APP_FILES.get(str(config.get("sdk")), "app.py")


def runtime(config: dict[str, Any] | None, paths: list[str]) -> dict[str, Any]:
    """The `runtime` of a Space's info: its stage as the Hub would see it before building."""
    if config is None or space_config_problems(config):
        stage = "CONFIG_ERROR"
    elif app_file(config) not in paths:
        stage = "NO_APP_FILE"
    else:
        stage = "STOPPED"
    return {
        "stage": stage,
        "hardware": {"current": None, "requested": "cpu-basic"},
        "storage": None,
        "gcTimeout": 172800,
        "replicas": {"current": 0, "requested": 1},
        "devMode": False,
    }


def initial_readme(name: str, sdk: str) -> bytes:
    """The README.md of a new Space: the configuration the Hub writes when it creates one."""
    lines = [
        "---",
        f"title: {json.dumps(name)}",
        "emoji: 🚀",
        "colorFrom: blue",
        "colorTo: gray",
        f"sdk: {sdk}",
        *([f"app_file: {_APP_FILES[sdk]}"] if sdk in _APP_FILES and sdk != "static" else []),
        "pinned: false",
        "---",
        "",
        "Check out the configuration reference at "
        "https://huggingface.co/docs/hub/spaces-config-reference",
        "",
    ]
    return "\n".join(lines).encode()
