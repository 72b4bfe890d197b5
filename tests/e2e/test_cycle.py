"""End to end: the real CLI against the sandbox Hub and a real mongod.

The world (a dataset and three models) is pushed with the real client; ``evalbot run --once``
runs as a separate process as the user ``evalbot``; everything is checked from the outside:
the PR on the sandbox, the card it proposes, the store, and an independent recomputation of
the metrics with transformers' own pipeline and scikit-learn.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import datasets
import numpy as np
import pytest
from huggingface_hub import HfApi, ModelCard, hf_hub_download, snapshot_download
from sklearn.metrics import classification_report
from transformers import pipeline

from sandbox.server import RunningSandbox
from sandbox.world import World, build_world
from store.db import Store
from store.embedded import EmbeddedMongo
from store.types import FailureReason, ModelStatus
from tests.demo_cycle import SPACE, DemoCycle, evalbot

pytestmark = pytest.mark.slow  # end to end: the CLI's cycles over the demo world

EMOTION = ["sadness", "joy", "love", "anger", "fear", "surprise"]


@pytest.fixture(scope="module")
def world_on_hub(demo_hub: RunningSandbox) -> World:
    """The demo world, on the demo Hub (tests/demo_cycle.py)."""
    return build_world()


@pytest.fixture(scope="module")
def demo_api(demo_hub: RunningSandbox) -> HfApi:
    """The demo Hub's client as ``demo``, the owner of the world's repos."""
    return HfApi(endpoint=demo_hub.url, token=demo_hub.tokens["demo"])


@pytest.fixture(scope="module")
def cli_env(demo_env: dict[str, str]) -> dict[str, str]:
    """``evalbot`` as the user ``evalbot`` on the demo Hub and the cycle's database."""
    return demo_env


@pytest.fixture(scope="module")
def first_cycle(demo_cycle: DemoCycle) -> DemoCycle:
    """The session's `evalbot run --once` over the demo world."""
    return demo_cycle


@pytest.fixture(scope="module")
def db(mongo: EmbeddedMongo, demo_env: dict[str, str]) -> Iterator[Store]:
    store = Store.open(mongo.uri, db_name=demo_env["EVALBOT_DB"])
    yield store
    store.client.close()


def evalbots(
    *runs: tuple[dict[str, str], tuple[str, ...]],
) -> list[subprocess.CompletedProcess[str]]:
    """``evalbot`` processes that depend on nothing of each other, run at once (each spends
    seconds importing), in the order given."""
    with ThreadPoolExecutor(len(runs)) as pool:
        return list(pool.map(lambda run: evalbot(run[0], *run[1]), runs))


def original(db: Store, repo_id: str, sha: str) -> list:  # type: ignore[type-arg]
    return [r for r in db.results_for(repo_id, sha) if r.variant == "original"]


def bot_prs(api: HfApi, repo_id: str) -> list:  # type: ignore[type-arg]
    return list(api.get_repo_discussions(repo_id, author="evalbot", discussion_type="pull_request"))


def test_cycle_opens_prs_whose_card_matches_the_store(
    first_cycle, db: Store, demo_api: HfApi
) -> None:  # type: ignore[no-untyped-def]
    for repo_id in ("demo/minilm-emotion", "demo/tiny-emotion"):
        prs = bot_prs(demo_api, repo_id)
        assert len(prs) == 1, f"{repo_id}: {prs}"
        pr = prs[0]
        assert pr.status == "open"
        path = hf_hub_download(
            repo_id, "README.md", revision=f"refs/pr/{pr.num}", endpoint=demo_api.endpoint
        )
        card = ModelCard.load(path)
        ours = [r for r in card.data.eval_results or [] if r.source_name == "evalbot"]
        assert ours, f"{repo_id}: no evalbot results in the proposed card"
        assert all(not r.verified for r in card.data.eval_results or [])
        assert card.text.count("<!-- evalbot:results:start -->") == 1
        model = db.get_model(repo_id)
        assert model is not None and model.status is ModelStatus.EVALUATED
        (stored,) = original(db, repo_id, model.sha)
        by_type = {
            (r.metric_type, (r.metric_args or {}).get("average")): r.metric_value for r in ours
        }
        assert by_type[("accuracy", None)] == pytest.approx(stored.metrics["accuracy"], abs=5e-5)
        assert by_type[("f1", "macro")] == pytest.approx(stored.metrics["macro_f1"], abs=5e-5)
        assert ours[0].dataset_type == "dair-ai/emotion"
        assert ours[0].dataset_revision == stored.dataset_revision
        assert ours[0].source_url == f"{SPACE}/?view=model&model={repo_id}"
        assert db.prs_for(repo_id)[0].num == pr.num


