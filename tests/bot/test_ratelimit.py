"""The rate limiter (fake clock) and the retry policy (real HTTP errors, no network)."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx2
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from bot.ratelimit import RetryPolicy, TokenBucket, is_transient, paced, retry_after


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_burst_stays_under_the_configured_share_of_the_quota() -> None:
    clock = FakeClock()
    bucket = TokenBucket.for_quota(1000, share=0.5, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(3000):  # a burst far over the quota
        bucket.acquire()
        stamps.append(clock.now)
    assert stamps[249] == 0  # half the budget goes at once...
    assert stamps[250] > 0  # ...then the refill paces the rest
    # any 5-minute window holds at most 500 requests (50% of 1000)
    start = 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= 300:
            start += 1
        assert end - start + 1 <= 500, (stamps[start], stamp)
    rate = (len(stamps) - 250) / stamps[-1]
    assert rate == pytest.approx(250 / 300, rel=0.01)  # steady state: 0.83 req/s


def test_the_bucket_is_thread_safe() -> None:
    bucket = TokenBucket(rate=200, capacity=5)
    taken = []

    def take() -> None:
        for _ in range(20):
            bucket.acquire()
            taken.append(time.monotonic())

    started = time.monotonic()
    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == 80
    assert time.monotonic() - started >= (80 - 5) / 200 * 0.95


def _error(status: int, headers: dict[str, str] | None = None) -> HfHubHTTPError:
    request = httpx2.Request("GET", "http://hub.test/api/models/org/m")
    response = httpx2.Response(status, headers=headers or {}, request=request)
    return HfHubHTTPError(f"HTTP {status}", response=response)


def test_the_hub_wait_hint_is_read_from_ratelimit_then_retry_after() -> None:
    assert retry_after(_error(429, {"RateLimit": '"api";r=0;t=17', "Retry-After": "3"})) == 17
    assert retry_after(_error(429, {"Retry-After": "3"})) == 3
    assert retry_after(_error(503)) is None
    assert is_transient(_error(429)) and is_transient(_error(502))
    assert not is_transient(_error(403)) and not is_transient(ValueError())


class Flaky:
    def __init__(self, *errors: HfHubHTTPError) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_retries_follow_the_hub_and_stop_where_they_must() -> None:
    clock = FakeClock()
    policy = RetryPolicy(retries=3, max_wait_s=60)
    limited = Flaky(_error(429, {"RateLimit": '"api";r=0;t=7'}), _error(503))
    assert policy.call(limited, sleep=clock.sleep) == "ok"
    assert limited.calls == 3 and clock.now == 7 + 2  # t=7, then the doubled 1 s base

    commit = Flaky(_error(500))  # a write that may have been applied: never retried on 5xx
    with pytest.raises(HfHubHTTPError):
        policy.call(commit, idempotent=False, sleep=clock.sleep)
    assert commit.calls == 1
    throttled_commit = Flaky(_error(429, {"Retry-After": "1"}))  # 429: it was not applied
    assert policy.call(throttled_commit, idempotent=False, sleep=clock.sleep) == "ok"

    stubborn = Flaky(*[_error(429, {"Retry-After": "1"})] * 10)
    with pytest.raises(HfHubHTTPError):
        policy.call(stubborn, sleep=clock.sleep)
    assert stubborn.calls == 4  # bounded: 1 + 3 retries

    too_long = Flaky(_error(429, {"Retry-After": "3600"}))  # not worth blocking a worker
    with pytest.raises(HfHubHTTPError):
        policy.call(too_long, sleep=clock.sleep)
    assert too_long.calls == 1
    missing = Flaky(_error(404))
    with pytest.raises(HfHubHTTPError):
        policy.call(missing, sleep=clock.sleep)
    assert missing.calls == 1


def test_every_api_request_of_the_process_is_paced(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    clock = FakeClock()
    bucket = TokenBucket(rate=1, capacity=2, clock=clock, sleep=clock.sleep)
    real_acquire = bucket.acquire

    def acquire(tokens: float = 1.0) -> float:
        seen.append("api")
        return real_acquire(tokens)

    monkeypatch.setattr(bucket, "acquire", acquire)
    api = HfApi(endpoint=sandbox.url)
    with paced(bucket, sandbox.url):
        for _ in range(5):
            list(api.list_models(limit=1))
    list(api.list_models(limit=1))  # after the block: not paced any more
    assert len(seen) == 5
    assert clock.now == pytest.approx(3)  # 2 at once, then one per second
