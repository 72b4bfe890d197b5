"""Malformed model cards: seeded mutations of the 40 real cards in shared/cards, plus synthetic ones.

Every case is a README.md as bytes (as it comes from the Hub). `generate()` is deterministic.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cardgen.section import END, START

CARDS = Path(__file__).resolve().parents[2].parent / "shared" / "cards"
SEED = 20261125
MUTATIONS_PER_CARD = 5


@dataclass(frozen=True)
class CardCase:
    id: str
    data: bytes


def real_cards() -> list[tuple[str, str]]:
    """(file name, text) of the real cards, CRLF kept."""
    out = []
    for path in sorted(CARDS.glob("*.md")):
        if path.name != "SOURCES.md":
            with path.open(encoding="utf-8", newline="") as handle:
                out.append((path.stem, handle.read()))
    return out


def _front_end(text: str) -> int:
    """Index just after the closing front-matter line, or 0 when there is none."""
    match = re.match(r"\s*---[^\n]*\n.*?\n---[ \t]*(\r?\n|$)", text, re.DOTALL)
    return match.end() if match else 0


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


# --- mutations of an existing card: (text, rng) -> text ------------------------------------


def truncate_front(text: str, rng: random.Random) -> str:
    end = _front_end(text) or len(text)
    return text[: rng.randrange(1, max(2, end - 4))]


def truncate_anywhere(text: str, rng: random.Random) -> str:
    return text[: rng.randrange(0, max(1, len(text)))]


def tab_indent(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    end = max(2, min(len(lines) - 1, text[: _front_end(text)].count("\n")))
    i = rng.randrange(1, end) if end > 1 else 0
    lines[i] = "\t" + lines[i]
    return "".join(lines)


def tab_after_value(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    end = max(2, text[: _front_end(text)].count("\n"))
    i = rng.randrange(1, min(end, len(lines)))
    lines[i] = lines[i].rstrip("\r\n") + "\t\n"
    return "".join(lines)


def crlf_mix(text: str, rng: random.Random) -> str:
    return "".join(
        line.replace("\r\n", "\n").replace("\n", "\r\n") if rng.random() < 0.5 else line
        for line in _lines(text)
    )


def lone_cr(text: str, rng: random.Random) -> str:
    lines = _lines(text)
    i = rng.randrange(len(lines)) if lines else 0
    if lines:
        lines[i] = lines[i].rstrip("\r\n") + "\r"
    return "".join(lines)


def bom(text: str, rng: random.Random) -> str:
    return "\ufeff" + text


def double_bom(text: str, rng: random.Random) -> str:
    return "\ufeff\ufeff" + text


def duplicate_key(text: str, rng: random.Random) -> str:
    end = _front_end(text)
    lines = _lines(text[:end])
    top = [i for i, line in enumerate(lines) if re.match(r"^[A-Za-z_][\w-]*:", line)]
    if not top:
        return "---\nlicense: mit\nlicense: apache-2.0\n---\n" + text
    i = rng.choice(top)
    key = lines[i].split(":", 1)[0]
    lines.insert(len(lines) - 1, f"{key}: duplicated\n")
    return "".join(lines) + text[end:]


def _set_front(text: str, front: str) -> str:
    end = _front_end(text)
    return f"---\n{front}---\n{text[end:] if end else text}"


MODEL_INDEXES = [
    "model-index: [a, b, c]\n",
    "model-index: just a string\n",
    "model-index: 42\n",
    "model-index:\n- name: m\n  results: not a list\n",
    "model-index:\n- name: m\n  results: {task: x}\n",
    "model-index:\n- name: m\n  results:\n  - just a string\n",
    "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {type: emotion, name: Emotion}\n    metrics:\n    - {type: accuracy, value: .nan}\n",
    "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {type: emotion, name: Emotion}\n    metrics:\n    - {type: accuracy, value: .inf}\n",
    "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {type: emotion, name: Emotion}\n    metrics:\n    - {type: accuracy, value: -.inf}\n",
    "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {type: emotion, name: Emotion}\n    metrics:\n    - {type: accuracy, value: null}\n",
    "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {type: emotion, name: Emotion}\n    metrics:\n    - {type: accuracy, value: 'ninety'}\n",
    "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {type: dair-ai/emotion, name: Emotion, split: test}\n    metrics:\n"
    "    - {type: accuracy, value: 93%}\n    - {type: f1, value: 250, args: {average: macro}}\n",
    "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {name: Emotion}\n    metrics:\n    - {value: 0.9}\n",
    "model-index:\n- name: m\n  results:\n  - task: {}\n    dataset: {}\n    metrics: []\n",
    "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {type: emotion, name: Emotion}\n    metrics: {type: accuracy, value: 1}\n",
    "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {type: emotion, name: Emotion}\n    metrics:\n    - [accuracy, 0.9]\n",
    "model-index:\n- name: m\n  results:\n  - task: [text-classification]\n"
    "    dataset: {type: emotion, name: Emotion}\n    metrics:\n    - {type: accuracy, value: 0.9}\n",
    "model-index:\n- name: 5\n  results: []\n",
    "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {type: [a], name: {x: 1}}\n    metrics:\n    - {type: {a: b}, value: [1, 2]}\n",
    "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {type: emotion, name: Emotion}\n    metrics:\n"
    "    - {type: accuracy, value: 0.9, verified: yes, verifyToken: 12}\n",
    "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {type: emotion, name: Emotion}\n    source: evalbot\n    metrics:\n"
    "    - {type: accuracy, value: 0.9}\n",
    "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {type: dair-ai/emotion, name: Emotion}\n    source: {name: evalbot, url: x}\n"
    "    metrics:\n    - {type: accuracy, value: 0.1, verifyToken: not.a.jwt}\n",
    "model-index:\n- name: a\n  results: []\n- name: b\n  results: []\n",
    "model-index:\n- null\n",
    "model-index: {}\n",
    "model-index:\n- {}\n",
]


def wrong_model_index(text: str, rng: random.Random) -> str:
    end = _front_end(text)
    front = text[:end]
    inner = re.sub(r"^\s*---[^\n]*\n", "", front)
    inner = re.sub(r"\n---[ \t]*(\r?\n)?$", "\n", inner)
    inner = re.sub(r"(?ms)^model[-_]index:.*?(?=^\S|\Z)", "", inner)
    return _set_front(text, inner + rng.choice(MODEL_INDEXES))


def marker_trouble(text: str, rng: random.Random) -> str:
    variants = [
        f"\n{START}\n",
        f"\n{END}\n",
        f"\n{END}\nx\n{START}\n",
        f"\n{START}\nold\n{END}\n{START}\nold\n{END}\n",
        f"\n{START}\n{START}\n{END}\n",
        f"\n{START}\nold results, never closed\n",
        f"\n{START} {END}\n",
        f"\n<!-- evalbot:results:start\n{END}\n",
    ]
    return text + rng.choice(variants)


def marker_in_front(text: str, rng: random.Random) -> str:
    return _set_front(text, f"note: '{START}'\n") + f"\n{END}\n"


def huge_value(text: str, rng: random.Random) -> str:
    size = rng.choice([10_000, 100_000, 300_000])
    return _set_front(text, f"blob: {'x' * size}\n")


def many_keys(text: str, rng: random.Random) -> str:
    return _set_front(text, "".join(f"key{i}: {i}\n" for i in range(rng.choice([200, 1500]))))


def control_chars(text: str, rng: random.Random) -> str:
    end = _front_end(text) or 10
    i = rng.randrange(0, max(1, end))
    return text[:i] + rng.choice(["\x00", "\x07", "\x1b", "\ufffe", "\x85"]) + text[i:]


def body_binary(text: str, rng: random.Random) -> str:
    return text + "".join(chr(rng.randrange(0, 0x2FF)) for _ in range(200))


def only_front(text: str, rng: random.Random) -> str:
    return text[: _front_end(text)].rstrip("\r\n")


def python_tag(text: str, rng: random.Random) -> str:
    tag = rng.choice(
        [
            "!!python/object/apply:os.system ['echo pwned']",
            "!!python/name:os.system",
            "!!python/object:__main__.X {}",
            "!!binary aGVsbG8=",
            "!custom thing",
            "!!set {a, b}",
            "!!timestamp 2001-12-14",
            "!!omap [a: 1, b: 2]",
        ]
    )
    return _set_front(text, f"license: mit\nevil: {tag}\n")


def deep_nesting(text: str, rng: random.Random) -> str:
    depth = rng.choice([100, 1200])
    kind = rng.choice(["flow", "mapping"])
    value = "[" * depth + "]" * depth if kind == "flow" else "{a: " * depth + "1" + "}" * depth
    return _set_front(text, f"deep: {value}\n")


def aliases_bomb(text: str, rng: random.Random) -> str:
    levels = rng.choice([9, 12, 20])
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return _set_front(text, "\n".join(lines) + "\n")


def merge_keys(text: str, rng: random.Random) -> str:
    return _set_front(text, "base: &b {license: mit}\nother:\n  <<: *b\n  <<: *b\n")


def non_string_keys(text: str, rng: random.Random) -> str:
    key = rng.choice(["1", "~", "[a, b]", "{a: 1}", "3.5", "true", "2020-01-01"])
    return _set_front(text, f"? {key}\n: value\nlicense: mit\n")


def reserved_keys(text: str, rng: random.Random) -> str:
    key = rng.choice(
        [
            "eval_results: nonsense",
            "eval_results: [1, 2]",
            "model_name: {a: b}",
            "ignore_metadata_errors: true",
            "self: me",
            "kwargs: 1",
            "tags: {a: b}",
            "tags: 5",
            "datasets: {a: 1}",
            "base_model: 12",
            "language: [[en]]",
            "license: {name: mit}",
            "tags: [no-evalbot]",
            "tags: NO-EVALBOT",
        ]
    )
    return _set_front(text, f"{key}\n")


def second_front(text: str, rng: random.Random) -> str:
    return "---\n---\n" + text


def unclosed(text: str, rng: random.Random) -> str:
    end = _front_end(text)
    if not end:
        return "---\nlicense: mit\n" + text
    return re.sub(r"\n---[ \t]*(\r?\n|$)", "\n", text[:end], count=1) + text[end:]


def opening_spaces(text: str, rng: random.Random) -> str:
    return rng.choice(["\n", "  ", "\r\n\r\n", " \t"]) + text


def trailing_garbage_delimiter(text: str, rng: random.Random) -> str:
    end = _front_end(text)
    if not end:
        return "--- \nlicense: mit\n---- \n" + text
    return (
        text[: end - 1].rstrip("\r\n") + rng.choice(["---- \n", "---x\n", "--- #\n"]) + text[end:]
    )


MUTATIONS: list[Callable[[str, random.Random], str]] = [
    truncate_front,
    truncate_anywhere,
    tab_indent,
    tab_after_value,
    crlf_mix,
    lone_cr,
    bom,
    double_bom,
    duplicate_key,
    wrong_model_index,
    marker_trouble,
    marker_in_front,
    huge_value,
    many_keys,
    control_chars,
    body_binary,
    only_front,
    python_tag,
    deep_nesting,
    aliases_bomb,
    merge_keys,
    non_string_keys,
    reserved_keys,
    second_front,
    unclosed,
    opening_spaces,
    trailing_garbage_delimiter,
]

# --- whole synthetic cards (bytes) -------------------------------------------------------

SYNTHETIC: dict[str, bytes] = {
    "empty": b"",
    "only-dashes": b"---",
    "only-dashes-newline": b"---\n",
    "two-dashes-lines": b"---\n---\n",
    "three-dashes-lines": b"---\n---\n---\n",
    "whitespace": b"   \n\t\n",
    "bom-only": b"\xef\xbb\xbf",
    "bom-dashes": b"\xef\xbb\xbf---\n---\n",
    "nul-bytes": b"\x00" * 64,
    "latin1": "---\nlicense: mit\n---\n# Mod\xe8le fran\xe7ais\n".encode("latin-1"),
    "latin1-front": "---\nlanguage: fran\xe7ais\n---\n# x\n".encode("latin-1"),
    "utf16": "---\nlicense: mit\n---\n# utf-16 card\n".encode("utf-16"),
    "invalid-continuation": b"---\nlicense: mit\n---\n\xc3\x28 broken\n",
    "overlong": b"---\nlicense: \xc0\xaf\n---\n",
    "surrogate-bytes": b"---\nname: \xed\xa0\x80\n---\n",
    "truncated-multibyte": "---\nlanguage: \u65e5\u672c\n---\n# \u65e5".encode()[:-1],
    "cp1252-quotes": b"---\nlicense: mit\n---\n\x93quoted\x94\n",
    "yaml-list": b"---\n- a\n- b\n---\n",
    "yaml-scalar": b"---\njust text\n---\n",
    "yaml-int": b"---\n42\n---\n",
    "yaml-null": b"---\nnull\n---\nbody\n",
    "yaml-empty-doc": b"---\n\n---\nbody\n",
    "yaml-two-docs": b"---\na: 1\n---\nb: 2\n---\n",
    "yaml-doc-end-marker": b"---\na: 1\n...\n---\n",
    "yaml-directive": b"---\n%YAML 1.2\n---\na: 1\n---\n",
    "flow-mapping": b"---\n{license: mit, tags: [a, b]}\n---\n",
    "json-front": b'---\n{"license": "mit", "tags": ["a"]}\n---\n',
    "unterminated-quote": b"---\nlicense: 'mit\n---\n",
    "unterminated-flow": b"---\ntags: [a, b\n---\n",
    "bad-indent": b"---\nlicense: mit\n  tags: x\n---\n",
    "colon-in-key": b"---\na:b:c: d\n---\n",
    "anchor-undefined": b"---\na: *nope\n---\n",
    "anchor-recursive": b"---\na: &x [*x]\n---\n",
    "anchor-recursive-map": b"---\na: &x {b: *x}\n---\n",
    "tab-only-front": b"---\n\t\n---\n",
    "crlf-only": b"---\r\n---\r\n",
    "cr-only": b"---\rlicense: mit\r---\rbody\r",
    "markers-only": f"{START}\n{END}\n".encode(),
    "markers-reversed": f"{END}\n{START}\n".encode(),
    "marker-start-only": f"---\nlicense: mit\n---\n{START}\n".encode(),
    "marker-end-only": f"---\nlicense: mit\n---\n{END}\n".encode(),
    "markers-twice": f"{START}\n{END}\n{START}\n{END}\n".encode(),
    "no-front-body-only": b"# Just a title\n\nSome text.\n",
    "no-newline-after-close": b"---\nlicense: mit\n---",
    "huge-body": b"---\nlicense: mit\n---\n" + b"word " * 100_000,
    "huge-front-list": b"---\ntags:\n" + b"- t\n" * 20_000 + b"---\n",
    "long-line": b"---\nlicense: " + b"m" * 500_000 + b"\n---\n",
    "number-keys-only": b"---\n1: a\n2: b\n---\n",
    "null-key": b"---\n~: a\n---\n",
    "empty-key": b'---\n"": a\n---\n',
    "dup-keys": b"---\nlicense: mit\nlicense: mit\n---\n",
    "dup-nested-keys": b"---\nwidget:\n  text: a\n  text: b\n---\n",
    "dup-keys-in-model-index": b"---\nmodel-index:\n- name: m\n  name: n\n  results: []\n---\n",
    "impossible-date": b"---\ndate: 2020-13-45\n---\n",
    "tags-int": b"---\ntags: 5\n---\n",
    "eval-results-key": b"---\neval_results: [a, b]\n---\n",
    "self-key": b"---\nself: me\n---\n",
    "opted-out": b"---\ntags: [No-Evalbot]\n---\n",
    "two-models": b"---\nmodel-index:\n- name: a\n  results: []\n- name: b\n  results: []\n---\n",
    "python-object": b"---\na: !!python/object/apply:os.system ['true']\n---\n",
    "billion-laughs": (
        b"---\n"
        + b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + b"".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n".encode()
            for i in range(10)
        )
        + b"---\n"
    ),
    "deep-flow": b"---\na: " + b"[" * 2_000 + b"]" * 2_000 + b"\n---\n",
    "deep-block": b"---\n" + b"".join(b"  " * i + b"k:\n" for i in range(3000)) + b"---\n",
    "model-index-string": b"---\nmodel-index: yes\n---\n",
    "model-index-nested-lists": b"---\nmodel-index: [[[]]]\n---\n",
    "results-null-entries": b"---\nmodel-index:\n- name: m\n  results: [null, null]\n---\n",
    "metrics-null": (
        b"---\nmodel-index:\n- name: m\n  results:\n  - task: {type: t}\n"
        b"    dataset: {type: d, name: n}\n    metrics: null\n---\n"
    ),
    "metric-value-nan-string": (
        b"---\nmodel-index:\n- name: m\n  results:\n  - task: {type: t}\n"
        b"    dataset: {type: dair-ai/emotion, name: n, split: test}\n"
        b"    metrics:\n    - {type: accuracy, value: NaN}\n    - {type: f1, value: Infinity}\n---\n"
    ),
    "metric-value-huge": (
        b"---\nmodel-index:\n- name: m\n  results:\n  - task: {type: t}\n"
        b"    dataset: {type: dair-ai/emotion, name: n, split: test}\n"
        b"    metrics:\n    - {type: accuracy, value: 1e400}\n    - {type: f1, value: -1e400}\n---\n"
    ),
    "metric-value-bool": (
        b"---\nmodel-index:\n- name: m\n  results:\n  - task: {type: t}\n"
        b"    dataset: {type: dair-ai/emotion, name: n, split: test}\n"
        b"    metrics:\n    - {type: accuracy, value: true}\n---\n"
    ),
    "metric-value-date": (
        b"---\nmodel-index:\n- name: m\n  results:\n  - task: {type: t}\n"
        b"    dataset: {type: dair-ai/emotion, name: n, split: test}\n"
        b"    metrics:\n    - {type: accuracy, value: 2020-01-01}\n---\n"
    ),
    "dataset-split-int": (
        b"---\nmodel-index:\n- name: m\n  results:\n  - task: {type: t}\n"
        b"    dataset: {type: dair-ai/emotion, name: n, split: 5, config: [a]}\n"
        b"    metrics:\n    - {type: accuracy, value: 0.5, args: 7, name: [x]}\n---\n"
    ),
}


def generate() -> list[CardCase]:
    """Mutations of every real card, then the synthetic cards."""
    rng = random.Random(SEED)
    cases = []
    for name, text in real_cards():
        for mutation in rng.sample(MUTATIONS, MUTATIONS_PER_CARD):
            mutated = mutation(text, rng)
            cases.append(CardCase(f"{name}:{mutation.__name__}", mutated.encode("utf-8")))
    # every mutation also on a minimal synthetic card, so none depends on the sample above
    base = "---\nlicense: mit\ndatasets:\n- dair-ai/emotion\n---\n# A model\n\nText.\n"
    for mutation in MUTATIONS:
        cases.append(CardCase(f"synthetic:{mutation.__name__}", mutation(base, rng).encode()))
    cases.extend(CardCase(f"bytes:{name}", data) for name, data in SYNTHETIC.items())
    return cases
