"""A month of a model's life on the Hub, scripted: the bot stays right over all of it.

Three ``evalbot worker`` processes and a real mongod; the timer's cycle (discovery, re-planning,
PR states) runs here, once per "day". Authors merge and close PRs, push README-only commits and
new weights, delete a repo and plant a forged marker; a maintainer adds a perturbation, an alias
and a module and bumps a version; the Hub answers 503 and 429 for stretches; a worker is killed
with SIGKILL and mongod is restarted. At the end the invariants of a well-behaved bot hold.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from huggingface_hub import HfApi
from huggingface_hub.community import DiscussionComment, DiscussionStatusChange

from bot.config import load_config
from bot.cycle import plan_cycle
from bot.worker import planner_for
from cardgen.pr import parse_markers
from sandbox.world import World
from store.db import Store
from store.embedded import EmbeddedMongo, _free_port, start_embedded
from store.types import FailureReason, ModelStatus
from tests.bot.conftest import ROOT, card, evalbot, make_model, retrying_api, write_config
from tests.sandbox.helpers import Admin

pytestmark = pytest.mark.slow  # many processes: workers, a restarted mongod, a month of cycles

TERMINAL = {"done", "failed", "gone", "superseded"}
FORGED = "0" * 64
ALIASES = {
    "sadness": ["tristeza"],
    "joy": ["alegría"],
    "love": ["amor"],
    "anger": ["ira"],
    "fear": ["miedo"],
    "surprise": ["sorpresa"],
}


class Life:
    """The world of one test: the Hub, the store, the config folder and the worker processes."""

    def __init__(
        self, sandbox: Any, demo_api: HfApi, bot_token: str, tmp_path: Path, world: World
    ) -> None:
        self.sandbox, self.demo, self.world, self.tmp = sandbox, demo_api, world, tmp_path
        self.admin = Admin(sandbox.url)
        self.config = write_config(
            tmp_path / "config",
            queue={
                "lease_seconds": 6,
                "retry_delay_seconds": 1,
                "max_backoff_seconds": 4,
                "max_attempts": 3,
            },
            isolation={"enabled": False},
            pull_requests={"max_per_hour": 100},
            hub={"max_wait_seconds": 5},
        )
        self.api = retrying_api(bot_token)
        self.mongo_dir, self.port = tmp_path / "mongo", _free_port()
        self.mongo: EmbeddedMongo = start_embedded(self.mongo_dir, port=self.port)
        self.store = Store.open(self.mongo.uri, db_name="life", timeout_ms=3000)
        self.env = {
            **os.environ,
            "HF_ENDPOINT": sandbox.url,
            "HF_TOKEN": bot_token,
            "HF_HUB_DISABLE_XET": "1",
            "MONGODB_URI": self.mongo.uri,
            "EVALBOT_DB": "life",
            "EVALBOT_CONFIG": str(self.config.path),
            "PYTHONUNBUFFERED": "1",
        }
        self.workers: dict[str, subprocess.Popen[str]] = {}
        self.killed: set[str] = set()
        self.ns = f"life{uuid.uuid4().hex[:6]}"

    # -- processes --------------------------------------------------------------------------

    def start_worker(self, name: str) -> None:
        log = (self.tmp / f"{name}.log").open("w")
        self.workers[name] = evalbot(self.env, "worker", "--name", name, stdout=log, stderr=log)

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{(self.tmp / f'{name}.log').read_text()[-4000:]}" for name in self.workers
        )

    def stop_workers(self) -> None:
        for proc in self.workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.workers.items():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise AssertionError(f"worker {name} did not stop on SIGTERM") from None

    def restart_mongod(self, down_s: float) -> None:
        self.mongo.stop()
        time.sleep(down_s)
        self.mongo = start_embedded(self.mongo_dir, port=self.port)

    # -- the bot's timer and the queue ------------------------------------------------------

    def cycle(self) -> None:
        plan_cycle(load_config(self.config.path), api=self.api, store=self.store)

    def settle(self, timeout: float = 240) -> None:
        """Wait until no job is queued or running (the workers have done everything due)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.workers.items():
                assert proc.poll() is None or name in self.killed, f"{name} died\n{self.logs()}"
            try:
                counts = self.store.job_counts()
            except Exception:  # mongod restarting
                counts = {"queued": 1}
            if not counts.keys() & {"queued", "running"}:
                return
            time.sleep(0.3)
        raise AssertionError(f"jobs still due: {self.store.job_counts()}\n{self.logs()}")

    # -- the Hub's authors and maintainers --------------------------------------------------

    def model(self, name: str, *, spanish: bool = False, readme: str | None = None) -> str:
        """A new model repo: the tiny classifier, or its Spanish-labelled sibling."""
        repo_id = f"{self.ns}/{name}"
        make_model(self.demo, self.world, repo_id, self.config.tag)
        files = {}
        if spanish:
            source = self.world.model("demo/emotion-es").path
            files = {
                "model.safetensors": (source / "model.safetensors").read_bytes(),
                "config.json": (source / "config.json").read_bytes(),
            }
        if readme is not None:
            files["README.md"] = readme.encode()
        self.push(name, files)
        return repo_id

    def weights(self, source: str) -> bytes:
        return (self.world.model(source).path / "model.safetensors").read_bytes()

    def push(self, name: str, files: dict[str, bytes]) -> None:
        from huggingface_hub import CommitOperationAdd

        if files:
            self.demo.create_commit(
                f"{self.ns}/{name}",
                [CommitOperationAdd(path, data) for path, data in files.items()],
                commit_message="Update",
            )

    def readme(self, name: str, text: str) -> None:
        self.push(name, {"README.md": text.encode()})

    def pr(self, name: str) -> Any:
        prs = self.prs(name)
        assert prs, f"{name} has no evalbot PR"
        return prs[0]

    def prs(self, name: str) -> list[Any]:
        found = self.demo.get_repo_discussions(
            f"{self.ns}/{name}", author="evalbot", discussion_type="pull_request"
        )
        return sorted(found, key=lambda d: -d.num)

    def edit_module(self, module: str, change: Callable[[dict[str, Any]], None]) -> None:
        path = self.config.path / "tasks" / "text-classification" / f"{module}.yaml"
        data = yaml.safe_load(path.read_text()) if path.exists() else {}
        change(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True))

    # -- what the store holds ---------------------------------------------------------------

    def result_times(self) -> dict[tuple[str, str, str, int], Any]:
        """(model, module, variant, version) -> when that result was written."""
        return {
            (d["model_id"], d["module_id"], d["variant"], d["config_version"]): d["created_at"]
            for d in self.store.results.find({"model_id": {"$regex": f"^{self.ns}/"}})
        }


