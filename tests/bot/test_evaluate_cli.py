"""`evalbot evaluate ORG/MODEL --open-pr`: one repo, locally, published as the bot would."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from huggingface_hub import HfApi

from sandbox.world import World
from store.db import Store

from .conftest import FastConfig, bot_prs, evalbot, make_model, wait_for, write_config


def test_open_pr_publishes_once(
    world: World,
    demo_api: HfApi,
    store: Store,
    cli_env: Callable[[FastConfig], dict[str, str]],
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path / "config")
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

    code, out, err = run(repo_id, "--open-pr")  # the same results again: no second PR
    assert code == 0, err[-3000:]
    assert "pull request: duplicate" in out
    assert len(bot_prs(demo_api, repo_id)) == 1

    code, out, err = run(repo_id, "--open-pr", "--dry-run")
    assert code == 2 and "--dry-run touches nothing" in err and "Traceback" not in err


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
