"""Caps on the small files of a repo: a 2 GiB config.json, an over-cap tokenizer_config.json, a
card or an .eval_results file over its cap, a config.json nested 100,000 levels deep. Each is a
typed refusal, made from the Hub's file metadata before any byte of the file is downloaded (the
sandbox's request log shows it), and the process carries on."""

from __future__ import annotations

import json
import resource
import uuid
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from bot.cycle import run_cycle
from bot.publisher import read_card, read_eval_results
from evaluators.errors import (
    EvaluationError,
    FileTooLargeError,
    InsufficientMetadataError,
    JsonDepthError,
)
from evaluators.hub import fetch_model
from evaluators.limits import MiB, load_json
from evaluators.metadata import hyperparameters
from sandbox.server import RunningSandbox
from sandbox.world import World
from store.db import Store
from store.types import FailureReason
from tests.bot.conftest import bot_prs, card, make_model, write_config
from tests.sandbox.helpers import Admin

GiB = 2**30
MAX_MODEL_BYTES = 20 * GiB  # hub.max_model_gib in bot.yaml: a 2 GiB config.json is under it
CONFIG = b'{"model_type": "bert", "architectures": ["BertForSequenceClassification"]}'
DEEP = b"[" * 100_000 + b"]" * 100_000  # 200 KB


def model_repo(api: HfApi, files: dict[str, bytes] | None = None) -> str:
    """A repo with a config.json and small safetensors weights, plus ``files``."""
    repo_id = f"caps{uuid.uuid4().hex[:8]}/model"
    api.create_repo(repo_id)
    for path, content in {"config.json": CONFIG, "model.safetensors": b"\0" * 2048}.items():
        api.upload_file(path_or_fileobj=content, path_in_repo=path, repo_id=repo_id)
    for path, content in (files or {}).items():
        api.upload_file(path_or_fileobj=content, path_in_repo=path, repo_id=repo_id)
    return repo_id


def downloads(admin: Admin, repo_id: str) -> list[str]:
    """The files of ``repo_id`` asked for (HEAD or GET) since the log was cleared."""
    marker = f"/{repo_id}/resolve/"
    return [
        e["path"].split(marker, 1)[1].split("/", 1)[1] for e in admin.log() if marker in e["path"]
    ]


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def test_a_2gib_config_is_refused_before_any_download(
    sandbox: RunningSandbox, demo_api: HfApi
) -> None:
    repo_id = model_repo(demo_api)
    admin = Admin(sandbox.url)
    admin.sparse_file(
        "model", repo_id, "config.json", 2 * GiB, head='{"model_type": "bert", "x": "'
    )
    info = demo_api.model_info(repo_id, files_metadata=True)
    config = next(s for s in info.siblings or () if s.rfilename == "config.json")
    assert config.size == 2 * GiB  # as the Hub lists it
    blob = sandbox.hub.storage.blob_path(str(config.blob_id))
    assert blob.stat().st_size == 2 * GiB and blob.stat().st_blocks * 512 < MiB  # sparse
    admin.clear_log()
    before = peak_rss()

    with pytest.raises(EvaluationError) as caught:
        fetch_model(demo_api, repo_id, "main", max_bytes=MAX_MODEL_BYTES)

    assert caught.value.reason is FailureReason.TOO_LARGE
    assert caught.value.detail == (
        "config.json is 2 GiB, over the cap of 8 MiB for a settings file: evalbot does not read "
        "it (shrink the file)"
    )
    assert isinstance(caught.value.__cause__, FileTooLargeError)
    assert caught.value.__cause__.size == 2 * GiB
    assert downloads(admin, repo_id) == []  # not a byte of any file
    assert peak_rss() - before < 256 * MiB  # nothing the size of the file was read
    # the process carries on: the next model is fetched
    fetched = fetch_model(demo_api, model_repo(demo_api), "main", max_bytes=MAX_MODEL_BYTES)
    assert json.loads((fetched.path / "config.json").read_bytes())["model_type"] == "bert"


def test_an_over_cap_tokenizer_config_is_refused_before_any_download(
    sandbox: RunningSandbox, demo_api: HfApi
) -> None:
    repo_id = model_repo(demo_api, {"tokenizer.json": b"{}"})
    admin = Admin(sandbox.url)
    admin.sparse_file("model", repo_id, "tokenizer_config.json", 8 * MiB + 1, head="{")
    admin.clear_log()

    with pytest.raises(EvaluationError) as caught:
        fetch_model(demo_api, repo_id, "main", max_bytes=MAX_MODEL_BYTES)

    assert caught.value.reason is FailureReason.TOO_LARGE
    assert caught.value.detail.startswith(
        "tokenizer_config.json is 8.00 MiB, over the cap of 8 MiB"
    )
    assert downloads(admin, repo_id) == []