def test_author_entries_are_kept(first_cycle, demo_api: HfApi) -> None:  # type: ignore[no-untyped-def]
    (pr,) = bot_prs(demo_api, "demo/tiny-emotion")
    card = ModelCard.load(
        hf_hub_download(
            "demo/tiny-emotion",
            "README.md",
            revision=f"refs/pr/{pr.num}",
            endpoint=demo_api.endpoint,
        )
    )
    theirs = [r for r in card.data.eval_results or [] if r.source_name != "evalbot"]
    assert {(r.metric_type, r.metric_value) for r in theirs} == {("accuracy", 0.93), ("f1", 0.91)}


def test_stored_per_class_metrics_equal_sklearn(first_cycle, db: Store, demo_api: HfApi) -> None:  # type: ignore[no-untyped-def]
    """Recompute predictions with transformers' own pipeline and compare with scikit-learn."""
    repo_id = "demo/minilm-emotion"
    model = db.get_model(repo_id)
    assert model is not None
    (stored,) = original(db, repo_id, model.sha)
    hub = {"endpoint": demo_api.endpoint, "token": False}
    split = snapshot_download(
        "dair-ai/emotion", repo_type="dataset", revision=stored.dataset_revision, **hub
    )
    test = datasets.load_dataset(split, split="test")  # the files the Hub serves at that revision
    classify = pipeline(
        "text-classification",
        model=snapshot_download(repo_id, revision=model.sha, **hub),
        device="cpu",
    )
    predicted = [
        EMOTION.index(p["label"].casefold()) for p in classify(list(test["text"]), batch_size=1)
    ]
    report = classification_report(
        np.array(test["label"]),
        np.array(predicted),
        labels=list(range(6)),
        target_names=EMOTION,
        output_dict=True,
        zero_division=0,
    )
    assert stored.num_examples == len(test)
    assert stored.label_mapping == {name.capitalize(): name for name in EMOTION}
    for c in stored.classes:
        assert c.support == report[c.label]["support"]
        assert c.precision == pytest.approx(report[c.label]["precision"], abs=1e-9)
        assert c.recall == pytest.approx(report[c.label]["recall"], abs=1e-9)
        assert c.f1 == pytest.approx(report[c.label]["f1-score"], abs=1e-9)
    assert stored.metrics["accuracy"] == pytest.approx(report["accuracy"], abs=1e-9)
    assert stored.metrics["macro_f1"] == pytest.approx(report["macro avg"]["f1-score"], abs=1e-9)
    assert stored.metrics["accuracy"] > 0.7


def test_unmappable_model_has_its_failure_reason(first_cycle, db: Store, demo_api: HfApi) -> None:  # type: ignore[no-untyped-def]
    model = db.get_model("demo/emotion-es")
    assert model is not None
    assert model.status is ModelStatus.FAILED
    assert model.failure_reason is FailureReason.UNKNOWN_LABELS
    assert "tristeza" in (model.failure_detail or "")
    assert bot_prs(demo_api, "demo/emotion-es") == []


def test_second_cycle_opens_no_pr(first_cycle, cli_env, demo_api: HfApi) -> None:  # type: ignore[no-untyped-def]
    before = {r: len(bot_prs(demo_api, r)) for r in ("demo/minilm-emotion", "demo/tiny-emotion")}
    again = evalbot(cli_env, "run", "--once")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "queued 0 new revisions" in again.stdout
    after = {r: len(bot_prs(demo_api, r)) for r in before}
    assert after == before == {"demo/minilm-emotion": 1, "demo/tiny-emotion": 1}
    status = evalbot(cli_env, "status")
    assert "unknown labels" in status.stdout and "open" in status.stdout


def test_dry_run_prints_the_diff_and_touches_nothing(
    world_on_hub, cli_env, demo_api: HfApi
) -> None:  # type: ignore[no-untyped-def]
    env = {**cli_env, "MONGODB_URI": "mongodb://127.0.0.1:9/", "HF_TOKEN": ""}
    before = len(bot_prs(demo_api, "demo/minilm-emotion"))
    done = evalbot(env, "evaluate", "demo/minilm-emotion", "--dry-run")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "+++ " in done.stdout and "evalbot:results:start" in done.stdout
    assert "accuracy" in done.stdout
    assert len(bot_prs(demo_api, "demo/minilm-emotion")) == before


