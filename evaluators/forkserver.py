"""A preloaded process that forks the isolated evaluation children.

Starting a fresh interpreter per model costs its imports (torch, transformers, datasets): 5-10 s
on a small machine, most of a short job. The fork server pays them once: it starts with the
child's environment (offline, no token; see :mod:`evaluators.isolation`), imports everything,
says ``ready``, then forks one child per job. A child is a copy of the preloaded server, so it
starts in milliseconds; it gets its own session (process group), the job's log file as stdout and
stderr, then enters its sandbox (:mod:`evaluators.containment`: the server itself is not in one,
so that each job's sandbox sees that job only), gets the job's dataset cache, and dies with the
server, which dies with the worker (``PR_SET_PDEATHSIG``).

The server never runs a model itself (no torch threads, no CUDA context exist when it forks).

Protocol (lines on the server's stdin and stdout):
    worker -> server: ``<job folder>\\t<memory limit>\\t<RLIMIT_DATA>\\t<model types>`` (bytes,
    or 0: none; see :func:`evaluators.isolation.child_main`; model types comma-separated, see
    :func:`warm`)
    server -> worker: ``ready`` (once), ``started <pid>``, then ``exit <code>`` (negative: signal)
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
import weakref
from collections.abc import Sequence
from pathlib import Path

# The server first asks Linux for SIGKILL when its worker dies, before its slow imports.
_SERVER_CODE = (
    "import ctypes, os, sys\n"
    "if sys.platform.startswith('linux'): ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG\n"
    "if os.getppid() != int(sys.argv[1]): os._exit(1)\n"
    "from evaluators.forkserver import serve_forever\n"
    "serve_forever()\n"
)
START_TIMEOUT_S = 600.0


class ForkServerError(RuntimeError):
    """The fork server died or stopped answering."""


class ForkServer:
    """The worker's side: start the server once, then start and wait for children through it.

    Example:
        >>> server = ForkServer(env)  # doctest: +SKIP
        >>> pid = server.start(folder, 8 * 2**30, rlimit_data=None)  # doctest: +SKIP
        >>> server.wait(timeout=1800)  # doctest: +SKIP
        0
    """

    def __init__(self, env: dict[str, str], *, log_path: Path) -> None:
        self._env = env
        self._log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""

    def start(
        self,
        folder: Path,
        memory_limit: int | None,
        rlimit_data: int | None,
        model_types: Sequence[str] = (),
    ) -> int:
        """Fork a child for the job in ``folder``; its pid (also its process group id).

        ``memory_limit`` is named in the child's messages (the worker enforces it);
        ``rlimit_data`` is set by the child on itself. ``model_types``: the job's model's
        ``model_type``, whose transformers code the server imports first (:func:`warm`).

        Raises:
            ForkServerError: When the server cannot be started or does not answer.
        """
        proc = self._ensure()
        assert proc.stdin is not None
        try:
            types = ",".join(
                t for t in model_types if t.replace("_", "").replace("-", "").isalnum()
            )
            line = f"{folder}\t{memory_limit or 0}\t{rlimit_data or 0}\t{types}\n"
            proc.stdin.write(line.encode())
            proc.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            self.close()
            raise ForkServerError(f"the fork server is gone: {error}") from error
        answer = self._line(60.0)
        if answer is None or not answer.startswith("started "):
            self.close()
            raise ForkServerError(f"the fork server answered {answer!r} instead of a pid")
        return int(answer.split()[1])

    def wait(self, timeout: float) -> int | None:
        """The exit code of the running child (negative: killed by that signal); None when it
        is still running after ``timeout`` seconds.

        Raises:
            ForkServerError: When the server died meanwhile.
        """
        answer = self._line(timeout)
        if answer is None:
            return None
        if not answer.startswith("exit "):
            self.close()
            raise ForkServerError(f"the fork server answered {answer!r} instead of an exit code")
        return int(answer.split()[1])

    def close(self) -> None:
        """Stop the server (and, through the death signal, any child it still has)."""
        if self._proc is not None:
            _stop(self._proc)
        self._proc = None
        self._buffer = b""

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self.close()
        with self._log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _SERVER_CODE, str(os.getpid())],
                env=self._env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        weakref.finalize(self, _stop, self._proc)  # no server outlives its owner
        answer = self._line(START_TIMEOUT_S)
        if answer != "ready":
            tail = self._log_path.read_text(errors="replace")[-2000:]
            self.close()
            raise ForkServerError(f"the fork server did not start ({answer!r}): {tail}")
        return self._proc

    def _line(self, timeout: float) -> str | None:
        """The server's next line; None after ``timeout`` s without one.

        Raises:
            ForkServerError: When the server closed its output (it died).
        """
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                self.close()
                raise ForkServerError("the fork server died")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            stream.close()


# -- the server's side -----------------------------------------------------------------------


# What a child would otherwise import on its first model, whatever the model (~0.8 s here): the
# evaluators of every task type and transformers' generic model-loading code.
PRELOAD = (
    "evaluators.text_classification",
    "evaluators.image_classification",
    "evaluators.object_detection",
    "evaluators.token_classification",
    "evaluators.question_answering",
    "evaluators.generation",
    "evaluators.speech",
    "transformers.modeling_utils",
    "transformers.activations",
)


def serve_forever() -> None:
    """Preload, then fork one child per job line until stdin closes."""
    import importlib

    import evaluators.isolation  # noqa: F401  (torch, transformers, datasets, the evaluators)

    for name in PRELOAD:
        with contextlib.suppress(Exception):  # a missing optional part costs the child time only
            importlib.import_module(name)
    out = sys.stdout.buffer
    out.write(b"ready\n")
    out.flush()
    for raw in sys.stdin.buffer:
        folder, limit, rlimit_data, *rest = raw.decode().rstrip("\n").split("\t")
        warm(rest[0].split(",") if rest else [])
        pid = os.fork()
        if pid == 0:
            _child(folder, limit, rlimit_data)
        out.write(f"started {pid}\n".encode())
        out.flush()
        _, status = os.waitpid(pid, 0)
        out.write(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
        out.flush()


def warm(model_types: list[str]) -> None:
    """Import transformers' own modelling code for these ``model_type`` values (each once per
    server), so that the children forked after it load such a model without importing it again
    (~0.2-0.5 s a model). Only names transformers lists are imported: a name is data from a
    model's ``config.json``, never a module path."""
    import importlib

    from transformers.models.auto.configuration_auto import (
        CONFIG_MAPPING_NAMES,
        model_type_to_module_name,
    )

    for model_type in model_types:
        if model_type not in CONFIG_MAPPING_NAMES:
            continue
        module = model_type_to_module_name(model_type)
        for part in ("modeling", "tokenization", "image_processing"):
            with contextlib.suppress(Exception):  # absent (no tokenizer of its own) or broken
                importlib.import_module(f"transformers.models.{module}.{part}_{module}")