def test_a_deeply_nested_config_is_typed_before_the_weights(
    sandbox: RunningSandbox, demo_api: HfApi, tmp_path: Path
) -> None:
    repo_id = model_repo(demo_api, {"config.json": DEEP})
    admin = Admin(sandbox.url)
    admin.clear_log()

    with pytest.raises(InsufficientMetadataError) as caught:
        fetch_model(demo_api, repo_id, "main", max_bytes=MAX_MODEL_BYTES)

    assert caught.value.reason is FailureReason.INSUFFICIENT_METADATA
    assert "config.json nests 100000 levels deep, over the 64 levels" in caught.value.detail
    assert set(downloads(admin, repo_id)) == {"config.json"}  # no weights came down
    local = tmp_path / "config.json"
    local.write_bytes(DEEP)
    with pytest.raises(RecursionError):  # what parsing it unchecked does
        json.loads(DEEP)
    with pytest.raises(JsonDepthError) as deep:
        load_json(local)
    assert deep.value.depth == 100_000
    assert hyperparameters(local) == {}


def test_a_deeply_nested_tokenizer_config_is_typed(
    sandbox: RunningSandbox, demo_api: HfApi
) -> None:
    repo_id = model_repo(demo_api, {"tokenizer_config.json": DEEP})

    with pytest.raises(InsufficientMetadataError) as caught:
        fetch_model(demo_api, repo_id, "main", max_bytes=MAX_MODEL_BYTES)

    assert "unreadable tokenizer_config.json: tokenizer_config.json nests 100000" in str(
        caught.value
    )


def test_an_over_cap_card_is_left_out_of_the_download(
    sandbox: RunningSandbox, demo_api: HfApi
) -> None:
    repo_id = model_repo(
        demo_api, {"README.md": b"---\nlicense: mit\n---\n# A card\n" + b"x" * MiB}
    )
    admin = Admin(sandbox.url)
    admin.clear_log()

    fetched = fetch_model(demo_api, repo_id, "main", max_bytes=MAX_MODEL_BYTES)

    assert not (fetched.path / "README.md").exists()  # evaluated without it
    assert (fetched.path / "model.safetensors").exists()
    assert "README.md" not in downloads(admin, repo_id)
    with pytest.raises(FileTooLargeError) as caught:  # the publisher's reader, sizes asked for
        read_card(demo_api, repo_id, "main")
    assert str(caught.value).startswith("README.md is 1.00 MiB, over the cap of 1 MiB")
    assert "README.md" not in downloads(admin, repo_id)


def test_an_over_cap_eval_results_file_is_refused_before_download(
    sandbox: RunningSandbox, demo_api: HfApi
) -> None:
    repo_id = model_repo(demo_api)
    path = ".eval_results/evalbot-org--bench.yaml"
    Admin(sandbox.url).sparse_file("model", repo_id, path, 300 * 1024, head="- dataset: x\n")
    admin = Admin(sandbox.url)
    admin.clear_log()
    sizes = {
        s.rfilename: s.size
        for s in demo_api.model_info(repo_id, files_metadata=True).siblings or ()
    }

    with pytest.raises(FileTooLargeError) as caught:
        read_eval_results(demo_api, repo_id, path, "main", sizes=sizes)

    assert str(caught.value).startswith(f"{path} is 300 KiB, over the cap of 256 KiB")
    assert downloads(admin, repo_id) == []
    assert read_eval_results(demo_api, repo_id, ".eval_results/absent.yaml", "main") is None


def test_a_card_over_its_cap_gets_no_pr_and_the_cycle_goes_on(
    sandbox: RunningSandbox,
    demo_world: World,
    demo_api: HfApi,
    bot_api: HfApi,
    store: Store,
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path / "config", isolation={"enabled": False})
    small, large = f"{config.tag}/small-card", f"{config.tag}/large-card"
    make_model(demo_api, demo_world, small, config.tag)
    make_model(demo_api, demo_world, large, config.tag)
    text = card(config.tag) + "\n".join(["A long card."] * 90_000) + "\n"
    assert len(text.encode()) > MiB
    sha = demo_api.upload_file(
        path_or_fileobj=text.encode(), path_in_repo="README.md", repo_id=large
    ).oid
    admin = Admin(sandbox.url)
    admin.clear_log()

    report = run_cycle(config.load(), api=bot_api, store=store)

    assert report.prs == {"opened": 1, "too large": 1}, report.summary()
    assert report.evaluated == 2, report.summary()
    assert len(bot_prs(demo_api, small)) == 1 and bot_prs(demo_api, large) == []
    job = store.get_job(large, str(sha))
    assert job is not None and job["status"] == "done"
    assert str(job["error"]).startswith("README.md is 1.12 MiB, over the cap of 1 MiB")
    assert "README.md" not in downloads(admin, large)  # neither evaluated nor published from
