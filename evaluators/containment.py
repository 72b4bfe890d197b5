"""The evaluation child's sandbox: no network, no view of the worker, read-only inputs.

An uploaded model runs in the isolated child (:mod:`evaluators.isolation`). Loading only
safetensors and never remote code keeps its code from running; this module is the wall behind
that one. Before the child reads its job it calls :func:`enter`, which, from a single-threaded
process, makes it a sandbox with the kernel's namespaces, as bubblewrap would (bubblewrap needs a
program to execute, and the preloaded child is a forked interpreter that must not be replaced):

- network: a network namespace of its own, with only a loopback that is down. No socket reaches
  127.0.0.1 (the embedded mongod, the sandbox Hub, the Ray head) or any other address; abstract
  Unix sockets are per namespace too.
- processes: a PID namespace of its own with its own ``/proc``: the worker, the fork server and
  the other jobs' children are not there to read (``/proc/<pid>/environ``) or to signal. An IPC
  and a UTS namespace of their own.
- files: a mount namespace whose root is a fresh tmpfs holding only what evaluating needs, bound
  read-only: the system (``/usr``, ``/etc``, the ``/lib`` links), the Python installation and
  its packages, evalbot's own packages, the model's snapshot folder and the prepared datasets of
  the job. ``/tmp`` and ``/dev/shm`` are private tmpfs of a fixed size (the child's only
  writable places); ``/dev`` holds the null, zero, random devices (and the GPU's, on a GPU
  host). Nothing else of the host is there: the Hub token file, the signing key, the worker's
  home and the Hub cache of other repos are not in its view.
- identity: where the worker runs as root, the child becomes an unprivileged user (``nobody``
  by default) that could not read the worker's files even if it saw them; otherwise a user
  namespace maps the worker's own user, with no capability left in it. Either way every
  capability is dropped and ``no_new_privs`` set.
- system calls: where libseccomp is installed (Debian's apt depends on it), a filter refuses
  sockets other than Unix ones, io_uring, ptrace and reading other processes' memory, new
  namespaces, mounts, kernel keyrings, BPF, perf events, module loading and ``userfaultfd``.
- size: every file the child writes is at most ``max_file_bytes`` (``RLIMIT_FSIZE``; the result
  and the log included), and its tmpfs are bounded.

:func:`enter` forks once more: the first process stays outside as the reaper that the worker
waits for and kills (its exit code is the sandboxed process's, a signal re-raised), the second is
the first process (pid 1) of the new PID namespace and returns into the evaluation.

:func:`host_support` tells whether this host can make such a sandbox (run as root, or with
unprivileged user namespaces allowed) by making one in a short-lived process.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import platform
import pwd
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWCGROUP = 0x02000000
_NAMESPACES = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x1, 0x2, 0x4
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_SYSCALLS = {  # numbers the C library has no wrapper for
    "x86_64": {"pivot_root": 155, "mount_setattr": 442},
    "aarch64": {"pivot_root": 41, "mount_setattr": 442},
}
DEVICES = ("null", "zero", "full", "random", "urandom")
SYSTEM = ("/usr", "/etc", "/opt")  # bound read-only where they exist
ROOT_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")  # links or folders
DEFAULT_USER = "nobody"
DEFAULT_TMP_BYTES = 2 * 2**30
DEFAULT_MAX_FILE_BYTES = 4 * 2**30


class ContainmentError(RuntimeError):
    """The host cannot make the sandbox (no permission for namespaces, a mount refused ...)."""


@dataclass(frozen=True)
class Confinement:
    """What the sandboxed child sees (paths as the worker sees them; the child sees them at the
    same places).

    Attributes:
        read_only: folders or files bound read-only, besides the system and Python ones.
        tmp_bytes: size of the private ``/tmp`` and of ``/dev/shm`` (each).
        max_file_bytes: largest file the child may write (``RLIMIT_FSIZE``).
        user: the account the child becomes where the worker is root.
        gpu: bind the GPU's device nodes and ``/sys`` (read-only) for CUDA.
        seccomp: load the system-call filter (where libseccomp is found).
        user_namespace: map the worker's own user in a user namespace, without capabilities,
            even where the worker is root (the way taken where it is not).
    """

    read_only: tuple[str, ...] = ()
    tmp_bytes: int = DEFAULT_TMP_BYTES
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    user: str = DEFAULT_USER
    gpu: bool = False
    seccomp: bool = True
    user_namespace: bool = False  # also where the worker is root (as a worker that is not)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Confinement:
        data = json.loads(text)
        data["read_only"] = tuple(data.get("read_only", ()))
        return cls(**data)


@dataclass(frozen=True)
class Support:
    """Whether this host can make the sandbox (:func:`host_support`)."""

    ok: bool
    mode: str  # "root": namespaces, then an unprivileged user; "userns": a user namespace
    reason: str = ""
    seccomp: bool = False
    details: dict[str, object] = field(default_factory=dict)


def python_paths() -> list[str]:
    """The folders the Python installation and its packages live in (bound read-only)."""
    import sysconfig

    found = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    found.update(str(v) for v in sysconfig.get_paths().values())
    own = Path(__file__).resolve().parents[1]  # evalbot's source folder: its packages go in
    found.update(  # one by one (package_paths), not the folder with the rest of the checkout
        p
        for p in sys.path
        if p and Path(p).is_absolute() and Path(p).is_dir() and Path(p).resolve() != own
    )
    return sorted(found)


def package_paths(names: Iterable[str]) -> list[str]:
    """The folders of the named top-level packages (evalbot's own: ``evaluators`` ...)."""
    import importlib.util

    out: list[str] = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            out.extend(str(Path(p).resolve()) for p in spec.submodule_search_locations)
    return out


def essential_paths(paths: Iterable[str]) -> tuple[str, ...]:
    """The existing ones of ``paths``, resolved, without those inside another one, sorted."""
    kept: list[str] = []
    for raw in sorted({str(Path(p).resolve()) for p in paths if p and Path(p).exists()}):
        if not any(raw == k or raw.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(raw)
    return tuple(kept)


# -- entering the sandbox (in the child) ---------------------------------------------------


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise ContainmentError(f"{what}: {os.strerror(code)} ({errno.errorcode.get(code, code)})")


def _syscall_number(name: str) -> int:
    numbers = _SYSCALLS.get(platform.machine())
    if numbers is None:
        raise ContainmentError(f"no system call table for {platform.machine()}")
    return numbers[name]


def _mount(
    libc: ctypes.CDLL,
    source: str | None,
    target: str,
    fstype: str | None,
    flags: int,
    data: str = "",
) -> None:
    result = libc.mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    _check(result, f"mount {source or fstype} on {target}")


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


def _read_only(libc: ctypes.CDLL, target: str) -> None:
    """Make the bind mount at ``target`` and every mount below it read-only, nosuid, nodev."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0)
    result = libc.syscall(
        ctypes.c_long(_syscall_number("mount_setattr")),
        ctypes.c_int(-100),  # AT_FDCWD
        target.encode(),
        ctypes.c_uint(AT_RECURSIVE),
        ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
    )
    if result != 0:  # kernels before 5.12: the top mount only
        _mount(libc, None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _bind(libc: ctypes.CDLL, root: str, path: str, *, writable: bool = False) -> None:
    """Bind host ``path`` at the same place under ``root`` (folders created as needed)."""
    target = root + path
    if os.path.isdir(path):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            with open(target, "wb"):
                pass
    _mount(libc, path, target, None, MS_BIND | MS_REC)
    if not writable:
        _read_only(libc, target)


def _build_root(libc: ctypes.CDLL, root: str, confinement: Confinement) -> None:
    """Fill the tmpfs at ``root`` with what the child may see."""
    size = f"size={confinement.tmp_bytes},mode=1777"
    for tmp in ("/tmp", "/dev/shm"):  # first: folders bound below them stay visible
        os.makedirs(root + tmp, exist_ok=True)
        _mount(libc, "tmpfs", root + tmp, "tmpfs", MS_NOSUID | MS_NODEV, size)
    for link in ROOT_LINKS:
        if os.path.islink(link):
            os.symlink(os.readlink(link), root + link)
        elif os.path.isdir(link):
            _bind(libc, root, link)
    system = [p for p in SYSTEM if os.path.isdir(p)]
    for path in essential_paths([*system, *python_paths(), *confinement.read_only]):
        _bind(libc, root, path)
    os.makedirs(root + "/dev", exist_ok=True)
    devices = list(DEVICES)
    if confinement.gpu:
        devices += sorted(d for d in os.listdir("/dev") if d.startswith("nvidia"))
        if os.path.isdir("/sys"):
            _bind(libc, root, "/sys")
    for name in devices:
        if os.path.exists(f"/dev/{name}"):
            _bind(libc, root, f"/dev/{name}", writable=True)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0")):
        os.symlink(target, f"{root}/dev/{name}")
    os.symlink("/proc/self/fd/1", f"{root}/dev/stdout")
    os.symlink("/proc/self/fd/2", f"{root}/dev/stderr")
    os.makedirs(root + "/proc", exist_ok=True)


def _pivot(libc: ctypes.CDLL, root: str) -> None:
    os.chdir(root)
    result = libc.syscall(ctypes.c_long(_syscall_number("pivot_root")), b".", b".")
    _check(result, "pivot_root")
    _check(libc.umount2(b".", MNT_DETACH), "detach the host's root")
    os.chdir("/")


def _map_user(uid: int, gid: int) -> None:
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _drop_capabilities(libc: ctypes.CDLL) -> None:
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break  # past the last capability this kernel knows
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(libc.capset(ctypes.byref(header), data), "drop capabilities")


def _become(user: str) -> None:
    """From root: the unprivileged ``user``, with no supplementary group and no capability."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ContainmentError(f"no user {user!r} on this host (isolation.user)") from None
    if entry.pw_uid == 0:
        raise ContainmentError(f"isolation.user {user!r} is root")
    os.setgroups([])
    os.setresgid(entry.pw_gid, entry.pw_gid, entry.pw_gid)
    os.setresuid(entry.pw_uid, entry.pw_uid, entry.pw_uid)


def _die_with_reaper(libc: ctypes.CDLL, alive: int) -> None:
    """SIGKILL this process when the reaper dies; at once if it died already."""
    import select

    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if select.select([alive], [], [], 0)[0]:  # readable: EOF, the reaper is gone
        os._exit(1)


def _reaper(child: int) -> None:
    """Outside the namespace: wait for the sandboxed process, end as it ended; never returns."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(1)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def enter(confinement: Confinement, *, scratch: str) -> None:
    """Make this (single-threaded) process a sandboxed one; returns in the sandbox.

    ``scratch``: an empty folder of the host the new root is mounted on (it stays empty there).
    The caller's open files (the log, the result) stay open across.

    Raises:
        ContainmentError: the host refused a namespace, a mount or a privilege change; raised in
            this process before it forks, or in the sandboxed one (whose reaper then ends with
            its exit code).
    """
    libc = _libc()
    root_user = os.geteuid() == 0 and not confinement.user_namespace
    uid, gid = os.getuid(), os.getgid()
    flags = _NAMESPACES | (0 if root_user else CLONE_NEWUSER)
    _check(libc.unshare(ctypes.c_int(flags)), "unshare (new namespaces)")
    if not root_user:
        _map_user(uid, gid)
    alive_r, alive_w = os.pipe()  # the reaper holds the write end: EOF once it is gone
    child = os.fork()  # the first process of the new PID namespace
    if child:
        os.close(alive_r)
        _reaper(child)
    os.close(alive_w)
    _die_with_reaper(libc, alive_r)
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    _mount(libc, "tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    _build_root(libc, scratch, confinement)
    # this PID namespace's /proc, before the host's leaves the view (a user namespace may mount
    # one only while a full one is visible)
    _mount(libc, "proc", scratch + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _pivot(libc, scratch)
    # the tmpfs root itself (not the mounts on it): no new files beside the bound ones
    _mount(libc, None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    if root_user:
        _become(confinement.user)
        _die_with_reaper(libc, alive_r)  # a change of user clears the death signal
    else:
        _drop_capabilities(libc)
    os.close(alive_r)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails (EFBIG), typed
    limit = confinement.max_file_bytes
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    if confinement.seccomp:
        load_filter()


RESULT_FILE = "result.json"
CONFINEMENT_FILE = "confinement.json"
SCRATCH = "root"  # beside the job folder: the empty folder the new root is mounted on


def confine_job(folder: str) -> int:
    """In an evaluation child, before it reads its job: open the job's result file, then enter
    the sandbox the worker described in the job folder (if it did); the result file's descriptor.

    Raises:
        ContainmentError: as :func:`enter`.
    """
    job = Path(folder)
    fd = os.open(job / RESULT_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    described = job / CONFINEMENT_FILE
    datasets = job / "datasets"
    if described.exists():
        confinement = Confinement.from_json(described.read_text())
        _close_all_but(0, 1, 2, fd)  # nothing inherited leads out (a folder's descriptor would)
        enter(confinement, scratch=str(job.parent / SCRATCH))
        os.environ.update(HOME="/tmp", XDG_CACHE_HOME="/tmp/.cache", TMPDIR="/tmp")
        tempfile.tempdir = None  # chosen again, in the private /tmp
        datasets = _mirror_links(datasets, Path("/tmp/datasets"))
    os.environ["HF_DATASETS_CACHE"] = str(datasets)
    return fd


def _close_all_but(*keep: int) -> None:
    """Close every open file descriptor of this process except ``keep``."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _mirror_links(source: Path, target: Path) -> Path:
    """The job's dataset cache (links to prepared datasets, read-only here) as the same links
    in a writable folder, where ``datasets`` can write its lock files."""
    for link in source.rglob("*"):
        if link.is_symlink():
            mirrored = target / link.relative_to(source)
            mirrored.parent.mkdir(parents=True, exist_ok=True)
            mirrored.symlink_to(os.readlink(link))
    target.mkdir(parents=True, exist_ok=True)
    return target


# -- the system-call filter ------------------------------------------------------------------

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_NE, SCMP_CMP_MASKED_EQ = 1, 7
AF_UNIX = 1
DENIED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsmount",
    "fspick",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "open_by_handle_at",
    "name_to_handle_at",
    "quotactl",
)


class _ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


def _seccomp_library() -> ctypes.CDLL | None:
    for name in ("libseccomp.so.2", "libseccomp.so"):  # find_library would run a compiler
        try:
            return ctypes.CDLL(name, use_errno=True)
        except OSError:
            continue
    return None


def seccomp_available() -> bool:
    return _seccomp_library() is not None


def load_filter() -> None:
    """Load the system-call filter on this process (and all it starts later).

    Raises:
        ContainmentError: libseccomp is missing or refused the filter.
    """
    lib = _seccomp_library()
    if lib is None:
        raise ContainmentError("libseccomp is not installed (Debian: libseccomp2)")
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(_ArgCmp),
    ]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        raise ContainmentError("seccomp_init failed")

    def rule(name: str, code: int, *cmps: _ArgCmp) -> None:
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number < 0:
            return  # not a system call on this architecture
        array = (_ArgCmp * max(1, len(cmps)))(*cmps)
        result = lib.seccomp_rule_add_array(ctx, 0x00050000 | code, number, len(cmps), array)
        if result != 0:
            raise ContainmentError(f"seccomp rule for {name}: {os.strerror(-result)}")

    try:
        for name in DENIED:
            rule(name, errno.EPERM)
        rule("socket", errno.EACCES, _ArgCmp(0, SCMP_CMP_NE, AF_UNIX, 0))
        rule("clone3", errno.ENOSYS)  # the C library falls back to clone, filtered below
        for flag in (CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWCGROUP):
            rule("clone", errno.EPERM, _ArgCmp(0, SCMP_CMP_MASKED_EQ, flag, flag))
        result = lib.seccomp_load(ctx)
        if result != 0:
            raise ContainmentError(f"seccomp_load: {os.strerror(-result)}")
    finally:
        lib.seccomp_release(ctx)


