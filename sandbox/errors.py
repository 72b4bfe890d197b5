"""Errors the sandbox answers with, shaped like the Hub's.

The Hub puts the error class in an `X-Error-Code` header and a human message in `X-Error-Message`
and in the JSON body (`{"error": ...}`); huggingface_hub maps the header to its exception classes
(`RepositoryNotFoundError`, `RevisionNotFoundError`, `EntryNotFoundError`, `GatedRepoError`, ...).
"""

from __future__ import annotations

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


def repo_not_found() -> HubError:
    return HubError(404, "Repository not found", code="RepoNotFound")


def revision_not_found(revision: str) -> HubError:
    return HubError(404, f"Invalid rev id: {revision}", code="RevisionNotFound")


def entry_not_found(path: str, commit: str | None = None) -> HubError:
    headers = {"X-Repo-Commit": commit} if commit else None
    return HubError(404, f"Entry not found: {path}", code="EntryNotFound", headers=headers)


def gated(repo_id: str, *, authenticated: bool) -> HubError:
    if authenticated:
        message = (
            f"Access to model {repo_id} is restricted and you are not in the authorized list. "
            f"Visit the repo page to ask for access."
        )
        return HubError(403, message, code="GatedRepo")
    message = (
        f"Access to model {repo_id} is restricted. You must have access to it and be "
        "authenticated to access it. Please log in."
    )
    return HubError(401, message, code="GatedRepo")


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
