"""A worker whose host cannot sandbox the evaluation child does not start, and says why, unless
``isolation.allow_weaker`` lets it evaluate in a plain child."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from tests.bot.conftest import FastConfig, write_config


def test_the_worker_refuses_to_start_without_its_sandbox(
    tmp_path: Path,
    cli_env: Callable[[FastConfig], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # an account that does not exist: the host cannot make the sandbox it names
    config = write_config(tmp_path / "refused", isolation={"user": "evalbot-no-such-user"})
    for key, value in cli_env(config).items():
        monkeypatch.setenv(key, value)
    assert main(["--config", str(config.path), "worker", "--once"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("evalbot: error: this host cannot sandbox the evaluation child: ")
    assert "no user 'evalbot-no-such-user'" in err
    assert "isolation.allow_weaker: true" in err

    weaker = write_config(
        tmp_path / "weaker", isolation={"user": "evalbot-no-such-user", "allow_weaker": True}
    )
    monkeypatch.setenv("EVALBOT_CONFIG", str(weaker.path))
    assert main(["--config", str(weaker.path), "worker", "--once"]) == 0  # an empty queue
