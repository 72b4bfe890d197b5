"""The Executor records how each module was chosen: declared, or inferred from the model."""

from __future__ import annotations

from dataclasses import replace

import pytest
from huggingface_hub import HfApi

from bot.discovery import to_record
from evaluators.errors import UnsupportedModelError
from evaluators.executor import Executor
from sandbox.world import World
from store.types import Selection
from tests.evaluators.test_executor import emotion


def test_results_say_how_their_module_was_chosen(demo_world: World, bot_api: HfApi) -> None:
    tiny = to_record(bot_api.model_info("demo/tiny-emotion"))
    executor = Executor([emotion(perturbations=[], limit=24)], api=bot_api)
    todo, _ = executor.plan(tiny)
    assert [t.selection for t in todo] == [
        Selection(rule="declared", evidence="its card declares 'dair-ai/emotion'")
    ]
    assert tiny.model_index  # the card reports results: inference would read them first
    undeclared = replace(tiny, datasets=(), tags=(), model_index=())
    report = executor.evaluate(undeclared)
    assert [r.selection for r in report.records] == [
        Selection(rule="name", evidence="its name says 'emotion'")
    ]
    with pytest.raises(UnsupportedModelError, match=r"\(no dataset hint\)"):
        executor.plan(replace(undeclared, repo_id="demo/tiny-classifier"))
