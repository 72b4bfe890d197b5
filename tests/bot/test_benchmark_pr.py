"""A module whose dataset is a Hub Benchmark: the PR also carries `.eval_results/` (signed)."""

from __future__ import annotations

from pathlib import Path

import yaml
from huggingface_hub import HfApi, hf_hub_download

from bot.cycle import run_cycle
from bot.keys import signing_key_path
from cardgen.signing import Signer
from sandbox.world import World
from store.db import Store

from .conftest import bot_prs, make_model, write_config


def test_the_pr_adds_a_signed_eval_results_entry(
    world: World, demo_api: HfApi, bot_api: HfApi, store: Store, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config")
    module_file = config.path / "tasks" / "text-classification" / "emotion.yaml"
    module = yaml.safe_load(module_file.read_text())
    module["benchmark"] = {"task_id": "emotion", "metric": "accuracy"}
    module_file.write_text(yaml.safe_dump(module))
    repo_id = f"{config.tag}/bench-model"
    sha = make_model(demo_api, world, repo_id, config.tag)

    report = run_cycle(config.load(), api=bot_api, store=store)

    assert report.prs == {"opened": 1}, report.summary()
    (pr,) = bot_prs(demo_api, repo_id)
    path = hf_hub_download(
        repo_id, ".eval_results/evalbot-dair-ai--emotion.yaml", revision=f"refs/pr/{pr.num}"
    )
    (entry,) = yaml.safe_load(Path(path).read_text())
    (ours,) = [r for r in store.results_for(repo_id, sha) if r.variant == "original"]
    assert entry["value"] == round(ours.metrics["accuracy"] * 100, 2)
    assert entry["dataset"] == {
        "id": "dair-ai/emotion",
        "task_id": "emotion",
        "revision": ours.dataset_revision,
    }
    claims = Signer.load(signing_key_path()).verify(entry["verifyToken"])
    assert claims["sub"] == repo_id and claims["model_sha"] == sha
    assert claims["value"] == entry["value"]
    files = demo_api.list_repo_files(repo_id, revision=f"refs/pr/{pr.num}")
    assert "README.md" in files and ".eval_results/evalbot-dair-ai--emotion.yaml" in files
