"""The YAML contract: every shipped file validates; bad files name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from evaluators.config import load_module
from evaluators.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "config" / "tasks" / "text-classification" / "emotion.yaml").read_text()


def test_shipped_config_validates() -> None:
    config = load_config(ROOT / "config")
    ids = {m.module.id for m in config.modules}
    assert {"emotion", "imdb", "cifar10", "imagenet-1k", "imagenet-sketch"} <= ids
    assert len(ids) == len(config.modules)
    assert config.settings.pull_requests.enabled


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s: s + "\nbatchsize: 8\n", "unknown key 'batchsize'"),
        (
            lambda s: s.replace("split: test", "split: test\n  splitt: x"),
            "unknown key 'dataset.splitt'",
        ),
        (lambda s: s.replace("version: 1", "version: 0"), "version"),
        (lambda s: s.replace("task: text-classification", "task: text-clasification"), "task"),
        (lambda s: s.replace("  joy: [happy, happiness]", "  happy: [joy]"), "label_aliases"),
        (lambda s: "- just\n- a list\n", "expected a mapping"),
        (lambda s: s + "\n  : : bad", "invalid YAML"),
        (lambda s: s.replace("language: [en]", "language: [English]"), "not ISO 639 codes"),
        (lambda s: s.replace("language: [en]", "language: [no]"), "dataset.language"),
    ],
)
def test_bad_module_names_file_and_key(tmp_path: Path, edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "emotion.yaml"
    path.write_text(edit(GOOD))
    with pytest.raises(ConfigError) as err:
        load_module(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_include_template(tmp_path: Path) -> None:
    (tmp_path / "_template.yaml").write_text(
        "task: text-classification\nversion: 2\nbatch_size: 4\n"
    )
    body = GOOD.replace("task: text-classification\n", "").replace("version: 1\n", "")
    (tmp_path / "emotion.yaml").write_text("include: _template.yaml\n" + body)
    module = load_module(tmp_path / "emotion.yaml")
    assert (module.task, module.version, module.batch_size) == ("text-classification", 2, 32)


def test_duplicate_ids_and_bad_bot_yaml(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks" / "text-classification"
    tasks.mkdir(parents=True)
    (tasks / "a.yaml").write_text(GOOD)
    (tasks / "b.yaml").write_text(GOOD)
    (tmp_path / "bot.yaml").write_text("version: 1\n")
    with pytest.raises(ConfigError, match="duplicate module id 'emotion'"):
        load_config(tmp_path)
    (tasks / "b.yaml").unlink()
    (tmp_path / "bot.yaml").write_text("version: 1\npull_requests: {enabld: false}\n")
    with pytest.raises(ConfigError, match=r"bot.yaml: unknown key 'pull_requests.enabld'"):
        load_config(tmp_path)
