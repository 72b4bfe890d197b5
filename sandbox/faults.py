"""Fault injection and the request log, both driven by the `/_sandbox/...` admin endpoints.

A fault answers matching requests with an error status instead of serving them: 429 carries the
Hub's `RateLimit: "api";r=0;t=N` and `Retry-After: N` headers (huggingface_hub waits N+1 s
before retrying a listing page), 5xx a plain JSON error. `POST /_sandbox/faults` arms one:

    {"status": 503,            # 429, 500, 502, 503 or 504 (required)
     "count": 3,               # answer the next 3 matching requests (default 1) ...
     "seconds": 20,            # ... or every matching request for the next 20 s (an outage)
     "path_prefix": "/api/",   # which paths match (default "/": all but /_sandbox)
     "method": "GET",          # which method matches (default any)
     "retry_after": 5}         # N of the 429 headers (default 1)

With both `count` and `seconds`, the fault ends at whichever runs out first. Faults are tried in
the order they were armed; `GET` lists the live ones (`seconds_left` for timed ones), `DELETE`
disarms all.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sandbox import errors
from sandbox.users import User

FAULT_STATUSES = (429, 500, 502, 503, 504)
_LOG_LIMIT = 50_000


@dataclass
class Fault:
    """An armed fault. `count` None: no limit on answers; `until` None: no time limit."""

    status: int
    count: int | None = 1
    path_prefix: str = "/"
    method: str | None = None
    retry_after: int = 1
    until: float | None = None  # time.monotonic() at which a timed fault ends

    def live(self, now: float) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        return self.until is None or now < self.until

    def matches(self, method: str, path: str, now: float) -> bool:
        if not self.live(now) or not path.startswith(self.path_prefix):
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

    def to_json(self, now: float) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status,
            "count": self.count,
            "path_prefix": self.path_prefix,
            "method": self.method,
            "retry_after": self.retry_after,
        }
        if self.until is not None:
            data["seconds_left"] = round(max(self.until - now, 0.0), 3)
        return data


def _number(body: dict[str, Any], key: str, default: Any) -> Any:
    value = body.get(key, default)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or value < 0
    ):
        raise errors.bad_request(f"'{key}' must be a number >= 0, got {value!r}")
    return value


def parse_fault(body: Any) -> Fault:
    """A `Fault` from the JSON of `POST /_sandbox/faults` (see the module docstring).

    Raises:
        HubError: 400 naming the field that is wrong.
    """
    if not isinstance(body, dict) or body.get("status") not in FAULT_STATUSES:
        raise errors.bad_request(f"'status' must be one of {FAULT_STATUSES}")
    seconds = _number(body, "seconds", None)
    count = _number(body, "count", None if seconds is not None else 1)
    retry_after = _number(body, "retry_after", 1)
    if not isinstance(retry_after, int) or not (count is None or isinstance(count, int)):
        raise errors.bad_request("'count' and 'retry_after' must be integers")
    return Fault(
        status=body["status"],
        count=count,
        path_prefix=str(body.get("path_prefix") or "/"),
        method=body.get("method"),
        retry_after=retry_after,
        until=None if seconds is None else time.monotonic() + seconds,
    )


class Faults:
    """Armed faults, tried in the order they were added."""

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
        """The faults still live, as JSON."""
        now = time.monotonic()
        with self._lock:
            self._faults = [f for f in self._faults if f.live(now)]
            return [f.to_json(now) for f in self._faults]

    def take(self, method: str, path: str) -> errors.HubError | None:
        """The error to answer this request with, if a fault matches (one use is consumed)."""
        if path.startswith("/_sandbox"):
            return None
        now = time.monotonic()
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, now):
                    if fault.count is not None:
                        fault.count -= 1
                    return fault.error()
        return None


class RequestLog:
    """Every non-admin request served: method, path, query string, status, and who asked
    (`user` and the token's `role`, both None for an anonymous request; never the token)."""

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(
        self, method: str, path: str, query: str, status: int, user: User | None = None
    ) -> None:
        if path.startswith("/_sandbox"):
            return
        entry = {"method": method, "path": path, "query": query, "status": status}
        entry.update(user=user and user.name, role=user and user.role)
        with self._lock:
            self._entries.append(entry)
            del self._entries[:-_LOG_LIMIT]

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
