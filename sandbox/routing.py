"""Routing on the raw request path, and the helpers every handler uses.

Routing happens on the raw (still percent-encoded) path: the client encodes revisions and tree
paths as one segment (`refs%2Fpr%2F1`, `data%2Ftrain`), and file paths in `/resolve/` keep their
slashes. Each captured group is decoded on its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox import errors
from sandbox.hub import Hub
from sandbox.users import User

TYPE = r"(?P<t>models|datasets|spaces)"
REPO = r"(?P<ns>[^/]+)/(?P<name>[^/]+)"
REV = r"(?P<rev>refs/(?:pr|convert)/[^/]+|[^/]+)"


@dataclass
class Ctx:
    """One request: the Hub state, who is asking, and the decoded route captures."""

    request: Request
    hub: Hub
    user: User | None
    params: dict[str, str]

    @property
    def base_url(self) -> str:
        return str(self.request.base_url).rstrip("/")

    @property
    def repo_type(self) -> str:
        kind = self.params.get("t", "models")
        return kind[:-1] if kind.endswith("s") else kind

    @property
    def repo_id(self) -> str:
        return f"{self.params['ns']}/{self.params['name']}"

    def flag(self, name: str) -> bool:
        return self.request.query_params.get(name, "").lower() in ("1", "true")

    async def json(self) -> Any:
        body = await self.request.body()
        try:
            return json.loads(body or b"null")
        except ValueError as exc:
            raise errors.bad_request(f"Invalid JSON body: {exc}") from exc

    async def json_object(self) -> dict[str, Any]:
        body = await self.json()
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise errors.bad_request("Expected a JSON object")
        return body


Handler = Callable[[Ctx], Awaitable[Response]]


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    handler: Handler
    public: bool = False  # admin routes: no authentication at all
    write: bool = False  # refused (403) to read tokens


def route(
    methods: str, pattern: str, handler: Handler, *, public: bool = False, write: bool | None = None
) -> Route:
    """A route for space-separated `methods` and a regex over the raw path (anchored).

    `write`: whether it changes anything, so that read tokens are refused; by default any
    method but GET does (pass False for a POST that only reads, such as paths-info).
    """
    verbs = frozenset(methods.split())
    changes = bool(verbs - {"GET"}) if write is None else write
    return Route(verbs, re.compile(f"^{pattern}$"), handler, public, changes)


def match(routes: list[Route], method: str, raw_path: str) -> tuple[Route, dict[str, str]]:
    """The route for a request and its decoded captures.

    Raises:
        HubError: 404 without an error code when nothing matches, as the Hub answers.
    """
    lookup = "GET" if method == "HEAD" else method
    for candidate in routes:
        found = candidate.pattern.match(raw_path)
        if found and (lookup in candidate.methods or method in candidate.methods):
            params = {k: unquote(v) for k, v in found.groupdict().items() if v is not None}
            return candidate, params
    raise errors.not_found()


def moved_location(found: Route, raw_path: str, query: str, new_id: str) -> str | None:
    """The URL of this request with the repo id replaced by `new_id` (None: the route names
    no repo, e.g. `/api/repos/delete`)."""
    groups = found.pattern.match(raw_path)
    if groups is None or groups.groupdict().get("ns") is None:
        return None
    start, end = groups.start("ns"), groups.end("name")
    location = raw_path[:start] + new_id + raw_path[end:]
    return f"{location}?{query}" if query else location


def redirect_response(location: str, *, head: bool) -> Response:
    """A 307 to a relative `location`, as the Hub answers for a renamed repo."""
    body = b"" if head else f"Temporary Redirect. Redirecting to {location}".encode()
    return Response(body, status_code=307, headers={"Location": location})


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status, headers=headers)


def _header_text(text: str) -> str:
    return " ".join(text.split()).encode("ascii", errors="replace").decode()[:1000]


def error_response(error: errors.HubError, *, head: bool) -> Response:
    """The Hub's error shape: `X-Error-Code` + `X-Error-Message` headers, `{"error": ...}` body."""
    headers = dict(error.headers)
    if error.code:
        headers["X-Error-Code"] = error.code
    headers["X-Error-Message"] = _header_text(error.message)
    if head:
        return Response(status_code=error.status, headers=headers)
    return JSONResponse({"error": error.message, **error.body}, error.status, headers=headers)
