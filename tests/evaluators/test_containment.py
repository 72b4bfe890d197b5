"""The evaluation child's sandbox (evaluators.containment): what code running in it can reach.

The first test runs a real evaluation through IsolatedExecutor on the sandbox Hub with the probe
hook on: code inside the evaluation child tries the network (the embedded mongod, the sandbox Hub,
a server on the host's own address), the worker's environment, the signing key and the token file,
MongoDB with the right password, and writes outside its temp folder; every attempt fails. The
others make the same sandbox in a small interpreter and attack it from inside: system calls the
filter refuses, file size and tmpfs limits, both ways of entering (as root, then the unprivileged
user; as a user namespace without capabilities).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from bot.discovery import to_record
from bot.keys import create_signer
from evaluators.config import EvaluationModule, load_module
from evaluators.containment import Confinement, ContainmentError, host_support, package_paths
from evaluators.isolation import OWN_PACKAGES, PROBE_ENV, IsolatedExecutor
from sandbox.world import World
from store.embedded import EmbeddedMongo

ROOT = Path(__file__).resolve().parents[2]


def emotion() -> EvaluationModule:
    base = load_module(ROOT / "config" / "tasks" / "text-classification" / "emotion.yaml")
    return base.model_copy(update={"limit": 30, "perturbations": []})


def host_address() -> str:
    """This machine's own non-loopback address (where a server on 0.0.0.0 answers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))  # no packet is sent: it picks the route's source
        return str(probe.getsockname()[0])


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on every address of the host, accepting whatever connects."""
    server = socket.create_server(("0.0.0.0", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                server.accept()[0].close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        server.close()


def test_code_in_the_evaluation_child_reaches_nothing(
    demo_world: World,
    bot_api: HfApi,
    mongo: EmbeddedMongo,
    listener: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = str(bot_api.token)
    key = tmp_path / "keys" / "signing-key.pem"
    create_signer(key)
    token_file = tmp_path / "hf-token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    outside = Path.home() / f".evalbot-escape-{uuid.uuid4().hex}"
    hub = os.environ["HF_ENDPOINT"].split("//", 1)[1]  # 127.0.0.1:<port> of the sandbox Hub
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # job folders under tmp_path
    monkeypatch.setenv("HF_TOKEN", token)
    monkeypatch.setenv("HF_TOKEN_PATH", str(token_file))
    monkeypatch.setenv("EVALBOT_SIGNING_KEY", str(key))
    monkeypatch.setenv(PROBE_ENV, str(tmp_path / "probe.json"))
    targets = [f"127.0.0.1:{mongo.port}", hub, f"{host_address()}:{listener}", "1.1.1.1:443"]
    monkeypatch.setenv(f"{PROBE_ENV}_CONNECT", ",".join(targets))
    monkeypatch.setenv(f"{PROBE_ENV}_MONGO", mongo.uri)  # the database's own URI
    worker_environ = f"/proc/{os.getpid()}/environ"
    monkeypatch.setenv(
        f"{PROBE_ENV}_READ", os.pathsep.join([worker_environ, str(key), str(token_file)])
    )
    cache = Path(os.environ["HF_HOME"])
    writes = [str(outside), str(tmp_path / "written"), str(cache / "written"), str(ROOT / "x")]
    writes.append("/tmp/private")  # its own /tmp: allowed, and not the host's
    monkeypatch.setenv(f"{PROBE_ENV}_WRITE", os.pathsep.join(writes))
    model = to_record(bot_api.model_info("demo/tiny-emotion"))
    executor = IsolatedExecutor([emotion()], api=bot_api)
    assert executor.sandboxed
    try:
        report = executor.evaluate(model)
    finally:
        executor.close()
    assert report.records and report.records[0].num_examples == 30  # it evaluated, confined

    probe = json.loads((tmp_path / "probe.json").read_text())
    # no socket reaches 127.0.0.1 (mongod, the Hub), the host's own address or the internet
    assert set(probe["connect"]) == set(targets)
    assert not [t for t, outcome in probe["connect"].items() if outcome == "connected"]
    assert probe["mongo"].startswith("ServerSelectionTimeoutError")  # even with its password
    assert "Permission denied" in probe["mongo"]
    # neither the worker's environment, nor the key, nor the token file
    assert all(not outcome.startswith("ok") for outcome in probe["read"].values()), probe["read"]
    assert token not in "".join(probe["environs"])
    assert len(probe["pids"]) < 5  # its own PID namespace: itself (and a decode worker or two)
    # writes: only its private /tmp, which is not the host's
    assert probe["write"]["/tmp/private"].startswith("ok")
    failed = {p: o for p, o in probe["write"].items() if p != "/tmp/private"}
    assert all(not outcome.startswith("ok") for outcome in failed.values()), failed
    assert not outside.exists() and not (tmp_path / "written").exists()
    assert not (cache / "written").exists() and not Path("/tmp/private").exists()
    assert not (ROOT / "x").exists()
    # who it is: no capability, no new privileges, the filter loaded
    assert int(probe["cap_eff"], 16) == 0 and probe["no_new_privs"] == "1"
    assert probe["seccomp"] == "2"
    if os.geteuid() == 0:
        assert probe["uid"] != 0 and probe["euid"] != 0
    assert probe["rlimit_fsize"] == 4 * 2**30
    # nothing inherited leads out: stdin (/dev/null), the log twice, the result file
    assert len(probe["fds"]) == 4 and probe["fds"]["0"] == "/dev/null"
    assert sum(target.endswith("/result.json") for target in probe["fds"].values()) == 1


ATTACK = r"""
import ctypes, errno, json, os, socket, sys
from evaluators.containment import Confinement, enter

