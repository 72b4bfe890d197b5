"""MongoDB restarting under a working worker: the job finishes once and no attempt is lost."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from bot.jobloop import CycleReport, drain
from bot.worker import Worker
from sandbox.world import World
from store.db import Store
from store.embedded import _free_port, start_embedded
from store.types import ModelRecord, ModelStatus
from tests.bot.conftest import bot_prs, make_model, retrying_api, wait_for, write_config

pytestmark = pytest.mark.slow  # many processes: a mongod of its own, stopped and restarted


def test_mongod_restarted_mid_job(
    world: World, demo_api: HfApi, bot_token: str, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "config", queue={"lease_seconds": 6}, isolation={"enabled": False}
    )
    repo_id = f"outage{uuid.uuid4().hex[:6]}/m"
    sha = make_model(demo_api, world, repo_id, config.tag)
    data, port = tmp_path / "mongo", _free_port()
    mongo = start_embedded(data, port=port)
    store = Store.open(mongo.uri, db_name="outage", timeout_ms=2000)
    try:
        store.upsert_model(
            ModelRecord(repo_id, sha, pipeline_tag="text-classification", datasets=(config.tag,))
        )
        store.enqueue(repo_id, sha)
        worker = Worker(config.load(), api=retrying_api(bot_token), store=store, name="w")
        stop, report = threading.Event(), CycleReport()
        thread = threading.Thread(
            target=drain, args=(worker, report), kwargs={"once": False, "stop": stop}
        )
        thread.start()
        try:
            # the job is claimed: stop mongod under it, then start it again on the same data
            wait_for(
                lambda: (store.get_job(repo_id, sha) or {}).get("status") == "running",
                timeout=30,
                what="the job to be claimed",
                every=0.01,
            )
            mongo.stop()
            time.sleep(4)  # longer than a heartbeat and than the client's server selection
            mongo = start_embedded(data, port=port)
            wait_for(
                lambda: (store.get_job(repo_id, sha) or {}).get("status") == "done",
                timeout=90,
                what="the job to finish",
            )
        finally:
            stop.set()
            thread.join(60)
        assert not thread.is_alive()  # the loop rode out the outage and stopped when asked
        job = store.get_job(repo_id, sha)
        assert job is not None
        assert job["attempts"] == 1, job  # the outage cost no attempt
        assert job["finished"] == 1, job  # finished once
        model = store.get_model(repo_id)
        assert model is not None and model.status is ModelStatus.EVALUATED
        assert model.failure_reason is None
        assert store.results.count_documents({"model_id": repo_id}) == 1
        assert len(bot_prs(demo_api, repo_id)) == 1
        assert report.prs["opened"] == 1 and not report.failed, report.summary()
    finally:
        store.close()
        mongo.stop()
