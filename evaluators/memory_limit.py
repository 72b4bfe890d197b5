"""The memory limit of an isolated evaluation: its child process and every process it starts.

An evaluation is a tree of processes: the child of :mod:`evaluators.isolation` reads its splits
through decode worker processes that it forks (:mod:`evaluators.streaming`). A limit per process
(``RLIMIT_DATA``) would give each worker a limit of its own, so the limit bounds the tree, in
one of two ways, chosen for each child:

cgroup, where the host allows it:
    the worker makes a cgroup v2 for the child (``evalbot-<worker pid>-<n>``) with
    ``memory.max`` at the limit, ``memory.swap.max`` 0 and ``memory.oom.group`` 1, and moves
    the child into it as soon as it has started; whatever the child starts is born inside. The
    kernel enforces it: past the limit it first reclaims page cache (memory-mapped Arrow files
    and weights are clean file pages, charged but dropped when needed), then kills the whole
    tree; the worker reads that in ``memory.events`` (``oom_kill``). It needs a cgroup2 mount
    whose memory controller is delegated to the worker: the worker's own cgroup, or its parent
    (a service with ``Delegate=yes`` whose processes sit in a leaf), lists ``memory`` in
    ``cgroup.subtree_control`` and is writable (:func:`cgroup_parent`).
watchdog, everywhere else (cgroup v1 hosts, a container's read-only ``/sys/fs/cgroup``):
    a thread of the worker samples the tree every :data:`WATCH_INTERVAL_S`: the child, its
    descendants (by parent pid) and the members of its session, and adds up what each holds of
    its own, ``Pss_Anon + Pss_Shmem + SwapPss`` of ``/proc/<pid>/smaps_rollup``:

    - anonymous and shared memory only: file-backed pages (a memory-mapped Arrow file, the
      safetensors weights transformers and :func:`evaluators.loading.load_timm_model` map on
      the CPU) are page cache the kernel can drop, so a memory-mapped 10 GB dataset does not
      count;
    - proportional (PSS), not resident (RSS): a decode worker forked after the model loaded
      maps the model's pages copy-on-write, and a sum of RSS would count them once per worker.
      Pages shared with a process outside the tree count in part: a child forked from the
      preloaded server starts at about half of the server's ~0.45 GB of imports, and more as
      it writes to those pages.

    Reading ``smaps_rollup`` walks a process's page tables (~40 ms for one that imported
    torch), so each sample first adds up the resident counters of ``/proc/<pid>/status``
    (``RssAnon + RssShmem + VmSwap``: constant time, never less than the proportional figure)
    and counts exactly only when those exceed the limit, then waits at least four times as long
    as that count took (at most a fifth of one core). Past the limit it SIGKILLs the child's
    process group and every process of the tree.

    It is a sample, not a barrier: memory allocated faster than the interval can overshoot
    until the next sample. Where the device is the CPU, the child therefore also sets
    ``RLIMIT_DATA`` at the limit on itself (:attr:`MemoryLimit.rlimit_data`), which fails an
    oversized allocation at once, as a ``MemoryError``, in the process that makes it. It counts
    the private writable address space of each process (more than the process holds: the child
    inherits the server's ~2 GB of it, and a memory-mapped safetensors file counts whole), and
    it is never set for CUDA, which maps large private regions to initialise.

GPU memory counts in neither: torch raises its own ``OutOfMemoryError`` there.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

_log = logging.getLogger(__name__)
WATCH_INTERVAL_S = 0.25
PROC = Path("/proc")
_OWN = ("Pss_Anon", "Pss_Shmem", "SwapPss")  # kB in smaps_rollup (Linux 5.9 and later)
_RESIDENT = ("RssAnon", "RssShmem", "VmSwap")  # kB in status: shared pages counted whole
_cgroup_names = itertools.count()


def gib(limit: int | None) -> str:
    """``limit`` bytes for a message: ``"8 GiB"``, ``"0.25 GiB"``, ``"no limit"``."""
    return f"{limit / 2**30:.3g} GiB" if limit else "no limit"


@dataclass(frozen=True)
class TreeMemory:
    """What a process tree holds of its own (bytes, see the module docstring) and its pids."""

    own_bytes: int
    pids: tuple[int, ...]


def tree_memory(pid: int) -> TreeMemory:
    """The memory of ``pid``, its descendants and its session's members, as the watchdog counts.

    Example:
        >>> tree_memory(os.getpid()).own_bytes > 0
        True
    """
    pids = _tree(pid)
    return TreeMemory(sum(_own_bytes(p) for p in pids), tuple(pids))


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    todo = [root]
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is None:
            continue
        pid, ppid, session = int(entry.name), int(fields[1]), int(fields[3])
        children.setdefault(ppid, []).append(pid)
        if session == root and pid != root:  # e.g. a worker whose parent died before it
            todo.append(pid)
    seen: list[int] = []
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.append(pid)
            todo.extend(children.get(pid, ()))
    return seen


def _stat(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state, ppid, pgrp, session,
    ...; field n of proc(5) at index n - 3); None when the process is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :].split()


def _start_time(pid: int) -> int | None:
    fields = _stat(pid)
    return None if fields is None else int(fields[19])


def _own_bytes(pid: int) -> int:
    own = _kib(pid, "smaps_rollup", _OWN)
    if own is None:  # before Linux 5.9: no proportional anonymous figure
        return _resident_bytes(pid)
    return own * 1024


def _resident_bytes(pid: int) -> int:
    """An upper bound of :func:`_own_bytes` in constant time."""
    return (_kib(pid, "status", _RESIDENT) or 0) * 1024


def _kib(pid: int, name: str, fields: tuple[str, ...]) -> int | None:
    """The sum of ``fields`` in ``/proc/<pid>/<name>``; 0 when the process is gone, None when
    the file lacks the first field."""
    try:
        text = (PROC / str(pid) / name).read_text()
    except OSError:  # gone meanwhile
        return 0
    if f"{fields[0]}:" not in text:
        return None
    kib = 0
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in fields:
            kib += int(value.split()[0])
    return kib


def _kill_tree(pid: int, pids: tuple[int, ...]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for member in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member, signal.SIGKILL)


# -- cgroup v2 ----------------------------------------------------------------------------------


def cgroup_parent() -> Path | None:
    """The cgroup v2 directory in which this process may make memory-limited cgroups, or None.

    That is its own cgroup (possible at the root of a hierarchy only: other cgroups that hold
    processes cannot hand controllers down) or the parent of its own cgroup, when it lists
    ``memory`` in ``cgroup.subtree_control`` and this process may write it.
    """
    try:
        own = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    path = next((line[3:] for line in own if line.startswith("0::")), None)
    if path is None:  # no cgroup v2 hierarchy
        return None
    for line in mounts:
        fields, _, fs = line.partition(" - ")
        if fs.split()[:1] != ["cgroup2"]:
            continue
        root, mount_point = (_unescape(f) for f in fields.split()[3:5])
        relative = os.path.relpath(path, root)
        if relative.startswith(".."):  # this mount does not show our cgroup
            continue
        here = Path(os.path.normpath(Path(mount_point) / relative))
        for candidate in (here, here.parent):
            if candidate.is_relative_to(mount_point) and _delegates_memory(candidate):
                return candidate
    return None


def _unescape(field: str) -> str:
    r"""A mountinfo path: space, tab, newline and backslash are written as ``\040`` etc."""
    for code in ("\\040", "\\011", "\\012", "\\134"):
        field = field.replace(code, chr(int(code[1:], 8)))
    return field


def _delegates_memory(cgroup: Path) -> bool:
    try:
        controllers = (cgroup / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False
    return (
        "memory" in controllers
        and os.access(cgroup, os.W_OK)
        and os.access(cgroup / "cgroup.procs", os.W_OK)
    )


def _new_cgroup(limit: int) -> Path | None:
    parent = cgroup_parent()
    if parent is None:
        return None
    _remove_stale(parent)
    cgroup = parent / f"evalbot-{os.getpid()}-{next(_cgroup_names)}"
    try:
        cgroup.mkdir()
        (cgroup / "memory.max").write_text(str(limit))
        if (cgroup / "memory.swap.max").exists():
            (cgroup / "memory.swap.max").write_text("0")
        (cgroup / "memory.oom.group").write_text("1")  # the kernel kills the tree, not a part
    except OSError as exc:
        _log.warning("no cgroup memory limit in %s (%s); a watchdog limits the child", parent, exc)
        _remove_cgroup(cgroup)
        return None
    return cgroup


def _remove_stale(parent: Path) -> None:
    """Remove the empty cgroups of workers that died (their children died with them)."""
    for stale in parent.glob("evalbot-*-*"):
        owner = stale.name.split("-")[1]
        if owner.isdigit() and int(owner) != os.getpid() and _stat(int(owner)) is None:
            with contextlib.suppress(OSError):
                stale.rmdir()


def _remove_cgroup(cgroup: Path) -> None:
    """Kill what is left in ``cgroup`` (``cgroup.kill``, Linux 5.14), then remove it."""
    with contextlib.suppress(OSError):
        (cgroup / "cgroup.kill").write_text("1")
    deadline = time.monotonic() + 5
    while True:
        try:
            cgroup.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:  # EBUSY while the killed processes exit
            if time.monotonic() > deadline:
                _log.warning("could not remove the cgroup %s: %s", cgroup, exc)
                return
            time.sleep(0.02)


def _oom_kills(cgroup: Path) -> int:
    try:
        events = (cgroup / "memory.events").read_text().splitlines()
    except OSError:
        return 0
    counts = dict(line.split() for line in events if line.strip())
    return int(counts.get("oom_kill", "0"))


# -- one child's limit --------------------------------------------------------------------------


class MemoryLimit:
    """The memory limit of one child and the processes it starts (see the module docstring).

    Example:
        >>> with MemoryLimit(8 * 2**30, device="cpu") as limit:  # doctest: +SKIP
        ...     child = start_child(rlimit_data=limit.rlimit_data)
        ...     limit.watch(child.pid)
        ...     child.wait()
        >>> limit.exceeded  # doctest: +SKIP
        'out of memory (limit 8 GiB): 3 processes of the evaluation held 8.02 GiB ...'

    Args:
        limit: bytes for the whole tree; None: no limit.
        device: the torch device the child evaluates on (``cpu``, ``cuda``, ``cuda:1``).
    """

    def __init__(self, limit: int | None, *, device: str) -> None:
        self.limit = limit
        self.cgroup = _new_cgroup(limit) if limit else None
        cpu = device.split(":")[0] == "cpu"
        # bytes of RLIMIT_DATA the child sets on itself (the watchdog's backstop); None: none
        self.rlimit_data = limit if cpu and self.cgroup is None else None
        # why the limit ended the child (an "out of memory" detail), once it did; read it after
        # close()
        self.exceeded: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, pid: int) -> None:
        """Limit the started child ``pid`` (its own process group and session) and its tree."""
        if self.limit is None:
            return
        if self.cgroup is not None:
            try:
                (self.cgroup / "cgroup.procs").write_text(str(pid))
                return
            except OSError as exc:
                _log.warning(
                    "cannot move %d into %s (%s); a watchdog limits it", pid, self.cgroup, exc
                )
                _remove_cgroup(self.cgroup)
                self.cgroup = None
        self._thread = threading.Thread(
            target=self._watch, args=(pid, self.limit), name=f"memory-limit-{pid}", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop watching, or read the cgroup's verdict and remove it (killing what is left)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.cgroup is not None:
            kills = _oom_kills(self.cgroup)
            if kills and self.exceeded is None:
                self.exceeded = (
                    f"out of memory (limit {gib(self.limit)}): the kernel killed the evaluation "
                    f"at its cgroup's memory.max ({self.cgroup.name}); isolation.memory_gib in "
                    "bot.yaml sets the limit"
                )
            _remove_cgroup(self.cgroup)
            self.cgroup = None

    def __enter__(self) -> MemoryLimit:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _watch(self, pid: int, limit: int) -> None:
        started = _start_time(pid)
        while started is not None and not self._stop.is_set():
            pids = _tree(pid)
            wait = WATCH_INTERVAL_S
            if sum(_resident_bytes(p) for p in pids) > limit:
                counting = time.monotonic()
                own = sum(_own_bytes(p) for p in pids)
                wait = max(wait, 4 * (time.monotonic() - counting))
                if own > limit and _start_time(pid) == started:  # (else its pid may be reused)
                    n = len(pids)
                    self.exceeded = (
                        f"out of memory (limit {gib(limit)}): {n} process{'es' if n > 1 else ''} "
                        f"of the evaluation held {gib(own)} of anonymous and shared memory; "
                        "isolation.memory_gib in bot.yaml sets the limit"
                    )
                    _kill_tree(pid, tuple(pids))
                    return
            if _start_time(pid) != started:  # it ended
                return
            self._stop.wait(wait)
