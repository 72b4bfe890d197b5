"""Tree listings (`/tree/{rev}/{path}`) and `paths-info` entries of one commit."""

from __future__ import annotations

import hashlib
from typing import Any

from sandbox.storage import Commit, Repo, Storage


def folders(commit: Commit) -> set[str]:
    """Every folder path of a commit ("" is the root)."""
    found = {""}
    for path in commit.tree:
        parts = path.split("/")[:-1]
        found.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return found


def folder_oid(commit: Commit, folder: str) -> str | None:
    prefix = folder + "/" if folder else ""
    lines = sorted(f"{p} {ref.oid}" for p, ref in commit.tree.items() if p.startswith(prefix))
    return hashlib.sha1("\n".join(lines).encode()).hexdigest() if lines else None


def children(commit: Commit, folder: str, *, recursive: bool) -> list[str] | None:
    """Paths under `folder` (direct children only unless `recursive`); None if no such folder."""
    every_folder = folders(commit)
    if folder not in every_folder:
        return None
    prefix = folder + "/" if folder else ""
    paths = [p for p in [*commit.tree, *every_folder] if p and p.startswith(prefix)]
    if not recursive:
        paths = [p for p in paths if "/" not in p[len(prefix) :]]
    return sorted(paths)


def entry(
    storage: Storage, repo: Repo, commit: Commit, path: str, *, expand: bool
) -> dict[str, Any] | None:
    """The JSON of one file or folder, None when `path` is neither."""
    ref = commit.tree.get(path)
    if ref is not None:
        data: dict[str, Any] = {"type": "file", "oid": ref.blob_id, "size": ref.size}
        if (lfs := ref.lfs_info()) is not None:
            data["lfs"] = {
                "oid": lfs["sha256"],
                "size": lfs["size"],
                "pointerSize": lfs["pointerSize"],
            }
        data["path"] = path
    elif path in folders(commit):
        data = {"type": "directory", "oid": folder_oid(commit, path), "size": 0, "path": path}
    else:
        return None
    if expand:
        last = last_commit(storage, repo, commit, path)
        data["lastCommit"] = {"id": last.id, "title": last.title, "date": last.date}
        if ref is not None:
            data["securityFileStatus"] = _file_security(repo, path)
    return data


def _file_security(repo: Repo, path: str) -> dict[str, Any]:
    issue = next((i for i in repo.security_issues if i.get("path") == path), None)
    status = issue.get("level", "unsafe") if issue else "safe"
    return {
        "status": status,
        "avScan": {"virusFound": False, "virusNames": None},
        "pickleImportScan": issue.get("pickleImportScan") if issue else None,
    }


def _value(commit: Commit, path: str) -> str | None:
    ref = commit.tree.get(path)
    return ref.oid if ref else folder_oid(commit, path)


def last_commit(storage: Storage, repo: Repo, commit: Commit, path: str) -> Commit:
    """The most recent commit (first-parent history) that changed `path`."""
    value = _value(commit, path)
    last = commit
    for ancestor in storage.history(repo, commit):
        if _value(ancestor, path) != value:
            break
        last = ancestor
    return last
