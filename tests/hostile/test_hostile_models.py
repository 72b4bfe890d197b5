"""Hostile models against the isolated worker: every loading path reachable without remote code.

Each hostile repo fails with a typed reason (or is read harmlessly and evaluated), and the same
executor then evaluates a good model: the worker and its other jobs carry on.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from bot.failures import Fault, classify
from evaluators.datasets_io import DatasetError
from evaluators.hub import fetch_model
from evaluators.isolation import IsolatedExecutor
from sandbox.world import World
from store.types import FailureReason
from tests.hostile.conftest import (
    Edit,
    carries_on,
    edited,
    evaluates,
    push_model,
    record,
    refused,
)

TEXT, VIT, TIMM = "demo/tiny-emotion", "demo/vit-digits", "demo/timm-digits"
# A weight shape the file does not hold: transformers reports the mismatch, or first fails to
# allocate the tensor the config asks for (under the child's RLIMIT_DATA)
MISMATCH = frozenset({FailureReason.LOAD_ERROR, FailureReason.OUT_OF_MEMORY})
MiB = 2**20


def nested(depth: int) -> bytes:
    return b'{"a": ' + b"[" * depth + b"]" * depth + b"}"


def added_token(content: str, token_id: int = 30522) -> Edit:
    def edit(tokenizer: dict[str, object]) -> None:
        tokens = tokenizer["added_tokens"]
        assert isinstance(tokens, list)
        tokens.append(
            {
                "id": token_id,
                "content": content,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": True,
                "special": False,
            }
        )

    return edit


def decoder(count: int) -> Edit:
    entry = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
    return lambda c: c.update(
        added_tokens_decoder={
            str(30522 + i): {"content": f"<t{i}>", "special": True, **entry} for i in range(count)
        }
    )


def text_config(edit: Edit) -> dict[str, Edit]:
    return {"config.json": edit}


def labels_by_count(config: dict[str, object]) -> None:
    del config["id2label"], config["label2id"]
    config["num_labels"] = 10**8


def many_labels(config: dict[str, object]) -> None:
    del config["label2id"]
    config["id2label"] = {str(i): f"L{i}" for i in range(300_000)}


def timm_unnamed(config: dict[str, object]) -> None:
    del config["label_names"]
    config["num_classes"] = 10**9


# (case, base model, {file: edit of its JSON}, reason); file contents as bytes are used as given
REFUSED: list[tuple[str, str, dict[str, Edit | bytes], FailureReason | frozenset[FailureReason]]] = [
    ("tokenizer.json nested 100k deep", TEXT, {"tokenizer.json": nested(100_000)},
     FailureReason.INSUFFICIENT_METADATA),
    ("config.json nested 100k deep", TEXT, {"config.json": nested(100_000)},
     FailureReason.INSUFFICIENT_METADATA),
    ("tokenizer_config.json over its cap", TEXT, {"tokenizer_config.json": b" " * (9 * MiB)},
     FailureReason.TOO_LARGE),
    ("num_labels 10**8", TEXT, text_config(labels_by_count),
     FailureReason.INSUFFICIENT_METADATA),
    ("id2label of 300k classes", TEXT, text_config(many_labels),
     FailureReason.LOAD_ERROR),
    ("max_position_embeddings 10**10", TEXT, text_config(
        lambda c: c.update(max_position_embeddings=10**10)), MISMATCH),
    ("hidden_size 2**20", TEXT, text_config(
        lambda c: c.update(hidden_size=2**20, intermediate_size=2**22)), MISMATCH),
    ("layer_norm_eps NaN", TEXT, text_config(
        lambda c: c.update(layer_norm_eps=float("nan"))), FailureReason.LOAD_ERROR),
    ("image size 100000x100000", VIT, {"preprocessor_config.json": lambda p: p.update(
        size={"height": 100_000, "width": 100_000})}, FailureReason.INSUFFICIENT_METADATA),
    ("image size negative", VIT, {"preprocessor_config.json": lambda p: p.update(
        size={"height": -5, "width": -5})}, FailureReason.INSUFFICIENT_METADATA),
    ("image size zero", VIT, {"preprocessor_config.json": lambda p: p.update(
        size={"height": 0, "width": 28})}, FailureReason.INSUFFICIENT_METADATA),
    ("image size 1e300", VIT, {"preprocessor_config.json": lambda p: p.update(
        size={"height": 1e300, "width": 28})}, FailureReason.INSUFFICIENT_METADATA),
    ("shortest_edge 100000", VIT, {"preprocessor_config.json": lambda p: p.update(
        size={"shortest_edge": 100_000})}, FailureReason.INSUFFICIENT_METADATA),
    ("image_std 0", VIT, {"preprocessor_config.json": lambda p: p.update(image_std=[0, 0, 0])},
     FailureReason.INSUFFICIENT_METADATA),
    ("image processor of remote code", VIT, {"preprocessor_config.json": lambda p: p.update(
        image_processor_type="EvilImageProcessor", auto_map={"AutoImageProcessor": "evil.Evil"})},
     FailureReason.INSUFFICIENT_METADATA),
    ("timm input_size 100000", TIMM, {"config.json": lambda c: c["pretrained_cfg"].update(
        input_size=[3, 100_000, 100_000])}, FailureReason.INSUFFICIENT_METADATA),
    ("timm input_size negative", TIMM, {"config.json": lambda c: c["pretrained_cfg"].update(
        input_size=[3, -4, 28])}, FailureReason.INSUFFICIENT_METADATA),
    ("timm crop_pct 1e-9", TIMM, {"config.json": lambda c: c["pretrained_cfg"].update(
        crop_pct=1e-9)}, FailureReason.INSUFFICIENT_METADATA),
    ("timm mean of 7 channels", TIMM, {"config.json": lambda c: c["pretrained_cfg"].update(
        mean=[0.1] * 7)}, FailureReason.INSUFFICIENT_METADATA),
    ("timm num_classes 10**9", TIMM, {"config.json": lambda c: c["model_args"].update(
        num_classes=10**9)}, FailureReason.OUT_OF_MEMORY),
    ("timm stem_width 2**16", TIMM, {"config.json": lambda c: c["model_args"].update(
        stem_width=2**16)}, FailureReason.OUT_OF_MEMORY),
    ("timm unknown architecture", TIMM, {"config.json": lambda c: c.update(
        architecture="no_such_arch")}, FailureReason.LOAD_ERROR),
    ("timm num_classes 10**9 without names", TIMM, {"config.json": timm_unnamed},
     FailureReason.INSUFFICIENT_METADATA),
]  # fmt: skip


def files_of(world: World, base: str, changes: dict[str, Edit | bytes]) -> dict[str, bytes]:
    folder = world.model(base).path
    return {
        name: change if isinstance(change, bytes) else edited(folder, name, change)
        for name, change in changes.items()
    }


@pytest.mark.parametrize(
    ("base", "changes", "reason"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_a_hostile_model_fails_typed_and_the_worker_carries_on(
    executor: IsolatedExecutor,
    demo_world: World,
    demo_api: HfApi,
    bot_api: HfApi,
    base: str,
    changes: dict[str, Edit | bytes],
    reason: FailureReason | frozenset[FailureReason],
) -> None:
    repo_id = push_model(demo_api, demo_world, base, files_of(demo_world, base, changes))
    error = refused(executor, bot_api, repo_id, reason)
    assert error.repo_id == repo_id and error.detail
    carries_on(executor, bot_api, "text" if base == TEXT else "image")


# Read harmlessly: transformers ignores or neutralises what these files ask for.
HARMLESS: list[tuple[str, str, dict[str, Edit | bytes]]] = [
    ("tokenizer_class that does not exist", TEXT, {"tokenizer_config.json": lambda t: t.update(
        tokenizer_class="EvilTokenizer")}),
    ("tokenizer vocab_file with ../", TEXT, {"tokenizer_config.json": lambda t: t.update(
        vocab_file="../../../../../../etc/passwd", tokenizer_file="../../../../etc/passwd")}),
    ("added token id 2**40", TEXT, {"tokenizer.json": added_token("<evil>", 2**40)}),
    ("added_tokens.json id 2**40", TEXT, {"added_tokens.json": b'{"<evil>": 1099511627776}'}),
    ("20k added tokens", TEXT, {"tokenizer_config.json": decoder(20_000)}),
    ("tokenizer_config.json of 7 MiB", TEXT, {"tokenizer_config.json": lambda t: t.update(
        junk=["a" * 100] * 70_000)}),
    ("model_max_length 10**30", TEXT, {"tokenizer_config.json": lambda t: t.update(
        model_max_length=10**30)}),
    ("config.json of 7 MiB", TEXT, {"config.json": lambda c: c.update(
        junk=[f"k{i}" * 20 for i in range(50_000)])}),
    ("timm crop_pct 0 (read as 1)", TIMM, {"config.json": lambda c: c["pretrained_cfg"].update(
        crop_pct=0)}),
    ("layer_norm_eps inf", TEXT, text_config(lambda c: c.update(layer_norm_eps=float("inf")))),
]  # fmt: skip


@pytest.mark.parametrize(
    ("base", "changes"), [c[1:] for c in HARMLESS], ids=[c[0] for c in HARMLESS]
)
def test_a_hostile_setting_that_is_ignored_evaluates(
    executor: IsolatedExecutor,
    demo_world: World,
    demo_api: HfApi,
    bot_api: HfApi,
    base: str,
    changes: dict[str, Edit | bytes],
) -> None:
    repo_id = push_model(demo_api, demo_world, base, files_of(demo_world, base, changes))
    evaluates(executor, bot_api, repo_id)
    carries_on(executor, bot_api)


def test_a_tokenizer_of_remote_code_is_never_downloaded_nor_run(
    executor: IsolatedExecutor, demo_world: World, demo_api: HfApi, bot_api: HfApi, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    code = f"open({str(marker)!r}, 'w').write('ran')\n".encode()
    folder = demo_world.model(TEXT).path
    auto_map = {"AutoTokenizer": ["tokenization_evil.EvilTokenizer", None]}
    repo_id = push_model(
        demo_api,
        demo_world,
        TEXT,
        {
            "tokenizer_config.json": edited(
                folder,
                "tokenizer_config.json",
                lambda t: t.update(tokenizer_class="EvilTokenizer", auto_map=auto_map),
            ),
            "tokenization_evil.py": code,
        },
    )
    evaluates(executor, bot_api, repo_id)  # transformers' own class from tokenizer.json
    snapshot = fetch_model(bot_api, repo_id, record(bot_api, repo_id).sha).path
    assert not (snapshot / "tokenization_evil.py").exists() and not marker.exists()
    carries_on(executor, bot_api)


@pytest.mark.slow  # fills the memory limit before failing
@pytest.mark.parametrize(
    "changes",
    [
        {"tokenizer.json": added_token("x" * (60 * MiB))},
        {"config.json": lambda c: c.update(num_hidden_layers=100_000)},
    ],
    ids=["an added token of 60 MiB", "num_hidden_layers 100000"],
)
def test_a_model_that_outgrows_the_memory_limit_fails_typed(
    executor: IsolatedExecutor,
    demo_world: World,
    demo_api: HfApi,
    bot_api: HfApi,
    changes: dict[str, Edit | bytes],
) -> None:
    repo_id = push_model(demo_api, demo_world, TEXT, files_of(demo_world, TEXT, changes))
    refused(executor, bot_api, repo_id, FailureReason.OUT_OF_MEMORY)
    carries_on(executor, bot_api)


@pytest.mark.parametrize(
    "path", ["../x.json", "a/../../x.json", "/etc/x.json", ".git/config", "a//b.json", "./x"]
)
def test_the_sandbox_hub_refuses_paths_that_leave_the_repo(
    demo_api: HfApi, hf_endpoint: str, path: str
) -> None:
    """The real client refuses such a path before sending it; the sandbox refuses it too."""
    repo_id = f"hostile{uuid.uuid4().hex[:8]}/escape"
    demo_api.create_repo(repo_id)
    demo_api.upload_file(path_or_fileobj=b"# x", path_in_repo="README.md", repo_id=repo_id)
    header = {"key": "header", "value": {"summary": "escape"}}
    entry = {"key": "file", "value": {"path": path, "content": "e30=", "encoding": "base64"}}
    request = urllib.request.Request(
        f"{hf_endpoint}/api/models/{repo_id}/commit/main",
        data=f"{json.dumps(header)}\n{json.dumps(entry)}\n".encode(),
        headers={
            "authorization": f"Bearer {demo_api.token}",
            "content-type": "application/x-ndjson",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 400
    assert "Invalid path in repo" in caught.value.read().decode()
    if ".." in path:  # the client refuses these itself
        with pytest.raises(ValueError):
            demo_api.upload_file(path_or_fileobj=b"{}", path_in_repo=path, repo_id=repo_id)
    assert [f for f in demo_api.list_repo_files(repo_id) if f != ".gitattributes"] == ["README.md"]


def test_symlinks_in_a_cached_snapshot_dangle_in_the_child(
    executor: IsolatedExecutor,
    demo_world: World,
    demo_api: HfApi,
    bot_api: HfApi,
    tmp_path: Path,
) -> None:
    """A cached snapshot whose tokenizer files link to the worker's token file: outside the
    child's view, so the links dangle there and the model has no vocabulary."""
    repo_id = push_model(demo_api, demo_world, TEXT, {})
    fetched = fetch_model(bot_api, repo_id, record(bot_api, repo_id).sha)
    secret = tmp_path / "token"
    secret.write_text(json.dumps({"model": {"vocab": {str(bot_api.token): 0}}}))
    link = fetched.path / "tokenizer.json"
    link.unlink()
    link.symlink_to(secret)
    error = refused(executor, bot_api, repo_id, FailureReason.INSUFFICIENT_METADATA)
    assert "no tokenizer vocabulary" in error.detail
    assert str(bot_api.token) not in error.detail
    carries_on(executor, bot_api)


