"""`evalbot evaluate ORG/MODEL --open-pr`: one repo, locally, published as the bot would."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from huggingface_hub import HfApi

from sandbox.world import World
from store.db import Store

from .conftest import FastConfig, bot_prs, evalbot, make_model, write_config


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
