"""The bot's token never leaves the process: not in logs (even at DEBUG), MongoDB or any PR."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from huggingface_hub import HfApi, hf_hub_download

from bot.cycle import run_cycle
from bot.logs import NOISY, setup
from sandbox.world import World
from store.db import Store
from tests.bot.conftest import FastConfig, bot_prs, make_model, retrying_api

CANARY = f"hf_canary{uuid.uuid4().hex}"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    yield out
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_no_token_in_logs_store_or_prs(
    world: World,
    demo_api: HfApi,
    bot_token: str,
    store: Store,
    fast_config: FastConfig,
    captured: io.StringIO,
) -> None:
    repo_id = f"secret{uuid.uuid4().hex[:6]}/model"
    make_model(demo_api, world, repo_id, fast_config.tag)
    filter_ = setup(
        verbose=True, json_format=True, secrets=[bot_token], stream=captured, force=True
    )
    filter_.add(CANARY)
    for name in NOISY:  # the chattiest setting there is
        logging.getLogger(name).setLevel(logging.DEBUG)

    report = run_cycle(fast_config.load(), api=retrying_api(bot_token), store=store)
    logging.getLogger("bot.test").debug("a careless line: %s and %s", bot_token, CANARY)

    assert report.prs == {"opened": 1}, report.summary()
    logs = captured.getvalue()
    lines = [json.loads(line) for line in logs.splitlines()]
    assert len(lines) > 20 and any(line["logger"].startswith("httpx") for line in lines)
    assert bot_token not in logs and CANARY not in logs
    assert lines[-1]["message"] == "a careless line: hf_*** and hf_***"

    for name in store.db.list_collection_names():
        for doc in store.db[name].find():
            text = json.dumps(doc, default=str)
            assert bot_token not in text, name

    (pr,) = bot_prs(demo_api, repo_id)
    details = demo_api.get_discussion_details(repo_id, pr.num)
    texts = [getattr(event, "content", "") or "" for event in details.events]
    readme = hf_hub_download(repo_id, "README.md", revision=f"refs/pr/{pr.num}", token=False)
    with open(readme, encoding="utf-8") as handle:
        texts.append(handle.read())
    texts.append(details.title)
    assert all(bot_token not in text for text in texts)
