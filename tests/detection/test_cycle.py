"""A bot cycle over the detection world: discovery of `object-detection` models trained on COCO,
evaluation in the isolated child process, results stored, one PR per detector."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from sandbox.world import World
from sandbox.world_detection import COCO_ID, DETR_ID, YOLOS_ID
from store.db import Store
from store.embedded import EmbeddedMongo
from store.types import ModelStatus

pytestmark = pytest.mark.slow  # end to end: a CLI cycle over the detection world

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cycle(  # type: ignore[no-untyped-def]
    world: World, mongo: EmbeddedMongo, bot_token: str, tmp_path_factory
):
    db_name = f"det_{uuid.uuid4().hex[:10]}"
    config = tmp_path_factory.mktemp("config")
    (config / "tasks" / "object-detection").mkdir(parents=True)
    (config / "tasks" / "_templates").mkdir()
    shipped = (ROOT / "config" / "bot.yaml").read_text()
    # the shared sandbox holds other tests' repos: only the models the coco module lists
    (config / "bot.yaml").write_text(
        shipped.replace("self_configuring: true", "self_configuring: false").replace(
            "infer_training_data: true", "infer_training_data: false"
        )
    )
    for rel in ("object-detection/coco.yaml", "_templates/object_detection.yaml"):
        (config / "tasks" / rel).write_text((ROOT / "config" / "tasks" / rel).read_text())
    env = {
        **os.environ,
        "HF_TOKEN": bot_token,
        "HF_HOME": str(tmp_path_factory.mktemp("hf-home")),
        "MONGODB_URI": mongo.uri,
        "EVALBOT_DB": db_name,
        "EVALBOT_CONFIG": str(config),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--once"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    store = Store.open(mongo.uri, db_name=db_name)
    yield store
    store.client.close()


def test_detectors_are_discovered_evaluated_and_stored(cycle: Store) -> None:
    for repo_id in (DETR_ID, YOLOS_ID):
        model = cycle.get_model(repo_id)
        assert model is not None and model.status is ModelStatus.EVALUATED, (repo_id, model)
        results = cycle.results_for(repo_id, model.sha)
        assert len(results) == 7 and {r.dataset_id for r in results} == {COCO_ID}
        assert all(r.metrics["ap"] is not None and len(r.classes) == 80 for r in results)
    assert cycle.detection_errors.count_documents({}) > 0
    split = cycle.dataset_splits.find_one({"dataset_id": COCO_ID})
    assert split is not None and split["num_examples"] == 48
    assert cycle.dataset_examples.count_documents({"dataset_id": COCO_ID}) > 0


def test_each_detector_gets_one_pr(cycle: Store, demo_api: HfApi) -> None:
    for repo_id in (DETR_ID, YOLOS_ID):
        prs = list(
            demo_api.get_repo_discussions(repo_id, author="evalbot", discussion_type="pull_request")
        )
        assert len(prs) == 1, repo_id
