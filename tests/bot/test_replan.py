"""Re-planning on a real store: what a config change, a failure or an operator queues again."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.replan import replan
from evaluators.config import EvaluationModule
from evaluators.planner import Planner
from store.db import Store
from store.types import FailureReason, ModelRecord, ModelStatus
from tests.bot.conftest import FastConfig, evalbot, write_config

TEXT = "text-classification"
CODE = "1.0.0"
SHA, SHA2 = "a" * 40, "b" * 40


@pytest.fixture
def config(tmp_path: Path) -> FastConfig:
    return write_config(tmp_path / "config")


@pytest.fixture
def modules(config: FastConfig) -> list[EvaluationModule]:
    return [m.module for m in config.load().modules]


def planner_of(modules: list[EvaluationModule], **emotion: Any) -> Planner:
    """The planner of ``modules`` with the emotion module's keys changed by ``emotion``."""
    if emotion:
        modules = [
            EvaluationModule.model_validate({**m.model_dump(), **emotion})
            if m.id == "emotion"
            else m
            for m in modules
        ]
    return Planner(modules, code_version=CODE)


def add_model(store: Store, repo_id: str, tag: str, *, sha: str = SHA) -> ModelRecord:
    model = ModelRecord(
        repo_id, sha, pipeline_tag=TEXT, datasets=(tag,), fingerprint=f"sha256:{repo_id}"
    )
    assert store.upsert_model(model)
    return model


def end_job(store: Store, repo_id: str, status: str, *, sha: str = SHA, **kw: Any) -> None:
    store.enqueue(repo_id, sha)
    job = store.claim_job("w")
    assert job is not None and job.repo_id == repo_id
    assert store.finish_job(job, status=status, **kw)


def evaluated(store: Store, planner: Planner, repo_id: str, tag: str) -> ModelRecord:
    """A model evaluated on every task ``planner`` plans for it, its job done."""
    model = add_model(store, repo_id, tag)
    store.mark_evaluated(repo_id, SHA, sorted(planner.tasks(TEXT, [tag])))
    end_job(store, repo_id, "done")
    return model


def failed(
    store: Store, planner: Planner, repo_id: str, tag: str, reason: FailureReason
) -> ModelRecord:
    model = add_model(store, repo_id, tag)
    store.set_model_status(
        repo_id,
        SHA,
        ModelStatus.FAILED,
        reason=reason,
        detail=reason.value,
        modules=["emotion"],
        digest=planner.failure_digest(model),
    )
    end_job(store, repo_id, "gone" if reason is FailureReason.NOT_FOUND else "failed")
    return model


def job(store: Store, repo_id: str, sha: str = SHA) -> dict[str, Any]:
    doc = store.get_job(repo_id, sha)
    assert doc is not None
    return doc


def queued(store: Store) -> dict[str, str]:
    return {d["repo_id"]: d["reason"] for d in store.jobs.find({"status": "queued"})}


def test_an_evaluated_model_with_every_task_needs_nothing(
    store: Store, config: FastConfig, modules: list[EvaluationModule]
) -> None:
    planner = planner_of(modules)
    evaluated(store, planner, "org/done", config.tag)
    report = replan(store, planner)
    assert report.models == 1 and report.total == 0 and queued(store) == {}
    assert job(store, "org/done")["status"] == "done"


def test_an_added_perturbation_queues_only_what_is_missing(
    store: Store, config: FastConfig, modules: list[EvaluationModule]
) -> None:
    evaluated(store, planner_of(modules), "org/done", config.tag)
    other = add_model(store, "org/elsewhere", "acme/other-dataset")  # no module selects it
    store.set_model_status(other.repo_id, SHA, ModelStatus.EVALUATED)
    planner = planner_of(modules, perturbations=["uppercase"])
    report = replan(store, planner)
    assert report.requeued == {"config": 1}
    reason = queued(store)["org/done"]
    assert reason == "config: 1 tasks missing (emotion v1: uppercase)"
    assert job(store, "org/done")["attempts"] == 0
    assert replan(store, planner).total == 0  # its job is queued now: nothing twice
    # once evaluated on the new variant too, nothing is missing
    store.mark_evaluated("org/done", SHA, sorted(planner.tasks(TEXT, [config.tag])))
    finished = store.claim_job("w2")
    assert finished is not None and store.finish_job(finished, status="done")
    assert replan(store, planner).total == 0


def test_a_version_bump_queues_every_evaluated_model(
    store: Store, config: FastConfig, modules: list[EvaluationModule]
) -> None:
    before = planner_of(modules)
    evaluated(store, before, "org/a", config.tag)
    evaluated(store, before, "org/b", config.tag)
    report = replan(store, planner_of(modules, version=2))
    assert report.requeued == {"config": 2}
    assert queued(store) == {
        "org/a": "config: 1 tasks missing (emotion v2: original)",
        "org/b": "config: 1 tasks missing (emotion v2: original)",
    }


