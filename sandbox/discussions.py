"""Discussions and pull requests: records, events (comments can be edited or hidden), diffs and
merges.

A pull request is a discussion whose branch `refs/pr/N` starts at `baseCommit` (a commit of
`main`); merging squashes its changes onto the current `main`, refusing when a path changed on
both sides.
"""

from __future__ import annotations

import difflib
import html
import secrets
from typing import Any

from sandbox import errors
from sandbox.jsonfile import now_iso, read_json, write_json
from sandbox.storage import AddFile, Commit, DeleteFile, Repo, Storage
from sandbox.users import author as author_json

PAGE_SIZE = 50  # discussions per page, as on the Hub


def _path(storage: Storage, repo: Repo, num: int) -> Any:
    return storage.repo_dir(repo) / "discussions" / f"{num}.json"


def load(storage: Storage, repo: Repo, num: int) -> dict[str, Any] | None:
    path = _path(storage, repo, num)
    return read_json(path) if path.exists() else None


def save(storage: Storage, repo: Repo, discussion: dict[str, Any]) -> None:
    write_json(_path(storage, repo, discussion["num"]), discussion)


def every(storage: Storage, repo: Repo) -> list[dict[str, Any]]:
    """All discussions of a repo, newest first."""
    found = (load(storage, repo, n) for n in range(repo.discussion_count, 0, -1))
    return [d for d in found if d is not None]


def create(
    storage: Storage,
    repo: Repo,
    *,
    title: str,
    author: str,
    description: str,
    pull_request: bool,
    base_commit: str | None = None,
    target: str = "main",
    status: str = "open",
) -> dict[str, Any]:
    """Open discussion number `repo.discussion_count + 1` with its first comment."""
    with storage.lock:
        repo.discussion_count += 1
        storage.save_repo(repo)
        discussion: dict[str, Any] = {
            "num": repo.discussion_count,
            "title": title,
            "status": status,
            "author": author,
            "createdAt": now_iso(),
            "isPullRequest": pull_request,
            "events": [comment_event(author, description)],
            "target": target,
            "baseCommit": base_commit,
            "mergeCommitId": None,
        }
        save(storage, repo, discussion)
        return discussion


def _event(kind: str, author: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": secrets.token_hex(12),
        "type": kind,
        "createdAt": now_iso(),
        "author": author_json(author),
        "data": data,
    }


def _version(author: str, text: str) -> dict[str, Any]:
    """One version of a comment's text (`data.latest` and each `data.history` entry)."""
    return {
        "raw": text,
        "html": "<p>" + html.escape(text) + "</p>" if text else "",
        "updatedAt": now_iso(),
        "author": {"name": author},
    }


def comment_event(author: str, text: str) -> dict[str, Any]:
    latest = _version(author, text)
    return _event(
        "comment",
        author,
        {
            "edited": False,
            "hidden": False,
            "latest": latest,
            "numEdits": 0,
            "editors": [author],
            "editorAvatarUrls": [],
            "reactions": [],
            "history": [latest],
        },
    )


def find_comment(discussion: dict[str, Any], comment_id: str) -> dict[str, Any] | None:
    """The comment event with this id (the first one of a pull request is its description)."""
    return next(
        (e for e in discussion["events"] if e["id"] == comment_id and e["type"] == "comment"),
        None,
    )


def edit_comment(event: dict[str, Any], editor: str, text: str) -> None:
    """Replace a comment's text in place: same id, the new version first in its history."""
    data = event["data"]
    latest = _version(editor, text)
    data["latest"] = latest
    data["edited"] = True
    data["numEdits"] += 1
    data["history"].insert(0, latest)
    if editor not in data["editors"]:
        data["editors"].append(editor)


def hide_comment(event: dict[str, Any], moderator: str) -> None:
    """Hide a comment for good: its text, and every earlier version, is gone."""
    data = event["data"]
    data["hidden"] = True
    data["hiddenBy"] = moderator
    for version in [data["latest"], *data["history"]]:
        version.update(raw="", html="")


def status_event(author: str, status: str) -> dict[str, Any]:
    return _event("status-change", author, {"status": status})


def title_event(author: str, old: str, new: str) -> dict[str, Any]:
    return _event("title-change", author, {"from": old, "to": new})


def commit_event(author: str, commit: Commit) -> dict[str, Any]:
    return _event("commit", author, {"subject": commit.title, "oid": commit.id})


def summary(repo: Repo, discussion: dict[str, Any]) -> dict[str, Any]:
    """A discussion as listed by `GET .../discussions`."""
    return {
        "num": discussion["num"],
        "title": discussion["title"],
        "status": discussion["status"],
        "createdAt": discussion["createdAt"],
        "isPullRequest": discussion["isPullRequest"],
        "author": author_json(discussion["author"]),
        "repo": {"name": repo.id, "type": repo.type},
        "numComments": sum(e["type"] == "comment" for e in discussion["events"]),
        "pinned": False,
        "topReactions": [],
    }


