"""Write endpoints: create/delete/move repos, settings, validate-yaml, preupload, commit."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from starlette.responses import PlainTextResponse, Response

from sandbox import discussions, errors, space_config
from sandbox.cards import front_matter
from sandbox.routing import REPO, REV, TYPE, Ctx, json_response, route
from sandbox.storage import REPO_TYPES, AddFile, Commit, DeleteFile, DeleteFolder, Operation, Repo
from sandbox.users import User
from sandbox.validation import commit_problems, validate_card

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_-])?$")


def repo_url(ctx: Ctx, repo: Repo) -> str:
    return f"{ctx.base_url}/{repo.url_prefix}{repo.id}"


def _repo_type(body: dict[str, Any]) -> str:
    repo_type = body.get("type") or "model"
    if repo_type not in REPO_TYPES:
        raise errors.bad_request(f"Invalid repo type: {repo_type}")
    return str(repo_type)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or "--" in name or ".." in name:
        raise errors.bad_request(f"Invalid repo name: {name!r}")
    return name


def _repo_from_body(ctx: Ctx, body: dict[str, Any], user: User) -> tuple[str, str]:
    namespace = body.get("organization") or user.name
    return _repo_type(body), f"{namespace}/{_check_name(body.get('name'))}"


async def create_repo(ctx: Ctx) -> Response:
    """`POST /api/repos/create` `{name, organization, type, visibility|private}`."""
    user = ctx.hub.require_user(ctx.user)
    body = await ctx.json_object()
    repo_type, repo_id = _repo_from_body(ctx, body, user)
    namespace = repo_id.split("/")[0]
    if not ctx.hub.users.can_write(user, namespace):
        raise errors.forbidden(
            f'You don\'t have the rights to create a {repo_type} under the namespace "{namespace}"'
        )
    private = body.get("visibility") == "private" or body.get("private") is True
    files = _space_files(body, repo_id) if repo_type == "space" else []
    with ctx.hub.storage.lock:
        existing = ctx.hub.storage.get_repo(repo_type, repo_id)
        if existing is not None:
            message = f"You already created this {repo_type} repo"
            return json_response({"error": message, "url": repo_url(ctx, existing)}, 409)
        repo = ctx.hub.storage.create_repo(
            repo_type, repo_id, author=user.name, private=private, files=files
        )
    return json_response({"url": repo_url(ctx, repo), "name": repo.id, "id": repo.object_id})


def _space_files(body: dict[str, Any], repo_id: str) -> list[AddFile]:
    """A new Space starts with a README.md that configures its `sdk` (required)."""
    sdk = body.get("sdk")
    if sdk not in space_config.SDKS:
        raise errors.bad_request(
            f'"sdk" must be one of [{", ".join(space_config.SDKS)}] to create a space'
        )
    return [AddFile("README.md", space_config.initial_readme(repo_id.split("/")[1], sdk))]


def _check_space_readme(repo: Repo, operations: list[Operation]) -> None:
    """Refuse a Space commit whose README.md breaks the Space configuration rules."""
    readme = [op for op in operations if isinstance(op, AddFile) and op.path == "README.md"]
    if repo.type != "space" or not readme:
        return
    _, config, yaml_error = front_matter(readme[-1].content.decode("utf-8", errors="replace"))
    if yaml_error is not None:
        problems = [f"Invalid YAML in README.md front matter: {yaml_error}"]
    elif not isinstance(config, dict):
        problems = ['"sdk" is required']
    else:
        problems = space_config.space_config_problems(config)
    if problems:
        raise errors.bad_request(space_config.rejection(problems))


def _check_card(repo: Repo, operations: list[Operation]) -> None:
    """Refuse a model or dataset commit whose README.md front matter the Hub does not accept:
    YAML it cannot read, or an invalid `model-index` (see `validation.commit_problems`)."""
    readme = [op for op in operations if isinstance(op, AddFile) and op.path == "README.md"]
    if repo.type == "space" or not readme:
        return
    content = readme[-1].content.decode("utf-8", errors="replace")
    if problems := commit_problems(content, repo.type):
        raise errors.bad_request(space_config.rejection(problems))


async def delete_repo(ctx: Ctx) -> Response:
    """`DELETE /api/repos/delete` `{name, organization, type}`."""
    user = ctx.hub.require_user(ctx.user)
    repo_type, repo_id = _repo_from_body(ctx, await ctx.json_object(), user)
    repo = ctx.hub.readable_repo(repo_type, repo_id, user)
    ctx.hub.require_write(repo, user)
    ctx.hub.storage.delete_repo(repo)
    return json_response({})


def _repo_id(value: Any, key: str) -> str:
    namespace, _, name = value.partition("/") if isinstance(value, str) else ("", "", "")
    if not namespace or "/" in name:
        raise errors.bad_request(f"'{key}' must be a repo id 'namespace/name', got {value!r}")
    return f"{namespace}/{_check_name(name)}"


async def move_repo(ctx: Ctx) -> Response:
    """`POST /api/repos/move` `{fromRepo, toRepo, type}`: rename or transfer a repo.

    The old id then answers 307 to the new one (see `Hub.readable_repo`) until a repo takes
    the old name again.
    """
    user = ctx.hub.require_user(ctx.user)
    body = await ctx.json_object()
    repo_type = _repo_type(body)
    from_id, to_id = (
        _repo_id(body.get("fromRepo"), "fromRepo"),
        _repo_id(body.get("toRepo"), "toRepo"),
    )
    with ctx.hub.storage.lock:
        repo = ctx.hub.readable_repo(repo_type, from_id, user)
        ctx.hub.require_write(repo, user)
        namespace = to_id.split("/")[0]
        if not ctx.hub.users.can_write(user, namespace):
            raise errors.forbidden(
                f'You don\'t have the rights to move a {repo_type} to the namespace "{namespace}"'
            )
        if to_id == from_id:
            raise errors.bad_request(f"The {repo_type} is already named {to_id}")
        ctx.hub.storage.move_repo(repo, to_id)
    return json_response({})


async def update_settings(ctx: Ctx) -> Response:
    """`PUT /api/{type}s/{repo}/settings` `{gated, visibility|private, discussionsDisabled}`."""
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, ctx.user)
    ctx.hub.require_write(repo, ctx.user)
    body = await ctx.json_object()
    with ctx.hub.storage.lock:
        if "gated" in body:
            if body["gated"] not in ("auto", "manual", False):
                raise errors.bad_request("gated must be 'auto', 'manual' or false")
            repo.gated = body["gated"]
        if "visibility" in body:
            repo.private = body["visibility"] == "private"
        if isinstance(body.get("private"), bool):
            repo.private = body["private"]
        if isinstance(body.get("discussionsDisabled"), bool):
            repo.discussions_disabled = body["discussionsDisabled"]
        ctx.hub.storage.save_repo(repo)
    return json_response({})


async def validate_yaml(ctx: Ctx) -> Response:
    """`POST /api/validate-yaml` `{content, repoType}` → `{errors, warnings}` (400 on errors)."""
    body = await ctx.json_object()
    content, repo_type = body.get("content"), body.get("repoType") or "model"
    if not isinstance(content, str):
        raise errors.bad_request("'content' must be a string")
    problems, warnings = validate_card(content, repo_type)
    status = 400 if problems else 200
    if problems and ctx.request.headers.get("accept", "").startswith("text/plain"):
        return PlainTextResponse("\n".join(problems), status)
    payload = {
        "errors": [{"message": p} for p in problems],
        "warnings": [{"message": w} for w in warnings],
    }
    return json_response(payload, status)


def _check_commit_rights(ctx: Ctx, repo: Repo, user: User, branch: str, create_pr: bool) -> None:
    """Writers commit anywhere; others only open PRs or push to their own open PRs."""
    if create_pr:
        if repo.discussions_disabled:
            raise errors.forbidden("Discussions are disabled for this repo")
        return
    pr = _pr_of_branch(ctx, repo, branch)
    if pr is not None:
        if pr["status"] not in ("open", "draft"):
            raise errors.forbidden(f"Pull request #{pr['num']} is {pr['status']}")
        if pr["author"] == user.name:
            return
    ctx.hub.require_write(repo, user)


def _pr_of_branch(ctx: Ctx, repo: Repo, branch: str) -> dict[str, Any] | None:
    found = re.fullmatch(r"refs/pr/(\d+)", branch)
    return discussions.load(ctx.hub.storage, repo, int(found.group(1))) if found else None


def _branch_head(ctx: Ctx, repo: Repo, branch: str) -> Commit:
    if branch not in repo.refs:
        if ctx.hub.storage.resolve(repo, branch) is not None:
            raise errors.bad_request(f"Cannot commit to a commit id: {branch}, use a branch")
        raise errors.revision_not_found(branch)
    return ctx.hub.revision(repo, branch)


async def preupload(ctx: Ctx) -> Response:
    """`POST .../preupload/{rev}`: every file is uploaded "regular" (in the commit body)."""
    user = ctx.hub.require_user(ctx.user)
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, user)
    head = _branch_head(ctx, repo, ctx.params["rev"])
    _check_commit_rights(ctx, repo, user, ctx.params["rev"], ctx.flag("create_pr"))
    files = (await ctx.json_object()).get("files")
    if not isinstance(files, list):
        raise errors.bad_request("'files' must be a list")
    answer = []
    for item in files:
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(path, str):
            raise errors.bad_request("each file needs a 'path'")
        entry: dict[str, Any] = {"path": path, "uploadMode": "regular", "shouldIgnore": False}
        if path in head.tree:
            entry["oid"] = head.tree[path].oid
        answer.append(entry)
    return json_response({"files": answer, "commitOid": head.id})


def _parse_commit_body(raw: bytes) -> tuple[dict[str, Any], list[Operation]]:
    header: dict[str, Any] | None = None
    operations: list[Operation] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            key, value = item["key"], item["value"]
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.bad_request(f"Invalid commit payload at line {number}") from exc
        if key == "header":
            header = value
        elif key == "file":
            operations.append(AddFile(value["path"], _decode(value)))
        elif key == "deletedFile":
            operations.append(DeleteFile(value["path"]))
        elif key == "deletedFolder":
            operations.append(DeleteFolder(value["path"]))
        elif key == "lfsFile":
            raise errors.bad_request("LFS files are not stored by this Hub: upload them as regular")
        else:
            raise errors.bad_request(f"Unknown commit operation: {key}")
    if not isinstance(header, dict) or not str(header.get("summary", "")).strip():
        raise errors.bad_request("A commit needs a header with a non-empty summary")
    return header, operations


def _decode(value: dict[str, Any]) -> bytes:
    content = value.get("content", "")
    if value.get("encoding") == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except binascii.Error as exc:
            raise errors.bad_request(f"Invalid base64 content for {value.get('path')}") from exc
    return str(content).encode()


def _find_parent(ctx: Ctx, repo: Repo, parent: str, head: Commit) -> str:
    if head.id.startswith(parent.lower()):
        return head.id
    found = ctx.hub.storage.resolve(repo, parent)
    if found is None:
        raise errors.revision_not_found(parent)
    return found.id


async def commit(ctx: Ctx) -> Response:
    """`POST .../commit/{rev}[?create_pr=1]`, an ndjson body of header + operations."""
    user = ctx.hub.require_user(ctx.user)
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, user)
    branch, create_pr = ctx.params["rev"], ctx.flag("create_pr")
    header, operations = _parse_commit_body(await ctx.request.body())
    _check_space_readme(repo, operations)
    _check_card(repo, operations)
    title, message = str(header["summary"]).strip(), str(header.get("description") or "")
    parent = header.get("parentCommit")
    storage = ctx.hub.storage
    pr_url = None
    with storage.lock:
        head = _branch_head(ctx, repo, branch)
        _check_commit_rights(ctx, repo, user, branch, create_pr)
        if create_pr:
            if branch.startswith("refs/pr/"):
                raise errors.bad_request("Cannot open a pull request on a pull request branch")
            base = _find_parent(ctx, repo, parent, head) if parent else head.id
            new = storage.commit(
                repo,
                parent=base,
                operations=operations,
                title=title,
                message=message,
                author=user.name,
            )
            pr = discussions.create(
                storage,
                repo,
                title=title,
                author=user.name,
                description=message,
                pull_request=True,
                base_commit=base,
                target=branch,
            )
            storage.set_ref(repo, f"refs/pr/{pr['num']}", new.id)
            pr["events"].append(discussions.commit_event(user.name, new))
            discussions.save(storage, repo, pr)
            pr_url = f"{repo_url(ctx, repo)}/discussions/{pr['num']}"
        else:
            if parent and not head.id.startswith(parent.lower()):
                raise errors.HubError(
                    412, "A commit has happened since. Please refresh and try again."
                )
            new = storage.commit_to_branch(
                repo, branch, operations, title=title, message=message, author=user.name
            )
            updated = _pr_of_branch(ctx, repo, branch)
            if updated is not None:
                updated["events"].append(discussions.commit_event(user.name, new))
                updated["status"] = "open"
                discussions.save(storage, repo, updated)
    return json_response(
        {
            "success": True,
            "commitOid": new.id,
            "commitUrl": f"{repo_url(ctx, repo)}/commit/{new.id}",
            "hookOutput": "",
            "pullRequestUrl": pr_url,
        }
    )


ROUTES = [
    route("POST", "/api/repos/create", create_repo),
    route("DELETE", "/api/repos/delete", delete_repo),
    route("POST", "/api/repos/move", move_repo),
    route("POST", "/api/validate-yaml", validate_yaml, write=False),
    route("PUT", f"/api/{TYPE}/{REPO}/settings", update_settings),
    route("POST", f"/api/{TYPE}/{REPO}/preupload/{REV}", preupload),
    route("POST", f"/api/{TYPE}/{REPO}/commit/{REV}", commit),
]
