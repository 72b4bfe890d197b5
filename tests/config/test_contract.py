"""The contract every YAML file under ``config/`` keeps, beyond what the schema checks one file at a
time: a maintainer who adds or edits a module learns here what would go wrong at evaluation time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config import load_config
from evaluators.config import EvaluationModule, ModuleFile, modality
from evaluators.labels import normalize

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
SHIPPED = load_config(CONFIG).modules
BY_ID = {item.module.id: item.module for item in SHIPPED}

# Class counts of the shipped datasets (a new module needs no entry here).
LABEL_COUNTS = {
    "emotion": 6,
    "imdb": 2,
    "rotten_tomatoes": 2,
    "ag_news": 4,
    "banking77": 77,
    "yelp_review_full": 5,
    "cifar10": 10,
    "cifar100": 100,
    "mnist": 10,
    "beans": 3,
    "food101": 101,
    "imagenet-1k": 1000,
    "imagenet-sketch": 1000,
}

# Modules whose dataset revision is not pinned yet: no public record of a full commit sha of
# their dataset was found. `evalbot validate` warns about each; pin one and drop it here.
UNPINNED = {"beans", "squad", "squad_v2", "conll2003", "wnut_17", "masakhaner"}


@pytest.fixture(params=SHIPPED, ids=lambda item: item.module.id)
def item(request: pytest.FixtureRequest) -> ModuleFile:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def module(item: ModuleFile) -> EvaluationModule:
    return item.module


def test_every_yaml_file_is_loaded() -> None:
    """Each file is bot.yaml, a module, or a template some module includes (no dead files)."""
    used = {CONFIG / "bot.yaml"} | {item.path for item in SHIPPED}
    for item in SHIPPED:
        path = item.path
        while (include := yaml.safe_load(path.read_text()).get("include")) is not None:
            path = (path.parent / include).resolve()
            used.add(path)
    assert sorted(CONFIG.rglob("*.yaml")) == sorted(used)


def test_shipped_modules() -> None:
    assert set(LABEL_COUNTS) <= set(BY_ID)
    assert set(UNPINNED) <= set(BY_ID)
    assert {m: len(BY_ID[m].dataset.labels) for m in LABEL_COUNTS} == LABEL_COUNTS


def test_module_is_complete(item: ModuleFile) -> None:
    module = item.module
    assert item.path.stem == module.id
    dataset = module.dataset
    assert dataset.description and dataset.homepage and dataset.reference
    assert dataset.reference.url or dataset.reference.arxiv
    assert module.limit is None, "limit is for local runs, never shipped"


def test_dataset_revision_is_pinned_or_listed_as_unpinned(module: EvaluationModule) -> None:
    """Results name the dataset commit they were computed on; a pin keeps that commit the same
    for every model (the schema allows only full commit shas)."""
    assert (module.dataset.revision is None) == (module.id in UNPINNED)


def test_labels_and_aliases_are_unambiguous(module: EvaluationModule) -> None:
    """Label matching ignores case and separators: no two spellings may name two classes."""
    owner: dict[str, str] = {}
    for label in module.dataset.labels:
        assert normalize(label) not in owner, f"{label!r} clashes with {owner[normalize(label)]!r}"
        owner[normalize(label)] = label
    for label, aliases in module.label_aliases.items():
        for alias in aliases:
            assert owner.setdefault(normalize(alias), label) == label, f"alias {alias!r}"


def test_perturbations_fit_the_modality(module: EvaluationModule) -> None:
    assert {p.modality for p in module.variants()} <= {modality(module.task)}


def test_trained_on_selects_one_module_per_task() -> None:
    """A dataset name in two modules of one task would evaluate a model twice."""
    owners: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in SHIPPED:
        for name in {n.casefold() for n in item.module.trained_on}:
            owners[item.module.task, name].append(item.module.id)
    assert {key: ids for key, ids in owners.items() if len(ids) > 1} == {}


def test_also_evaluate_on_names_compatible_modules(module: EvaluationModule) -> None:
    for other_id in module.also_evaluate_on:
        assert other_id != module.id
        other = BY_ID[other_id]
        assert other.task == module.task
        labels = [normalize(label) for label in module.dataset.labels]
        assert [normalize(label) for label in other.dataset.labels] == labels


def test_imagenet_models_also_meet_sketches() -> None:
    assert BY_ID["imagenet-1k"].also_evaluate_on == ["imagenet-sketch"]
    assert "imagenet-sketch" in BY_ID["imagenet-sketch"].trained_on


@pytest.mark.slow  # end to end: `evalbot validate` as a process
def test_cli_validates_the_shipped_config() -> None:
    """Offline here (no Hub at HF_ENDPOINT): benchmark task ids are reported as not checked.
    tests/bot/test_benchmark_pr.py checks them against the sandbox Hub."""
    evalbot = Path(sys.executable).with_name("evalbot")
    offline = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9"}
    done = subprocess.run(
        [str(evalbot), "validate", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=offline,
    )
    assert done.returncode == 0, done.stderr
    assert f"({len(SHIPPED)} evaluation modules)" in done.stdout
    benchmarks = [item.module.id for item in SHIPPED if item.module.benchmark is not None]
    assert benchmarks == ["mteb-mnist"]
    assert done.stdout.count("not checked: module ") == len(benchmarks)
    assert done.stdout.count("dataset.revision is not pinned") == len(UNPINNED)


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    """The shipped config folder, copied so a test can break one file (includes still resolve)."""
    shutil.copytree(CONFIG, tmp_path / "config")
    return tmp_path / "config"


@pytest.mark.parametrize(
    ("module_file", "append", "expected"),
    [
        (
            "image-classification/beans.yaml",
            "perturbations: [greyscal]",
            "unknown perturbation 'greyscal' — did you mean 'greyscale'?",
        ),
        (
            "image-classification/beans.yaml",
            "perturbations: [{name: gaussian_noise, severity: 7}]",
            "severity must be an int 1–5 (got 7)",
        ),
        (
            "image-classification/beans.yaml",
            "perturbations: [typos]",
            "'typos' is for text, this module's task 'image-classification' takes image",
        ),
        (
            "text-classification/imdb.yaml",
            "processors: [classification, calibraton]",
            "unknown processor 'calibraton' — did you mean 'calibration'?",
        ),
    ],
)
def test_cli_rejects_a_bad_module_file(
    config_copy: Path,
    capsys: pytest.CaptureFixture[str],
    module_file: str,
    append: str,
    expected: str,
) -> None:
    path = config_copy / "tasks" / module_file
    path.write_text(path.read_text() + append + "\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert expected in err


def test_cli_rejects_an_unknown_also_evaluate_on(
    config_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_copy / "tasks" / "text-classification" / "imdb.yaml"
    path.write_text(path.read_text().replace("[rotten_tomatoes]", "[rotten_tomatoe]"))
    assert main(["validate", str(config_copy)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert "unknown module 'rotten_tomatoe' — did you mean 'rotten_tomatoes'?" in err