def test_dead_services_give_one_clear_message(cli_env) -> None:  # type: ignore[no-untyped-def]
    dead_mongo, dead_hub, bad_token, missing = evalbots(
        ({**cli_env, "MONGODB_URI": "mongodb://127.0.0.1:9/"}, ("status",)),
        ({**cli_env, "HF_ENDPOINT": "http://127.0.0.1:9"}, ("run", "--once")),
        ({**cli_env, "HF_TOKEN": "hf_not_a_token"}, ("run", "--once")),
        (cli_env, ("evaluate", "demo/does-not-exist", "--dry-run")),
    )
    assert dead_mongo.returncode == 2
    assert "MONGODB_URI" in dead_mongo.stderr and "Traceback" not in dead_mongo.stderr
    assert dead_hub.returncode == 2
    assert "HF_ENDPOINT" in dead_hub.stderr and "Traceback" not in dead_hub.stderr
    assert bad_token.returncode == 2 and "HF_TOKEN" in bad_token.stderr
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_pr_results_carry_no_token_and_verify(first_cycle, cli_env, demo_api: HfApi) -> None:  # type: ignore[no-untyped-def]
    (pr,) = bot_prs(demo_api, "demo/minilm-emotion")
    card = ModelCard.load(
        hf_hub_download(
            "demo/minilm-emotion",
            "README.md",
            revision=f"refs/pr/{pr.num}",
            endpoint=demo_api.endpoint,
        )
    )
    ours = [r for r in card.data.eval_results or [] if r.source_name == "evalbot"]
    assert ours and all(r.verify_token is None for r in ours)  # verifyToken is the Hub's
    done = evalbot(cli_env, "verify", f"demo/minilm-emotion@refs/pr/{pr.num}")
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "TAMPERED" not in done.stdout and done.stdout.count(": ok") == len(ours)


def test_claims_audit_and_public_key_are_stored(first_cycle, cli_env, db: Store) -> None:  # type: ignore[no-untyped-def]
    """The tiny model's card claims 0.93 accuracy; the store keeps the discrepancy for the Space."""
    tiny = [c for c in db.discrepancies() if c.model_id == "demo/tiny-emotion"]
    (claim,) = [c for c in tiny if c.metric == "accuracy"]
    assert tiny == [c for c in db.claims_for("demo/tiny-emotion") if not c.agrees]
    (ours,) = [
        r
        for r in original(db, "demo/tiny-emotion", claim.model_sha)
        if r.dataset_id == claim.dataset_id and r.split == claim.split
    ]
    assert claim.claimed == pytest.approx(0.93)
    assert claim.measured == pytest.approx(ours.metrics["accuracy"], abs=5e-5)
    assert not claim.agrees and claim.verdict.startswith("claims ")
    assert claim.verdict.endswith("more than measured")
    assert db.claims_for("demo/minilm-emotion") == [] or all(
        c.agrees for c in db.claims_for("demo/minilm-emotion")
    )
    identity = db.get_identity()
    printed, status = evalbots((cli_env, ("verify", "--print-public-key")), (cli_env, ("status",)))
    assert identity is not None and identity.public_key_pem.strip() in printed.stdout
    assert "claims audit: " in status.stdout
    assert "demo/tiny-emotion: accuracy on dair-ai/emotion test: claims " in status.stdout


@pytest.mark.parametrize(
    ("repo_id", "task", "metric", "ours"),
    [
        ("demo/tiny-ner", "token-classification", "f1", "overall_f1"),
        ("demo/tiny-qa", "question-answering", "exact_match", "exact_match"),
    ],
)
def test_span_tasks_go_through_the_isolated_child_into_a_pr_and_the_results(
    first_cycle,
    world_on_hub,
    db: Store,
    demo_api: HfApi,
    repo_id: str,
    task: str,
    metric: str,
    ours: str,
) -> None:  # type: ignore[no-untyped-def]
    """The datasets configure themselves (their cards' train-eval-index): the models of the
    span tasks are evaluated in the isolated child, and the PR's card carries what was stored,
    close to what the world measured after training with its own decoding."""
    from sandbox.world_spans import span_scores

    model = db.get_model(repo_id)
    assert model is not None and model.status is ModelStatus.EVALUATED, model
    (stored,) = original(db, repo_id, model.sha)
    assert stored.task == task
    assert stored.classes, "no per-unit results"
    measured = span_scores(world_on_hub.root)[repo_id]
    assert stored.metrics[ours] == pytest.approx(measured.value, abs=0.03)
    (pr,) = bot_prs(demo_api, repo_id)
    card = ModelCard.load(
        hf_hub_download(
            repo_id, "README.md", revision=f"refs/pr/{pr.num}", endpoint=demo_api.endpoint
        )
    )
    results = {r.metric_type: r for r in card.data.eval_results or [] if r.source_name == "evalbot"}
    assert results[metric].task_type == task
    assert results[metric].metric_value == pytest.approx(stored.metrics[ours], abs=5e-5)
    assert "<!-- evalbot:results:start -->" in card.text
    variants = {r.variant for r in db.results_for(repo_id, model.sha)}
    assert len(variants) > 1, f"{repo_id}: no perturbed variant evaluated ({variants})"
