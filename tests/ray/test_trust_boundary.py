"""Ray inside the trusted boundary: a task's result comes back as data, never a pickle; a local
instance started by the executor holds none of the worker's secrets; a Hub error met by a task
is data that the driver raises as the Hub error it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from bot.discovery import to_record
from bot.failures import Fault, classify, hint
from evaluators.errors import EvaluationError
from evaluators.executor import ExecutionReport
from evaluators.isolation import PROBE_ENV, ChildFailure
from evaluators.ray_executor import (
    HUB_ERROR,
    RayExecutor,
    RayJob,
    RemoteSpec,
    evaluate_on_ray_worker,
    read_outcome,
)
from evaluators.report_codec import decode, encode
from sandbox.server import RunningSandbox
from sandbox.world import World
from tests.bot.conftest import make_model
from tests.ray.conftest import ray_config
from tests.sandbox.helpers import Admin

TOKEN = "hf_trustBoundaryWriteToken0123456789"
SECRETS = {
    "HF_TOKEN": TOKEN,
    "HUGGING_FACE_HUB_TOKEN": TOKEN,
    "EVALBOT_HF_READ_TOKEN": "hf_trustBoundaryReadToken0123456789",
    "MONGODB_URI": "mongodb://evalbot:mongo-pw-4f1c9e@127.0.0.1:1/evalbot",
    "MONGODB_READ_URI": "mongodb://reader:mongo-read-pw-77aa@127.0.0.1:1/evalbot",
    "FIFTYONE_DATABASE_URI": "mongodb://evalbot:mongo-pw-4f1c9e@127.0.0.1:1/fiftyone",
    "EVALBOT_SIGNING_KEY": "/keys/evalbot-signing-key.pem",
    "SOME_TOOL_AUTH": f"Bearer {TOKEN}",  # a variable holding the token under another name
}
# Starts a local Ray instance through the executor, as `evalbot worker` with `address: null`,
# then reports the environment of every process the start left (GCS, raylet, workers), of a Ray
# worker as a task sees it, and of this driver after the start.
_SCRIPT = """
import json, os, sys
from pathlib import Path
import ray
from huggingface_hub import HfApi, get_token
from evaluators.ray_executor import RayExecutor

def descendants(root):
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        kids = [p for p, pp in parent.items() if pp == pid]
        found += kids
        todo += kids
    return found

def environs(pids):
    out = {}
    for pid in pids:
        try:
            out[pid] = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
        except OSError:
            pass
    return out

def in_task():
    return {
        "environ": dict(os.environ),
        "proc": Path("/proc/self/environ").read_bytes().decode(errors="replace"),
        "token": get_token(),
    }

RayExecutor([], api=HfApi(endpoint="http://127.0.0.1:9", token=os.environ["HF_TOKEN"]), address=None)
task = ray.get(ray.remote(in_task).remote())
out = {
    "task": task,
    "processes": environs(descendants(os.getpid())),
    "driver": dict(os.environ),
}
ray.shutdown()
sys.stdout.write("RESULT " + json.dumps(out) + "\\n")
"""


@pytest.mark.slow  # starts its own local Ray instance in a fresh interpreter
def test_a_local_ray_started_by_the_executor_holds_none_of_the_worker_s_secrets(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_") and k != PROBE_ENV}
    env.update(SECRETS, EVALBOT_KEPT="kept")
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line.removeprefix("RESULT "))

    task, processes = out["task"], out["processes"]
    assert len(processes) >= 3  # the GCS, the raylet and at least the task's worker
    seen = [json.dumps(task["environ"]), task["proc"], *processes.values()]
    for text in seen:
        for name, value in SECRETS.items():
            assert value not in text, f"{name}'s value reached a Ray process"
            assert f"{name}=" not in text
    assert task["token"] is None
    assert task["environ"].get("EVALBOT_KEPT") == "kept"  # everything else is inherited
    assert all(out["driver"].get(k) == v for k, v in SECRETS.items())  # put back after the start


@pytest.mark.slow  # Ray: a local instance
def test_a_ray_task_returns_its_report_and_a_hub_error_as_data(
    local_ray: None,
    world: World,
    demo_api: HfApi,
    sandbox: RunningSandbox,
    tmp_path: Path,
) -> None:
    import ray

    config = ray_config(tmp_path / "ray")
    repo_id = f"raydata{uuid.uuid4().hex[:6]}/tiny"
    make_model(demo_api, world, repo_id, config.tag)
    api = HfApi()
    model = to_record(api.model_info(repo_id))
    modules = tuple(m.module for m in config.load().modules)
    spec = RemoteSpec(
        executor_id=uuid.uuid4().hex,
        modules=modules,
        endpoint=api.endpoint,
        device="cpu",
        max_model_bytes=None,
        isolation=True,
        memory_limit=None,
        timeout_s=600.0,
    )
    planner = RayExecutor(list(modules), api=api)
    job = RayJob(spec, model, tuple(planner.plan(model)[0]))
    env = {"HF_ENDPOINT": api.endpoint, "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1"}
    task = ray.remote(evaluate_on_ray_worker).options(runtime_env={"env_vars": env})

    data = ray.get(task.remote(job))
    assert type(data) is bytes  # Ray's raw bytes: nothing unpickled on this side
    report = read_outcome(repo_id, data)
    assert isinstance(report, ExecutionReport)
    assert [r.model_id for r in report.records] == [repo_id]

    admin = Admin(sandbox.url)
    admin.fault(status=429, count=1, path_prefix=f"/api/models/{repo_id}/revision", retry_after=1)
    try:
        data = ray.get(task.remote(job))
    finally:
        admin.clear_faults()
    assert type(data) is bytes
    failure = decode(data)
    assert isinstance(failure, ChildFailure) and failure.error == HUB_ERROR
    with pytest.raises(HfHubHTTPError) as busy:
        read_outcome(repo_id, data)
    assert busy.value.response.status_code == 429
    assert classify(busy.value) is Fault.INFRASTRUCTURE and hint(busy.value) == 1.0


def test_the_driver_takes_only_encoded_results() -> None:
    for sent, says in (
        ({"records": []}, "sent a dict, not a result"),
        (b"\x80\x04\x95", "unreadable result"),  # a pickle's first bytes
        (b'{"$t": "Popen", "f": {"args": "id"}}', "unreadable result"),
        (encode([1, 2]), "something other than a result"),
    ):
        with pytest.raises(EvaluationError, match=says):
            read_outcome("org/model", sent)
