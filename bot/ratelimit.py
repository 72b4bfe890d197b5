"""Stay under a share of the token's Hub quota, and back off when the Hub says so.

Two parts:

- :class:`TokenBucket` paces every ``/api/`` request this process sends to the Hub while
  :func:`paced` is active (a request hook on huggingface_hub's shared HTTP client: listing
  pages, discussions, commits, and the calls ``snapshot_download`` and ``datasets`` make).
  File downloads (``/resolve/``) count against the Hub's separate, larger resolver quota.
- :class:`RetryingHfApi` retries the calls huggingface_hub does not retry itself (model and
  dataset info, whoami, discussions, commits) on 429 by the ``RateLimit: "api";r=0;t=N`` or
  ``Retry-After`` headers, and on 5xx when the call is a read. A commit is never retried on
  5xx (it may have been applied; the next attempt's marker scan finds it). When retries run
  out the error propagates, and the job runner hands the job back to the queue for later.

Example:
    >>> bucket = TokenBucket.for_quota(1000, share=0.5)  # at most 500 requests in any 5 min
    >>> api = RetryingHfApi(token=token, policy=RetryPolicy(retries=3, max_wait_s=60))
    >>> with paced(bucket, "https://huggingface.co"):
    ...     run_cycle(config, api=api, store=store)
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx2
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import set_client_factory

# The client huggingface_hub builds by default (its own request hook included); not exported,
# stable in the pinned huggingface-hub 2.4.
from huggingface_hub.utils._http import default_client_factory

log = logging.getLogger(__name__)

WINDOW_S = 300.0  # the Hub counts requests per 5 minutes
T = TypeVar("T")


class TokenBucket:
    """A thread-safe token bucket: ``capacity`` tokens, refilled at ``rate`` per second.

    Any ``window_s`` seconds see at most ``capacity + rate * window_s`` acquisitions.
    ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        rate: float,
        capacity: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a token bucket needs rate > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._stamp = clock()
        self._lock = threading.Lock()

    @classmethod
    def for_quota(
        cls,
        requests_per_window: int,
        *,
        share: float,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> TokenBucket:
        """A bucket that keeps any window under ``share`` of ``requests_per_window``.

        Half the budget is the burst, half the steady refill over one window.
        """
        budget = max(requests_per_window * share, 2.0)
        return cls(budget / 2 / window_s, budget / 2, clock=clock, sleep=sleep)

    def acquire(self, tokens: float = 1.0) -> float:
        """Take ``tokens``, sleeping until they are there. Returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= tokens - 1e-9:  # float dust would loop forever
                    self._tokens = max(self._tokens - tokens, 0.0)
                    return waited
                wait = (tokens - self._tokens) / self.rate
            self._sleep(wait)
            waited += wait


@contextmanager
def paced(bucket: TokenBucket, endpoint: str) -> Iterator[TokenBucket]:
    """Pace every ``/api/`` request to ``endpoint`` that huggingface_hub sends in this process,
    from any thread, until the block ends (the client is process-wide: so is the pacing).
    """
    host = urlsplit(endpoint).netloc

    def pace(request: httpx2.Request) -> None:
        if request.url.netloc.decode() == host and request.url.path.startswith("/api/"):
            waited = bucket.acquire()
            if waited > 1:
                log.info("rate limiter: waited %.1f s to stay under the quota share", waited)

    def factory() -> httpx2.Client:
        client = default_client_factory()
        client.event_hooks = {
            **client.event_hooks,
            "request": [*client.event_hooks["request"], pace],
        }
        return client

    set_client_factory(factory)
    try:
        yield bucket
    finally:
        set_client_factory(default_client_factory)


_RATELIMIT_T = re.compile(r"\bt=(\d+)")


def status_of(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return response.status_code if response is not None else None


def is_transient(exc: BaseException) -> bool:
    """A rate limit, a server error or a dropped connection: worth retrying later."""
    if isinstance(exc, httpx2.TransportError):
        return True
    status = status_of(exc)
    return (
        isinstance(exc, HfHubHTTPError) and status is not None and (status == 429 or status >= 500)
    )


def retry_after(exc: BaseException) -> float | None:
    """Seconds the Hub asked to wait: ``RateLimit: "api";r=0;t=N`` first, then ``Retry-After``."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    if found := _RATELIMIT_T.search(response.headers.get("RateLimit", "")):
        return float(found.group(1))
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of one Hub call.

    Attributes:
        retries: retries after the first try.
        max_wait_s: the longest single wait; a Hub asking for more is not waited for (the job
            goes back to the queue instead).
        base_wait_s: first wait when the Hub gives no hint; doubles each retry.
    """

    retries: int = 3
    max_wait_s: float = 60.0
    base_wait_s: float = 1.0

    def call(
        self,
        fn: Callable[..., T],
        *args: Any,
        idempotent: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        **kwargs: Any,
    ) -> T:
        """``fn(*args, **kwargs)``, retried on 429 (and on 5xx when ``idempotent``)."""
        for attempt in range(self.retries + 1):
            try:
                return fn(*args, **kwargs)
            except HfHubHTTPError as exc:
                status = status_of(exc)
                retryable = status == 429 or (idempotent and status is not None and status >= 500)
                hint = retry_after(exc)
                wait = hint if hint is not None else self.base_wait_s * 2**attempt
                if not retryable or attempt == self.retries or wait > self.max_wait_s:
                    raise
                log.warning(
                    "Hub answered HTTP %s to %s; retry %d/%d in %.0f s",
                    status,
                    getattr(fn, "__name__", "a call"),
                    attempt + 1,
                    self.retries,
                    wait,
                )
                sleep(wait)
        raise AssertionError("unreachable")


class RetryingHfApi(HfApi):
    """``HfApi`` whose calls that huggingface_hub does not retry are retried by a policy."""

    def __init__(self, *args: Any, policy: RetryPolicy | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy or RetryPolicy()

    def whoami(self, *args: Any, **kwargs: Any) -> Any:
        return self.policy.call(super().whoami, *args, **kwargs)

    def model_info(self, *args: Any, **kwargs: Any) -> Any:
        return self.policy.call(super().model_info, *args, **kwargs)

    def dataset_info(self, *args: Any, **kwargs: Any) -> Any:
        return self.policy.call(super().dataset_info, *args, **kwargs)

    def get_repo_discussions(self, *args: Any, **kwargs: Any) -> Any:
        """All pages, fetched and retried now (the client's generator raises mid-iteration)."""
        pages = super().get_repo_discussions
        return iter(self.policy.call(lambda: list(pages(*args, **kwargs))))

    def get_discussion_details(self, *args: Any, **kwargs: Any) -> Any:
        return self.policy.call(super().get_discussion_details, *args, **kwargs)

    def comment_discussion(self, *args: Any, **kwargs: Any) -> Any:
        return self.policy.call(super().comment_discussion, *args, idempotent=False, **kwargs)

    def create_commit(self, *args: Any, **kwargs: Any) -> Any:
        return self.policy.call(super().create_commit, *args, idempotent=False, **kwargs)
