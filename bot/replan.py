"""Re-planning: every known model against the current modules and code version.

Runs each cycle after discovery, and on demand (``evalbot requeue``). It reads MongoDB only,
never the Hub, and queues a job only where something is missing (DG6: only the missing tasks
run, the Executor skips what is stored):

- an evaluated model whose planned tasks are not all stored: a new perturbation, a new
  compatible dataset, a new module that selects it, a bumped module ``version`` or code version;
- a failed model whose failure may have been the config's doing: the digest of its modules (and
  of the limits) changed since it failed, e.g. ``unknown labels`` after an alias is added,
  ``unsupported`` after a module is added. Failures only new content can change (not found,
  gated, unsafe weights, security issues) are not re-planned;
- a pending model without any job (a job lost to an older version), or whose job ended
  without evaluating it because the repo opted out, once the opt-out tag is gone;
- jobs blocked on a module whose dataset could not be used, once that module changes.

Example:
    >>> report = replan(store, planner_for(config))
    >>> report.requeued
    Counter({'config': 12, 'failure': 3})
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from cardgen.optout import opted_out
from evaluators.inference import Hints
from evaluators.planner import CONTENT_FAILURES, Planner
from store.db import ACTIVE_JOB_STATUSES, Store
from store.types import FailureReason, ModelStatus

log = logging.getLogger(__name__)


@dataclass
class ReplanReport:
    models: int = 0  # models that matched the filters
    requeued: Counter[str] = field(default_factory=Counter)  # by kind: config, failure, ...
    unblocked: list[str] = field(default_factory=list)  # modules whose problem was cleared
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.requeued.values())

    def summary(self) -> str:
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(self.requeued.items())) or "nothing"
        unblocked = f"; modules changed: {', '.join(self.unblocked)}" if self.unblocked else ""
        return (
            f"re-planned {self.models} models in {self.seconds * 1000:.0f} ms: "
            f"queued {kinds}{unblocked}"
        )


def replan(
    store: Store,
    planner: Planner,
    *,
    models: set[str] | None = None,
    modules: set[str] | None = None,
    reasons: set[str] | None = None,
    force: bool = False,
) -> ReplanReport:
    """Queue the jobs that the current config needs and the store lacks.

    Args:
        models: only these repo ids (None: all).
        modules: only models that one of these module ids evaluates (None: all).
        reasons: only failed models with one of these failure reasons (None: any).
        force: queue every matching model again, missing tasks or not (an operator's
            ``evalbot requeue``); content failures and jobs blocked on a module included.
    """
    start = time.perf_counter()
    report = ReplanReport()
    wanted: list[tuple[str, str, str]] = []
    kinds: list[str] = []

    def want(repo_id: str, sha: str, kind: str, reason: str) -> None:
        wanted.append((repo_id, sha, reason))
        kinds.append(kind)

    if not force:
        for module_id, problem in store.module_problems_by_id().items():
            if planner.digests.get(module_id) == problem.get("digest"):
                continue
            store.clear_module_problem(module_id)
            report.unblocked.append(module_id)
            for repo_id, sha in store.blocked_jobs(module_id):
                want(repo_id, sha, "module fixed", f"module {module_id} changed")
    # An operator's requeue takes up jobs blocked on a module too (`evalbot requeue --module`
    # clears the module's problem: its blocked jobs would otherwise wait for good).
    states = store.job_states()  # one scan serves both
    busy = ACTIVE_JOB_STATUSES if not force else ACTIVE_JOB_STATUSES - {"blocked"}
    active = {key for key, status in states.items() if status in busy}
    known = states.keys()
    module_tasks = tuple(f"{m}/" for m in modules or ())
    for doc in store.planning_view():
        repo_id = doc["_id"]
        if models is not None and repo_id not in models:
            continue
        tasks, digest = planner.plan(doc.get("pipeline_tag"), hints=Hints.from_doc(doc))
        if module_tasks and not any(t.startswith(module_tasks) for t in tasks):
            continue
        status = doc.get("status") or ModelStatus.PENDING.value
        failure = doc.get("failure_reason")
        if reasons is not None and failure not in reasons:
            continue
        report.models += 1
        sha = doc.get("eval_sha") or doc["sha"]
        if (repo_id, sha) in active:
            continue
        if force:
            want(repo_id, sha, "operator", "requeued by an operator")
        elif status == ModelStatus.EVALUATED.value:
            missing = tasks - set(doc.get("evaluated_tasks") or ())
            if missing:
                want(repo_id, sha, "config", f"config: {_describe(missing)}")
        elif status == ModelStatus.FAILED.value:
            if failure is None or FailureReason(failure) in CONTENT_FAILURES:
                continue
            if doc.get("failure_digest") != digest:
                want(repo_id, sha, "failure", f"config changed since it failed ({failure})")
        elif (repo_id, sha) not in known:
            want(repo_id, sha, "pending", "pending without a job")
        elif states[(repo_id, sha)] == "done" and not opted_out(doc.get("tags") or (), None):
            # its job ended without evaluating (the repo had opted out); the tag is gone now,
            # with a commit that kept the content: nothing else would ever queue it again
            want(repo_id, sha, "opted in", "the repo no longer opts out")
    if store.requeue_many(wanted):
        report.requeued.update(kinds)
    report.seconds = time.perf_counter() - start
    if report.total or report.unblocked:
        log.info("%s", report.summary())
    return report


def _describe(missing: AbstractSet[str]) -> str:
    """``emotion/typos(rate=0.05)/v1/0.2.0`` ... as "3 tasks missing (emotion v1: typos(rate=0.05) ...)"."""
    by_module: dict[str, list[str]] = {}
    for task in sorted(missing):
        module, variant, version, _ = task.split("/", 3)
        by_module.setdefault(f"{module} {version}", []).append(variant)
    parts = [f"{m}: {', '.join(v[:3])}{' ...' if len(v) > 3 else ''}" for m, v in by_module.items()]
    return f"{len(missing)} tasks missing ({'; '.join(parts)})"
