"""IsolatedExecutor on the sandbox Hub: same results as in-process, a child without the token and
offline, typed failures for timeouts, memory, pickles and remote code, no process left behind."""

from __future__ import annotations

import json
import logging
import os
import pickle
import resource
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from huggingface_hub import HfApi, snapshot_download

from bot.discovery import to_record
from bot.worker import save_report
from evaluators import progress
from evaluators.config import EvaluationModule, load_module
from evaluators.containment import RESULT_FILE
from evaluators.errors import (
    EvaluationError,
    IncompatibleLibraryError,
    LabelMappingError,
    UnsafeWeightsError,
)
from evaluators.executor import Executor
from evaluators.hub import check_remote_code, fetch_model
from evaluators.isolation import (
    PROBE_ENV,
    ChildFailure,
    IsolatedExecutor,
    _death,
    _read_outcome,
    child_failure,
    rebuild_failure,
    refuse_pickles,
)
from evaluators.memory_limit import cgroup_parent
from evaluators.report_codec import encode
from sandbox.world import World
from store.db import Store
from store.types import FailureReason, ModelRecord

ROOT = Path(__file__).resolve().parents[2]
CARD = b"---\ndatasets:\n- emotion\npipeline_tag: text-classification\n---\n# A model\n"


@pytest.fixture(scope="module")
def tiny(demo_world: World) -> Path:
    return demo_world.model("demo/tiny-emotion").path


@pytest.fixture
def child_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The children's job folders (in their command lines) go under this test's tmp_path."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def emotion(**changes: object) -> EvaluationModule:
    base = load_module(ROOT / "config" / "tasks" / "text-classification" / "emotion.yaml")
    return base.model_copy(update={"limit": 60, "perturbations": [], **changes})


def record(api: HfApi, repo_id: str) -> ModelRecord:
    return to_record(api.model_info(repo_id))


def upload(api: HfApi, folder: Path | None, files: dict[str, bytes]) -> str:
    repo_id = f"iso{uuid.uuid4().hex[:8]}/model"
    api.create_repo(repo_id)
    if folder is not None:
        api.upload_folder(repo_id=repo_id, folder_path=folder, ignore_patterns=["README.md"])
    for name, content in {"README.md": CARD, **files}.items():
        api.upload_file(path_or_fileobj=content, path_in_repo=name, repo_id=repo_id)
    return repo_id


