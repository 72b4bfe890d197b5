"""Read endpoints: repo info, listings, trees, paths-info, file downloads, auth-check, whoami."""

from __future__ import annotations

import base64
import json
import mimetypes
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.responses import FileResponse, Response

from sandbox import errors, trees, views
from sandbox.routing import REPO, REV, TYPE, Ctx, json_response, route
from sandbox.storage import Repo
from sandbox.users import whoami as whoami_json

_SORTS = ("lastModified", "createdAt", "downloads", "likes", "trendingScore")


async def repo_info(ctx: Ctx) -> Response:
    """`GET /api/{type}s/{repo}` and `.../revision/{rev}`."""
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, ctx.user)
    commit = ctx.hub.revision(repo, ctx.params.get("rev", "main"))
    data = views.info(
        ctx.hub,
        repo,
        commit,
        blobs=ctx.flag("blobs"),
        security=ctx.flag("securityStatus"),
        expand=ctx.request.query_params.getlist("expand") or None,
    )
    return json_response(data)


def _sort_key(ctx: Ctx, repo: Repo, sort: str) -> tuple[Any, str, str]:
    primary: Any
    if sort == "lastModified":
        primary = ctx.hub.head(repo).date
    elif sort == "downloads":
        primary = repo.downloads
    elif sort == "likes":
        primary = repo.likes
    else:  # createdAt; trendingScore is 0 everywhere, so it falls back to the newest first
        primary = repo.created_at
    return primary, repo.created_at, repo.id


def _matches(ctx: Ctx, repo: Repo) -> bool:
    query = ctx.request.query_params
    if not ctx.hub.can_read(repo, ctx.user):
        return False
    if (author := query.get("author")) and repo.namespace.lower() != author.lower():
        return False
    if any(term.lower() not in repo.id.lower() for term in query.getlist("search")):
        return False
    if (gated := query.get("gated")) is not None and bool(repo.gated) != (gated == "true"):
        return False
    meta = ctx.hub.meta(repo, ctx.hub.head(repo))
    if (pipeline := query.get("pipeline_tag")) and meta.pipeline_tag != pipeline:
        return False
    return all(tag in meta.tags for tag in query.getlist("filter"))


def _encode_cursor(key: tuple[Any, str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[Any, str, str]:
    try:
        primary, created, repo_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise errors.bad_request("Invalid cursor") from exc
    return primary, created, repo_id


def _next_link(ctx: Ctx, cursor: str) -> str:
    items = [(k, v) for k, v in ctx.request.query_params.multi_items() if k != "cursor"]
    query = urlencode([*items, ("cursor", cursor)])
    return f'<{ctx.base_url}{ctx.request.url.path}?{query}>; rel="next"'


async def list_repos(ctx: Ctx) -> Response:
    """`GET /api/models|datasets|spaces`: filtered, sorted newest first, cursor-paginated."""
    query = ctx.request.query_params
    sort = query.get("sort") or "trendingScore"
    if sort not in _SORTS:
        raise errors.bad_request(f"Invalid sort parameter: {sort}")
    try:
        limit = int(query["limit"]) if "limit" in query else None
    except ValueError as exc:
        raise errors.bad_request("Invalid limit") from exc
    page_size = min(limit, ctx.hub.page_size) if limit else ctx.hub.page_size
    with ctx.hub.storage.lock:
        repos = [r for r in ctx.hub.storage.repos(ctx.repo_type) if _matches(ctx, r)]
        keyed = sorted(((_sort_key(ctx, r, sort), r) for r in repos), key=lambda kr: kr[0])
        keyed.reverse()
        if cursor := query.get("cursor"):
            after = _decode_cursor(cursor)
            keyed = [(key, repo) for key, repo in keyed if list(key) < list(after)]
        page = keyed[:page_size]
        expand = query.getlist("expand") or None
        items = [
            views.list_item(
                ctx.hub,
                repo,
                full=ctx.flag("full"),
                card=ctx.flag("cardData"),
                config=ctx.flag("config"),
                expand=expand,
            )
            for _, repo in page
        ]
    headers = (
        {"Link": _next_link(ctx, _encode_cursor(page[-1][0]))} if len(keyed) > page_size else None
    )
    return json_response(items, headers=headers)


def _paginate_paths(ctx: Ctx, paths: list[str]) -> tuple[list[str], dict[str, str] | None]:
    if cursor := ctx.request.query_params.get("cursor"):
        paths = [p for p in paths if p > base64.urlsafe_b64decode(cursor.encode()).decode()]
    page = paths[: ctx.hub.page_size]
    if len(paths) <= len(page):
        return page, None
    cursor = base64.urlsafe_b64encode(page[-1].encode()).decode()
    return page, {"Link": _next_link(ctx, cursor)}


async def tree(ctx: Ctx) -> Response:
    """`GET /api/{type}s/{repo}/tree/{rev}[/{path}]?recursive=&expand=`."""
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, ctx.user)
    commit = ctx.hub.revision(repo, ctx.params["rev"])
    folder = ctx.params.get("path", "").strip("/")
    paths = trees.children(commit, folder, recursive=ctx.flag("recursive"))
    if paths is None:
        raise errors.entry_not_found(folder, commit.id)
    page, headers = _paginate_paths(ctx, paths)
    expand = ctx.flag("expand")
    entries = [trees.entry(ctx.hub.storage, repo, commit, p, expand=expand) for p in page]
    return json_response(entries, headers=headers)


async def paths_info(ctx: Ctx) -> Response:
    """`POST /api/{type}s/{repo}/paths-info/{rev}` with a form body `paths=a&paths=b&expand=`."""
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, ctx.user)
    commit = ctx.hub.revision(repo, ctx.params["rev"])
    form = parse_qs((await ctx.request.body()).decode(), keep_blank_values=True)
    expand = form.get("expand", ["false"])[-1].lower() in ("1", "true")
    found = [
        trees.entry(ctx.hub.storage, repo, commit, path.strip("/"), expand=expand)
        for path in form.get("paths", [])
    ]
    return json_response([e for e in found if e is not None])


