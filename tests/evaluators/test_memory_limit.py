"""The memory limit of an evaluation's process tree: what counts (its own anonymous and shared
memory, once) and what does not (mapped files, pages its forked workers share with it)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from evaluators.memory_limit import MemoryLimit, cgroup_parent, tree_memory

MiB = 2**20

# A parent holding 100 MiB of shared memory (as decode workers hand batches over), with two
# forked workers holding 100 MiB each: every process is under 256 MiB, the three are not.
TOGETHER = """
import mmap, os, time
shared = mmap.mmap(-1, 100 << 20)
shared.write(b"x" * (100 << 20))
for _ in range(2):
    if os.fork() == 0:
        own = b"y" * (100 << 20)
        time.sleep(30)
        os._exit(0)
time.sleep(30)
"""

# A parent that maps a 160 MiB file and reads all of it, holds 64 MiB, then forks three
# workers that leave those pages shared: resident sizes add up to ~0.4 GiB, its own to ~75 MiB.
SHARING = """
import mmap, os, sys, time
with open(sys.argv[1], "rb") as f:
    mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
total = sum(mapped[i] for i in range(0, len(mapped), 4096))
own = b"y" * (64 << 20)
workers = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        time.sleep(0.5)
        os._exit(0)
    workers.append(pid)
print("ready", flush=True)
for pid in workers:
    os.waitpid(pid, 0)
"""


def run(code: str, limit: int, *args: str) -> tuple[subprocess.Popen[str], MemoryLimit]:
    limit_ = MemoryLimit(limit, device="cpu")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # as the isolated child: a session and process group of its own
    )
    limit_.watch(proc.pid)
    return proc, limit_


def test_the_tree_together_is_limited_shared_memory_included() -> None:
    start = time.monotonic()
    proc, limit = run(TOGETHER, 256 * MiB)
    try:
        assert proc.wait(timeout=20) == -9
    finally:
        proc.kill()
        limit.close()
    assert time.monotonic() - start < 10
    assert limit.exceeded is not None
    assert limit.exceeded.startswith("out of memory (limit 0.25 GiB): ")
    if cgroup_parent() is None:
        assert "3 processes of the evaluation held" in limit.exceeded


def test_mapped_files_and_pages_shared_with_forked_workers_count_once(tmp_path: Path) -> None:
    data = tmp_path / "table.arrow"
    with data.open("wb") as f:
        f.truncate(160 * MiB)  # reads fill the page cache (with zeros) all the same
    proc, limit = run(SHARING, 128 * MiB, str(data))
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        usage = tree_memory(proc.pid)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
        limit.close()
    assert limit.exceeded is None
    assert len(usage.pids) == 4
    assert 64 * MiB < usage.own_bytes < 100 * MiB, usage.own_bytes / MiB


def test_rlimit_data_backs_the_watchdog_up_on_the_cpu_only() -> None:
    cpu = MemoryLimit(2**30, device="cpu")
    assert cpu.rlimit_data == (2**30 if cpu.cgroup is None else None)
    cpu.close()
    cuda = MemoryLimit(2**30, device="cuda:0")
    assert cuda.rlimit_data is None  # CUDA maps large private regions to initialise
    cuda.close()
    unlimited = MemoryLimit(None, device="cpu")
    assert unlimited.rlimit_data is None and unlimited.cgroup is None
    unlimited.watch(1)  # nothing to watch
    unlimited.close()
    assert unlimited.exceeded is None