def test_a_new_head_with_the_same_content_is_planned_under_its_evaluation(
    store: Store, config: FastConfig, modules: list[EvaluationModule]
) -> None:
    model = evaluated(store, planner_of(modules), "org/m", config.tag)
    assert not store.upsert_model(ModelRecord(**{**model.__dict__, "sha": SHA2}))
    replan(store, planner_of(modules, version=2))
    assert store.get_job("org/m", SHA2) is None
    assert job(store, "org/m", SHA)["status"] == "queued"


def test_a_failure_is_planned_again_only_when_its_config_changed(
    store: Store, config: FastConfig, modules: list[EvaluationModule]
) -> None:
    planner = planner_of(modules)
    failed(store, planner, "org/labels", config.tag, FailureReason.UNKNOWN_LABELS)
    failed(store, planner, "org/gone", config.tag, FailureReason.NOT_FOUND)
    failed(store, planner, "org/gated", config.tag, FailureReason.GATED)
    assert replan(store, planner).total == 0  # the digest it failed under is current
    aliased = planner_of(modules, label_aliases={"joy": ["happy", "LABEL_1"]})
    report = replan(store, aliased)
    assert report.requeued == {"failure": 1}
    assert queued(store) == {"org/labels": "config changed since it failed (unknown labels)"}
    assert job(store, "org/gone")["status"] == "gone"  # a missing repo is never re-planned
    assert job(store, "org/gated")["status"] == "failed"


def test_a_failure_without_a_digest_is_planned_once(
    store: Store, config: FastConfig, modules: list[EvaluationModule]
) -> None:
    add_model(store, "org/old", config.tag)  # failed under a version that stored no digest
    store.set_model_status("org/old", SHA, ModelStatus.FAILED, reason=FailureReason.TIMEOUT)
    end_job(store, "org/old", "failed")
    assert replan(store, planner_of(modules)).requeued == {"failure": 1}


def test_a_pending_model_without_a_job_gets_one(
    store: Store, config: FastConfig, modules: list[EvaluationModule]
) -> None:
    add_model(store, "org/lost", config.tag)  # its job was lost
    add_model(store, "org/errored", config.tag)  # its job ended in errors: an operator's call
    end_job(store, "org/errored", "error", error="failed 3 times: KeyError")
    report = replan(store, planner_of(modules))
    assert report.requeued == {"pending": 1}
    assert queued(store) == {"org/lost": "pending without a job"}
    assert job(store, "org/errored")["status"] == "error"


def test_models_with_a_live_job_are_left_alone(
    store: Store, config: FastConfig, modules: list[EvaluationModule]
) -> None:
    before = planner_of(modules)
    evaluated(store, before, "org/queued", config.tag)
    evaluated(store, before, "org/running", config.tag)
    store.requeue("org/queued", SHA, reason="requeued by an operator")
    store.requeue("org/running", SHA, reason="requeued by an operator")
    running = store.claim_job("w1")
    assert running is not None
    report = replan(store, planner_of(modules, version=2))
    assert report.models == 2 and report.total == 0
    assert job(store, running.repo_id)["status"] == "running"
    assert store.holds_lease(running)
    assert set(queued(store).values()) == {"requeued by an operator"}


def test_a_changed_module_unblocks_its_jobs(
    store: Store, config: FastConfig, modules: list[EvaluationModule]
) -> None:
    planner = planner_of(modules)
    for repo_id in ("org/a", "org/b"):
        add_model(store, repo_id, config.tag)
        end_job(store, repo_id, "blocked", error="column 'text' missing", module="emotion")
    store.record_module_problem("emotion", planner.digests["emotion"], "column 'text' missing")
    report = replan(store, planner)  # the module is unchanged: the jobs wait
    assert report.total == 0 and report.unblocked == []
    assert set(store.module_problems_by_id()) == {"emotion"}
    assert sorted(store.blocked_jobs("emotion")) == [("org/a", SHA), ("org/b", SHA)]
    fixed = planner_of(modules, dataset={**modules[0].dataset.model_dump(), "split": "train"})
    report = replan(store, fixed)
    assert report.unblocked == ["emotion"]
    assert report.requeued == {"module fixed": 2}
    assert store.module_problems_by_id() == {}
    assert queued(store) == {"org/a": "module emotion changed", "org/b": "module emotion changed"}
    assert job(store, "org/a")["module"] is None


