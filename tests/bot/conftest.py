"""Fixtures of the bot tests: the demo world on the sandbox Hub, a fast config selecting a tag
unique to each test (so tests never see each other's repos), tiny model repos, CLI processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from huggingface_hub import HfApi

from bot.config import BotConfig, load_config
from bot.ratelimit import RetryingHfApi, RetryPolicy
from sandbox.world import World

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def world(demo_world: World) -> World:
    """The demo world on the session's sandbox Hub (the tests need its dataset and tiny model)."""
    return demo_world


@dataclass(frozen=True)
class FastConfig:
    """A config folder: the emotion module alone, on a unique tag, 24 examples, no variants."""

    path: Path
    tag: str

    def load(self) -> BotConfig:
        return load_config(self.path)


def write_config(
    root: Path, *, tag: str | None = None, queue: dict[str, Any] | None = None, **settings: Any
) -> FastConfig:
    """``settings``: bot.yaml sections to update, e.g. ``pull_requests={"enabled": False}``."""
    tag = tag or f"bottest-{uuid.uuid4().hex[:8]}"
    bot = yaml.safe_load((ROOT / "config" / "bot.yaml").read_text())
    bot["queue"] = {
        **bot["queue"],
        "lease_seconds": 5,
        "retry_delay_seconds": 1,
        "poll_seconds": 0.2,
        **(queue or {}),
    }
    # the shared sandbox holds other tests' repos: a test lists them only when it asks to
    bot["discovery"] = {**bot["discovery"], "self_configuring": False, "infer_training_data": False}
    for key, value in settings.items():
        bot[key] = {**bot.get(key, {}), **value} if isinstance(value, dict) else value
    root.mkdir(parents=True, exist_ok=True)
    (root / "bot.yaml").write_text(yaml.safe_dump(bot))
    module = yaml.safe_load(
        (ROOT / "config" / "tasks" / "text-classification" / "emotion.yaml").read_text()
    )
    module.update(trained_on=[tag], perturbations=[], limit=24)
    tasks = root / "tasks" / "text-classification"
    tasks.mkdir(parents=True)
    (tasks / "emotion.yaml").write_text(yaml.safe_dump(module))
    return FastConfig(root, tag)


@pytest.fixture
def fast_config(tmp_path: Path) -> FastConfig:
    return write_config(tmp_path / "config")


def card(tag: str, *, tags: tuple[str, ...] = ()) -> str:
    extra = "".join(f"- {t}\n" for t in tags)
    tag_block = f"tags:\n{extra}" if tags else ""
    return (
        f"---\nlicense: mit\ndatasets:\n- {tag}\n{tag_block}pipeline_tag: text-classification\n"
        "---\n# A tiny emotion classifier\n"
    )


def make_model(
    api: HfApi, world: World, repo_id: str, tag: str, *, tags: tuple[str, ...] = ()
) -> str:
    """A model repo with the world's tiny classifier and a card naming ``tag``; returns its sha."""
    api.create_repo(repo_id, exist_ok=True)
    api.upload_folder(
        repo_id=repo_id,
        folder_path=world.model("demo/tiny-emotion").path,
        ignore_patterns=["README.md"],
    )
    info = api.upload_file(
        path_or_fileobj=card(tag, tags=tags).encode(), path_in_repo="README.md", repo_id=repo_id
    )
    return str(info.oid)


def retrying_api(token: str, *, retries: int = 3) -> HfApi:
    """The bot's client without the process-wide rate limiter (it would pace the whole session)."""
    return RetryingHfApi(token=token, policy=RetryPolicy(retries=retries, max_wait_s=5))


def bot_prs(api: HfApi, repo_id: str) -> list[Any]:
    return list(api.get_repo_discussions(repo_id, author="evalbot", discussion_type="pull_request"))


@pytest.fixture
def cli_env(sandbox, mongo, store, bot_token: str) -> Callable[[FastConfig], dict[str, str]]:  # type: ignore[no-untyped-def]
    """The environment of an ``evalbot`` process on the test's database and config."""

    def env(config: FastConfig) -> dict[str, str]:
        return {
            **os.environ,
            "HF_ENDPOINT": sandbox.url,
            "HF_TOKEN": bot_token,
            "HF_HUB_DISABLE_XET": "1",
            "MONGODB_URI": mongo.uri,
            "EVALBOT_DB": store.db.name,
            "EVALBOT_CONFIG": str(config.path),
            "PYTHONUNBUFFERED": "1",
        }

    return env


def evalbot(env: dict[str, str], *args: str, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args], env=env, cwd=ROOT, text=True, **popen
    )


def wait_for(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
