"""``evalbot serve --with-worker`` with ``executor: ray``: the timer queues, its worker threads
submit each job's evaluation to the Ray cluster, results and PRs land as with local workers."""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from sandbox.world import World
from store.db import Store
from tests.bot.conftest import FastConfig, bot_prs, evalbot, make_model, wait_for
from tests.ray.conftest import ray_config

pytestmark = pytest.mark.slow  # Ray: a local instance and `evalbot serve` as a process


def test_serve_with_worker_submits_jobs_to_the_ray_cluster(
    local_ray: None,
    world: World,
    demo_api: HfApi,
    store: Store,
    cli_env: Callable[[FastConfig], dict[str, str]],
    tmp_path: Path,
) -> None:
    import ray

    address = ray.get_runtime_context().gcs_address  # the test's cluster, joined by `serve`
    config = ray_config(tmp_path / "config", address=address, max_concurrent_jobs=2)
    ns = f"rayserve{uuid.uuid4().hex[:6]}"
    repos = [f"{ns}/first", f"{ns}/second"]
    for repo_id in repos:
        make_model(demo_api, world, repo_id, config.tag)
    log = (tmp_path / "serve.log").open("w")
    serve = evalbot(cli_env(config), "serve", "--with-worker", stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(
            lambda: store.jobs.count_documents({"repo_id": {"$in": repos}, "status": "done"}) == 2,
            timeout=180,
            what="both jobs to be done",
            every=0.5,
        )
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(60) == 0
    finally:
        serve.kill()
    text = (tmp_path / "serve.log").read_text()
    assert text.count("started beside the timer") == 2, text[-3000:]
    for repo_id in repos:
        (result,) = store.results_for(repo_id)
        assert result.runtime.device == "cpu (1 threads)"  # a Ray task's num_cpus, not ours
        assert len(bot_prs(demo_api, repo_id)) == 1
