"""The demo world: built once (cached in the default cache dir), pushed with the real client.

The first run on a machine trains the eight models (2–3 min on two CPU cores); later runs
read the cache. The image, span and pair parts have their own tests in `test_world_images.py`,
`test_world_spans.py` and `test_world_pairs.py`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import datasets
import pytest
from huggingface_hub import HfApi, snapshot_download
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from sandbox.benchmarks import MTEB_MNIST
from sandbox.seed import seed_data_dir, seed_world
from sandbox.server import RunningSandbox, run_in_thread
from sandbox.world import (
    DATASET_ID,
    LABELS,
    SPANISH_LABELS,
    World,
    accuracy,
    build_world,
    generate_splits,
    load_world,
)
from sandbox.world_images import MNIST_ID, TIMM_ID, VIT_ID
from sandbox.world_pairs import PAIR_DATASET_ID, PAIR_MODEL_ID
from sandbox.world_scripts import SCRIPT_ID
from sandbox.world_spans import NER_ID, NER_MODEL_ID, QA_ID, QA_MODEL_ID, QA_V2_ID
from sandbox.world_speech import ASR_DATASET_ID, ASR_MODEL_ID, KWS_DATASET_ID, KWS_MODEL_ID
from sandbox.world_text2text import SUMMARIZER_ID, SUMMARY_ID, TRANSLATION_ID, TRANSLATOR_ID

MODELS = ("demo/minilm-emotion", "demo/tiny-emotion", "demo/emotion-es")
UNDECLARED = "demo/tweet-mood"  # its card names no dataset
SPAN_MODELS = (NER_MODEL_ID, QA_MODEL_ID)  # tested in test_world_spans.py
ID2LABEL = {
    "demo/minilm-emotion": [name.capitalize() for name in LABELS],
    "demo/tiny-emotion": [f"LABEL_{i}" for i in range(len(LABELS))],
    "demo/emotion-es": list(SPANISH_LABELS),
}


@pytest.fixture(scope="session")
def world() -> World:
    return build_world()


@pytest.fixture(scope="module")
def seeded(world: World, sandbox: RunningSandbox, demo_token: str) -> list[str]:
    return seed_world(world, endpoint=sandbox.url, token=demo_token)


@pytest.fixture(scope="module")
def test_split(seeded: list[str]) -> datasets.Dataset:
    """The test split as `datasets` loads it from the sandbox (HF_ENDPOINT set by conftest)."""
    return datasets.load_dataset(DATASET_ID, split="test")


# The world's repos, in the order build_world lists them
WORLD_DATASETS = [
    DATASET_ID, MNIST_ID, NER_ID, QA_ID, QA_V2_ID, PAIR_DATASET_ID, SUMMARY_ID, TRANSLATION_ID,
    ASR_DATASET_ID, KWS_DATASET_ID,
]  # fmt: skip
WORLD_MODELS = [
    *MODELS, UNDECLARED, VIT_ID, TIMM_ID, *SPAN_MODELS, PAIR_MODEL_ID, SUMMARIZER_ID,
    TRANSLATOR_ID, ASR_MODEL_ID, KWS_MODEL_ID, "demo/tiny-fill-mask", "demo/mystery-classifier",
]  # fmt: skip


def _repo_type(repo_id: str) -> str:
    dataset_ids = {*WORLD_DATASETS, MTEB_MNIST, SCRIPT_ID}
    return "dataset" if repo_id in dataset_ids else "model"


def test_splits_are_deterministic_sized_and_disjoint() -> None:
    splits = generate_splits()
    assert splits == generate_splits()
    sizes = {name: len(texts) for name, (texts, _) in splits.items()}
    assert sizes == {"train": 1200, "validation": 200, "test": 360}
    test_labels = splits["test"][1]
    assert [test_labels.count(i) for i in range(len(LABELS))] == [80, 90, 50, 55, 50, 35]
    all_texts = [t for texts, _ in splits.values() for t in texts]
    assert len(set(all_texts)) == len(all_texts)
    assert all(t == t.lower() and "'" not in t for t in all_texts)


def test_second_build_reads_the_manifest(world: World) -> None:
    weights = world.model("demo/minilm-emotion").path / "model.safetensors"
    mtime = weights.stat().st_mtime_ns
    start = time.perf_counter()
    again = build_world()
    assert time.perf_counter() - start < 1.0
    assert again == world == load_world(world.root)
    assert weights.stat().st_mtime_ns == mtime


def test_world_files(world: World) -> None:
    assert [d.repo_id for d in world.datasets] == WORLD_DATASETS
    dataset = world.dataset(DATASET_ID)
    names = sorted(p.relative_to(dataset.path).as_posix() for p in dataset.path.rglob("*.parquet"))
    assert names == [f"data/{s}-00000-of-00001.parquet" for s in ("test", "train", "validation")]
    assert [m.repo_id for m in world.models] == WORLD_MODELS
    for model in map(world.model, MODELS):
        files = {p.name for p in model.path.iterdir()}
        assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= files
        assert not any(name.endswith(".bin") for name in files)
        assert model.test_accuracy is not None
    assert world.model("demo/minilm-emotion").test_accuracy >= 0.8  # type: ignore[operator]


def test_dataset_round_trip(test_split: datasets.Dataset, world: World) -> None:
    assert test_split.features["label"].names == list(LABELS)
    texts, labels = generate_splits()["test"]
    assert test_split["text"] == texts
    assert test_split["label"] == labels


@pytest.mark.parametrize("repo_id", MODELS)
def test_model_repo_on_the_hub(repo_id: str, seeded: list[str], bot_api: HfApi) -> None:
    assert repo_id in seeded
    info = bot_api.model_info(repo_id)
    assert info.pipeline_tag == "text-classification"
    assert f"dataset:{DATASET_ID}" in (info.tags or [])
    files = [s.rfilename for s in info.siblings or []]
    assert "model.safetensors" in files
    assert not any(f.endswith(".bin") for f in files)


@pytest.mark.parametrize("repo_id", MODELS)
def test_model_reproduces_its_test_accuracy(
    repo_id: str, world: World, test_split: datasets.Dataset, hf_endpoint: str
) -> None:
    path = Path(snapshot_download(repo_id, endpoint=hf_endpoint))
    model = AutoModelForSequenceClassification.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    assert [model.config.id2label[i] for i in range(len(LABELS))] == ID2LABEL[repo_id]
    measured = accuracy(model, tokenizer, test_split["text"], test_split["label"])
    recorded = world.model(repo_id).test_accuracy
    assert measured == pytest.approx(recorded, abs=1 / len(test_split) + 1e-9)


def test_tiny_model_self_reports_inflated_scores(seeded: list[str], bot_api: HfApi) -> None:
    (entry,) = bot_api.model_info("demo/tiny-emotion").model_index or []
    (result,) = entry["results"]
    assert result["dataset"] == {"type": DATASET_ID, "name": "emotion", "split": "test"}
    assert {m["type"]: m["value"] for m in result["metrics"]} == {"accuracy": 0.93, "f1": 0.91}


def test_seeding_twice_adds_no_commits(
    world: World, seeded: list[str], sandbox: RunningSandbox, demo_token: str, bot_api: HfApi
) -> None:
    def commits() -> dict[str, int]:
        return {r: len(bot_api.list_repo_commits(r, repo_type=_repo_type(r))) for r in seeded}

    before = commits()
    assert seed_world(world, endpoint=sandbox.url, token=demo_token) == seeded
    assert commits() == before


def test_upload_folder_of_unchanged_files_makes_no_commit(
    world: World, seeded: list[str], demo_api: HfApi
) -> None:
    """The sandbox's preupload returns the blob oids, so the client skips unchanged files."""
    spec = world.model("demo/emotion-es")
    head = demo_api.model_info(spec.repo_id).sha
    demo_api.upload_folder(repo_id=spec.repo_id, folder_path=spec.path, commit_message="again")
    assert demo_api.model_info(spec.repo_id).sha == head