async def resolve(ctx: Ctx) -> Response:
    """`HEAD|GET /[datasets/]{repo}/resolve/{rev}/{path}`, with Range support."""
    if "ns" not in ctx.params:
        raise errors.repo_not_found()
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, ctx.user)
    ctx.hub.require_files(repo, ctx.user)
    commit = ctx.hub.revision(repo, ctx.params["rev"])
    path = ctx.params["path"]
    ref = commit.tree.get(path)
    if ref is None:
        raise errors.entry_not_found(path, commit.id)
    media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if media_type.startswith("text/") or path.endswith((".json", ".md", ".yaml", ".yml")):
        media_type = "text/plain; charset=utf-8"
    headers = {
        "X-Repo-Commit": commit.id,
        "ETag": f'"{ref.etag}"',
        "Accept-Ranges": "bytes",
        "Access-Control-Expose-Headers": "X-Repo-Commit,ETag,X-Linked-Size,X-Linked-ETag",
    }
    return FileResponse(ctx.hub.storage.blob_path(ref.oid), headers=headers, media_type=media_type)


async def commits(ctx: Ctx) -> Response:
    """`GET /api/{type}s/{repo}/commits/{rev}`: first-parent history, newest first, paginated."""
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, ctx.user)
    start = ctx.hub.revision(repo, ctx.params["rev"])
    if cursor := ctx.request.query_params.get("cursor"):
        start = ctx.hub.revision(repo, base64.urlsafe_b64decode(cursor.encode()).decode())
    page: list[dict[str, Any]] = []
    for commit in ctx.hub.storage.history(repo, start):
        if len(page) == ctx.hub.page_size:
            link = _next_link(ctx, base64.urlsafe_b64encode(commit.id.encode()).decode())
            return json_response(page, headers={"Link": link})
        page.append(
            {
                "id": commit.id,
                "title": commit.title,
                "message": commit.message,
                "authors": [{"user": commit.author, "avatar": ""}],
                "date": commit.date,
            }
        )
    return json_response(page)


async def refs(ctx: Ctx) -> Response:
    """`GET /api/{type}s/{repo}/refs[?include_prs=1]`."""
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, ctx.user)
    branches: list[dict[str, str]] = []
    pulls: list[dict[str, str]] = []
    converts: list[dict[str, str]] = []
    for name, target in sorted(repo.refs.items()):
        if name.startswith("refs/pr/"):
            pulls.append({"name": name.rsplit("/", 1)[1], "ref": name, "targetCommit": target})
        elif name.startswith("refs/convert/"):  # the Hub's conversions (`refs/convert/parquet`)
            converts.append({"name": name.rsplit("/", 1)[1], "ref": name, "targetCommit": target})
        else:
            branches.append({"name": name, "ref": f"refs/heads/{name}", "targetCommit": target})
    data = {"branches": branches, "converts": converts, "tags": []}
    if ctx.flag("include_prs"):
        data["pullRequests"] = pulls
    return json_response(data)


async def auth_check(ctx: Ctx) -> Response:
    """`GET /api/{type}s/{repo}/auth-check`: 200 when the caller may download the repo's files
    (`HfApi.auth_check`); 404 RepoNotFound, or 401/403 GatedRepo, when not."""
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, ctx.user)
    ctx.hub.require_files(repo, ctx.user)
    return json_response({})


async def whoami(ctx: Ctx) -> Response:
    """`GET /api/whoami-v2`."""
    user = ctx.hub.require_user(ctx.user)
    return json_response(whoami_json(user, ctx.hub.orgs_of(user)))


_RESOLVE_PREFIX = r"/(?:(?P<t>datasets|spaces)/)?"

ROUTES = [
    route("GET", "/api/whoami-v2", whoami),
    route("GET", f"/api/{TYPE}", list_repos),
    route("GET", f"/api/{TYPE}/{REPO}", repo_info),
    route("GET", f"/api/{TYPE}/{REPO}/revision/(?P<rev>.+)", repo_info),
    route("GET", f"/api/{TYPE}/{REPO}/tree/{REV}(?:/(?P<path>.*))?", tree),
    route("POST", f"/api/{TYPE}/{REPO}/paths-info/{REV}", paths_info, write=False),
    route("GET", f"/api/{TYPE}/{REPO}/commits/{REV}", commits),
    route("GET", f"/api/{TYPE}/{REPO}/refs", refs),
    route("GET", f"/api/{TYPE}/{REPO}/auth-check", auth_check),
    route("GET", f"{_RESOLVE_PREFIX}{REPO}/resolve/{REV}/(?P<path>.+)", resolve),
    route("GET", f"{_RESOLVE_PREFIX}(?P<name>[^/]+)/resolve/{REV}/(?P<path>.+)", resolve),
]
