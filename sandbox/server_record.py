"""Which process serves a data dir: `<data dir>/server.json`, so that one dir has one server.

A server keeps the dir's state in memory, so a second process serving the same dir would never
see the first one's writes (and the other way round). A serving process therefore records
itself, `{"url": ..., "pid": ...}`, once it answers, and removes the record when it stops
cleanly. A record whose process is dead, or whose URL does not answer `/_sandbox/health` for
this very dir, is stale: it is ignored and replaced. Starting a server happens under
`<data dir>/server.lock`, so two processes starting at once cannot both win.

Example:
    >>> live_server(Path("/tmp/hub"))
    ServerRecord(url='http://127.0.0.1:8900', pid=4242)
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from sandbox.errors import DataDirInUse
from sandbox.jsonfile import write_json

RECORD_NAME = "server.json"
_LOCK_NAME = "server.lock"
_HEALTH_TIMEOUT_S = 2.0
_START_LOCK_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ServerRecord:
    """A process serving a data dir, as written in `server.json`."""

    url: str
    pid: int


def read_record(data_dir: Path) -> ServerRecord | None:
    """The record in `data_dir`, live or not; None when there is none (or it is unreadable)."""
    try:
        data = json.loads((data_dir / RECORD_NAME).read_text())
        return ServerRecord(url=str(data["url"]), pid=int(data["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def live_server(data_dir: Path) -> ServerRecord | None:
    """The process serving `data_dir` now, or None when no live process does."""
    record = read_record(data_dir)
    if record is None or not _alive(record.pid):
        return None
    return record if _serves(record.url, data_dir) else None


@contextmanager
def claim(data_dir: Path) -> Iterator[None]:
    """Hold the right to start serving `data_dir`; call `publish` once the server answers.

    Raises:
        DataDirInUse: a live process serves `data_dir` already (or is still starting).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(data_dir / _LOCK_NAME), timeout=_START_LOCK_TIMEOUT_S)
    try:
        lock.acquire()
    except Timeout:
        record = read_record(data_dir)
        raise DataDirInUse(data_dir, None, record.pid if record else None) from None
    try:
        if (live := live_server(data_dir)) is not None:
            raise DataDirInUse(data_dir, live.url, live.pid)
        yield
    finally:
        lock.release()


def publish(data_dir: Path, url: str) -> ServerRecord:
    """Record this process as the server of `data_dir` (atomically; replaces a stale record)."""
    record = ServerRecord(url=url, pid=os.getpid())
    write_json(data_dir / RECORD_NAME, asdict(record))
    return record


def withdraw(data_dir: Path, record: ServerRecord) -> None:
    """Remove `record` on a clean stop, unless another server has replaced it since."""
    if read_record(data_dir) == record:
        (data_dir / RECORD_NAME).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid <= 0:  # 0 and negative ids name process groups, not a process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _serves(url: str, data_dir: Path) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_sandbox/health", timeout=_HEALTH_TIMEOUT_S) as answer:
            health = json.loads(answer.read())
    except (OSError, ValueError):  # URLError and timeouts are OSErrors
        return False
    return isinstance(health, dict) and health.get("data_dir") == str(data_dir.resolve())