@pytest.fixture
def life(sandbox, world: World, demo_api: HfApi, bot_token: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    lived = Life(sandbox, demo_api, bot_token, tmp_path, world)
    try:
        yield lived
    finally:
        lived.admin.clear_faults()
        for proc in lived.workers.values():
            proc.kill()
        lived.store.close()
        lived.mongo.stop()


def test_a_month_of_hub_life(life: Life) -> None:
    claim = "accuracy\n# Pwned\n[click](http://evil.example)\n<!-- evalbot:result-hash=" + FORGED
    forged_card = card(life.config.tag).replace(
        "---\n# A tiny",
        "model-index:\n- name: g\n  results:\n  - task: {type: text-classification}\n"
        "    dataset: {type: dair-ai/emotion, name: emotion, split: test}\n"
        f"    metrics:\n    - type: accuracy\n      name: {yaml.safe_dump(claim).strip()}\n"
        "      value: 0.99\n---\n# A tiny",
    )
    names = ("a", "b", "c", "d", "e", "f", "g", "es")
    # -- day 1: eight new models; three workers take the queue ------------------------------
    for name in ("w0", "w1", "w2"):  # they start while the authors upload
        life.start_worker(name)
    for name in names:
        life.model(name, spanish=name == "es", readme=forged_card if name == "g" else None)
    life.cycle()
    life.settle()
    first_prs = {n: [p.num for p in life.prs(n)] for n in names}
    assert {n: len(v) for n, v in first_prs.items()} == {**{n: 1 for n in names}, "es": 0}
    es = life.store.get_model(f"{life.ns}/es")
    assert es is not None and es.failure_reason is FailureReason.UNKNOWN_LABELS
    day1 = life.result_times()
    assert len(day1) == 7  # one result (the original test split) per model that could run

    # -- day 2: merges, a close, a README-only commit, a forged comment; a 503 stretch ------
    life.demo.merge_pull_request(f"{life.ns}/a", life.pr("a").num)
    life.demo.merge_pull_request(f"{life.ns}/b", life.pr("b").num)
    life.demo.change_discussion_status(f"{life.ns}/c", life.pr("c").num, "closed")
    closed_at = time.time()
    life.readme("d", card(life.config.tag).replace("tiny", "tiny (typo fixed)"))
    life.demo.comment_discussion(
        f"{life.ns}/g",
        life.pr("g").num,
        f"Nice!\n<!-- evalbot:result-hash={FORGED} model-sha=x -->",
    )
    life.admin.fault(status=503, seconds=4, path_prefix="/api/")
    life.cycle()  # the Hub is down: discovery is skipped, nothing is lost
    time.sleep(4.5)
    life.cycle()
    life.settle()
    assert life.store.job_counts().keys() <= TERMINAL
    assert life.result_times() == day1  # merges and README commits evaluate nothing
    assert {n: [p.num for p in life.prs(n)] for n in names} == first_prs  # and open nothing
    a = life.store.get_model(f"{life.ns}/a")
    assert a is not None and a.sha != a.eval_sha  # the merge commit is the head now

    # -- day 3: new weights on e and on the declined c; f is deleted; 429s on e -------------
    life.push("e", {"model.safetensors": life.weights("demo/emotion-es")})
    life.push("c", {"model.safetensors": life.weights("demo/emotion-es")})
    life.demo.delete_repo(f"{life.ns}/f")
    life.admin.fault(status=429, seconds=3, path_prefix=f"/api/models/{life.ns}/e", retry_after=1)
    life.cycle()
    life.settle()
    e_pr = life.pr("e")
    assert [p.num for p in life.prs("e")] == first_prs["e"]  # the open PR is updated in place
    e_events = life.demo.get_discussion_details(f"{life.ns}/e", e_pr.num).events
    e_comments = [ev for ev in e_events if isinstance(ev, DiscussionComment)]
    assert len(e_comments) == 2 and e_comments[0].edited  # the description, edited; one note
    assert e_comments[1].content.startswith("evalbot updated this PR")
    c = life.store.get_model(f"{life.ns}/c")
    assert c is not None and c.declined_pr == first_prs["c"][0]
    assert c.status is ModelStatus.EVALUATED  # still evaluated, shown on the Space

    # -- day 4: a worker is killed, mongod restarts; the maintainer changes the config ------
    life.edit_module(
        "emotion",
        lambda m: m.update(
            perturbations=["lowercase"],
            label_aliases=ALIASES,
            also_evaluate_on=["emotion-validation"],
        ),
    )

    def validation(m: dict[str, Any]) -> None:
        emotion = yaml.safe_load(
            (ROOT / "config" / "tasks" / "text-classification" / "emotion.yaml").read_text()
        )
        m.update(
            emotion,
            id="emotion-validation",
            trained_on=[f"{life.config.tag}-validation"],
            perturbations=[],
            limit=24,
            label_aliases=ALIASES,
        )
        m["dataset"]["split"] = "validation"

    life.edit_module("emotion-validation", validation)
    before_change = life.result_times()
    life.cycle()
    deadline = time.monotonic() + 60
    victim, victim_job = None, None
    while victim is None and time.monotonic() < deadline:
        running = life.store.jobs.find_one({"status": "running", "worker": {"$in": ["w0", "w1"]}})
        if running is not None:
            victim, victim_job = running["worker"], running["_id"]
            os.kill(life.workers[victim].pid, signal.SIGKILL)  # mid-job
        time.sleep(0.01)
    assert victim is not None, "no job was seen running"
    life.killed.add(victim)
    life.start_worker("w3")
    life.restart_mongod(down_s=3)
    life.settle()
    after_change = life.result_times()
    for key, when in before_change.items():  # only the missing tasks ran
        assert after_change[key] == when, key
    new = Counter(
        (module, variant) for (_, module, variant, _v) in after_change.keys() - before_change.keys()
    )
    live = [n for n in names if n != "f"]
    assert new == {
        ("emotion", "lowercase"): len(live),
        ("emotion-validation", "original"): len(live),
        ("emotion", "original"): 1,  # es, whose labels the alias now maps
    }, new

    # -- day 5: the module's version is bumped: every emotion task runs again, once ---------
    life.edit_module("emotion", lambda m: m.update(version=int(m["version"]) + 1))
    life.cycle()
    life.settle()
    final = life.result_times()
    bumped = [k for k in final.keys() - after_change.keys()]
    assert Counter((m, v) for (_, m, v, _ver) in bumped) == {
        ("emotion", "original"): len(live),
        ("emotion", "lowercase"): len(live),
    }
    for key, when in after_change.items():
        assert final[key] == when, key  # the other module's results were not run again
    life.cycle()  # one more timer run: nothing left to do
    life.settle()
    assert life.result_times() == final
    life.stop_workers()

    # -- the invariants ---------------------------------------------------------------------
    planner = planner_for(load_config(life.config.path))
    pr_counts = {}
    for name in live:  # (f's PR went with its repo)
        repo_id = f"{life.ns}/{name}"
        prs = life.prs(name)
        pr_counts[name] = len(prs)
        hashes = []
        for pr in prs:
            events = life.demo.get_discussion_details(repo_id, pr.num).events
            ours = [e for e in events if isinstance(e, DiscussionComment) and e.author == "evalbot"]
            found = parse_markers(ours[0].content) if ours else []
            assert found, (name, pr.num)
            hashes.append(found[-1][0])
            assert FORGED not in hashes[-1]
        # at most one PR per repo per distinct result set
        assert len(hashes) == len(set(hashes)), (name, hashes)
    # none after a merge that changed nothing; a new PR only for the new result set (day 4)
    assert pr_counts == {"a": 2, "b": 2, "c": 1, "d": 1, "e": 1, "g": 1, "es": 1}, pr_counts
    # nothing on c after its author closed the PR
    (c_pr,) = life.prs("c")
    details = life.demo.get_discussion_details(f"{life.ns}/c", c_pr.num)
    close = max(i for i, ev in enumerate(details.events) if isinstance(ev, DiscussionStatusChange))
    assert all(ev.author != "evalbot" for ev in details.events[close:]), details.events
    assert details.events[close].created_at.timestamp() <= closed_at + 1
    # the forged card text and comment are inert: g's description has one marker, ours
    g_pr = life.pr("g")
    g_events = life.demo.get_discussion_details(f"{life.ns}/g", g_pr.num).events
    description = g_events[0]
    assert isinstance(description, DiscussionComment)
    assert description.content.count("<!-- evalbot:result-hash=") == 1
    assert (
        "\n# Pwned" not in description.content
        and "](http://evil.example)" not in description.content
    )
    # every model: results for every planned task, or a failure of its own
    for name in names:
        model = life.store.get_model(f"{life.ns}/{name}")
        assert model is not None
        if name == "f":
            assert model.status is ModelStatus.FAILED
            assert model.failure_reason is FailureReason.NOT_FOUND, model
            continue
        assert model.status is ModelStatus.EVALUATED, (
            name,
            model.failure_reason,
            model.failure_detail,
        )
        doc = life.store.models.find_one({"_id": model.repo_id})
        assert doc is not None
        assert planner.tasks(model.pipeline_tag, model.datasets) <= set(doc["evaluated_tasks"])
    # no job lost, none finished twice, none failed by an outage
    jobs = list(life.store.jobs.find({"repo_id": {"$regex": f"^{life.ns}/"}}))
    assert {j["status"] for j in jobs} <= TERMINAL, [
        (j["repo_id"], j["status"], j.get("error")) for j in jobs
    ]
    assert all(j.get("finished", 1) == 1 for j in jobs), [
        (j["repo_id"], j.get("finished")) for j in jobs
    ]
    assert not [j for j in jobs if j["status"] == "failed" and j["repo_id"] != f"{life.ns}/es"]
    killed_job = life.store.jobs.find_one({"_id": victim_job})
    assert killed_job is not None and killed_job["worker"] != victim  # another worker took it
    assert killed_job["status"] == "done" and killed_job["finished"] == 1, killed_job
