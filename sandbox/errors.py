"""Errors the sandbox answers with, shaped like the Hub's, and the error of a served data dir.

The Hub puts the error class in an `X-Error-Code` header and a human message in `X-Error-Message`
and in the JSON body (`{"error": ...}`); huggingface_hub maps the header to its exception classes
(`RepositoryNotFoundError`, `RevisionNotFoundError`, `EntryNotFoundError`, `GatedRepoError`, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class HubError(Exception):
    """An error answer: HTTP status, optional `X-Error-Code`, message, extra headers and body keys.

    Example:
        >>> raise HubError(404, "Repository not found", code="RepoNotFound")
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.body = dict(body or {})


class RepoMoved(HubError):
    """The repo was renamed: answered as a 307 to the same URL with the new id in place.

    Raised where the repo is looked up; the app builds the `Location` from the request path.
    """

    def __init__(self, repo_type: str, old_id: str, new_id: str) -> None:
        super().__init__(307, f"Moved to {new_id}")
        self.repo_type = repo_type
        self.old_id = old_id
        self.new_id = new_id


class DataDirInUse(RuntimeError):
    """Another live process already serves this data dir (`<data dir>/server.json`).

    Two servers on one data dir would each keep their own in-memory state and never see the
    other's writes, so the sandbox refuses to start a second one.
    """

    def __init__(self, data_dir: Path, url: str | None, pid: int | None) -> None:
        by = f"{url} (pid {pid})" if url else f"another process (pid {pid})"
        super().__init__(
            f"the sandbox data dir {data_dir} is already served by {by}: use that server "
            "(`sandbox seed --data-dir` seeds through it) or stop it first"
        )
        self.data_dir = data_dir
        self.url = url
        self.pid = pid


def repo_not_found() -> HubError:
    return HubError(404, "Repository not found", code="RepoNotFound")


def revision_not_found(revision: str) -> HubError:
    return HubError(404, f"Invalid rev id: {revision}", code="RevisionNotFound")


def entry_not_found(path: str, commit: str | None = None) -> HubError:
    headers = {"X-Repo-Commit": commit} if commit else None
    return HubError(404, f"Entry not found: {path}", code="EntryNotFound", headers=headers)


def gated(repo_id: str, *, authenticated: bool, repo_type: str = "model") -> HubError:
    if authenticated:
        message = (
            f"Access to {repo_type} {repo_id} is restricted and you are not in the authorized "
            "list. Visit the repo page to ask for access."
        )
        return HubError(403, message, code="GatedRepo")
    message = (
        f"Access to {repo_type} {repo_id} is restricted. You must have access to it and be "
        "authenticated to access it. Please log in."
    )
    return HubError(401, message, code="GatedRepo")


def read_only_token() -> HubError:
    return HubError(
        403,
        "This token has the 'read' role and cannot write: use a token with the 'write' role",
    )


def disabled() -> HubError:
    # huggingface_hub recognises a disabled repo by this exact X-Error-Message.
    return HubError(403, "Access to this resource is disabled.", code="DisabledRepo")


def unauthorized(message: str = "Invalid credentials in Authorization header") -> HubError:
    return HubError(401, message)


def forbidden(message: str) -> HubError:
    return HubError(403, message)


def bad_request(message: str) -> HubError:
    return HubError(400, message)


def not_found(message: str = "Sorry, we can't find the page you are looking for.") -> HubError:
    return HubError(404, message)
