"""Git LFS as the Hub shows it: which paths a `.gitattributes` tracks, and pointer files.

A file committed while the repo's `.gitattributes` says `filter=lfs` for its path is stored as an
LFS object: the tree then holds a small pointer file instead of the content, so its git blob id
(`blobId`, the tree's `oid`) is the pointer's, and `lfs.sha256`/`lfs.oid` is the content's
sha256 (also the download's `ETag`). Patterns follow git's rules: one without a slash matches
the file name at any depth (`*.safetensors`), one with a slash matches the whole path from the
root, where `**/` spans folders (`saved_model/**/*`); the last line that sets or unsets
`filter` for a path wins.

Example:
    >>> tracked = lfs_rules(b"*.safetensors filter=lfs diff=lfs merge=lfs -text\\n")
    >>> is_tracked("weights/model.safetensors", tracked), is_tracked("config.json", tracked)
    (True, False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

POINTER_VERSION = "https://git-lfs.github.com/spec/v1"


@dataclass(frozen=True)
class LfsRule:
    """One `.gitattributes` line that sets (`lfs=True`) or unsets the LFS filter."""

    pattern: re.Pattern[str]
    whole_path: bool
    lfs: bool


def lfs_rules(gitattributes: bytes) -> list[LfsRule]:
    """The lines of a `.gitattributes` that decide whether a path is stored with LFS."""
    rules: list[LfsRule] = []
    for line in gitattributes.decode("utf-8", errors="replace").splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#") or fields[0].endswith("/"):
            continue  # blank, comment, or a folder pattern (which never matches in attributes)
        setting = _filter_setting(fields[1:])
        if setting is not None:
            pattern = fields[0].lstrip("/") if "/" in fields[0] else fields[0]
            rules.append(LfsRule(_translate(pattern), "/" in fields[0], setting))
    return rules


def is_tracked(path: str, rules: list[LfsRule]) -> bool:
    """Whether `path` (relative to the repo root) is stored with LFS under `rules`."""
    tracked = False
    name = path.rsplit("/", 1)[-1]
    for rule in rules:
        if rule.pattern.fullmatch(path if rule.whole_path else name):
            tracked = rule.lfs
    return tracked


def pointer(sha256: str, size: int) -> bytes:
    """The LFS pointer file git stores in place of a tracked file's content."""
    return f"version {POINTER_VERSION}\noid sha256:{sha256}\nsize {size}\n".encode()


def _filter_setting(attributes: list[str]) -> bool | None:
    setting = None
    for attribute in attributes:
        if attribute.startswith("filter="):
            setting = attribute == "filter=lfs"
        elif attribute in ("-filter", "!filter"):
            setting = False
    return setting


def _translate(pattern: str) -> re.Pattern[str]:
    """A git wildmatch pattern as a regex over a path (`*` stays within one folder)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            negated = body[0] in "!^"
            chars = "".join("\\" + c if c in "\\[]^" else c for c in body[negated:])
            out.append("[" + ("^" if negated else "") + chars + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))