def test_a_repo_cannot_pass_for_a_fiftyone_zoo_model(
    executor: IsolatedExecutor, demo_world: World, demo_api: HfApi, bot_api: HfApi
) -> None:
    """A Hub repo under ``fiftyone/`` is a Hub model: fetched as safetensors and evaluated in
    the sandboxed child, never loaded by the zoo (whose manifests only the operator sets)."""
    repo_id = push_model(demo_api, demo_world, TEXT, {}, namespace="fiftyone")
    assert record(bot_api, repo_id).origin == "huggingface"
    evaluates(executor, bot_api, repo_id)
    assert "FIFTYONE_MODEL_ZOO_MANIFEST_PATHS" not in os.environ


@pytest.mark.parametrize("bomb", ["bomb-first", "bomb-in-a-worker", "bomb-under-twice-the-limit"])
def test_a_decompression_bomb_in_a_dataset_is_the_datasets_fault(
    executor: IsolatedExecutor,
    demo_world: World,
    demo_api: HfApi,
    bot_api: HfApi,
    bomb_datasets: dict[str, str],
    bomb: str,
) -> None:
    """A PNG of 50,000 x 50,000 pixels (kilobytes) among the images of a split: refused before
    it is decoded, as the module's (dataset's) problem, not the model's."""
    card = f"---\ndatasets:\n- {bomb_datasets[bomb]}\npipeline_tag: image-classification\n---\n"
    repo_id = push_model(demo_api, demo_world, VIT, {"README.md": card.encode()})
    with pytest.raises(DatasetError, match="too large to decode") as caught:
        executor.evaluate(record(bot_api, repo_id))
    assert classify(caught.value) is Fault.MODULE
    carries_on(executor, bot_api, "image")
