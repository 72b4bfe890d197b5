"""Discussion endpoints: list, open, details (with diff), comment (edit, hide), status, title,
merge."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox import discussions, errors
from sandbox.routing import REPO, TYPE, Ctx, json_response, route
from sandbox.storage import Repo
from sandbox.users import User

_STATUS_FILTERS = {
    "open": ("open", "draft"),
    "closed": ("closed", "merged"),
}


def _wanted(ctx: Ctx, discussion: dict[str, Any]) -> bool:
    query = ctx.request.query_params
    kind = query.get("type", "all")
    if kind == "pull_request" and not discussion["isPullRequest"]:
        return False
    if kind == "discussion" and discussion["isPullRequest"]:
        return False
    status = query.get("status", "all")
    if status in _STATUS_FILTERS and discussion["status"] not in _STATUS_FILTERS[status]:
        return False
    author = query.get("author")
    return author is None or discussion["author"] == author


async def list_discussions(ctx: Ctx) -> Response:
    """`GET .../discussions?type=&status=&author=&p=` (50 per page, newest first)."""
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, ctx.user)
    try:
        page = max(int(ctx.request.query_params.get("p", "0")), 0)
    except ValueError as exc:
        raise errors.bad_request("Invalid page") from exc
    found = [d for d in discussions.every(ctx.hub.storage, repo) if _wanted(ctx, d)]
    start = page * discussions.PAGE_SIZE
    chunk = found[start : start + discussions.PAGE_SIZE]
    return json_response(
        {
            "discussions": [discussions.summary(repo, d) for d in chunk],
            "count": len(found),
            "start": start,
            "numClosedDiscussions": sum(d["status"] in ("closed", "merged") for d in found),
        }
    )


async def open_discussion(ctx: Ctx) -> Response:
    """`POST .../discussions` `{title, description, pullRequest}`; a new PR starts as a draft."""
    user = ctx.hub.require_user(ctx.user)
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, user)
    if repo.discussions_disabled:
        raise errors.forbidden("Discussions are disabled for this repo")
    body = await ctx.json_object()
    title = str(body.get("title") or "").strip()
    if len(title) < 3:
        raise errors.bad_request("The title must be at least 3 characters long")
    pull_request = bool(body.get("pullRequest"))
    storage = ctx.hub.storage
    with storage.lock:
        head = ctx.hub.head(repo)
        discussion = discussions.create(
            storage,
            repo,
            title=title,
            author=user.name,
            description=str(body.get("description") or ""),
            pull_request=pull_request,
            base_commit=head.id if pull_request else None,
            status="draft" if pull_request else "open",
        )
        if pull_request:
            storage.set_ref(repo, f"refs/pr/{discussion['num']}", head.id)
    return json_response(
        {"num": discussion["num"], "pullRequest": pull_request, "url": _url(ctx, repo, discussion)}
    )


def _url(ctx: Ctx, repo: Repo, discussion: dict[str, Any]) -> str:
    return f"{ctx.base_url}/{repo.url_prefix}{repo.id}/discussions/{discussion['num']}"


def _discussion(ctx: Ctx, repo: Repo) -> dict[str, Any]:
    discussion = discussions.load(ctx.hub.storage, repo, int(ctx.params["num"]))
    if discussion is None:
        raise errors.HubError(404, "Discussion not found")
    return discussion


async def discussion_details(ctx: Ctx) -> Response:
    """`GET .../discussions/{num}[?diff=1]`."""
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, ctx.user)
    with ctx.hub.storage.lock:
        discussion = _discussion(ctx, repo)
        data = discussions.details(ctx.hub.storage, repo, discussion, diff=ctx.flag("diff"))
    return json_response(data)


def _require_author_or_writer(ctx: Ctx, repo: Repo, user: User, discussion: dict[str, Any]) -> None:
    if discussion["author"] != user.name and not ctx.hub.can_write(repo, user):
        raise errors.forbidden("Only the author or the repo's writers can do this")


async def act(ctx: Ctx) -> Response:
    """`POST .../discussions/{num}/comment|status|title|merge`."""
    user = ctx.hub.require_user(ctx.user)
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, user)
    body = await ctx.json_object()
    storage = ctx.hub.storage
    action = ctx.params["action"]
    with storage.lock:
        discussion = _discussion(ctx, repo)
        if action == "merge":
            ctx.hub.require_write(repo, user)
            if text := str(body.get("comment") or "").strip():
                discussion["events"].append(discussions.comment_event(user.name, text))
            merged = discussions.merge(storage, repo, discussion, user=user.name)
            return json_response({"mergeCommitId": merged.id})
        answer = _edit(ctx, repo, user, discussion, action, body)
        discussions.save(storage, repo, discussion)
    return json_response(answer)


def _edit(
    ctx: Ctx, repo: Repo, user: User, discussion: dict[str, Any], action: str, body: dict[str, Any]
) -> dict[str, Any]:
    events = discussion["events"]
    if action == "comment":
        if repo.discussions_disabled:
            raise errors.forbidden("Discussions are disabled for this repo")
        text = str(body.get("comment") or "").strip()
        if not text:
            raise errors.bad_request("The comment cannot be empty")
        events.append(discussions.comment_event(user.name, text))
        return {"newMessage": events[-1]}
    _require_author_or_writer(ctx, repo, user, discussion)
    if action == "title":
        new_title = str(body.get("title") or "").strip()
        if len(new_title) < 3:
            raise errors.bad_request("The title must be at least 3 characters long")
        events.append(discussions.title_event(user.name, discussion["title"], new_title))
        discussion["title"] = new_title
        return {"newTitle": events[-1]}
    status = body.get("status")
    if status not in ("open", "closed"):
        raise errors.bad_request("status must be 'open' or 'closed'")
    if discussion["status"] == "merged":
        raise errors.bad_request("This pull request is already merged")
    if text := str(body.get("comment") or "").strip():
        events.append(discussions.comment_event(user.name, text))
    events.append(discussions.status_event(user.name, status))
    discussion["status"] = status
    return {"newStatus": events[-1]}


async def change_comment(ctx: Ctx) -> Response:
    """`POST .../discussions/{num}/comment/{id}/edit` `{content}` and `.../hide`.

    Only the comment's author edits it; the author or the repo's writers hide it. Editing a
    pull request's first comment edits its description.
    """
    user = ctx.hub.require_user(ctx.user)
    repo = ctx.hub.readable_repo(ctx.repo_type, ctx.repo_id, user)
    editing = ctx.params["change"] == "edit"
    text = (await ctx.json_object()).get("content") if editing else None
    storage = ctx.hub.storage
    with storage.lock:
        discussion = _discussion(ctx, repo)
        event = discussions.find_comment(discussion, ctx.params["comment_id"])
        if event is None:
            raise errors.HubError(404, "Comment not found")
        author = event["author"]["name"]
        if editing:
            if author != user.name:
                raise errors.forbidden("Only the author of a comment can edit it")
            if not isinstance(text, str) or not text.strip():
                raise errors.bad_request("'content' must be a non-empty string")
            discussions.edit_comment(event, user.name, text)
        else:
            if author != user.name and not ctx.hub.can_write(repo, user):
                raise errors.forbidden("Only the author or the repo's writers can hide a comment")
            discussions.hide_comment(event, user.name)
        discussions.save(storage, repo, discussion)
    return json_response({"updatedComment": event})


_DISCUSSION = f"/api/{TYPE}/{REPO}/discussions"

ROUTES = [
    route("GET", _DISCUSSION, list_discussions),
    route("POST", _DISCUSSION, open_discussion),
    route("GET", rf"{_DISCUSSION}/(?P<num>[1-9]\d*)", discussion_details),
    route("POST", rf"{_DISCUSSION}/(?P<num>[1-9]\d*)/(?P<action>comment|status|title|merge)", act),
    route(
        "POST",
        rf"{_DISCUSSION}/(?P<num>[1-9]\d*)/comment/(?P<comment_id>[0-9a-f]+)/(?P<change>edit|hide)",
        change_comment,
    ),
]