def children_under(folder: Path, kind: str = "evalbot-child-") -> list[int]:
    """Pids of live processes that name a ``kind`` folder under ``folder`` in their command line
    (a spawned child) or hold a file open there (a forked child's log; ``evalbot-forkserver-``:
    the fork server's)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            names = [(proc / "cmdline").read_bytes().decode(errors="replace")]
            names += [os.readlink(fd) for fd in (proc / "fd").iterdir()]
        except (OSError, ValueError):
            continue
        if any(f"{folder}/{kind}" in name for name in names):
            pids.append(int(proc.name))
    return pids


def test_same_results_as_in_process_without_token_and_offline(
    tiny: Path,
    bot_api: HfApi,
    store: Store,
    child_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = str(bot_api.token)
    (child_tmp / "token").write_text(token)
    monkeypatch.setenv("HF_TOKEN_PATH", str(child_tmp / "token"))
    monkeypatch.setenv("HF_TOKEN", token)
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", token)
    monkeypatch.setenv("SOME_HEADER", f"Bearer {token}")
    monkeypatch.setenv(PROBE_ENV, str(child_tmp / "probe.json"))
    monkeypatch.setenv(progress.MIN_ENV, "1")  # progress lines even for 60 examples
    caplog.set_level(logging.INFO, logger="evaluators.isolation")
    model = record(bot_api, "demo/tiny-emotion")
    modules = [emotion(perturbations=["lowercase"])]

    direct = Executor(modules, api=bot_api).evaluate(model)
    store.add_examples(direct.examples)  # the store has examples: the child's are dropped too
    executor = IsolatedExecutor(modules, api=bot_api, store=store)
    isolated = executor.evaluate(model)

    assert [r.variant for r in isolated.records] == ["original", "lowercase"]
    for ours, theirs in zip(isolated.records, direct.records, strict=True):
        assert ours.metrics == theirs.metrics and ours.classes == theirs.classes
        assert ours.confusion == theirs.confusion
        assert ours.misclassifications == theirs.misclassifications
        assert ours.label_mapping == theirs.label_mapping
    assert isolated.model == model and isolated.model_metadata == direct.model_metadata
    assert (isolated.datasets, isolated.splits) == (direct.datasets, direct.splits)
    assert isolated.variants == direct.variants and isolated.examples == []
    relayed = [r.getMessage() for r in caplog.records if r.name == "evaluators.isolation"]
    assert "progress: demo/tiny-emotion on dair-ai/emotion [original] 100% (60/60 examples" in (
        "\n".join(relayed)
    )

    probe = json.loads((child_tmp / "probe.json").read_text())
    assert not {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "SOME_HEADER"} & set(probe["env"])
    assert probe["token_found"] is False
    assert {probe["hf"][k] for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")} == {"1"}
    assert probe["hf"]["TRANSFORMERS_OFFLINE"] == "1"
    cgroup = cgroup_parent()
    if cgroup is None and executor.executor.device.type == "cpu":  # the watchdog's backstop
        assert probe["rlimit_data"] == 8 * 2**30
    else:  # never with CUDA, nor beside a cgroup
        assert probe["rlimit_data"] == resource.getrlimit(resource.RLIMIT_DATA)[0]
    assert ("/evalbot-" in probe["cgroup"]) is (cgroup is not None)
    # the first process of a PID namespace of its own; its session's leader (the reaper the
    # worker kills as a group) stays outside, so it has no group id in here
    assert (probe["pid"], probe["pgid"]) == (1, 0)
    assert os.environ["HF_TOKEN"] == token  # the parent's environment is untouched

    save_report(store, isolated)
    again = IsolatedExecutor(modules, api=bot_api, store=store).evaluate(model)
    assert again.records == [] and len(again.skipped) == 2  # no child started


def slow() -> EvaluationModule:
    """1,200 training examples one at a time: a child that runs for seconds."""
    module = emotion(limit=None, batch_size=1)
    return module.model_copy(
        update={"dataset": module.dataset.model_copy(update={"split": "train"})}
    )


@pytest.mark.slow  # a child run past its clock
@pytest.mark.parametrize("preload", [True, False], ids=["forked", "spawned"])
def test_timeout_kills_the_child_and_its_group(
    tiny: Path, bot_api: HfApi, child_tmp: Path, preload: bool
) -> None:
    # spawned: the child's imports alone outlast 1 s; forked: the slow evaluation does
    executor = IsolatedExecutor([slow()], api=bot_api, timeout=1, preload=preload)
    model = record(bot_api, "demo/tiny-emotion")
    executor.plan(model)  # the dataset revision is resolved outside the child's clock
    start = time.monotonic()
    with pytest.raises(EvaluationError) as caught:
        executor.evaluate(model)
    assert caught.value.reason is FailureReason.TIMEOUT
    assert caught.value.detail == "evaluation exceeded 1 s"
    assert time.monotonic() - start < 60
    assert children_under(child_tmp) == []
    executor.close()


@pytest.mark.slow  # a child run out of memory
@pytest.mark.parametrize("preload", [True, False], ids=["forked", "spawned"])
def test_memory_limit_gives_out_of_memory(
    tiny: Path, bot_api: HfApi, child_tmp: Path, preload: bool
) -> None:
    """Forked: a MemoryError under RLIMIT_DATA or the watchdog's kill, whichever comes first
    (the kernel's, with a cgroup); spawned: the child's imports alone outgrow 64 MiB, before
    it sets any RLIMIT_DATA."""
    executor = IsolatedExecutor([emotion()], api=bot_api, memory_limit=64 * 2**20, preload=preload)
    with pytest.raises(EvaluationError) as caught:
        executor.evaluate(record(bot_api, "demo/tiny-emotion"))
    assert caught.value.reason is FailureReason.OUT_OF_MEMORY, caught.value.detail
    assert caught.value.detail.startswith("out of memory (limit 0.0625 GiB): ")
    if not preload and cgroup_parent() is None:
        assert "of the evaluation held" in caught.value.detail  # the watchdog's words
    assert children_under(child_tmp) == []
    executor.close()


def test_a_snapshot_with_a_pickle_file_is_refused(
    tiny: Path, demo_api: HfApi, bot_api: HfApi
) -> None:
    repo_id = upload(demo_api, tiny, {"pytorch_model.bin": b"\x80\x02 not really a pickle"})
    model = record(bot_api, repo_id)
    fetched = fetch_model(bot_api, repo_id, model.sha)
    refuse_pickles(repo_id, fetched.path)  # only safetensors came down
    full = Path(snapshot_download(repo_id, revision=model.sha, token=bot_api.token))
    assert full == fetched.path  # the same cache snapshot, now with the pickle in it
    with pytest.raises(UnsafeWeightsError, match=r"\(pytorch_model\.bin\)") as caught:
        refuse_pickles(repo_id, full)
    assert caught.value.reason.value == "unsafe weights format"


def test_remote_code_repo_is_refused_before_its_weights_download(
    tiny: Path, demo_api: HfApi, bot_api: HfApi
) -> None:
    config = json.loads((tiny / "config.json").read_text())
    config.update(
        model_type="evalbot-custom",
        architectures=["CustomForSequenceClassification"],
        auto_map={
            "AutoConfig": "configuration_custom.CustomConfig",
            "AutoModelForSequenceClassification": "modeling_custom.CustomForSequenceClassification",
        },
    )
    code = b"raise SystemExit('remote code ran')\n"
    repo_id = upload(
        demo_api,
        tiny,
        {
            "config.json": json.dumps(config).encode(),
            "configuration_custom.py": code,
            "modeling_custom.py": code,
        },
    )
    with pytest.raises(IncompatibleLibraryError) as caught:
        IsolatedExecutor([emotion()], api=bot_api).evaluate(record(bot_api, repo_id))
    assert caught.value.reason is FailureReason.INCOMPATIBLE_LIBRARY
    assert "needs remote code, which evalbot never runs" in caught.value.detail
    assert "modeling_custom.py" in caught.value.detail
    cached = Path(os.environ["HF_HOME"]) / "hub" / f"models--{repo_id.replace('/', '--')}"
    assert not list(cached.rglob("*.safetensors"))


def test_auto_map_beside_a_transformers_architecture_passes(tiny: Path, tmp_path: Path) -> None:
    config = json.loads((tiny / "config.json").read_text())
    config["auto_map"] = {"AutoModelForSequenceClassification": "modeling.X"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    check_remote_code("org/model", tmp_path / "config.json", ["modeling.py"])


def test_typed_errors_cross_the_process_boundary(tmp_path: Path) -> None:
    def across(exc: BaseException) -> Exception:
        (tmp_path / RESULT_FILE).write_bytes(encode(child_failure(exc, None)))
        outcome = _read_outcome("org/model", tmp_path / RESULT_FILE)
        assert isinstance(outcome, ChildFailure)
        return rebuild_failure("org/model", outcome)

    labels = across(LabelMappingError("org/model", ["happy?"], ["joy"]))
    assert type(labels) is LabelMappingError and labels.reason is FailureReason.UNKNOWN_LABELS
    assert labels.unmatched == ["happy?"] and "happy?" in labels.detail
    other = across(KeyError("weights"))
    assert type(other) is EvaluationError and other.reason is FailureReason.LOAD_ERROR
    assert other.detail == "KeyError: 'weights'"
    try:
        raise EvaluationError("org/model", "model failed to load") from RuntimeError(
            "DefaultCPUAllocator: can't allocate memory: you tried to allocate 4294967296 bytes"
        )
    except EvaluationError as exc:
        memory = across(exc)
    assert memory.reason is FailureReason.OUT_OF_MEMORY  # type: ignore[attr-defined]


def test_a_result_that_would_run_code_is_refused(tmp_path: Path) -> None:
    """The result is JSON read as data: a pickle (which could run code when loaded) is not
    loaded at all, and JSON naming a type that is not a result record builds nothing."""

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    (tmp_path / RESULT_FILE).write_bytes(pickle.dumps(Evil()))
    with pytest.raises(EvaluationError, match="unreadable result") as caught:
        _read_outcome("org/model", tmp_path / RESULT_FILE)
    assert caught.value.reason is FailureReason.LOAD_ERROR
    (tmp_path / RESULT_FILE).write_text('{"$t": "Popen", "f": {"args": "touch pwned"}}')
    with pytest.raises(EvaluationError, match="not an evaluation result type"):
        _read_outcome("org/model", tmp_path / RESULT_FILE)
    (tmp_path / RESULT_FILE).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(EvaluationError, match="nested too deeply"):
        _read_outcome("org/model", tmp_path / RESULT_FILE)
    (tmp_path / RESULT_FILE).write_text('"' + "x" * 2000 + '"')
    with pytest.raises(EvaluationError, match="over the limit of 1000"):
        _read_outcome("org/model", tmp_path / RESULT_FILE, 1000)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("status", "log", "reason", "words"),
    [
        (-9, "", FailureReason.OUT_OF_MEMORY, "ran out of memory"),
        (-6, "memory allocation of 123 bytes failed", FailureReason.OUT_OF_MEMORY, "123 bytes"),
        (-11, "", FailureReason.LOAD_ERROR, "died of signal SIGSEGV (memory limit 1 GiB)"),
        (1, "ImportError: no module x", FailureReason.LOAD_ERROR, "exited with 1: ImportError"),
    ],
)
def test_a_dead_child_gets_a_typed_reason(
    tmp_path: Path, status: int, log: str, reason: FailureReason, words: str
) -> None:
    (tmp_path / "child.log").write_text(log)
    error = _death("org/model", status, tmp_path / "child.log", 2**30)
    assert error.reason is reason and words in error.detail


PARENT = """
import sys
from pathlib import Path
from huggingface_hub import HfApi
from bot.discovery import to_record
from evaluators.config import load_module
from evaluators.isolation import IsolatedExecutor
module = load_module(Path(sys.argv[1]))
module = module.model_copy(update={"perturbations": [], "limit": None, "batch_size": 1})
module = module.model_copy(update={"dataset": module.dataset.model_copy(update={"split": "train"})})
api = HfApi(token=sys.argv[2])
executor = IsolatedExecutor([module], api=api, preload=sys.argv[3] == "1")
executor.evaluate(to_record(api.model_info("demo/tiny-emotion")))
"""


@pytest.mark.slow  # many processes: a worker, its child, SIGKILL
@pytest.mark.parametrize("preload", [True, False], ids=["forked", "spawned"])
def test_the_child_dies_with_a_killed_worker(
    tiny: Path, bot_api: HfApi, tmp_path: Path, preload: bool
) -> None:
    """kill -9 of the worker leaves no evaluation (and no fork server) running on: its job is
    leased again elsewhere."""
    import signal
    import subprocess
    import sys

    module = ROOT / "config" / "tasks" / "text-classification" / "emotion.yaml"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(module), str(bot_api.token), "1" if preload else "0"],
        env={**os.environ, "TMPDIR": str(tmp_path)},
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        children: list[int] = []
        while not children and time.monotonic() < deadline:
            assert parent.poll() is None, "the parent ended before starting its child"
            time.sleep(0.05)
            # the parent itself holds the child's log open now and then: it is not the child
            children = [pid for pid in children_under(tmp_path) if pid != parent.pid]
        assert children, "no child was started"
        assert bool(children_under(tmp_path, "evalbot-forkserver-")) is preload
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 3  # well before a spawned child's imports would end
        while time.monotonic() < deadline and (
            children_under(tmp_path) or children_under(tmp_path, "evalbot-forkserver-")
        ):
            time.sleep(0.1)
        assert children_under(tmp_path) == []
        assert children_under(tmp_path, "evalbot-forkserver-") == []
    finally:
        parent.kill()


def test_the_fork_server_warms_only_transformers_own_model_code() -> None:
    """``warm`` imports the modelling code of a ``model_type`` transformers lists; any other
    name (data from a model's config.json) imports nothing."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from evaluators.forkserver import warm\n"
        "before = set(sys.modules)\n"
        "warm(['bert', '../../etc/passwd', 'os.system', 'evaluators.hub', ''])\n"
        "print(sorted(m for m in set(sys.modules) - before if not m.startswith('transformers.')))\n"
        "print('transformers.models.bert.modeling_bert' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    others, bert = done.stdout.splitlines()[-2:]
    assert bert == "True"
    assert "evaluators.hub" not in others and "'os.system'" not in others


def test_a_null_result_from_c_code_under_the_data_limit_is_out_of_memory() -> None:
    """C code whose allocation failed under ``RLIMIT_DATA`` may raise SystemError instead of
    MemoryError; with the limit set that is the memory limit, without it a load error."""
    import subprocess
    import sys

    code = (
        "import resource, sys\n"
        "from evaluators.isolation import child_failure\n"
        "error = SystemError('<function X.__init__> returned NULL without setting an exception')\n"
        "print(child_failure(error, 2**30).reason)\n"
        "resource.setrlimit(resource.RLIMIT_DATA, (2**40, resource.RLIM_INFINITY))\n"
        "print(child_failure(error, 2**30).reason)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    # no limit: no reason of its own (the parent makes it a load error); limited: out of memory
    assert done.stdout.splitlines() == ["None", "out of memory"]
