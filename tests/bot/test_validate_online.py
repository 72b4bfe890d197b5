"""`evalbot validate --online`: every module against its dataset on the sandbox Hub, whose demo
world serves each dataset a shipped module pins at exactly that commit (`sandbox.seed` mirrors
it). A module that no longer matches its dataset names its file, what is wrong and what to
change, and the command exits 2."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml
from huggingface_hub import HfApi

from bot.cli import main
from evaluators.config import load_module
from sandbox.server import RunningSandbox
from sandbox.world import World

from .conftest import ROOT

EMOTION = Path("tasks/text-classification/emotion.yaml")
COCO = Path("tasks/object-detection/coco.yaml")
IN_THE_WORLD = {  # the shipped modules whose datasets the sandbox's demo world has
    "emotion": "dair-ai/emotion",
    "mnist": "ylecun/mnist",
    "mteb-mnist": "mteb/mnist",
    "coco": "detection-datasets/coco",
    "glue-rte": "nyu-mll/glue",
}


@pytest.fixture(scope="module")
def hub(world: World, detection_world: World, sandbox: RunningSandbox) -> RunningSandbox:
    """The sandbox with the demo world and its detection part (`detection-datasets/coco`)."""
    return sandbox


@pytest.fixture
def as_bot(monkeypatch: pytest.MonkeyPatch, bot_token: str) -> None:
    monkeypatch.setenv("HF_TOKEN", bot_token)


def module_copy(config: Path, rel: Path = EMOTION, **changes: Any) -> Path:
    """The shipped module ``rel`` (and the template it includes) in ``config``, with
    ``changes`` (``dataset`` and ``objects`` merge into the dataset block)."""
    source, target = ROOT / "config" / rel, config / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    module = yaml.safe_load(source.read_text())
    if include := module.get("include"):
        template = (target.parent / include).resolve()
        template.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy((source.parent / include).resolve(), template)
    module["dataset"].update(changes.pop("dataset", {}))
    if objects := changes.pop("objects", None):
        module["dataset"]["objects"] = {**module["dataset"]["objects"], **objects}
    module.update(changes)
    target.write_text(yaml.safe_dump(module, allow_unicode=True))
    return target


def test_the_world_serves_each_pinned_dataset_at_its_pin(hub: RunningSandbox) -> None:
    api = HfApi()
    for module_id, repo_id in IN_THE_WORLD.items():
        pin = load_module(ROOT / "config" / _path(module_id)).dataset.revision
        assert pin is not None and api.dataset_info(repo_id).sha == pin, module_id


@pytest.mark.usefixtures("as_bot")
def test_the_shipped_modules_the_world_has_match_their_datasets(
    hub: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(ROOT / "config"), "--online"]) == 2  # the rest are not there
    out, err = capsys.readouterr()
    for module_id, repo_id in IN_THE_WORLD.items():
        pin = load_module(ROOT / "config" / _path(module_id)).dataset.revision
        assert pin is not None
        assert (
            f"ok: {ROOT / 'config' / _path(module_id)}: module '{module_id}': {repo_id}@{pin[:8]}"
        ) in out
    assert out.count("its class names are dataset.labels") == len(IN_THE_WORLD)
    assert (
        f"error: {ROOT / 'config' / _path('cifar10')}: module 'cifar10': there is no dataset "
        f"uoft-cs/cifar10 on the Hub at {hub.url} (or it is private to another account); "
        "fix dataset.repo"
    ) in err
    assert "warning: " in out and "module 'beans': dataset.revision is not pinned" in out


@pytest.mark.usefixtures("hub", "as_bot")
@pytest.mark.parametrize(
    ("rel", "changes", "expected"),
    [
        (
            EMOTION,
            {"dataset": {"revision": "0" * 40}},
            f"dair-ai/emotion has no commit {'0' * 40}; set dataset.revision to a full commit sha "
            "from the dataset's commit history",
        ),
        (
            EMOTION,
            {"dataset": {"columns": {"input": "tweet", "label": "label"}}},
            "dair-ai/emotion@cab853a1 split test: columns ['tweet'] not found (it has ['text', "
            "'label']); fix dataset.columns",
        ),
        (
            EMOTION,
            {
                "dataset": {
                    "labels": ["sadness", "happiness", "love", "anger", "fear", "surprise"]
                },
                "label_aliases": {},
            },
            "dair-ai/emotion@cab853a1 split test: the class names of 'label' differ from "
            "dataset.labels: the Hub has ['joy'] that the module lacks, the module has "
            "['happiness'] that the Hub lacks; fix dataset.labels",
        ),
        (
            EMOTION,
            {"dataset": {"split": "dev"}},
            "dair-ai/emotion@cab853a1: Bad split: dev. Available splits: ['train', 'validation', "
            "'test']; fix dataset.split",
        ),
        (
            EMOTION,
            {"dataset": {"config": "unsplit"}},
            "dair-ai/emotion@cab853a1 config unsplit: BuilderConfig 'unsplit' not found.",
        ),
        (
            COCO,
            {"objects": {"bbox": "box"}},
            "detection-datasets/coco@cf0b2233 split val: object fields ['box'] not found in column "
            "'objects' (its objects have ['area', 'bbox', 'bbox_id', 'category']); fix "
            "dataset.objects",
        ),
    ],
    ids=["revision", "column", "label", "split", "config", "object-field"],
)
def test_a_module_that_does_not_match_its_dataset_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    rel: Path,
    changes: dict[str, Any],
    expected: str,
) -> None:
    path = module_copy(tmp_path, rel, **changes)
    assert main(["validate", str(path), "--online"]) == 2
    err = capsys.readouterr().err
    module_id = path.stem
    assert f"error: {path}: module '{module_id}': {expected}" in err


@pytest.mark.usefixtures("as_bot")
def test_a_gated_dataset_the_bot_may_not_read(
    hub: RunningSandbox,
    world: World,
    demo_api: HfApi,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo_id = "demo-gated/emotion-copy"
    demo_api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    demo_api.upload_folder(
        repo_id=repo_id, repo_type="dataset", folder_path=world.dataset("dair-ai/emotion").path
    )
    settings = f"{hub.url}/_sandbox/repos/dataset/{repo_id}"
    httpx2.post(settings, json={"gated": "manual"}).raise_for_status()
    path = module_copy(tmp_path, dataset={"repo": repo_id, "revision": None})

    assert main(["validate", str(path), "--online"]) == 2
    assert (
        f"error: {path}: module 'emotion': {repo_id} is gated and the bot's token may not read "
        "it: accept its terms on the Hub with the bot's account (that of HF_TOKEN)"
    ) in capsys.readouterr().err


@pytest.mark.usefixtures("hub", "as_bot")
def test_an_unpinned_module_is_ok_with_a_warning_and_the_head_to_pin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = module_copy(tmp_path, dataset={"revision": None})
    head = HfApi().dataset_info("dair-ai/emotion").sha

    assert main(["validate", str(path), "--online"]) == 0
    out = capsys.readouterr().out
    assert (
        f"warning: {path}: module 'emotion': dataset.revision is not pinned: results follow the "
        "head of main of dair-ai/emotion, which can change; pin the commit sha you evaluated"
    ) in out
    assert f"ok: {path}: module 'emotion': dair-ai/emotion@{head[:8]} split test: " in out
    assert f"(not pinned: main is at {head}; pin it)" in out


@pytest.mark.parametrize(
    "revision", ["main", "cab853a1", "CAB853A1DBDF4C42C2B3EF2173804746DF8825FE"]
)
def test_a_revision_that_is_not_a_full_commit_sha_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], revision: str
) -> None:
    path = module_copy(tmp_path, dataset={"revision": revision})
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert "dataset.revision: Value error, use the full 40-character commit sha" in err


def test_validate_online_without_a_hub_says_it_could_not_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    path = module_copy(tmp_path, dataset={"split": "dev"})

    assert main(["validate", str(path), "--online"]) == 0
    assert (
        f"not checked: {path}: module 'emotion': could not reach the Hub at http://127.0.0.1:9 "
        "to read the dataset"
    ) in capsys.readouterr().out


def _path(module_id: str) -> Path:
    return next((ROOT / "config" / "tasks").glob(f"*/{module_id}.yaml")).relative_to(
        ROOT / "config"
    )


CONLL = Path("tasks/token-classification/conll2003.yaml")


@pytest.mark.usefixtures("hub", "as_bot")
def test_a_loading_script_dataset_is_checked_on_its_parquet_conversion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`format: parquet-export` reads the config's folder of `refs/convert/parquet` and prints
    that branch's head to pin; reading main instead says what to set."""
    from sandbox.world_scripts import SCRIPT_ID

    export = {"repo": SCRIPT_ID, "config": "news-small", "format": "parquet-export"}
    path = module_copy(tmp_path, CONLL, dataset={**export, "revision": None})
    head = HfApi().dataset_info(SCRIPT_ID, revision="refs/convert/parquet").sha
    assert main(["validate", str(path), "--online"]) == 0
    out = capsys.readouterr().out
    assert f"ok: {path}: module 'conll2003': {SCRIPT_ID}@{head[:8]} config news-small split " in out
    assert "columns ner_tags, tokens; its class names are dataset.labels" in out
    assert f"(not pinned: refs/convert/parquet is at {head}; pin it)" in out
    assert f"results follow the head of refs/convert/parquet of {SCRIPT_ID}" in out

    script = module_copy(tmp_path / "script", CONLL, dataset={**export, "format": "datasets"})
    assert main(["validate", str(script), "--online"]) == 2
    err = capsys.readouterr().err
    assert f"error: {script}: module 'conll2003': " in err
    assert "set dataset.format: parquet-export" in err
