"""The planner: a model's tasks and failure digest from the config alone (the shipped modules)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import BotConfig, load_config
from evaluators.config import EvaluationModule
from evaluators.planner import Planner, module_digest, select_modules
from store.types import ModelRecord

ROOT = Path(__file__).resolve().parents[2]
TEXT = "text-classification"
CODE = "9.9.9"


@pytest.fixture(scope="module")
def config() -> BotConfig:
    return load_config(ROOT / "config")


@pytest.fixture(scope="module")
def modules(config: BotConfig) -> list[EvaluationModule]:
    return [m.module for m in config.modules]


def edited(modules: list[EvaluationModule], module_id: str, **over: Any) -> list[EvaluationModule]:
    """``modules`` with one module's keys changed (validated like a YAML file)."""
    return [
        EvaluationModule.model_validate({**m.model_dump(), **over}) if m.id == module_id else m
        for m in modules
    ]


def record(*datasets: str, tag: str = TEXT) -> ModelRecord:
    return ModelRecord("org/m", "a" * 40, pipeline_tag=tag, datasets=datasets)


def test_a_module_plans_its_original_and_each_variant(modules: list[EvaluationModule]) -> None:
    planner = Planner(modules, code_version=CODE)
    assert planner.tasks(TEXT, ["dair-ai/emotion"]) == {
        "emotion/original/v1/9.9.9",
        "emotion/lowercase/v1/9.9.9",
        "emotion/typos(rate=0.05)/v1/9.9.9",
        "emotion/no_punctuation/v1/9.9.9",
    }
    bumped = Planner(edited(modules, "emotion", version=3), code_version="1.0")
    assert bumped.tasks(TEXT, ["emotion"]) == {
        f"emotion/{v}/v3/1.0"
        for v in ("original", "lowercase", "typos(rate=0.05)", "no_punctuation")
    }
    image = Planner(modules, code_version=CODE).tasks("image-classification", ["ylecun/mnist"])
    assert "mnist/original/v1/9.9.9" in image
    assert "mnist/gaussian_noise(severity=3)/v1/9.9.9" in image


def test_added_perturbation_adds_exactly_one_task(modules: list[EvaluationModule]) -> None:
    emotion = next(m for m in modules if m.id == "emotion")
    more = edited(modules, "emotion", perturbations=[*emotion.perturbations, "uppercase"])
    before = Planner(modules, code_version=CODE).tasks(TEXT, ["emotion"])
    after = Planner(more, code_version=CODE).tasks(TEXT, ["emotion"])
    assert after - before == {"emotion/uppercase/v1/9.9.9"} and before < after


def test_also_evaluate_on_is_planned_too(modules: list[EvaluationModule]) -> None:
    planner = Planner(modules, code_version=CODE)
    tasks = planner.tasks(TEXT, ["stanfordnlp/imdb"])
    assert {t.split("/")[0] for t in tasks} == {"imdb", "rotten_tomatoes"}
    assert len(tasks) == 8  # four variants each
    # a model trained on both plans each task once
    assert planner.tasks(TEXT, ["imdb", "rotten_tomatoes"]) == tasks
    ids = [m.id for m in planner.modules_of(record("imdb"))]
    assert ids == ["imdb", "rotten_tomatoes"]
    assert [m.id for m in select_modules(record("imdb"), modules)] == ["imdb"]


def test_trained_on_matches_case_insensitively(modules: list[EvaluationModule]) -> None:
    planner = Planner(modules, code_version=CODE)
    expected = planner.tasks(TEXT, ["dair-ai/emotion"])
    assert planner.tasks(TEXT, ["Dair-AI/Emotion"]) == expected
    assert planner.tasks(TEXT, ["EMOTION"]) == expected
    assert [m.id for m in select_modules(record("DAIR-AI/EMOTION"), modules)] == ["emotion"]
    # the task must match too, and an unknown dataset selects nothing
    assert planner.tasks("image-classification", ["dair-ai/emotion"]) == frozenset()
    assert planner.tasks(TEXT, ["dair-ai/emotions"]) == frozenset()
    assert planner.tasks(None, []) == frozenset()


