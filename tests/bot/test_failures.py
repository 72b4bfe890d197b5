"""Whose fault an error is (model, module, infrastructure, unknown) and how long to back off."""

from __future__ import annotations

import errno
import random

import httpx2
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    ExecutionTimeout,
    NotPrimaryError,
    OperationFailure,
    ServerSelectionTimeoutError,
    WTimeoutError,
)

from bot.failures import Fault, backoff, classify, describe, hint, is_infrastructure
from evaluators.datasets_io import DatasetError
from evaluators.errors import EvaluationError, LabelMappingError
from store.types import FailureReason
from tests.sandbox.helpers import Admin


def http_error(status: int, headers: dict[str, str] | None = None) -> HfHubHTTPError:
    request = httpx2.Request("GET", "http://hub.test/api/models/org/m")
    response = httpx2.Response(status, headers=headers or {}, request=request)
    return HfHubHTTPError(f"HTTP {status}", response=response)


def wrapped(cause: BaseException, outer: BaseException) -> BaseException:
    """``outer`` raised ``from cause``, as a library wraps an error."""
    try:
        try:
            raise cause
        except BaseException as exc:
            raise outer from exc
    except BaseException as got:
        return got


def test_the_models_own_errors() -> None:
    assert classify(EvaluationError("org/m", "no config.json")) is Fault.MODEL
    labels = LabelMappingError("org/m", ["LABEL_0"], ["sadness", "joy"])
    assert labels.reason is FailureReason.UNKNOWN_LABELS and classify(labels) is Fault.MODEL


def test_a_dataset_that_does_not_match_its_module() -> None:
    assert classify(DatasetError("no column 'text'", module="emotion")) is Fault.MODULE
    # a dataset that could not be loaded because the Hub was down is nobody's fault
    outage = wrapped(http_error(503), DatasetError("cannot load", module="emotion"))
    assert classify(outage) is Fault.INFRASTRUCTURE


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_hub_rate_limits_and_server_errors(status: int) -> None:
    exc = http_error(status)
    assert is_infrastructure(exc) and classify(exc) is Fault.INFRASTRUCTURE
    assert describe(exc) == f"HTTP {status} from the Hub"
    inner = wrapped(exc, RuntimeError("loading the model failed"))
    assert classify(inner) is Fault.INFRASTRUCTURE
    deeper = wrapped(inner, ValueError("evaluation step failed"))
    assert classify(deeper) is Fault.INFRASTRUCTURE


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_other_hub_errors_are_not_outages(status: int) -> None:
    assert classify(http_error(status)) is Fault.UNKNOWN


def test_a_real_503_from_the_sandbox(sandbox) -> None:  # type: ignore[no-untyped-def]
    admin = Admin(sandbox.url)
    admin.fault(status=503, count=1, path_prefix="/api/models/org/failures-test")
    try:
        with pytest.raises(HfHubHTTPError) as caught:
            HfApi().model_info("org/failures-test")
    finally:
        admin.clear_faults()
    assert classify(caught.value) is Fault.INFRASTRUCTURE
    assert classify(wrapped(caught.value, KeyError("x"))) is Fault.INFRASTRUCTURE


def test_a_real_429_carries_its_hint(sandbox) -> None:  # type: ignore[no-untyped-def]
    admin = Admin(sandbox.url)
    admin.fault(status=429, count=1, retry_after=7, path_prefix="/api/models/org/failures-429")
    try:
        with pytest.raises(HfHubHTTPError) as caught:
            HfApi().model_info("org/failures-429")
    finally:
        admin.clear_faults()
    assert classify(caught.value) is Fault.INFRASTRUCTURE
    assert hint(caught.value) == 7
    assert hint(wrapped(caught.value, RuntimeError("publishing failed"))) == 7


def test_connections_and_timeouts() -> None:
    request = httpx2.Request("GET", "http://hub.test/")
    assert classify(httpx2.ConnectError("refused", request=request)) is Fault.INFRASTRUCTURE
    assert classify(httpx2.ReadTimeout("slow", request=request)) is Fault.INFRASTRUCTURE
    assert classify(TimeoutError()) is Fault.INFRASTRUCTURE
    assert classify(ConnectionResetError()) is Fault.INFRASTRUCTURE
    reach = wrapped(OSError("boom"), ConnectionError("Couldn't reach 'x' on the Hub"))
    assert classify(reach) is Fault.INFRASTRUCTURE  # how `datasets` says the Hub is down


