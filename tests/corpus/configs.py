"""Malformed config folders: mutations of the shipped emotion module, its template and bot.yaml.

Each case is a config folder (relative path -> bytes) and what the error must name: the file and,
where there is one, the key. `generate()` is deterministic.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
MODULE = "tasks/text-classification/emotion.yaml"
TEMPLATE = "tasks/_templates/text_classification.yaml"
BOT = "bot.yaml"
IMAGE_FILES = ("image-classification/mnist.yaml", "_templates/image_classification.yaml")


@dataclass(frozen=True)
class ConfigCase:
    id: str
    files: dict[str, bytes]
    names_file: str  # the file the error must name
    names: str  # a part of the message: the key or the problem


def _yaml(data: Any) -> bytes:
    return yaml.safe_dump(data, sort_keys=False).encode()


def base_files() -> dict[str, bytes]:
    """A valid config folder: bot.yaml, the emotion module (using the template) and the template."""
    module = yaml.safe_load((ROOT / "config" / MODULE).read_text())
    for key in ("perturbations", "batch_size", "max_length"):
        module.pop(key)
    module = {"include": "../_templates/text_classification.yaml", **module}
    return {
        BOT: (ROOT / "config" / BOT).read_bytes(),
        MODULE: _yaml(module),
        TEMPLATE: (ROOT / "config" / TEMPLATE).read_bytes(),
    }


def _module() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(base_files()[MODULE])
    return data


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        node = node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return data


_DELETE = object()

# (dotted key, bad value, what the message names)
MODULE_VALUES: list[tuple[str, Any, str]] = [
    ("datasets", ["x"], "unknown key 'datasets'"),
    ("perturbation", ["lowercase"], "unknown key 'perturbation'"),
    ("batchsize", 8, "unknown key 'batchsize'"),
    ("labels", ["a", "b"], "unknown key 'labels'"),
    ("dataset.colums", {"input": "text"}, "unknown key 'dataset.colums'"),
    ("dataset.columns.text", "text", "unknown key 'dataset.columns.text'"),
    ("dataset.reference.doi", "10.1/x", "unknown key 'dataset.reference.doi'"),
    ("id", 5, "id"),
    ("id", ["emotion"], "id"),
    ("id", "Emotion", "id"),
    ("id", "", "id"),
    ("id", None, "id"),
    ("task", "text-generation", "task"),
    ("task", 5, "task"),
    ("task", "Text-Classification", "task"),
    ("version", "one", "version"),
    ("version", 0, "version"),
    ("version", -3, "version"),
    ("version", 1.5, "version"),
    ("version", [1], "version"),
    ("dataset", "dair-ai/emotion", "dataset"),
    ("dataset", [], "dataset"),
    ("dataset", None, "dataset"),
    ("dataset.repo", 5, "dataset.repo"),
    ("dataset.repo", "not a repo!", "dataset.repo"),
    ("dataset.repo", "a/b/c", "dataset.repo"),
    ("dataset.repo", _DELETE, "dataset.repo"),
    ("dataset.name", _DELETE, "dataset.name"),
    ("dataset.split", ["test"], "dataset.split"),
    ("dataset.revision", 1234, "dataset.revision"),
    ("dataset.columns", "text", "dataset.columns"),
    ("dataset.columns.label", _DELETE, "dataset.columns.label"),
    ("dataset.labels", "sadness joy", "dataset.labels"),
    ("dataset.labels", [], "dataset.labels"),
    ("dataset.labels", ["only"], "dataset.labels"),
    ("dataset.labels", ["joy", "joy"], "labels must be unique"),
    ("dataset.labels", ["Joy", "joy"], "labels must be unique"),
    ("dataset.labels", [1, 2], "dataset.labels"),
    ("dataset.labels", ["a", None], "dataset.labels"),
    ("dataset.labels", [["a"], ["b"]], "dataset.labels"),
    ("dataset.labels", {"a": 1, "b": 2}, "dataset.labels"),
    ("dataset.reference", "a paper", "dataset.reference"),
    ("dataset.reference.year", 1800, "dataset.reference.year"),
    ("dataset.reference.year", "2018ish", "dataset.reference.year"),
    ("dataset.reference.arxiv", "not-an-id", "dataset.reference.arxiv"),
    ("dataset.reference.title", _DELETE, "dataset.reference.title"),
    ("trained_on", [], "trained_on"),
    ("trained_on", "dair-ai/emotion", "trained_on"),
    ("trained_on", [None], "trained_on"),
    ("trained_on", _DELETE, "trained_on"),
    ("also_evaluate_on", ["imdbb"], "unknown module 'imdbb'"),
    ("also_evaluate_on", "imdb", "also_evaluate_on"),
    ("label_aliases", {"happy": ["joy"]}, "label_aliases names labels not in dataset.labels"),
    ("label_aliases", {"joy": "happy"}, "label_aliases.joy"),
    ("label_aliases", ["joy"], "label_aliases"),
    ("label_aliases", {"joy": [1]}, "label_aliases.joy.0"),
    ("perturbations", ["greyscal"], "greyscal"),
    ("perturbations", ["greyscale"], "greyscale"),
    ("perturbations", ["lowercase", "lowercase"], "duplicate variants"),
    ("perturbations", [{"name": "typos", "rate": 5}], "perturbations"),
    ("perturbations", [{"name": "typos", "rate": "abc"}], "perturbations"),
    ("perturbations", [{"name": "typos", "rate": None}], "perturbations"),
    ("perturbations", [{"name": "typos", "rate": [1]}], "perturbations"),
    ("perturbations", [{"name": "typos", "rat": 0.1}], "perturbations"),
    ("perturbations", [{}], "perturbations"),
    ("perturbations", [{"name": 5}], "perturbations"),
    ("perturbations", [{"name": ["typos"]}], "perturbations"),
    ("perturbations", [5], "perturbations"),
    ("perturbations", [None], "perturbations"),
    ("perturbations", "lowercase", "perturbations"),
    ("perturbations", ["typos(rate=)"], "perturbations"),
    ("perturbations", ["typos(rate=x)"], "perturbations"),
    ("perturbations", ["typos(rate=0.1"], "perturbations"),
    ("perturbations", ["gaussian_noise(severity=9)"], "perturbations"),
    ("perturbations", [{"name": "word_dropout", "rate": -1}], "perturbations"),
    ("perturbations", [{"name": "word_dropout", "rate": float("nan")}], "perturbations"),
    ("perturbations", [{"name": "word_dropout", "rate": float("inf")}], "perturbations"),
    ("perturbations", [{"name": "typos", "rate": True}], "perturbations"),
    ("processors", ["bootstrapp", "classification"], "unknown processor 'bootstrapp'"),
    ("processors", ["misclassifications"], "must include 'classification'"),
    ("processors", "classification", "processors"),
    ("processors", [], "must include 'classification'"),
    ("batch_size", -1, "batch_size"),
    ("batch_size", 0, "batch_size"),
    ("batch_size", 10**6, "batch_size"),
    ("batch_size", "32x", "batch_size"),
    ("batch_size", 1.5, "batch_size"),
    ("batch_size", None, "batch_size"),
    ("max_length", 4, "max_length"),
    ("max_length", -128, "max_length"),
    ("limit", 0, "limit"),
    ("limit", -5, "limit"),
    ("limit", "all", "limit"),
]

BAD_YAML: dict[str, bytes] = {
    "empty": b"",
    "comment-only": b"# nothing here\n",
    "null": b"null\n",
    "list": b"- id: emotion\n",
    "scalar": b"emotion\n",
    "int": b"42\n",
    "tab-indent": b"id: emotion\n\ttask: text-classification\n",
    "unterminated-quote": b"id: 'emotion\n",
    "unterminated-flow": b"id: emotion\nlabels: [a, b\n",
    "bad-indent": b"id: emotion\n  task: x\n",
    "invalid-utf8": b"id: \xff\xfeemotion\n",
    "latin1": "id: émotion\n".encode("latin-1"),
    "utf16": "id: emotion\n".encode("utf-16"),
    "nul-bytes": b"\x00\x00\x00",
    "binary-junk": bytes(range(256)),
    "python-tag": b"id: !!python/object/apply:os.system ['true']\n",
    "custom-tag": b"id: !secret emotion\n",
    "undefined-alias": b"id: *nope\n",
    "deep-flow": b"id: " + b"[" * 3000 + b"]" * 3000 + b"\n",
    "deep-block": b"".join(b"  " * i + b"k:\n" for i in range(2000)),
    "two-documents": b"id: emotion\n---\nid: other\n",
    "billion-laughs": (
        b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + b"".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n".encode()
            for i in range(10)
        )
        + b"id: emotion\n"
    ),
    "labels-bomb": (
        b"x: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + b"".join(
            f"x{i}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n".encode()
            for i in range(8)
        )
        + b"dataset: {labels: *i}\n"
    ),
    "non-string-keys": b"1: a\n~: b\n",
    "impossible-date": b"id: emotion\nversion: 2020-13-45\n",
    "huge": b"id: emotion\ndescription: " + b"x" * 2_000_000 + b"\n",
}


def _module_cases() -> list[ConfigCase]:
    cases = []
    for i, (key, value, names) in enumerate(MODULE_VALUES):
        files = {**base_files(), MODULE: _yaml(_set(_module(), key, value))}
        cases.append(ConfigCase(f"module:{i:02d}:{key}", files, MODULE, names))
    for name, data in BAD_YAML.items():
        cases.append(ConfigCase(f"module-file:{name}", {**base_files(), MODULE: data}, MODULE, ""))
    return cases


def _include(value: Any, extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    return {**base_files(), MODULE: _yaml({**_module(), "include": value}), **(extra or {})}


def _include_cases() -> list[ConfigCase]:
    a, b = "tasks/_templates/a.yaml", "tasks/_templates/b.yaml"
    cycle = {a: b"include: b.yaml\n", b: b"include: a.yaml\n"}
    specs: list[tuple[str, dict[str, bytes], str, str]] = [
        ("missing", _include("../_templates/nope.yaml"), MODULE, "nope.yaml: file not found"),
        ("cycle", _include("../_templates/a.yaml", cycle), MODULE, "include cycle"),
        ("self", _include("emotion.yaml"), MODULE, "include cycle"),
        ("directory", _include("../_templates"), MODULE, "_templates"),
        ("not-a-string", _include(5), MODULE, "include"),
        ("list", _include(["../_templates/text_classification.yaml"]), MODULE, "include"),
        ("null-byte", _include("../_templates/\x00.yaml"), MODULE, "include"),
        ("absolute-missing", _include("/nonexistent/evalbot.yaml"), MODULE, "file not found"),
        ("escapes", _include("../../../../../../../../no/such.yaml"), MODULE, "file not found"),
        ("escapes-to-bot", _include("../../bot.yaml"), MODULE, "unknown key"),
        ("empty-name", _include(""), MODULE, "include"),
        (
            "template-invalid",
            _include("../_templates/bad.yaml", {"tasks/_templates/bad.yaml": b"a: [b\n"}),
            MODULE,
            "invalid YAML",
        ),
        (
            "template-list",
            _include("../_templates/bad.yaml", {"tasks/_templates/bad.yaml": b"- a\n"}),
            MODULE,
            "expected a mapping",
        ),
        (
            "template-not-utf8",
            _include("../_templates/bad.yaml", {"tasks/_templates/bad.yaml": b"a: \xff\n"}),
            MODULE,
            "UTF-8",
        ),
        (
            "template-unknown-key",
            {**base_files(), TEMPLATE: base_files()[TEMPLATE] + b"batchsize: 8\n"},
            MODULE,
            "unknown key 'batchsize'",
        ),
        (
            "template-bad-value",
            {**base_files(), TEMPLATE: base_files()[TEMPLATE] + b"max_length: -1\n"},
            MODULE,
            "max_length",
        ),
    ]
    return [ConfigCase(f"include:{name}", files, f, n) for name, files, f, n in specs]


def _folder_cases() -> list[ConfigCase]:
    other = "tasks/text-classification/other.yaml"
    image = "tasks/image-classification/emotion.yaml"
    specs: list[tuple[str, dict[str, bytes], str, str]] = [
        (
            "duplicate-id",
            {**base_files(), other: base_files()[MODULE]},
            other,
            "duplicate module id 'emotion'",
        ),
        (
            "duplicate-id-other-module",
            {**base_files(), other: _yaml(_set(_module(), "trained_on", ["x"]))},
            other,
            "duplicate module id",
        ),
        (
            "wrong-folder",
            {BOT: base_files()[BOT], TEMPLATE: base_files()[TEMPLATE], image: base_files()[MODULE]},
            image,
            "lives in folder 'image-classification'",
        ),
        (
            "also-evaluate-other-task",
            {
                **base_files(),
                MODULE: _yaml(_set(_module(), "also_evaluate_on", ["mnist"])),
                **{f"tasks/{p}": (ROOT / "config/tasks" / p).read_bytes() for p in IMAGE_FILES},
            },
            MODULE,
            "is another task",
        ),
    ]
    return [ConfigCase(f"folder:{name}", files, f, n) for name, files, f, n in specs]


BOT_VALUES: list[tuple[str, Any, str]] = [
    ("version", 2, "version"),
    ("version", "1", "version"),
    ("verison", 1, "unknown key 'verison'"),
    ("schedule", 60, "schedule"),
    ("schedule.interval_minutes", 0, "schedule.interval_minutes"),
    ("schedule.interval_minutes", -5, "schedule.interval_minutes"),
    ("schedule.interval_minutes", "hourly", "schedule.interval_minutes"),
    ("schedule.cron", "* * * * *", "unknown key 'schedule.cron'"),
    ("space_url", ["x"], "space_url"),
    ("tasks_dir", 5, "tasks_dir"),
    ("tasks_dir", "no-such-folder", "tasks_dir"),
    ("tasks_dir", "bot.yaml", "tasks_dir"),
    ("discovery.sources", ["github"], "discovery.sources"),
    ("discovery.sources", "huggingface", "discovery.sources"),
    ("discovery.limit_per_query", 0, "discovery.limit_per_query"),
    ("discovery.limit_per_query", 10**9, "discovery.limit_per_query"),
    ("pull_requests.enabled", "maybe", "pull_requests.enabled"),
    ("pull_requests.max_per_hour", -1, "pull_requests.max_per_hour"),
    ("pull_requests.deny", "org", "pull_requests.deny"),
    ("pull_requests.allow", ["org"], "unknown key 'pull_requests.allow'"),
    ("queue.lease_seconds", 0, "queue.lease_seconds"),
    ("queue.max_attempts", 0, "queue.max_attempts"),
    ("queue.retry_delay_seconds", -1, "queue.retry_delay_seconds"),
    ("queue.poll_seconds", "fast", "queue.poll_seconds"),
    ("hub.quota_share", 2, "hub.quota_share"),
    ("hub.quota_share", 0, "hub.quota_share"),
    ("hub.requests_per_5min", 0, "hub.requests_per_5min"),
    ("hub.max_retries", -1, "hub.max_retries"),
    ("hub", None, "hub"),
]


def _bot_cases() -> list[ConfigCase]:
    cases = []
    for i, (key, value, names) in enumerate(BOT_VALUES):
        files = {**base_files(), BOT: _yaml(_set(yaml.safe_load(base_files()[BOT]), key, value))}
        cases.append(ConfigCase(f"bot:{i:02d}:{key}", files, BOT, names))
    for name in ("empty-list", "scalar", "invalid-yaml", "not-utf8", "deep", "python-tag"):
        data = {
            "empty-list": b"[]\n",
            "scalar": b"bot\n",
            "invalid-yaml": b"queue: {lease_seconds: 5\n",
            "not-utf8": b"space_url: \xe9\n",
            "deep": b"hub: " + b"{a: " * 3000 + b"1" + b"}" * 3000 + b"\n",
            "python-tag": b"hub: !!python/name:os.system\n",
        }[name]
        cases.append(ConfigCase(f"bot-file:{name}", {**base_files(), BOT: data}, BOT, ""))
    missing = {k: v for k, v in base_files().items() if k != BOT}
    cases.append(ConfigCase("bot-file:missing", missing, BOT, "file not found"))
    cases.append(
        ConfigCase("bot-file:include-missing", {**base_files(), BOT: b"include: x.yaml\n"}, BOT, "")
    )
    return cases


def generate() -> list[ConfigCase]:
    return [*_module_cases(), *_include_cases(), *_folder_cases(), *_bot_cases()]