@pytest.mark.slow  # end to end: `python -m sandbox seed` as a process
def test_seed_data_dir_starts_its_own_sandbox(world: World, tmp_path: Path) -> None:
    dataset_ids = [*WORLD_DATASETS, SCRIPT_ID, MTEB_MNIST]
    assert seed_data_dir(tmp_path) == [*dataset_ids, *WORLD_MODELS]
    tokens = json.loads((tmp_path / "tokens.json").read_text())
    with run_in_thread(data_dir=tmp_path) as hub:
        api = HfApi(endpoint=hub.url, token=tokens["evalbot"])
        assert api.model_info("demo/minilm-emotion").pipeline_tag == "text-classification"
        card = api.dataset_info(DATASET_ID).card_data
        assert card is not None and card["task_categories"] == ["text-classification"]


def test_a_model_whose_card_names_no_dataset(seeded: list[str], bot_api: HfApi) -> None:
    """`demo/tweet-mood`: the tiny classifier's weights with the dataset's class names as its
    labels, under a card without `datasets:` (its training data is inferred from its labels)."""
    assert UNDECLARED in seeded
    info = bot_api.model_info(UNDECLARED)
    assert info.pipeline_tag == "text-classification"
    assert not any(t.startswith("dataset:") for t in info.tags or [])
    assert not (info.card_data.to_dict() if info.card_data else {}).get("datasets")
    path = bot_api.hf_hub_download(UNDECLARED, "config.json")
    id2label = json.loads(Path(path).read_text())["id2label"]
    assert [id2label[str(i)] for i in range(len(LABELS))] == list(LABELS)
