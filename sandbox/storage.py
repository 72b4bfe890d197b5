"""Repos on disk: content-addressed blobs, commits with parents, branches, one tree per commit.

Layout under the data dir:

    blobs/<oid[:2]>/<oid[2:]>                 file contents, named by their git blob sha1
    repos/<type>s/<ns>/<name>/repo.json       settings, counters and refs (`main`, `refs/pr/N`)
    repos/<type>s/<ns>/<name>/commits/<id>.json
    repos/<type>s/<ns>/<name>/discussions/<n>.json   (see `sandbox.discussions`)
    redirects.json                            `{type: {old id: new id}}` of renamed repos

A tree entry is `[oid, size]`, or `[oid, size, sha256]` for a file stored with LFS. A blob added
with `AddSparseFile` is a sparse file: a test holds a 2 GiB file without writing 2 GiB, and a
download streams all of it, as from the Hub.

Everything is JSON written atomically, so a restarted server finds every repo again. One
re-entrant lock guards all writes; callers hold `storage.lock` around read-modify-write sequences.

Example:
    >>> store = Storage(Path("/tmp/hub"))
    >>> repo = store.create_repo("model", "demo/tiny", author="demo")
    >>> store.commit_to_branch(repo, "main", [AddFile("README.md", b"hi")], title="Add card", author="demo")
    >>> store.mirror(repo, "main", "cf6afcbae72cc3bb1fc07a9480fe0d8e0b615fcd", author="sandbox")
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sandbox import errors, lfs
from sandbox.jsonfile import now_iso, read_json, write_bytes, write_json

REPO_TYPES = ("model", "dataset", "space")
COMMIT_ID = re.compile(r"[0-9a-f]{40}")

DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in [
        "*.7z",
        "*.arrow",
        "*.bin",
        "*.bz2",
        "*.ckpt",
        "*.ftz",
        "*.gz",
        "*.h5",
        "*.joblib",
        "*.lfs.*",
        "*.mlmodel",
        "*.model",
        "*.msgpack",
        "*.npy",
        "*.npz",
        "*.onnx",
        "*.ot",
        "*.parquet",
        "*.pb",
        "*.pickle",
        "*.pkl",
        "*.pt",
        "*.pth",
        "*.rar",
        "*.safetensors",
        "saved_model/**/*",
        "*.tar.*",
        "*.tar",
        "*.tflite",
        "*.tgz",
        "*.wasm",
        "*.xz",
        "*.zip",
        "*.zst",
        "*tfevents*",
    ]
).encode()


# The branch of a repo holding the Hub's Parquet conversion of its main (`refs/convert/parquet`)
PARQUET_EXPORT = "refs/convert/parquet"


def git_blob_sha1(content: bytes) -> str:
    """The git object id of a file: sha1 over `blob <size>\\0<content>` (the Hub's ETag)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass(frozen=True)
class AddFile:
    path: str
    content: bytes


@dataclass(frozen=True)
class AddSparseFile:
    """A file of `size` bytes: `head`, then zeros. Stored sparse: only `head` takes disk space."""

    path: str
    size: int
    head: bytes = b""


@dataclass(frozen=True)
class DeleteFile:
    path: str


@dataclass(frozen=True)
class DeleteFolder:
    path: str


Operation = AddFile | AddSparseFile | DeleteFile | DeleteFolder


@dataclass(frozen=True)
class FileRef:
    """A file of a tree: its content's blob (`oid`, the git sha1 of the content) and size.

    `sha256` is set when the file is stored with LFS (see `sandbox.lfs`); the Hub then shows
    the pointer file's git sha1 as the file's blob id.
    """

    oid: str
    size: int
    sha256: str | None = None

    @property
    def blob_id(self) -> str:
        """The git blob id the Hub shows: the content's, or the LFS pointer's."""
        if self.sha256 is None:
            return self.oid
        return git_blob_sha1(lfs.pointer(self.sha256, self.size))

    @property
    def etag(self) -> str:
        """The download's `ETag`: the git blob id, or the sha256 of an LFS file's content."""
        return self.sha256 or self.oid

    def lfs_info(self) -> dict[str, Any] | None:
        """`{sha256, size, pointerSize}` for an LFS file, None for a regular one."""
        if self.sha256 is None:
            return None
        size = len(lfs.pointer(self.sha256, self.size))
        return {"sha256": self.sha256, "size": self.size, "pointerSize": size}


@dataclass
class Commit:
    id: str
    parents: list[str]
    title: str
    message: str
    author: str
    date: str
    tree: dict[str, FileRef]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tree"] = {
            path: [ref.oid, ref.size] + ([ref.sha256] if ref.sha256 else [])
            for path, ref in self.tree.items()
        }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Commit:
        tree = {path: FileRef(*entry) for path, entry in data.pop("tree").items()}
        return cls(tree=tree, **data)


