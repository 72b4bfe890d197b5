"""Progress of long evaluations: log lines every 10% when not on a terminal."""

from __future__ import annotations

import logging

import pytest

from evaluators.progress import MIN_ENV, batches, labelled


def test_batches_cover_every_example_and_log_each_tenth(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="evalbot.progress")
    with labelled("org/m on ds [original]"):
        starts = list(batches(2500, 100))
    assert starts == list(range(0, 2500, 100))
    lines = [r.getMessage() for r in caplog.records]
    # one line at the first batch end past each tenth (250 falls in the batch ending at 300)
    assert [line.split("] ")[1].split("%")[0] for line in lines] == [
        "12", "20", "32", "40", "52", "60", "72", "80", "92", "100",
    ]  # fmt: skip
    assert lines[-1].startswith("progress: org/m on ds [original] 100% (2500/2500 examples, ")


def test_big_batches_and_short_runs(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="evalbot.progress")
    assert list(batches(2500, 1000)) == [0, 1000, 2000]
    assert [r.getMessage().split()[2] for r in caplog.records] == ["40%", "80%", "100%"]
    caplog.clear()
    assert list(batches(999, 10))[-1] == 990  # under 1,000 examples: no lines
    assert caplog.records == []
    monkeypatch.setenv(MIN_ENV, "5")
    assert list(batches(7, 4)) == [0, 4]
    assert len(caplog.records) == 2
    assert list(batches(0, 4)) == []
