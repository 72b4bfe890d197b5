"""The sandbox Hub as an ASGI app: one catch-all route dispatching on the raw path.

Example:
    >>> app = create_app(Path("/tmp/hub"))        # serve with uvicorn, see `sandbox.server`
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from sandbox import api_admin, api_discussions, api_read, api_write, errors, routing
from sandbox.hub import Hub
from sandbox.routing import (
    Ctx,
    error_response,
    match,
    moved_location,
    redirect_response,
)
from sandbox.users import READ, User

logger = logging.getLogger(__name__)

PAGE_SIZE_ENV = "EVALBOT_SANDBOX_PAGE_SIZE"
DEFAULT_PAGE_SIZE = 100
_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
_ROUTES = [*api_admin.ROUTES, *api_read.ROUTES, *api_write.ROUTES, *api_discussions.ROUTES]


def create_app(data_dir: Path, *, page_size: int | None = None) -> Starlette:
    """Build the app over `data_dir`.

    Args:
        data_dir: repos, blobs and `tokens.json` (created on first start).
        page_size: items per listing/tree page; defaults to `$EVALBOT_SANDBOX_PAGE_SIZE` or 100.
    """
    size = page_size or int(os.environ.get(PAGE_SIZE_ENV) or DEFAULT_PAGE_SIZE)
    hub = Hub(data_dir, page_size=size)

    async def dispatch(request: Request) -> Response:
        method = request.method
        raw_path = request.scope.get("raw_path", b"").decode("latin-1").split("?")[0]
        path = request.url.path
        found: routing.Route | None = None
        user: User | None = None
        try:
            if (fault := hub.faults.take(method, path)) is not None:
                raise fault
            found, params = match(_ROUTES, method, raw_path or path)
            if not found.public:
                user = hub.users.authenticate(request.headers.get("authorization"))
            if found.write and user is not None and user.role == READ:
                raise errors.read_only_token()
            response = await found.handler(Ctx(request, hub, user, params))
            if method == "HEAD" and not isinstance(response, FileResponse):
                headers = {k: v for k, v in response.headers.items() if k != "content-length"}
                response = Response(status_code=response.status_code, headers=headers)
        except errors.RepoMoved as moved:
            location = found and moved_location(
                found, raw_path or path, request.url.query, moved.new_id
            )
            if location:
                response = redirect_response(location, head=method == "HEAD")
            else:
                response = error_response(errors.repo_not_found(), head=method == "HEAD")
        except errors.HubError as error:
            response = error_response(error, head=method == "HEAD")
        except Exception:
            logger.exception("sandbox failed on %s %s", method, path)
            response = error_response(errors.HubError(500, "Internal Error"), head=method == "HEAD")
        hub.log.record(method, path, request.url.query, response.status_code, user)
        return response

    app = Starlette(routes=[Route("/{rest:path}", dispatch, methods=_METHODS)])
    app.state.hub = hub
    return app