# -- can this host do it? ----------------------------------------------------------------------

_SUPPORT: dict[str, Support] = {}  # by user
_PROBE = (
    "import json, os, socket, sys\n"
    "from evaluators.containment import Confinement, enter\n"
    "enter(Confinement.from_json(sys.argv[1]), scratch=sys.argv[2])\n"
    "try:\n"
    "    socket.create_connection(('127.0.0.1', 9), timeout=1); net = 'up'\n"
    "except OSError as exc:\n"
    "    net = type(exc).__name__\n"
    "print(json.dumps({'uid': os.getuid(), 'pid': os.getpid(), 'network': net}))\n"
)


def host_support(user: str = DEFAULT_USER, *, refresh: bool = False) -> Support:
    """Make a sandbox in a short-lived interpreter (~0.2 s, once per process): can this host?"""
    if user in _SUPPORT and not refresh:
        return _SUPPORT[user]
    mode = "root" if os.geteuid() == 0 else "userns"
    if not sys.platform.startswith("linux"):
        return Support(False, mode, f"namespaces are Linux's; this is {sys.platform}")
    seccomp = seccomp_available()
    confinement = Confinement(user=user, seccomp=seccomp, tmp_bytes=2**20)
    scratch = tempfile.mkdtemp(prefix="evalbot-sandbox-check-")
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, confinement.to_json(), scratch],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        support = Support(False, mode, f"the sandbox check did not run: {exc}")
    else:
        lines = done.stdout.strip().splitlines()
        if done.returncode == 0 and lines:
            details = json.loads(lines[-1])
            up = details.get("network") == "up"
            reason = "a socket reached 127.0.0.1 from inside the sandbox" if up else ""
            support = Support(not up, mode, reason, seccomp=seccomp, details=details)
        else:
            error = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            support = Support(False, mode, _advice(mode, error, user), seccomp=seccomp)
    finally:
        os.rmdir(scratch)
    _SUPPORT[user] = support
    return support


def _advice(mode: str, error: str, user: str) -> str:
    if mode == "root":
        how = (
            "the worker runs as root but the kernel refused a namespace or a mount (a container "
            "without CAP_SYS_ADMIN?): run it with namespaces allowed (docker: --cap-add SYS_ADMIN "
            "--security-opt seccomp=unconfined, or a VM)"
        )
        if "no user" in error:
            how = f"create the account {user!r} or name another in isolation.user"
    else:
        how = (
            "the kernel refused an unprivileged user namespace: allow them "
            "(sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces>0; Ubuntu "
            "24.04+: kernel.apparmor_restrict_unprivileged_userns=0), or run the worker as root"
        )
    return f"{error}; {how}"