@dataclass
class Repo:
    type: str
    id: str
    object_id: str
    created_at: str
    private: bool = False
    gated: str | bool = False
    granted: list[str] = field(default_factory=list)  # users given access to a gated repo
    disabled: bool = False
    discussions_disabled: bool = False
    security_issues: list[dict[str, Any]] = field(default_factory=list)
    downloads: int = 0
    likes: int = 0
    refs: dict[str, str] = field(default_factory=dict)
    discussion_count: int = 0

    @property
    def namespace(self) -> str:
        return self.id.split("/")[0]

    @property
    def url_prefix(self) -> str:
        """`datasets/`, `spaces/` or nothing: how web and resolve urls name the repo type."""
        return "" if self.type == "model" else f"{self.type}s/"


def _check_path(path: str) -> str:
    parts = path.split("/")
    if not path or path.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise errors.bad_request(f"Invalid path in repo: {path!r}")
    if parts[0] == ".git":
        raise errors.bad_request(f"Invalid path in repo: {path!r}")
    return path


class Storage:
    """Repos, commits and blobs under one data dir."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.RLock()
        self._repos: dict[tuple[str, str], Repo] = {}
        self._commits: dict[str, Commit] = {}
        for path in sorted((root / "repos").glob("*/*/*/repo.json")):
            repo = Repo(**read_json(path))
            self._repos[(repo.type, repo.id)] = repo
        redirects = root / "redirects.json"
        self._redirects: dict[str, dict[str, str]] = (
            read_json(redirects) if redirects.exists() else {}
        )

    # ---- repos -------------------------------------------------------------------------------

    def repo_dir(self, repo: Repo) -> Path:
        return self.root / "repos" / f"{repo.type}s" / repo.id

    def repos(self, repo_type: str | None = None) -> list[Repo]:
        with self.lock:
            return [r for r in self._repos.values() if repo_type in (None, r.type)]

    def get_repo(self, repo_type: str, repo_id: str) -> Repo | None:
        return self._repos.get((repo_type, repo_id))

    def save_repo(self, repo: Repo) -> None:
        with self.lock:
            write_json(self.repo_dir(repo) / "repo.json", asdict(repo))

    def create_repo(
        self,
        repo_type: str,
        repo_id: str,
        *,
        author: str,
        private: bool = False,
        files: Sequence[AddFile] = (),
    ) -> Repo:
        """Create a repo whose `main` holds the Hub's initial commit: a `.gitattributes`, and
        `files` (a Space's README.md)."""
        with self.lock:
            if (repo_type, repo_id) in self._repos:
                raise errors.HubError(409, f"You already created this {repo_type} repo")
            repo = Repo(
                type=repo_type,
                id=repo_id,
                object_id=secrets.token_hex(12),
                created_at=now_iso(),
                private=private,
            )
            initial = self.commit(
                repo,
                parent=None,
                operations=[AddFile(".gitattributes", DEFAULT_GITATTRIBUTES), *files],
                title="initial commit",
                author=author,
            )
            repo.refs["main"] = initial.id
            self._repos[(repo_type, repo_id)] = repo
            self.save_repo(repo)
            self._forget_redirects(repo_type, repo_id)  # the name is no longer a redirect
            return repo

    def delete_repo(self, repo: Repo) -> None:
        """Delete a repo; names it was renamed from stop redirecting to it."""
        with self.lock:
            self._repos.pop((repo.type, repo.id), None)
            shutil.rmtree(self.repo_dir(repo), ignore_errors=True)
            self._forget_redirects(repo.type, repo.id)

    def move_repo(self, repo: Repo, new_id: str) -> None:
        """Rename a repo (files, commits, discussions move along); the old id redirects to it.

        Raises:
            HubError: 409 when a repo of that type already has `new_id`.
        """
        with self.lock:
            if (repo.type, new_id) in self._repos:
                raise errors.HubError(409, f"A {repo.type} repo named {new_id} already exists")
            old_id, old_dir = repo.id, self.repo_dir(repo)
            repo.id = new_id
            self.repo_dir(repo).parent.mkdir(parents=True, exist_ok=True)
            old_dir.rename(self.repo_dir(repo))
            del self._repos[(repo.type, old_id)]
            self._repos[(repo.type, new_id)] = repo
            self.save_repo(repo)
            self._add_redirect(repo.type, old_id, new_id)

    def moved_to(self, repo_type: str, repo_id: str) -> str | None:
        """The id a repo renamed away from `repo_id` has now, if it still exists."""
        with self.lock:
            return self._redirects.get(repo_type, {}).get(repo_id)

    def _forget_redirects(self, repo_type: str, repo_id: str) -> None:
        """Drop the redirects from `repo_id` (a repo has that name now) and to it (deleted)."""
        table = self._redirects.get(repo_type, {})
        kept = {old: new for old, new in table.items() if repo_id not in (old, new)}
        if kept != table:
            self._redirects[repo_type] = kept
            write_json(self.root / "redirects.json", self._redirects)

    def _add_redirect(self, repo_type: str, old_id: str, new_id: str) -> None:
        """Redirect `old_id`, and every name that redirected to it, to `new_id`."""
        table = self._redirects.setdefault(repo_type, {})
        for source, target in list(table.items()):
            if target == old_id:
                table[source] = new_id
        table[old_id] = new_id
        table.pop(new_id, None)
        write_json(self.root / "redirects.json", self._redirects)

    # ---- blobs -------------------------------------------------------------------------------

    def blob_path(self, oid: str) -> Path:
        return self.root / "blobs" / oid[:2] / oid[2:]

    def read_blob(self, oid: str, limit: int | None = None) -> bytes:
        with open(self.blob_path(oid), "rb") as file:
            return file.read() if limit is None else file.read(limit)

    def _write_blob(self, content: bytes | AddSparseFile) -> FileRef:
        if isinstance(content, AddSparseFile):
            return self._write_sparse_blob(content)
        oid = git_blob_sha1(content)
        path = self.blob_path(oid)
        if not path.exists():
            write_bytes(path, content)
        return FileRef(oid, len(content))

    def _write_sparse_blob(self, file: AddSparseFile) -> FileRef:
        """`file.head` then zeros up to `file.size`, written as a sparse file (a hole after the
        head); its git blob sha1 is hashed over the zeros in memory, not read from disk."""
        digest = hashlib.sha1(b"blob %d\0" % file.size)
        for chunk in _sparse_content(file):
            digest.update(chunk)
        oid = digest.hexdigest()
        path = self.blob_path(oid)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(file.head)
                handle.truncate(file.size)
            os.replace(tmp, path)
        return FileRef(oid, file.size)

    # ---- commits -----------------------------------------------------------------------------

    def get_commit(self, repo: Repo, commit_id: str) -> Commit | None:
        with self.lock:
            commit = self._commits.get(commit_id)
            if commit is None:
                path = self.repo_dir(repo) / "commits" / f"{commit_id}.json"
                if not path.exists():
                    return None
                commit = Commit.from_json(read_json(path))
                self._commits[commit_id] = commit
            return commit

    def resolve(self, repo: Repo, revision: str) -> Commit | None:
        """The commit a branch (`main`), PR ref (`refs/pr/3`) or full commit id points to."""
        with self.lock:
            commit_id = repo.refs.get(revision)
            if commit_id is None and revision.startswith("refs/heads/"):
                commit_id = repo.refs.get(revision.removeprefix("refs/heads/"))
            if commit_id is None and len(revision) == 40:
                commit_id = revision.lower()
            return self.get_commit(repo, commit_id) if commit_id else None

    def history(self, repo: Repo, commit: Commit) -> Iterator[Commit]:
        """`commit` and its first-parent ancestors, newest first."""
        current: Commit | None = commit
        while current is not None:
            yield current
            current = self.get_commit(repo, current.parents[0]) if current.parents else None

    def commit(
        self,
        repo: Repo,
        *,
        parent: str | None,
        operations: Sequence[Operation],
        title: str,
        author: str,
        message: str = "",
        extra_parents: Sequence[str] = (),
        commit_id: str | None = None,
    ) -> Commit:
        """Write a commit on top of `parent` (refs are not moved: see `set_ref`).

        `commit_id`: the id the commit gets instead of a random one, to stand in for a revision
        of a real Hub repo (a dataset revision that evaluation modules pin); see `mirror`. Ids
        are unique across the sandbox's repos.

        Raises:
            HubError: 400 when `commit_id` is not a full commit sha, 409 when a commit already
                has it.
        """
        with self.lock:
            if commit_id is not None:
                self._check_new_id(repo, commit_id)
            base = self.get_commit(repo, parent) if parent else None
            tree = dict(base.tree) if base else {}
            for operation in operations:
                _apply(tree, operation, self._write_blob)
            self._mark_lfs(tree, operations)
            date = now_iso()
            parents = [p for p in (parent, *extra_parents) if p]
            seed = f"{parents}{sorted(tree.items())}{title}{message}{author}{date}{secrets.token_hex(8)}"
            commit = Commit(
                id=commit_id or hashlib.sha1(seed.encode()).hexdigest(),
                parents=parents,
                title=title,
                message=message,
                author=author,
                date=date,
                tree=tree,
            )
            write_json(self.repo_dir(repo) / "commits" / f"{commit.id}.json", commit.to_json())
            self._commits[commit.id] = commit
            return commit

    def _check_new_id(self, repo: Repo, commit_id: str) -> None:
        if not COMMIT_ID.fullmatch(commit_id):
            raise errors.bad_request(
                f"Not a full commit sha (40 lowercase hex digits): {commit_id!r}"
            )
        if self.get_commit(repo, commit_id) is not None:
            raise errors.HubError(
                409,
                f"the sandbox already has a commit {commit_id} (commit ids are unique across its "
                "repos); one id names one commit, so a revision changed since it was mirrored "
                "needs a fresh data dir",
            )

    def mirror(self, repo: Repo, branch: str, commit_id: str, *, author: str) -> Commit:
        """Make `branch` end at a commit with id `commit_id` that holds the branch's files: the
        sandbox's stand-in for that revision of the real Hub repo (its own ids are random).

        A commit on top of the branch's head that changes nothing; nothing happens when the
        branch already ends at `commit_id`.

        Raises:
            HubError: 404 when there is no such branch; 400 or 409 as `commit` raises them.
        """
        with self.lock:
            head = repo.refs.get(branch)
            if head is None:
                raise errors.revision_not_found(branch)
            if head == commit_id:
                commit = self.get_commit(repo, head)
                assert commit is not None
                return commit
            commit = self.commit(
                repo,
                parent=head,
                operations=[],
                title=f"Mirror revision {commit_id}",
                author=author,
                commit_id=commit_id,
            )
            self.set_ref(repo, branch, commit.id)
            return commit

    def convert_to_parquet(self, repo: Repo, files: dict[str, bytes], *, author: str) -> Commit:
        """The Hub's Parquet conversion of `repo`'s main (`PARQUET_EXPORT`): a commit on top of
        main's head whose tree holds `files` only (`{config}/{split}/0000.parquet`), as the Hub's
        converter writes for every public dataset, loading scripts included. Nothing happens when
        the export already holds exactly these files on top of main's head.

        Raises:
            HubError: 404 when the repo has no main.
        """
        with self.lock:
            head = repo.refs.get("main")
            if head is None:
                raise errors.revision_not_found("main")
            current = self.get_commit(repo, repo.refs.get(PARQUET_EXPORT, ""))
            if current is not None and current.parents[:1] == [head]:
                same = {path: ref.oid for path, ref in current.tree.items()} == {
                    path: git_blob_sha1(content) for path, content in files.items()
                }
                if same:
                    return current
            base = self.get_commit(repo, head)
            assert base is not None
            operations: list[Operation] = [DeleteFile(path) for path in sorted(base.tree)]
            operations += [AddFile(path, content) for path, content in sorted(files.items())]
            commit = self.commit(
                repo,
                parent=head,
                operations=operations,
                title="Update parquet files",
                author=author,
            )
            self.set_ref(repo, PARQUET_EXPORT, commit.id)
            return commit

    def _mark_lfs(self, tree: dict[str, FileRef], operations: Sequence[Operation]) -> None:
        """Store the files this commit adds as LFS where the new tree's `.gitattributes` says so."""
        attributes = tree.get(".gitattributes")
        rules = lfs.lfs_rules(self.read_blob(attributes.oid)) if attributes else []
        added = {op.path: op for op in operations if isinstance(op, AddFile | AddSparseFile)}
        for path, op in added.items():
            ref = tree.get(path)  # None when a later operation of the commit deleted it
            if ref is not None:
                tracked = lfs.is_tracked(path, rules)
                sha256 = _sha256(op) if tracked else None
                tree[path] = FileRef(ref.oid, ref.size, sha256)

    def set_ref(self, repo: Repo, ref: str, commit_id: str) -> None:
        with self.lock:
            repo.refs[ref] = commit_id
            self.save_repo(repo)

    def commit_to_branch(
        self,
        repo: Repo,
        branch: str,
        operations: Sequence[Operation],
        *,
        title: str,
        author: str,
        message: str = "",
        parent_commit: str | None = None,
    ) -> Commit:
        """Commit on top of `branch` and move it; 412 when `parent_commit` is not its head.

        This is also the way to seed content the Hub client refuses to send (e.g. a README whose
        front matter is broken YAML).
        """
        with self.lock:
            head = repo.refs.get(branch)
            if head is None:
                raise errors.revision_not_found(branch)
            if parent_commit is not None and parent_commit.lower() != head:
                raise errors.HubError(
                    412, "A commit has happened since. Please refresh and try again."
                )
            commit = self.commit(
                repo,
                parent=head,
                operations=operations,
                title=title,
                message=message,
                author=author,
            )
            self.set_ref(repo, branch, commit.id)
            return commit


_ZEROS = bytes(16 * 2**20)


def _sparse_content(file: AddSparseFile) -> Iterator[bytes]:
    """The content of a sparse file in chunks: its head, then zeros."""
    yield file.head
    left = file.size - len(file.head)
    while left > 0:
        chunk = _ZEROS[: min(left, len(_ZEROS))]
        left -= len(chunk)
        yield chunk


def _sha256(op: AddFile | AddSparseFile) -> str:
    if isinstance(op, AddFile):
        return hashlib.sha256(op.content).hexdigest()
    digest = hashlib.sha256()
    for chunk in _sparse_content(op):
        digest.update(chunk)
    return digest.hexdigest()


def _apply(tree: dict[str, FileRef], operation: Operation, write_blob: Any) -> None:
    if isinstance(operation, AddFile | AddSparseFile):
        path = _check_path(operation.path)
        if any(p.startswith(path + "/") for p in tree):
            raise errors.bad_request(f"A folder named {path} already exists")
        content = operation.content if isinstance(operation, AddFile) else operation
        tree[path] = write_blob(content)
    elif isinstance(operation, DeleteFile):
        if operation.path not in tree:
            raise errors.HubError(
                404, "A file with this name doesn't exist: " + operation.path, code="EntryNotFound"
            )
        del tree[operation.path]
    else:
        prefix = operation.path.strip("/") + "/"
        doomed = [p for p in tree if p.startswith(prefix) or prefix == "/"]
        if not doomed:
            raise errors.HubError(
                404,
                "A folder with this name doesn't exist: " + operation.path,
                code="EntryNotFound",
            )
        for path in doomed:
            del tree[path]