def test_an_operator_requeues_by_model_module_and_reason(
    store: Store, config: FastConfig, modules: list[EvaluationModule]
) -> None:
    planner = planner_of(modules)
    evaluated(store, planner, "org/done", config.tag)
    failed(store, planner, "org/labels", config.tag, FailureReason.UNKNOWN_LABELS)
    failed(store, planner, "org/gone", config.tag, FailureReason.NOT_FOUND)
    other = add_model(store, "org/other", "acme/other-dataset")
    store.set_model_status(other.repo_id, SHA, ModelStatus.FAILED, reason=FailureReason.UNSUPPORTED)
    end_job(store, other.repo_id, "failed")

    report = replan(store, planner, models={"org/done"}, force=True)
    assert report.models == 1 and report.requeued == {"operator": 1}
    assert queued(store) == {"org/done": "requeued by an operator"}

    report = replan(store, planner, reasons={"not found"}, force=True)
    assert report.requeued == {"operator": 1}  # a content failure, on an operator's word
    assert set(queued(store)) == {"org/done", "org/gone"}

    report = replan(store, planner, modules={"emotion"}, force=True)
    assert report.requeued == {"operator": 1}  # org/labels; the others are queued already
    assert set(queued(store)) == {"org/done", "org/gone", "org/labels"}
    assert job(store, "org/other")["status"] == "failed"  # no emotion task: not matched

    report = replan(store, planner, reasons={"unsupported"}, force=True)
    assert report.requeued == {"operator": 1}
    assert job(store, "org/other")["status"] == "queued"


def test_an_operator_requeue_of_a_module_reaches_its_blocked_jobs(
    store: Store, config: FastConfig, modules: list[EvaluationModule]
) -> None:
    """`evalbot requeue --module emotion` after fixing the dataset on the Hub (the YAML is
    unchanged): the problem is cleared and the jobs it blocked are queued, not stranded."""
    planner = planner_of(modules)
    add_model(store, "org/blocked", config.tag)
    end_job(store, "org/blocked", "blocked", error="dataset gone", module="emotion")
    store.record_module_problem("emotion", planner.digests["emotion"], "dataset gone")
    store.clear_module_problem("emotion")  # what the CLI does first
    replan(store, planner, modules={"emotion"}, force=True)
    assert job(store, "org/blocked")["status"] == "queued"
    assert replan(store, planner).total == 0


@pytest.mark.slow  # end to end: `evalbot requeue` as a process
def test_the_requeue_command(
    store: Store,
    config: FastConfig,
    modules: list[EvaluationModule],
    cli_env: Callable[[FastConfig], dict[str, str]],
) -> None:
    from bot.worker import planner_for

    planner = planner_for(config.load())
    evaluated(store, planner, "org/done", config.tag)
    failed(store, planner, "org/labels", config.tag, FailureReason.UNKNOWN_LABELS)
    add_model(store, "org/blocked", config.tag)
    end_job(store, "org/blocked", "blocked", error="dataset gone", module="emotion")
    store.record_module_problem("emotion", planner.digests["emotion"], "dataset gone")
    add_model(store, "org/other", "acme/other-dataset")
    proc = evalbot(
        cli_env(config),
        "requeue",
        "--module",
        "emotion",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "queued 3 of 3 models matched" in out
    for repo_id in ("org/done", "org/labels", "org/blocked"):
        doc = job(store, repo_id)
        assert (doc["status"], doc["attempts"]) == ("queued", 0)
        assert doc["reason"] == "requeued by an operator"
    assert store.get_job("org/other", SHA) is None
    assert store.module_problems_by_id() == {}


def test_a_repo_that_opts_back_in_is_evaluated(store: Store, config: FastConfig) -> None:
    """Opted out: the job ended without evaluating. The author drops the tag in a README commit
    (same content, so discovery queues nothing): re-planning queues it."""
    planner = planner_of([m.module for m in config.load().modules])
    repo_id = "org/shy"
    model = ModelRecord(
        repo_id, SHA, TEXT, datasets=(config.tag,), tags=("no-evalbot",), fingerprint="sha256:s"
    )
    assert store.upsert_model(model)
    end_job(store, repo_id, "done")  # what the worker does for an opted-out repo
    assert replan(store, planner).total == 0  # still opted out: left alone
    assert not store.upsert_model(
        ModelRecord(repo_id, SHA2, TEXT, datasets=(config.tag,), fingerprint="sha256:s")
    )
    report = replan(store, planner)
    assert report.requeued == {"opted in": 1}
    job = store.get_job(repo_id, SHA)
    assert job is not None and job["status"] == "queued"
    assert job["reason"] == "the repo no longer opts out"
    assert replan(store, planner).total == 0  # queued once
