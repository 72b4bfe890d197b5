"""`evalbot evaluate ORG/MODEL --open-pr`: one repo, locally, published as the bot would."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from bot.config import ConfigWatcher
from sandbox.world import World
from store.db import Store
from store.types import ModelRecord

from .conftest import FastConfig, bot_prs, card, evalbot, make_model, wait_for, write_config


@pytest.mark.slow  # end to end: three `evalbot evaluate` processes
def test_open_pr_publishes_once(
    world: World,
    demo_api: HfApi,
    store: Store,
    cli_env: Callable[[FastConfig], dict[str, str]],
    tmp_path: Path,
) -> None:
    config = write_config(
        tmp_path / "config", isolation={"enabled": False}
    )  # the CLI, not isolation
    repo_id = f"{config.tag}/local-model"
    sha = make_model(demo_api, world, repo_id, config.tag)
    env = cli_env(config)

    def run(*args: str) -> tuple[int, str, str]:
        proc = evalbot(env, "evaluate", *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=300)
        return proc.returncode, out, err

    code, out, err = run(f"{repo_id}@{sha}", "--open-pr")
    assert code == 0, err[-3000:]
    (pr,) = bot_prs(demo_api, repo_id)
    assert f"pull request: opened #{pr.num}" in out
    assert "dair-ai/emotion [test, original] n=24: accuracy" in out
    assert store.get_model(repo_id) is not None and store.results_for(repo_id, sha)

    # a README commit moves the head; evaluating the old sha never makes it current again
    head = demo_api.upload_file(
        path_or_fileobj=card(config.tag).replace("tiny", "small").encode(),
        path_in_repo="README.md",
        repo_id=repo_id,
    ).oid
    store.upsert_model(ModelRecord(repo_id, head, "text-classification", datasets=(config.tag,)))
    # another process publishing this repo holds its lock for a while: --open-pr waits for it
    assert store.acquire_lock(f"publish:{repo_id}", "another-worker", ttl_s=3)
    started = time.monotonic()
    code, out, err = run(f"{repo_id}@{sha}", "--open-pr")  # the same results: no second PR
    assert code == 0, err[-3000:]
    assert time.monotonic() - started > 3
    assert "pull request: duplicate" in out, out
    assert len(bot_prs(demo_api, repo_id)) == 1
    assert store.head_sha(repo_id) == head

    code, out, err = run(repo_id, "--open-pr", "--dry-run")
    assert code == 2 and "--dry-run touches nothing" in err and "Traceback" not in err


@pytest.mark.slow  # end to end: `evalbot serve --with-worker` as a process
def test_serve_with_worker_runs_timer_and_worker_in_one_process(
    world: World,
    demo_api: HfApi,
    store: Store,
    cli_env: Callable[[FastConfig], dict[str, str]],
    tmp_path: Path,
) -> None:
    """The Docker default: `evalbot serve --with-worker` discovers, evaluates and opens the PR;
    SIGTERM finishes the current job, then exits 0."""
    import signal

    config = write_config(tmp_path / "config")
    repo_id = f"{config.tag}/served-model"
    make_model(demo_api, world, repo_id, config.tag)
    proc = evalbot(
        cli_env(config),
        "serve",
        "--with-worker",
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("w"),
    )
    try:
        wait_for(lambda: bot_prs(demo_api, repo_id), timeout=240, what="the PR")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, (tmp_path / "serve.log").read_text()[-3000:]
    finally:
        proc.kill()
    assert store.job_counts() == {"done": 1}
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


def test_serve_with_worker_exits_non_zero_when_its_worker_dies(
    store: Store, bot_api: HfApi, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A worker thread that dies stops the process with exit status 1 (a supervisor restarts
    it), instead of a timer that queues jobs nothing runs."""
    import bot.jobloop
    from bot.cli import _serve_with_worker

    config = write_config(tmp_path / "config", isolation={"enabled": False})
    loaded = config.load()

    def dies(*args: object, **kwargs: object) -> None:
        raise MemoryError("the worker thread is gone")

    monkeypatch.setattr(bot.jobloop, "drain", dies)
    outcome: list[int] = []
    runner = threading.Thread(
        target=lambda: outcome.append(
            _serve_with_worker(ConfigWatcher(config.path, loaded), bot_api, store, device=None)
        )
    )
    runner.start()
    runner.join(60)
    assert not runner.is_alive() and outcome == [1]
