"""A module whose dataset is a Hub Benchmark (the shipped `mteb-mnist`, served by the sandbox
with its `eval.yaml`): `evalbot validate` checks its task_id against that file, and the PR also
carries `.eval_results/` with huggingface_hub's own entries, no `verifyToken` anywhere."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from huggingface_hub import HfApi, hf_hub_download, parse_eval_result_entries

from bot.cli import main
from bot.cycle import run_cycle
from sandbox.world import World
from store.db import Store

from .conftest import ROOT, bot_prs, write_config

MODULE = Path("tasks/image-classification/mteb-mnist.yaml")
TEMPLATE = Path("tasks/_templates/image_classification.yaml")
EVAL_RESULTS = ".eval_results/evalbot-mteb--mnist.yaml"


def module_copy(config: Path, **changes: object) -> Path:
    """The shipped mteb-mnist module (and its template) in ``config``, with ``changes``."""
    for rel in (MODULE, TEMPLATE):
        (config / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "config" / rel, config / rel)
    module = yaml.safe_load((config / MODULE).read_text())
    for key, value in changes.items():
        if key == "benchmark":
            module["benchmark"] = {**module["benchmark"], **value}  # type: ignore[dict-item]
        elif key == "dataset":
            module["dataset"] = {**module["dataset"], **value}  # type: ignore[dict-item]
        else:
            module[key] = value
    (config / MODULE).write_text(yaml.safe_dump(module, allow_unicode=True))
    return config / MODULE


def test_validate_checks_the_task_id_against_the_benchmarks_eval_yaml(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = module_copy(tmp_path)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ok: module 'mteb-mnist': benchmark task 'MNIST' is in mteb/mnist's eval.yaml" in out

    module_copy(tmp_path, benchmark={"task_id": "mnist_test"})
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "module 'mteb-mnist'" in err
    assert "benchmark.task_id 'mnist_test' is not a task of the Hub Benchmark mteb/mnist" in err
    assert "eval.yaml lists: MNIST, MNIST_default_test" in err

    module_copy(tmp_path, dataset={"repo": "ylecun/mnist"})  # a dataset, not a Benchmark
    assert main(["validate", str(path)]) == 2
    assert "ylecun/mnist has no eval.yaml at its root, so it is not a Hub Benchmark" in (
        capsys.readouterr().err
    )


def test_validate_offline_says_it_could_not_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    path = module_copy(tmp_path, benchmark={"task_id": "mnist_test"})

    assert main(["validate", str(path)]) == 0
    assert (
        "not checked: module 'mteb-mnist': benchmark task 'mnist_test' of mteb/mnist: could not "
        "reach the Hub at http://127.0.0.1:9 to read eval.yaml"
    ) in capsys.readouterr().out


def test_the_pr_adds_an_eval_results_entry_without_tokens(
    world: World, demo_api: HfApi, bot_api: HfApi, store: Store, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config", isolation={"enabled": False})
    module_copy(
        config.path,
        trained_on=[config.tag],
        limit=24,
        perturbations=[],
    )
    repo_id = f"{config.tag}/bench-digits"
    demo_api.create_repo(repo_id)
    demo_api.upload_folder(
        repo_id=repo_id,
        folder_path=world.model("demo/vit-digits").path,
        ignore_patterns=["README.md"],
    )
    card = (
        f"---\nlicense: mit\ndatasets:\n- {config.tag}\npipeline_tag: image-classification\n"
        "---\n# Digits\n"
    )
    demo_api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id)

    report = run_cycle(config.load(), api=bot_api, store=store)

    assert report.prs == {"opened": 1}, report.summary()
    (pr,) = bot_prs(demo_api, repo_id)
    revision = f"refs/pr/{pr.num}"
    text = Path(hf_hub_download(repo_id, EVAL_RESULTS, revision=revision)).read_text()
    (entry,) = parse_eval_result_entries(yaml.safe_load(text))
    model = store.get_model(repo_id)
    assert model is not None
    (ours,) = [r for r in store.results_for(repo_id, model.sha) if r.variant == "original"]
    space_url = config.load().settings.space_url
    assert (entry.dataset_id, entry.task_id) == ("mteb/mnist", "MNIST")
    assert entry.value == round(ours.metrics["accuracy"] * 100, 2)
    pin = yaml.safe_load((ROOT / "config" / MODULE).read_text())["dataset"]["revision"]
    assert entry.dataset_revision == ours.dataset_revision == pin  # the sandbox mirrors the pin
    assert entry.source_url == f"{space_url}/?view=model&model={repo_id}"
    assert entry.notes == "evalbot, original test split"
    assert entry.verify_token is None and "verifyToken" not in text
    readme = Path(hf_hub_download(repo_id, "README.md", revision=revision)).read_text()
    assert "verifyToken" not in readme
    assert f"url: {space_url}/?view=model&model={repo_id}" in readme