def test_failure_digest_follows_what_decides_a_failure(modules: list[EvaluationModule]) -> None:
    model = record("dair-ai/emotion")
    base = Planner(modules, code_version=CODE, limits="gib=20").failure_digest(model)
    assert Planner(modules, code_version=CODE, limits="gib=20").failure_digest(model) == base
    aliases = edited(modules, "emotion", label_aliases={"joy": ["happy", "happiness", "glad"]})
    assert Planner(aliases, code_version=CODE, limits="gib=20").failure_digest(model) != base
    assert Planner(modules, code_version="10.0.0", limits="gib=20").failure_digest(model) != base
    assert Planner(modules, code_version=CODE, limits="gib=40").failure_digest(model) != base
    unrelated = edited(modules, "ag_news", label_aliases={"World": ["world", "WORLD"]})
    assert Planner(unrelated, code_version=CODE, limits="gib=20").failure_digest(model) == base
    # the same model name spelled otherwise has the same plan and digest
    assert (
        Planner(modules, code_version=CODE, limits="gib=20").failure_digest(record("Emotion"))
        == base
    )


def test_a_compatible_module_is_part_of_the_digest(modules: list[EvaluationModule]) -> None:
    model = record("imdb")
    base = Planner(modules, code_version=CODE).failure_digest(model)
    changed = edited(modules, "rotten_tomatoes", label_aliases={"neg": ["negative", "bad"]})
    assert Planner(changed, code_version=CODE).failure_digest(model) != base


def test_an_unsupported_model_is_replanned_when_a_module_selects_it(
    modules: list[EvaluationModule],
) -> None:
    model = record("acme/tweets")
    planner = Planner(modules, code_version=CODE)
    assert planner.tasks(TEXT, model.datasets) == frozenset()
    emotion = next(m for m in modules if m.id == "emotion")
    widened = edited(modules, "emotion", trained_on=[*emotion.trained_on, "acme/tweets"])
    assert Planner(widened, code_version=CODE).failure_digest(model) != planner.failure_digest(
        model
    )
    assert Planner(widened, code_version=CODE).tasks(TEXT, model.datasets)


def test_module_digest_is_stable_across_loads(modules: list[EvaluationModule]) -> None:
    again = [m.module for m in load_config(ROOT / "config").modules]
    assert [module_digest(m) for m in again] == [module_digest(m) for m in modules]
    digests = {module_digest(m) for m in modules}
    assert len(digests) == len(modules)  # every module its own digest
    emotion = next(m for m in modules if m.id == "emotion")
    reordered = EvaluationModule.model_validate(dict(reversed(list(emotion.model_dump().items()))))
    assert module_digest(reordered) == module_digest(emotion)
    assert module_digest(emotion.model_copy(update={"batch_size": 16})) != module_digest(emotion)


def test_the_bot_planner_digests_its_limits(tmp_path: Path, config: BotConfig) -> None:
    from bot.worker import planner_for

    model = record("emotion")
    base = planner_for(config)
    settings = config.settings.model_copy(
        update={"isolation": config.settings.isolation.model_copy(update={"memory_gib": 64})}
    )
    roomier = planner_for(BotConfig(path=config.path, settings=settings, modules=config.modules))
    assert roomier.failure_digest(model) != base.failure_digest(model)
    assert roomier.tasks(TEXT, ["emotion"]) == base.tasks(TEXT, ["emotion"])


def test_a_key_left_at_its_default_is_not_in_the_digest(modules: list[EvaluationModule]) -> None:
    """A key the schema gains later changes no module's digest (no failure is re-planned) until
    a module sets it to something else."""
    emotion = next(m for m in modules if m.id == "emotion")
    said = emotion.model_dump(mode="json", exclude_defaults=True)
    assert "infer" not in said and "config_hints" not in said
    spelled_out = EvaluationModule.model_validate({**said, "infer": True, "config_hints": []})
    assert module_digest(spelled_out) == module_digest(emotion)
    assert module_digest(emotion.model_copy(update={"infer": False})) != module_digest(emotion)