conf = Confinement.from_json(sys.argv[1])
enter(conf, scratch=sys.argv[2])
bound, secret = sys.argv[3], sys.argv[4]
out = {}
libc = ctypes.CDLL(None, use_errno=True)


def attempt(name, action):
    try:
        action()
        out[name] = "ok"
    except OSError as exc:
        out[name] = errno.errorcode.get(exc.errno, str(exc.errno))


def call(name, *args):
    def action():
        if getattr(libc, name)(*args) == -1:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
    return action


def write(path, size):
    def action():
        with open(path, "wb") as f:
            chunk = b"x" * 2**20
            for _ in range(size // 2**20):
                f.write(chunk)
    return action


attempt("tcp", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
attempt("udp6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
attempt("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW))
attempt("unix_pair", lambda: socket.socketpair())
attempt("unshare_user", call("unshare", 0x10000000))
attempt("unshare_net", call("unshare", 0x40000000))
attempt("mount", call("mount", b"tmpfs", b"/tmp", b"tmpfs", 0, None))
attempt("ptrace", call("ptrace", 16, 1, None, None))
attempt("chroot", call("chroot", b"/tmp"))
attempt("write_bound", write(os.path.join(bound, "x"), 2**20))
attempt("write_root", write("/evil", 2**20))
attempt("write_usr", write("/usr/evil", 2**20))
attempt("read_secret", lambda: open(secret).read())
attempt("write_tmp", write("/tmp/ok", 2**20))
attempt("big_file", write("/dev/shm/big", 3 * 2**20))
attempt("fill_tmp", write("/tmp/fill", 8 * 2**20))
out["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
out["root"] = sorted(os.listdir("/"))
out["uid"] = os.getuid()
print(json.dumps(out))
"""


@pytest.mark.parametrize("user_namespace", [False, True], ids=["as-root", "user-namespace"])
def test_attacks_from_inside_fail(tmp_path: Path, user_namespace: bool) -> None:
    bound = tmp_path / "bound"
    bound.mkdir()
    secret = bound / "secret"
    secret.write_text("the key")
    secret.chmod(0o600)
    scratch = tmp_path / "root"
    scratch.mkdir()
    tmp_path.chmod(0o755)
    confinement = Confinement(
        read_only=(*package_paths(OWN_PACKAGES), str(bound)),
        tmp_bytes=4 * 2**20,
        max_file_bytes=2 * 2**20,
        user_namespace=user_namespace,
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            ATTACK,
            confinement.to_json(),
            str(scratch),
            str(bound),
            str(secret),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["tcp"] == out["udp6"] == out["netlink"] == "EACCES"  # the filter: Unix only
    assert out["unix_pair"] == "ok"  # what decode workers talk over
    for call in ("unshare_user", "unshare_net", "mount", "ptrace", "chroot"):
        assert out[call] == "EPERM", call
    assert out["write_bound"] == out["write_root"] == out["write_usr"] == "EROFS"
    assert out["write_tmp"] == "ok" and not Path("/tmp/ok").exists()
    assert out["big_file"] == "EFBIG"  # RLIMIT_FSIZE: 2 MiB
    assert out["fill_tmp"] in ("ENOSPC", "EFBIG")  # 4 MiB of /tmp
    assert out["pids"] == [1]  # nothing but itself
    assert "work" in out["root"] or ROOT.parts[1] in out["root"]  # evalbot's packages, bound
    assert "home" not in out["root"] and "var" not in out["root"]
    if not user_namespace:  # the unprivileged user cannot read the worker's files it sees
        assert out["read_secret"] == "EACCES" and out["uid"] != 0
    assert secret.read_text() == "the key" and sorted(p.name for p in bound.iterdir()) == ["secret"]


def test_a_host_that_cannot_sandbox_is_refused_unless_weaker_is_allowed(bot_api: HfApi) -> None:
    support = host_support("evalbot-no-such-user")
    assert not support.ok and "no user 'evalbot-no-such-user'" in support.reason
    with pytest.raises(ContainmentError, match=r"isolation\.allow_weaker: true"):
        IsolatedExecutor([emotion()], api=bot_api, user="evalbot-no-such-user")
    weaker = IsolatedExecutor(
        [emotion()], api=bot_api, user="evalbot-no-such-user", allow_weaker=True
    )
    assert not weaker.sandboxed
    assert host_support().ok  # this host can: the default user exists, namespaces work
