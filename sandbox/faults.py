"""Fault injection and the request log, both driven by the `/_sandbox/...` admin endpoints.

A fault answers the next `count` matching requests with an error status instead of serving them:
429 carries the Hub's `RateLimit: "api";r=0;t=N` and `Retry-After: N` headers (huggingface_hub
waits N+1 s before retrying a listing page), 5xx a plain JSON error.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sandbox import errors

FAULT_STATUSES = (429, 500, 502, 503, 504)
_LOG_LIMIT = 50_000


@dataclass
class Fault:
    status: int
    count: int
    path_prefix: str = "/"
    method: str | None = None
    retry_after: int = 1

    def matches(self, method: str, path: str) -> bool:
        if self.count <= 0 or not path.startswith(self.path_prefix):
            return False
        return self.method is None or self.method.upper() == method.upper()

    def error(self) -> errors.HubError:
        if self.status == 429:
            headers = {
                "RateLimit": f'"api";r=0;t={self.retry_after}',
                "RateLimit-Policy": '"fixed window";"api";q=1000;w=300',
                "Retry-After": str(self.retry_after),
            }
            message = "You have exceeded our hourly quotas for action: api. Retry later."
            return errors.HubError(429, message, headers=headers)
        return errors.HubError(self.status, "Internal Error - We're working hard to fix this.")


def parse_fault(body: Any) -> Fault:
    """A `Fault` from the JSON of `POST /_sandbox/faults`."""
    if not isinstance(body, dict) or body.get("status") not in FAULT_STATUSES:
        raise errors.bad_request(f"'status' must be one of {FAULT_STATUSES}")
    count = body.get("count", 1)
    retry_after = body.get("retry_after", 1)
    if not isinstance(count, int) or not isinstance(retry_after, int) or retry_after < 0:
        raise errors.bad_request("'count' and 'retry_after' must be integers")
    return Fault(
        status=body["status"],
        count=count,
        path_prefix=str(body.get("path_prefix") or "/"),
        method=body.get("method"),
        retry_after=retry_after,
    )


class Faults:
    """Armed faults, consumed in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [vars(f).copy() for f in self._faults if f.count > 0]

    def take(self, method: str, path: str) -> errors.HubError | None:
        """The error to answer this request with, if a fault matches (one use is consumed)."""
        if path.startswith("/_sandbox"):
            return None
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    return fault.error()
        return None


class RequestLog:
    """Every non-admin request served: method, path, query string and status."""

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(self, method: str, path: str, query: str, status: int) -> None:
        if path.startswith("/_sandbox"):
            return
        with self._lock:
            self._entries.append({"method": method, "path": path, "query": query, "status": status})
            del self._entries[:-_LOG_LIMIT]

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
