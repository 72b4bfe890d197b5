"""`class_groups:` in a module: checked against the labels, carried to the dataset record."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from evaluators.config import load_module
from evaluators.errors import ConfigError
from evaluators.metadata import dataset_record

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "config" / "tasks" / "text-classification" / "emotion.yaml").read_text()


def _module_with(tmp_path: Path, groups: str, template: str = "") -> Path:
    path = tmp_path / "emotion.yaml"
    path.write_text(GOOD + "class_groups:\n" + groups)
    if template:
        (tmp_path / "_template.yaml").write_text(template)
        path.write_text("include: _template.yaml\n" + path.read_text())
    return path


def test_groups_load_and_reach_the_dataset_record(tmp_path: Path) -> None:
    path = _module_with(tmp_path, "  positive: [joy, love]\n  negative: [sadness, anger, fear]\n")
    module = load_module(path)
    assert module.class_groups == {
        "positive": ["joy", "love"],
        "negative": ["sadness", "anger", "fear"],
    }  # surprise is in no group: allowed
    record = dataset_record(module, [module])
    assert record.class_groups == {
        "positive": ("joy", "love"),
        "negative": ("sadness", "anger", "fear"),
    }


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        (
            "  positive: [joy, lov]\n",
            "class_groups.positive: 'lov' is not in dataset.labels — did you mean 'love'?",
        ),
        (
            "  positive: [joy, love]\n  mixed: [love, fear]\n",
            "class_groups.mixed: 'love' is also in 'positive'; a label belongs to one group",
        ),
        ("  positive: [joy, joy]\n", "class_groups.positive: 'joy' is twice"),
        ("  positive: []\n", "class_groups.positive: the group names no label"),
        ("  positive: joy\n", "class_groups.positive"),  # not a list
    ],
)
def test_bad_groups_name_the_group_and_the_label(
    tmp_path: Path, groups: str, expected: str
) -> None:
    path = _module_with(tmp_path, groups)
    with pytest.raises(ConfigError) as err:
        load_module(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_a_template_s_groups_merge_group_by_group(tmp_path: Path) -> None:
    template = "class_groups:\n  positive: [joy]\n  negative: [anger]\n"
    path = _module_with(tmp_path, "  positive: [joy, love]\n", template)
    assert load_module(path).class_groups == {"positive": ["joy", "love"], "negative": ["anger"]}


def test_shipped_groups_cover_cifar100_and_coco() -> None:
    modules = {item.module.id: item.module for item in load_config(ROOT / "config").modules}
    for module_id, count, size in (("cifar100", 20, {5}), ("coco", 12, {1, 5, 6, 7, 8, 10})):
        module = modules[module_id]
        groups = module.class_groups
        assert len(groups) == count
        assert {len(labels) for labels in groups.values()} == size
        members = sorted(label for labels in groups.values() for label in labels)
        assert members == sorted(module.dataset.labels)  # every class in exactly one group
    assert modules["cifar100"].class_groups["non-insect_invertebrates"][0] == "cra"  # crab
