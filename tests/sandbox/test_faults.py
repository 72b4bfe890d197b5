"""Outage stretches: a fault armed for `seconds` answers every matching request until it ends."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.sandbox.helpers import Admin, make_model


def _faults(admin: Admin) -> list[dict[str, Any]]:
    faults: list[dict[str, Any]] = httpx.get(f"{admin.url}/_sandbox/faults").json()["faults"]
    return faults


def test_an_outage_answers_every_request_until_it_ends(
    demo_api: HfApi, admin: Admin, org: str
) -> None:
    make_model(demo_api, f"{org}/down")
    admin.fault(status=503, seconds=1.5, path_prefix=f"/api/models/{org}/")
    started = time.monotonic()
    for _ in range(4):
        with pytest.raises(HfHubHTTPError) as unavailable:
            demo_api.model_info(f"{org}/down")
        assert unavailable.value.response.status_code == 503
    (armed,) = [f for f in _faults(admin) if f["path_prefix"] == f"/api/models/{org}/"]
    assert armed["status"] == 503 and armed["count"] is None
    assert 0 < armed["seconds_left"] <= 1.5

    time.sleep(max(0.0, 1.6 - (time.monotonic() - started)))
    assert demo_api.model_info(f"{org}/down").id == f"{org}/down"
    assert [f for f in _faults(admin) if f["path_prefix"] == f"/api/models/{org}/"] == []


def test_a_rate_limit_stretch_is_waited_out_by_the_listing(
    demo_api: HfApi, admin: Admin, org: str
) -> None:
    make_model(demo_api, f"{org}/listed")
    admin.clear_log()
    admin.fault(status=429, seconds=1, path_prefix="/api/models", method="GET", retry_after=1)
    assert [m.id for m in demo_api.list_models(author=org)] == [f"{org}/listed"]
    statuses = [e["status"] for e in admin.log() if e["path"] == "/api/models"]
    assert statuses == [429, 200]  # the client waited t + 1 = 2 s, past the stretch


def test_count_and_seconds_end_at_whichever_runs_out_first(
    demo_api: HfApi, admin: Admin, org: str
) -> None:
    make_model(demo_api, f"{org}/capped")
    admin.fault(status=500, count=2, seconds=60, path_prefix=f"/api/models/{org}/")
    for _ in range(2):
        with pytest.raises(HfHubHTTPError):
            demo_api.model_info(f"{org}/capped")
    assert demo_api.model_info(f"{org}/capped").id == f"{org}/capped"


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503, "seconds": -1},
        {"status": 503, "seconds": "20"},
        {"status": 503, "count": 1.5},
        {"status": 418, "seconds": 20},
    ],
)
def test_bad_faults_are_refused(admin: Admin, fault: dict[str, object]) -> None:
    answer = httpx.post(f"{admin.url}/_sandbox/faults", json=fault)
    assert answer.status_code == 400 and answer.json()["error"]