def test_mongodb_outages() -> None:
    for exc in (
        AutoReconnect("connection closed"),
        ServerSelectionTimeoutError("no primary"),
        NotPrimaryError("stepping down"),
        WTimeoutError("write concern timeout"),
        ExecutionTimeout("operation exceeded time limit", code=50),
        OperationFailure("interrupted at shutdown", code=11600),
    ):
        assert classify(exc) is Fault.INFRASTRUCTURE, exc
        assert describe(exc) == f"MongoDB: {type(exc).__name__}"
    assert classify(wrapped(AutoReconnect("x"), RuntimeError("store"))) is Fault.INFRASTRUCTURE
    # errors of ours against a healthy server are not outages
    assert classify(DuplicateKeyError("E11000")) is Fault.UNKNOWN
    assert classify(OperationFailure("bad query", code=2)) is Fault.UNKNOWN


def test_a_full_disk() -> None:
    for code in (errno.ENOSPC, errno.EDQUOT):
        exc = OSError(code, "No space left on device")
        assert classify(exc) is Fault.INFRASTRUCTURE
        assert describe(exc).startswith("disk full")
    assert classify(OSError(errno.EACCES, "Permission denied")) is Fault.UNKNOWN
    assert classify(FileNotFoundError(errno.ENOENT, "x")) is Fault.UNKNOWN


def test_everything_else_is_unknown() -> None:
    assert classify(ValueError("a bug of ours")) is Fault.UNKNOWN
    assert classify(KeyError("x")) is Fault.UNKNOWN
    assert classify(wrapped(ValueError("a"), RuntimeError("b"))) is Fault.UNKNOWN
    # a model failure stays the model's even when an outage was on the way
    model = wrapped(http_error(503), EvaluationError("org/m", "no config.json"))
    assert classify(model) is Fault.MODEL


def test_a_long_chain_ends() -> None:
    exc: BaseException = ValueError("root")
    for n in range(50):
        exc = wrapped(exc, RuntimeError(f"layer {n}"))
    assert classify(exc) is Fault.UNKNOWN
    assert hint(exc) is None
    loop = RuntimeError("a")
    other = RuntimeError("b")
    loop.__cause__, other.__cause__ = other, loop  # a cycle must not hang
    assert classify(loop) is Fault.UNKNOWN and hint(loop) is None


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(0)
    for failures in range(1, 12):
        ceiling = min(3600, 60 * 2 ** (failures - 1))
        for _ in range(50):
            wait = backoff(failures, base_s=60, cap_s=3600, rng=rng).total_seconds()
            assert ceiling / 2 <= wait <= ceiling, (failures, wait)
    assert backoff(0, base_s=60, cap_s=3600, rng=rng).total_seconds() <= 60


def test_backoff_is_jittered() -> None:
    rng = random.Random(1)
    waits = {backoff(3, base_s=10, cap_s=1000, rng=rng).total_seconds() for _ in range(100)}
    assert len(waits) > 50  # workers hit by one outage do not come back in step
    assert min(waits) >= 20 and max(waits) <= 40
    assert max(waits) - min(waits) > 10


def test_backoff_survives_a_very_long_outage() -> None:
    # bot.yaml's delays are floats: 2.0 ** 1100 overflows; the cap holds all the same
    for failures in (1100, 100_000):
        wait = backoff(failures, base_s=1.0, cap_s=60.0, rng=random.Random(2)).total_seconds()
        assert 30 <= wait <= 60


def test_backoff_honours_the_hubs_hint() -> None:
    rng = random.Random(3)
    assert backoff(1, base_s=1, cap_s=60, hint_s=120, rng=rng).total_seconds() == 120
    assert backoff(1, base_s=1, cap_s=60, hint_s=0.1, rng=rng).total_seconds() >= 0.5
    assert backoff(1, base_s=0, cap_s=0, rng=rng).total_seconds() == 0
    assert backoff(1, base_s=0, cap_s=0, hint_s=5, rng=rng).total_seconds() == 5
    ratelimit = http_error(429, {"RateLimit": '"api";r=0;t=42', "Retry-After": "9"})
    assert hint(ratelimit) == 42  # the RateLimit header first
    assert hint(http_error(503, {"Retry-After": "9"})) == 9
    assert hint(http_error(503)) is None
    assert hint(ValueError()) is None
