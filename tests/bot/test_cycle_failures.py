"""Bad input in a cycle: each bad repo gets its typed failure reason and no PR; the cycle goes on."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from bot.config import load_config
from bot.cycle import run_cycle
from sandbox.world import World
from store.db import Store
from store.types import FailureReason, ModelRecord, ModelStatus
from tests.sandbox.helpers import Admin

pytestmark = pytest.mark.slow  # a cycle over failing repos, each in an isolated child

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_dir(tmp_path: Path) -> tuple[Path, str]:
    """The shipped config with the emotion module selecting a tag unique to this test, and no
    self-configuring discovery (the demo world's NER and QA models are not this test's)."""
    tag = f"failtest-{uuid.uuid4().hex[:8]}"
    tasks = tmp_path / "tasks" / "text-classification"
    tasks.mkdir(parents=True)
    bot_yaml = (ROOT / "config" / "bot.yaml").read_text()
    assert "self_configuring: true" in bot_yaml
    (tmp_path / "bot.yaml").write_text(
        bot_yaml.replace("self_configuring: true", "self_configuring: false").replace(
            "infer_training_data: true", "infer_training_data: false"
        )
    )
    module = (ROOT / "config" / "tasks" / "text-classification" / "emotion.yaml").read_text()
    (tasks / "emotion.yaml").write_text(
        module.replace("trained_on: [dair-ai/emotion, emotion]", f"trained_on: [{tag}]")
    )
    return tmp_path, tag


def _card(tag: str) -> str:
    return f"---\nlicense: mit\ndatasets:\n- {tag}\npipeline_tag: text-classification\n---\n# A model\n"


def _upload(api: HfApi, repo_id: str, folder: Path | None, files: dict[str, bytes]) -> None:
    api.create_repo(repo_id, exist_ok=True)
    if folder is not None:
        api.upload_folder(repo_id=repo_id, folder_path=folder, ignore_patterns=["README.md"])
    for name, content in files.items():
        api.upload_file(path_or_fileobj=content, path_in_repo=name, repo_id=repo_id)


def test_bad_repos_fail_typed_and_the_cycle_goes_on(
    sandbox,
    demo_world: World,  # its dataset and tiny model
    demo_api: HfApi,
    bot_api: HfApi,
    store: Store,
    config_dir: tuple[Path, str],  # type: ignore[no-untyped-def]
) -> None:
    world = demo_world
    path, tag = config_dir
    ns = f"bad{uuid.uuid4().hex[:6]}"
    tiny = world.model("demo/tiny-emotion").path
    card = _card(tag).encode()
    _upload(demo_api, f"{ns}/good", tiny, {"README.md": card})
    _upload(demo_api, f"{ns}/no-config", None, {"README.md": card})
    _upload(
        demo_api,
        f"{ns}/pickle-only",
        None,
        {
            "README.md": card,
            "config.json": (tiny / "config.json").read_bytes(),
            "pytorch_model.bin": b"\x80\x02pickle",
        },
    )
    _upload(demo_api, f"{ns}/gated", tiny, {"README.md": card})
    Admin(sandbox.url).repo("model", f"{ns}/gated", gated="auto")
    # a model that vanished between discovery and evaluation
    store.upsert_model(
        ModelRecord(f"{ns}/deleted", "f" * 40, pipeline_tag="text-classification", datasets=(tag,))
    )
    store.enqueue(f"{ns}/deleted", "f" * 40)

    report = run_cycle(load_config(path), api=bot_api, store=store)

    expected = {
        f"{ns}/no-config": FailureReason.INSUFFICIENT_METADATA,
        f"{ns}/pickle-only": FailureReason.UNSAFE_WEIGHTS,
        f"{ns}/gated": FailureReason.GATED,
        f"{ns}/deleted": FailureReason.NOT_FOUND,
    }
    for repo_id, reason in expected.items():
        model = store.get_model(repo_id)
        assert model is not None and model.status is ModelStatus.FAILED, repo_id
        assert model.failure_reason is reason, (repo_id, model.failure_detail)
        assert model.failure_detail
    assert "pickle" in (store.get_model(f"{ns}/pickle-only").failure_detail or "")  # type: ignore[union-attr]
    good = store.get_model(f"{ns}/good")
    assert good is not None and good.status is ModelStatus.EVALUATED
    assert report.prs == {"opened": 1}
    assert sum(report.failed.values()) == 4
    for repo_id in (f"{ns}/good", *expected):
        if repo_id.endswith("deleted"):
            continue
        prs = list(
            demo_api.get_repo_discussions(repo_id, author="evalbot", discussion_type="pull_request")
        )
        assert len(prs) == (1 if repo_id.endswith("/good") else 0), repo_id
