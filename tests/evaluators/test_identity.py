"""Dataset identity: spellings of one dataset, versioned families, and names two modules claim."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from evaluators.config import EvaluationModule, load_modules
from evaluators.errors import ConfigError
from evaluators.identity import DatasetIndex, normalise, trained_names


def text_module(module_id: str, trained_on: list[str], **over: Any) -> dict[str, Any]:
    """A text-classification module as its YAML file would say it."""
    dataset = over.pop("dataset", {})
    return {
        "id": module_id,
        "task": "text-classification",
        "version": 1,
        "dataset": {
            "repo": f"org/{module_id}",
            "name": module_id.title(),
            "columns": {"input": "text", "label": "label"},
            "labels": ["negative", "positive"],
            **dataset,
        },
        "trained_on": trained_on,
        **over,
    }


def write(tasks: Path, *modules: dict[str, Any]) -> Path:
    folder = tasks / "text-classification"
    folder.mkdir(parents=True, exist_ok=True)
    for module in modules:
        (folder / f"{module['id']}.yaml").write_text(yaml.safe_dump(module))
    return tasks


@pytest.mark.parametrize(
    "spelling",
    [
        "dair-ai/emotion",
        "Dair-AI/Emotion",
        "  dair_ai/emotion ",
        "datasets/dair-ai/emotion",
        "https://huggingface.co/datasets/dair-ai/emotion",
        "hf.co/datasets/dair.ai/emotion/",
    ],
)
def test_spellings_of_one_dataset_normalise_alike(spelling: str) -> None:
    assert normalise(spelling) == "dair-ai/emotion"


def test_separators_count_as_one() -> None:
    assert normalise("imagenet_1k") == normalise("ImageNet-1k") == normalise("imagenet 1k")
    assert normalise("tweet_eval") == "tweet-eval" and normalise("glue") != normalise("glue2")


def test_index_finds_a_module_by_any_spelling_and_a_glued_version() -> None:
    squad2 = EvaluationModule.model_validate(text_module("squad_v2", ["rajpurkar/squad_v2"]))
    squad = EvaluationModule.model_validate(text_module("squad", ["squad"]))
    index = DatasetIndex([squad, squad2])
    assert [m.id for m in index.named("text-classification", "Rajpurkar/SQuAD-v2")] == ["squad_v2"]
    assert [m.id for m in index.named("text-classification", "rajpurkar/squad2")] == ["squad_v2"]
    assert index.named("question-answering", "squad") == []


def test_versioned_family_expands_to_the_versions_accepted() -> None:
    module = EvaluationModule.model_validate(
        text_module(
            "voice",
            ["mozilla-foundation/common_voice_{version}_0"],
            trained_on_versions=["11", "13"],
        )
    )
    assert trained_names(module) == [
        "mozilla-foundation/common_voice_11_0",
        "mozilla-foundation/common_voice_13_0",
    ]
    index = DatasetIndex([module])
    assert index.named("text-classification", "mozilla-foundation/common-voice-13-0")
    assert not index.named("text-classification", "mozilla-foundation/common_voice_12_0")


def test_version_placeholder_without_versions_is_refused(tmp_path: Path) -> None:
    write(tmp_path, text_module("voice", ["common_voice_{version}_0"]))
    with pytest.raises(ConfigError, match="trained_on_versions"):
        load_modules(tmp_path)


def test_two_modules_claiming_one_name_are_refused_naming_both_files(tmp_path: Path) -> None:
    write(
        tmp_path,
        text_module("sentiment-a", ["org/reviews", "reviews"]),
        text_module("sentiment-b", ["Reviews"]),
    )
    with pytest.raises(ConfigError) as caught:
        load_modules(tmp_path)
    message = str(caught.value)
    assert "sentiment-a.yaml" in message and "sentiment-b.yaml" in message
    assert "'reviews'" in message and "config_hints" in message


def test_a_family_shares_its_name_with_hints(tmp_path: Path) -> None:
    write(
        tmp_path,
        text_module("glue-sst2", ["glue"], config_hints=["sst2", "sst-2"]),
        text_module("glue-cola", ["glue"], config_hints=["cola"]),
        text_module(
            "glue-mnli-matched",
            ["glue"],
            config_hints=["mnli"],
            also_evaluate_on=["glue-mnli-mismatched"],
        ),
        text_module("glue-mnli-mismatched", ["glue"], config_hints=["mnli"]),
    )
    modules = [f.module for f in load_modules(tmp_path)]
    assert len(DatasetIndex(modules).named("text-classification", "GLUE")) == 4


def test_a_hint_claimed_by_modules_not_evaluated_together_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        text_module("glue-mnli", ["glue"], config_hints=["mnli"]),
        text_module("glue-qnli", ["glue"], config_hints=["qnli", "MNLI"]),
    )
    with pytest.raises(ConfigError, match=r"'mnli'.*glue-qnli\.yaml|glue-mnli\.yaml.*'mnli'"):
        load_modules(tmp_path)


def test_a_hint_shared_on_one_dataset_config_is_allowed(tmp_path: Path) -> None:
    same = {"repo": "org/glue", "config": "mnli"}
    write(
        tmp_path,
        text_module("mnli-matched", ["glue"], config_hints=["mnli"], dataset=same),
        text_module(
            "mnli-mismatched",
            ["glue"],
            config_hints=["mnli"],
            dataset={**same, "split": "validation_mismatched"},
        ),
    )
    assert len(load_modules(tmp_path)) == 2


def test_the_shipped_config_passes() -> None:
    assert load_modules(Path(__file__).resolve().parents[2] / "config" / "tasks")
