"""Models whose card names no training dataset, on the sandbox Hub: their training data is
inferred (here from their config.json labels), they are evaluated and their PR says what was
assumed and why; a model whose labels fit two datasets is not evaluated, and says so.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import yaml
from huggingface_hub import CommitOperationAdd, HfApi

from bot.cycle import plan_cycle, run_cycle
from bot.undeclared import watermark_key
from sandbox.world import LABELS, World
from store.db import Store
from store.types import FailureReason, ModelStatus, utcnow
from tests.bot.conftest import FastConfig, bot_prs, write_config

CARD = "---\nlicense: mit\npipeline_tag: text-classification\n---\n# A text classifier\n"


def push_unnamed(api: HfApi, world: World, repo_id: str) -> None:
    """The world's tiny emotion classifier with emotion's class names as its labels, and a card
    that names no dataset."""
    source = world.model("demo/tiny-emotion").path
    config = json.loads((source / "config.json").read_text())
    config["id2label"] = {str(i): name for i, name in enumerate(LABELS)}
    config["label2id"] = {name: i for i, name in enumerate(LABELS)}
    api.create_repo(repo_id)
    ops = [
        CommitOperationAdd(path.name, path.read_bytes())
        for path in sorted(source.iterdir())
        if path.is_file() and path.name not in {"README.md", "config.json"}
    ]
    ops += [
        CommitOperationAdd("config.json", json.dumps(config).encode()),
        CommitOperationAdd("README.md", CARD.encode()),
    ]
    api.create_commit(repo_id, ops, commit_message="A model")


def inferring(root: Path) -> FastConfig:
    return write_config(root, isolation={"enabled": False}, discovery={"infer_training_data": True})


def listing_from_now(store: Store) -> None:
    """The bot has run before: this listing stops at models pushed before now."""
    store.set_watermark(watermark_key("text-classification"), utcnow() - timedelta(seconds=1))


def test_labels_that_are_one_datasets_classes_get_it_evaluated_and_said(
    tmp_path: Path, world: World, store: Store, demo_api: HfApi, bot_api: HfApi
) -> None:
    config = inferring(tmp_path / "config")
    listing_from_now(store)
    repo_id = f"demo/unnamed-{uuid.uuid4().hex[:8]}"
    push_unnamed(demo_api, world, repo_id)
    try:
        report = run_cycle(config.load(), api=bot_api, store=store)

        assert report.queued == 1, report.summary()
        model = store.get_model(repo_id)
        assert model is not None and model.status is ModelStatus.EVALUATED, model
        assert model.datasets == () and model.labels == tuple(LABELS)
        (result,) = store.results_for(repo_id)
        assert result.module_id == "emotion" and result.selection.rule == "labels"
        assert "labels are exactly" in result.selection.evidence
        (pr,) = bot_prs(demo_api, repo_id)
        body = demo_api.get_discussion_details(repo_id, pr.num).events[0].content
        assert "### Training data we assumed" in body
        assert "evalbot assumed this model was trained on `dair-ai/emotion` because" in body
        assert result.selection.evidence in body
    finally:
        demo_api.delete_repo(repo_id)


def test_labels_that_fit_two_datasets_are_not_guessed(
    tmp_path: Path, world: World, store: Store, demo_api: HfApi, bot_api: HfApi
) -> None:
    config = inferring(tmp_path / "config")
    emotion = config.path / "tasks" / "text-classification" / "emotion.yaml"
    twin = yaml.safe_load(emotion.read_text())  # another dataset with the same six classes
    twin.update(id="feelings", trained_on=[f"feelings-{uuid.uuid4().hex[:6]}"])
    twin["dataset"].update(repo="acme/feelings", name="Feelings", revision=None)
    emotion.with_name("feelings.yaml").write_text(yaml.safe_dump(twin))
    listing_from_now(store)
    repo_id = f"demo/unnamed-{uuid.uuid4().hex[:8]}"
    push_unnamed(demo_api, world, repo_id)
    try:
        report = plan_cycle(config.load(), api=bot_api, store=store)

        assert report.queued == 0, report.summary()
        model = store.get_model(repo_id)
        assert model is not None and model.status is ModelStatus.FAILED
        assert model.failure_reason is FailureReason.UNSUPPORTED
        detail = model.failure_detail or ""
        assert "points to several" in detail and "`datasets:`" in detail
        assert "dair-ai/emotion" in detail and "acme/feelings" in detail, detail
        assert store.get_job(repo_id, model.sha) is None
    finally:
        demo_api.delete_repo(repo_id)
