"""Adding a task type is one module: ``tests/registry/toy_similarity.py`` registers text-pair
similarity (its catalogue entry and its task type) with no edit anywhere else, and a bot cycle
discovers a model of it, evaluates it and opens a PR whose card names its metrics."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from huggingface_hub import HfApi, ModelCard, hf_hub_download

from bot.cycle import run_cycle
from sandbox.world import World
from store.db import Store

from .conftest import bot_prs, write_config

TOY = Path(__file__).resolve().parents[1] / "registry" / "toy_similarity.py"
WORDS = ["cat", "dog", "bird", "fish", "tree", "road", "house", "river", "stone", "cloud"]


def pairs(n: int = 48) -> bytes:
    """Sentence pairs scored 0-5 by how many words they share (a made-up STS set)."""
    rng = random.Random(0)
    first, second, score = [], [], []
    for _ in range(n):
        a = rng.sample(WORDS, 5)
        shared = rng.randint(0, 5)
        b = a[:shared] + rng.sample([w for w in WORDS if w not in a], 5 - shared)
        first.append(" ".join(a))
        second.append(" ".join(rng.sample(b, 5)))
        score.append(float(shared))
    table = pa.table({"s1": first, "s2": second, "score": score})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def test_a_task_type_in_one_module_goes_through_a_cycle_to_a_pr(
    world: World, demo_api: HfApi, bot_api: HfApi, store: Store, tmp_path: Path
) -> None:
    import tests.registry.toy_similarity  # noqa: F401  (registers the task type)

    assert len(TOY.read_text().splitlines()) <= 150
    config = write_config(tmp_path / "config", isolation={"enabled": False})
    dataset_id = f"{config.tag}/pairs"
    demo_api.create_repo(dataset_id, repo_type="dataset")
    demo_api.upload_file(
        path_or_fileobj=pairs(),
        path_in_repo="data/test-00000-of-00001.parquet",
        repo_id=dataset_id,
        repo_type="dataset",
    )
    module = {
        "id": "toy-pairs",
        "task": "sentence-similarity",
        "version": 1,
        "dataset": {
            "repo": dataset_id,
            "name": "Toy pairs",
            "split": "test",
            "columns": {"sentence1": "s1", "sentence2": "s2", "label": "score"},
        },
        "trained_on": [dataset_id],
        "perturbations": ["lowercase"],
    }
    folder = config.path / "tasks" / "sentence-similarity"
    folder.mkdir(parents=True)
    (folder / "toy-pairs.yaml").write_text(yaml.safe_dump(module))
    repo_id = f"{config.tag}/toy-encoder"
    demo_api.create_repo(repo_id)
    demo_api.upload_folder(
        repo_id=repo_id,
        folder_path=world.model("demo/tiny-emotion").path,
        ignore_patterns=["README.md"],
    )
    card = f"---\nlicense: mit\ndatasets:\n- {dataset_id}\npipeline_tag: sentence-similarity\n---\n"
    demo_api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id)

    report = run_cycle(config.load(), api=bot_api, store=store)

    assert report.prs == {"opened": 1}, report.summary()
    (pr,) = bot_prs(demo_api, repo_id)
    readme = hf_hub_download(repo_id, "README.md", revision=f"refs/pr/{pr.num}", token=False)
    text = Path(readme).read_text()
    results = ModelCard(text).data.eval_results or []
    assert [(r.task_type, r.dataset_type, r.metric_type) for r in results] == [
        ("sentence-similarity", dataset_id, "spearmanr"),
        ("sentence-similarity", dataset_id, "pearsonr"),
    ]
    assert all(-1 <= float(r.metric_value) <= 1 for r in results)
    assert "| Spearman correlation |" in text and "| `lowercase` |" in text
    stored = store.results_for(repo_id)
    assert {r.variant for r in stored} == {"original", "lowercase"}
    assert all(set(r.metrics) == {"spearman", "pearson"} for r in stored)