def _changes(storage: Storage, repo: Repo, discussion: dict[str, Any]) -> tuple[Commit, Commit]:
    base = storage.get_commit(repo, discussion["baseCommit"])
    head = storage.resolve(repo, f"refs/pr/{discussion['num']}")
    if base is None or head is None:
        raise errors.HubError(500, f"Pull request {discussion['num']} lost its branch")
    return base, head


def changed_paths(base: Commit, head: Commit) -> list[str]:
    return sorted(p for p in {*base.tree, *head.tree} if base.tree.get(p) != head.tree.get(p))


def conflicts(storage: Storage, repo: Repo, discussion: dict[str, Any]) -> list[str]:
    """Paths the pull request changes that `main` also changed since the PR's base."""
    base, head = _changes(storage, repo, discussion)
    main = storage.resolve(repo, discussion["target"])
    assert main is not None
    return [
        p
        for p in changed_paths(base, head)
        if main.tree.get(p) != base.tree.get(p) and main.tree.get(p) != head.tree.get(p)
    ]


def details(
    storage: Storage, repo: Repo, discussion: dict[str, Any], *, diff: bool
) -> dict[str, Any]:
    """A discussion as `GET .../discussions/{num}` answers it."""
    data = summary(repo, discussion)
    data["events"] = discussion["events"]
    data["locked"] = False
    if discussion["isPullRequest"]:
        changes: dict[str, Any] = {"base": f"refs/heads/{discussion['target']}"}
        if discussion["mergeCommitId"]:
            changes["mergeCommitId"] = discussion["mergeCommitId"]
        data["changes"] = changes
        open_pr = discussion["status"] in ("open", "draft")
        data["filesWithConflicts"] = conflicts(storage, repo, discussion) if open_pr else []
        if diff:
            base, head = _changes(storage, repo, discussion)
            data["diff"] = diff_text(storage, base, head)
    return data


def diff_text(storage: Storage, base: Commit, head: Commit) -> str:
    """A `git diff`-style text of the changes from `base` to `head`."""
    chunks: list[str] = []
    for path in changed_paths(base, head):
        old, new = base.tree.get(path), head.tree.get(path)
        chunks.append(f"diff --git a/{path} b/{path}\n")
        if old is None:
            chunks.append("new file mode 100644\n")
        elif new is None:
            chunks.append("deleted file mode 100644\n")
        before = storage.read_blob(old.oid) if old else b""
        after = storage.read_blob(new.oid) if new else b""
        try:
            old_lines = before.decode().splitlines(keepends=True)
            new_lines = after.decode().splitlines(keepends=True)
        except UnicodeDecodeError:
            chunks.append(f"Binary files a/{path} and b/{path} differ\n")
            continue
        source = f"a/{path}" if old else "/dev/null"
        target = f"b/{path}" if new else "/dev/null"
        for line in difflib.unified_diff(old_lines, new_lines, source, target):
            chunks.append(
                line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            )
    return "".join(chunks)


def merge(storage: Storage, repo: Repo, discussion: dict[str, Any], *, user: str) -> Commit:
    """Squash the pull request onto its target branch and mark it merged."""
    with storage.lock:
        if not discussion["isPullRequest"] or discussion["status"] not in ("open", "draft"):
            raise errors.bad_request("Only open pull requests can be merged")
        clashes = conflicts(storage, repo, discussion)
        if clashes:
            raise errors.HubError(409, "Merge conflict in: " + ", ".join(clashes))
        base, head = _changes(storage, repo, discussion)
        operations: list[AddFile | DeleteFile] = []
        for path in changed_paths(base, head):
            ref = head.tree.get(path)
            if ref is None:
                operations.append(DeleteFile(path))
            else:
                operations.append(AddFile(path, storage.read_blob(ref.oid)))
        target = discussion["target"]
        merged = storage.commit(
            repo,
            parent=repo.refs[target],
            operations=[op for op in operations if not _already(storage, repo, target, op)],
            title=f"{discussion['title']} (#{discussion['num']})",
            author=user,
            extra_parents=[head.id],
        )
        storage.set_ref(repo, target, merged.id)
        discussion["status"] = "merged"
        discussion["mergeCommitId"] = merged.id
        discussion["events"].append(status_event(user, "merged"))
        save(storage, repo, discussion)
        return merged


def _already(storage: Storage, repo: Repo, branch: str, op: AddFile | DeleteFile) -> bool:
    """Whether the branch already holds the change (a delete of a gone file would fail)."""
    current = storage.resolve(repo, branch)
    assert current is not None
    return isinstance(op, DeleteFile) and op.path not in current.tree