def _child(folder: str, limit: str, rlimit_data: str) -> None:
    """In the forked child: a session of its own, the job's log and dataset cache; never
    returns."""
    code = 1
    try:
        server = os.getppid()
        os.setsid()
        if sys.platform.startswith("linux"):
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the server
        if os.getppid() != server:
            os._exit(1)
        log = os.open(Path(folder) / "child.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        from evaluators.containment import confine_job
        from evaluators.isolation import child_main

        result = confine_job(folder)  # the sandbox, where the worker asked for one
        _use_dataset_cache(Path(os.environ["HF_DATASETS_CACHE"]))
        child_main(folder, limit, rlimit_data, result=result)
        code = 0
    except BaseException:  # the parent sees no result file: a typed death with this log
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _use_dataset_cache(root: Path) -> None:
    """Point the preloaded ``datasets`` at the job's cache (it read the variable at import)."""
    import datasets.config

    os.environ["HF_DATASETS_CACHE"] = str(root)
    datasets.config.HF_DATASETS_CACHE = root
    datasets.config.DOWNLOADED_DATASETS_PATH = root / datasets.config.DOWNLOADED_DATASETS_DIR
    datasets.config.EXTRACTED_DATASETS_PATH = (
        datasets.config.DOWNLOADED_DATASETS_PATH / datasets.config.EXTRACTED_DATASETS_DIR
    )
