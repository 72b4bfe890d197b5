"""Sandbox-only admin endpoints under `/_sandbox/` (no authentication; never on the real Hub).

- `GET /_sandbox/health` → `{"ok": true, "data_dir": "/absolute/data/dir"}`
- `POST /_sandbox/faults` `{status, count?, seconds?, path_prefix?, method?, retry_after?}` (see
  `sandbox.faults`); `GET` lists the live faults, `DELETE` disarms them
- `GET /_sandbox/log` → `[{method, path, query, status, user, role}]` (who asked, and the
  role of the token: `read` or `write`; None when anonymous); `DELETE` clears it
- `POST /_sandbox/repos/{type}/{namespace}/{name}` `{gated, granted, disabled, private,
  discussions_disabled, security_issues, downloads, likes}` (any subset) → the repo's settings.
  `granted`: the users given access to the repo while it is gated (replaces the list), as an
  owner's approval of an access request does on the Hub
- `POST /_sandbox/repos/{type}/{namespace}/{name}/mirror` `{revision, branch?}` → `{id, branch,
  commit}`: the branch (default `main`) then ends at a commit with the id `revision` holding its
  files, a stand-in for that revision of the real repo (`Storage.mirror`; `sandbox.seed` mirrors
  the dataset revisions the shipped evaluation modules pin)
- `POST /_sandbox/repos/{type}/{namespace}/{name}/convert` `{files: {path: base64}}` → `{id,
  ref, commit}`: `refs/convert/parquet` then ends at a commit on top of main's head holding
  only these parquet files, the Hub's Parquet conversion of the repo (`Storage.convert_to_parquet`;
  `sandbox.seed` converts the demo world's loading-script dataset)
- `POST /_sandbox/repos/{type}/{namespace}/{name}/sparse` `{path, size, head?, branch?}` → `{id,
  branch, commit, path, size}`: commits a file of `size` bytes, the UTF-8 text `head` followed by
  zeros, stored as a sparse file (`storage.AddSparseFile`), so a test can hold a 2 GiB
  `config.json` without writing 2 GiB. The Hub lists its size in `model_info`/paths-info and a
  download streams every byte, as for any file
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.responses import Response

from sandbox import errors
from sandbox.faults import parse_fault
from sandbox.routing import REPO, Ctx, json_response, route
from sandbox.storage import PARQUET_EXPORT, REPO_TYPES, AddSparseFile, Repo
from sandbox.users import user_names


async def health(ctx: Ctx) -> Response:
    return json_response({"ok": True, "data_dir": str(ctx.hub.storage.root.resolve())})


async def faults(ctx: Ctx) -> Response:
    if ctx.request.method == "POST":
        ctx.hub.faults.add(parse_fault(await ctx.json()))
    elif ctx.request.method == "DELETE":
        ctx.hub.faults.clear()
    return json_response({"faults": ctx.hub.faults.pending()})


async def log(ctx: Ctx) -> Response:
    if ctx.request.method == "DELETE":
        ctx.hub.log.clear()
        return json_response([])
    return json_response(ctx.hub.log.entries())


def _settings(repo: Repo) -> dict[str, Any]:
    return {
        "id": repo.id,
        "type": repo.type,
        "gated": repo.gated,
        "granted": repo.granted,
        "disabled": repo.disabled,
        "private": repo.private,
        "discussions_disabled": repo.discussions_disabled,
        "security_issues": repo.security_issues,
        "downloads": repo.downloads,
        "likes": repo.likes,
    }


def _granted(value: Any) -> list[str]:
    known = user_names()
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise errors.bad_request("granted must be a list of user names")
    if unknown := [name for name in value if name not in known]:
        raise errors.bad_request(f"granted: unknown users {unknown}; the users are {known}")
    return list(dict.fromkeys(value))


def _issues(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise errors.bad_request("security_issues must be a list of paths or objects")
    issues = [
        {"path": item, "level": "unsafe"} if isinstance(item, str) else item for item in value
    ]
    if not all(isinstance(i, dict) and isinstance(i.get("path"), str) for i in issues):
        raise errors.bad_request("each security issue needs a 'path'")
    return issues


async def repo_settings(ctx: Ctx) -> Response:
    repo_type = ctx.params["kind"].removesuffix("s")
    repo = ctx.hub.storage.get_repo(repo_type, ctx.repo_id) if repo_type in REPO_TYPES else None
    if repo is None:
        raise errors.repo_not_found()
    body = await ctx.json_object()
    granted = _granted(body["granted"]) if "granted" in body else repo.granted
    with ctx.hub.storage.lock:
        if "gated" in body:
            if body["gated"] not in ("auto", "manual", False):
                raise errors.bad_request("gated must be 'auto', 'manual' or false")
            repo.gated = body["gated"]
        repo.granted = granted
        for key in ("disabled", "private", "discussions_disabled"):
            if key in body:
                setattr(repo, key, bool(body[key]))
        for key in ("downloads", "likes"):
            if key in body:
                setattr(repo, key, int(body[key]))
        if "security_issues" in body:
            repo.security_issues = _issues(body["security_issues"])
        ctx.hub.storage.save_repo(repo)
    return json_response(_settings(repo))


async def mirror(ctx: Ctx) -> Response:
    repo_type = ctx.params["kind"].removesuffix("s")
    repo = ctx.hub.storage.get_repo(repo_type, ctx.repo_id) if repo_type in REPO_TYPES else None
    if repo is None:
        raise errors.repo_not_found()
    body = await ctx.json_object()
    revision, branch = body.get("revision"), body.get("branch", "main")
    if not isinstance(revision, str) or not isinstance(branch, str):
        raise errors.bad_request("revision (a full commit sha) and branch must be strings")
    commit = ctx.hub.storage.mirror(repo, branch, revision, author="sandbox")
    return json_response({"id": repo.id, "branch": branch, "commit": commit.id})


async def convert(ctx: Ctx) -> Response:
    """`POST /_sandbox/repos/{kind}/{repo}/convert` with `{"files": {path: base64}}`: the Hub's
    Parquet conversion of the repo's main, written to `refs/convert/parquet` (its converter's
    work, which no API call does)."""
    repo_type = ctx.params["kind"].removesuffix("s")
    repo = ctx.hub.storage.get_repo(repo_type, ctx.repo_id) if repo_type in REPO_TYPES else None
    if repo is None:
        raise errors.repo_not_found()
    body = await ctx.json_object()
    files = body.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and k.endswith(".parquet") and isinstance(v, str)
        for k, v in files.items()
    ):
        raise errors.bad_request("files: {path ending in .parquet: base64 content}")
    try:
        contents = {path: base64.b64decode(data, validate=True) for path, data in files.items()}
    except binascii.Error as exc:
        raise errors.bad_request(f"files: not base64 ({exc})") from exc
    commit = ctx.hub.storage.convert_to_parquet(repo, contents, author="parquet-converter")
    return json_response({"id": repo.id, "ref": PARQUET_EXPORT, "commit": commit.id})


MAX_SPARSE_BYTES = 2**40  # 1 TiB: far over any cap a test needs to cross


async def sparse(ctx: Ctx) -> Response:
    """`POST /_sandbox/repos/{kind}/{repo}/sparse` with `{"path", "size", "head"?, "branch"?}`:
    a commit adding a file of `size` bytes (`head`, then zeros) stored as a sparse file."""
    repo_type = ctx.params["kind"].removesuffix("s")
    repo = ctx.hub.storage.get_repo(repo_type, ctx.repo_id) if repo_type in REPO_TYPES else None
    if repo is None:
        raise errors.repo_not_found()
    body = await ctx.json_object()
    path, size = body.get("path"), body.get("size")
    head, branch = body.get("head", ""), body.get("branch", "main")
    if not (isinstance(path, str) and isinstance(head, str) and isinstance(branch, str)):
        raise errors.bad_request("path, head and branch must be strings")
    encoded = head.encode()
    if not isinstance(size, int) or not len(encoded) <= size <= MAX_SPARSE_BYTES:
        raise errors.bad_request(
            f"size must be a whole number of bytes from len(head) to {MAX_SPARSE_BYTES}"
        )
    commit = ctx.hub.storage.commit_to_branch(
        repo,
        branch,
        [AddSparseFile(path, size, encoded)],
        title=f"Add {path} ({size} bytes, sparse)",
        author="sandbox",
    )
    return json_response(
        {"id": repo.id, "branch": branch, "commit": commit.id, "path": path, "size": size}
    )


ROUTES = [
    route("GET", "/_sandbox/health", health, public=True),
    route("GET POST DELETE", "/_sandbox/faults", faults, public=True),
    route("GET DELETE", "/_sandbox/log", log, public=True),
    route("POST", f"/_sandbox/repos/(?P<kind>[a-z]+)/{REPO}", repo_settings, public=True),
    route("POST", f"/_sandbox/repos/(?P<kind>[a-z]+)/{REPO}/mirror", mirror, public=True),
    route("POST", f"/_sandbox/repos/(?P<kind>[a-z]+)/{REPO}/convert", convert, public=True),
    route("POST", f"/_sandbox/repos/(?P<kind>[a-z]+)/{REPO}/sparse", sparse, public=True),
]
