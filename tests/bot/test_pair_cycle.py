"""A text-pair (NLI) model through a whole cycle: discovered, evaluated in the isolated child on
GLUE RTE (both texts of each pair, perturbed too), a PR whose card carries the GLUE result, and
the claims audit of the accuracy its card self-reports."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from huggingface_hub import HfApi, ModelCard, ModelCardData, hf_hub_download

from bot.cycle import run_cycle
from sandbox.world import World
from sandbox.world_pairs import PAIR_MODEL_ID
from store.db import Store
from store.types import ModelStatus
from tests.bot.conftest import write_config

pytestmark = pytest.mark.slow  # a cycle with the model evaluated in an isolated child process

ROOT = Path(__file__).resolve().parents[2]


def test_an_nli_model_gets_a_glue_pr_and_its_claim_audited(
    tmp_path: Path, world: World, demo_api: HfApi, bot_api: HfApi, store: Store
) -> None:
    config = write_config(tmp_path / "config", isolation={"enabled": True})
    tag = config.tag
    (config.path / "tasks" / "text-classification" / "emotion.yaml").unlink()
    module = yaml.safe_load(
        (ROOT / "config" / "tasks" / "text-classification" / "glue-rte.yaml").read_text()
    )
    template = yaml.safe_load(
        (ROOT / "config" / "tasks" / "_templates" / "text_classification.yaml").read_text()
    )
    module.pop("include")
    module = {**template, **module, "trained_on": [tag], "perturbations": ["lowercase"]}
    (config.path / "tasks" / "text-classification" / "glue-rte.yaml").write_text(
        yaml.safe_dump(module)
    )

    # the demo NLI model under a name of this test, its card declaring GLUE and this test's tag
    repo_id = f"pairs{uuid.uuid4().hex[:6]}/tiny-rte"
    source = world.model(PAIR_MODEL_ID).path
    card = ModelCard((source / "README.md").read_text())
    data = card.data
    assert isinstance(data, ModelCardData) and data.eval_results
    data.datasets = ["glue", tag]
    (claimed,) = data.eval_results
    demo_api.create_repo(repo_id)
    demo_api.upload_folder(repo_id=repo_id, folder_path=source, ignore_patterns=["README.md"])
    demo_api.upload_file(
        path_or_fileobj=str(card).encode(), path_in_repo="README.md", repo_id=repo_id
    )

    report = run_cycle(config.load(), api=bot_api, store=store)

    model = store.get_model(repo_id)
    assert model is not None and model.status is ModelStatus.EVALUATED, model
    assert report.prs == {"opened": 1}
    results = {r.variant: r for r in store.results_for(repo_id, model.sha)}
    assert sorted(results) == ["lowercase", "original"]
    ours = results["original"]
    assert (ours.dataset_id, ours.split, ours.num_examples) == ("nyu-mll/glue", "validation", 277)
    assert ours.label_mapping == {"NOT_ENTAILMENT": "not_entailment", "ENTAILMENT": "entailment"}
    # an uncased vocabulary: lower-casing both texts changes nothing
    assert results["lowercase"].metrics["accuracy"] == ours.metrics["accuracy"]

    (pr,) = list(
        demo_api.get_repo_discussions(repo_id, author="evalbot", discussion_type="pull_request")
    )
    proposed = ModelCard.load(
        hf_hub_download(
            repo_id, "README.md", revision=f"refs/pr/{pr.num}", endpoint=demo_api.endpoint
        )
    )
    glue = [
        r
        for r in proposed.data.eval_results or []
        if r.source_name == "evalbot" and r.dataset_type == "nyu-mll/glue"
    ]
    assert glue and all(r.dataset_config == "rte" for r in glue)
    accuracy = next(r for r in glue if r.metric_type == "accuracy")
    assert accuracy.dataset_split == "validation"
    assert accuracy.metric_value == pytest.approx(ours.metrics["accuracy"], abs=5e-4)

    # the card's self-reported GLUE RTE accuracy, audited against ours (it is ours, rounded)
    (claim,) = [c for c in store.claims_for(repo_id) if c.metric == "accuracy"]
    assert (claim.dataset_id, claim.split) == ("nyu-mll/glue", "validation")
    assert claim.claimed == pytest.approx(claimed.metric_value)
    assert claim.measured == pytest.approx(ours.metrics["accuracy"], abs=5e-5)
    assert claim.agrees, claim.verdict

    # the examples stored for the Space show both texts of each pair
    stored = list(store.dataset_examples.find({"dataset_id": "nyu-mll/glue"}))
    assert stored and all(d["text"] and d["text_pair"] for d in stored)
