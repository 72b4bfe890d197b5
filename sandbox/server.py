"""Run the sandbox Hub: blocking (`serve`) or in a background thread (`run_in_thread`).

Either way the serving process records itself in `<data dir>/server.json` (see
`sandbox.server_record`) and refuses a data dir that another live process serves.

Example:
    >>> with run_in_thread(data_dir=Path("/tmp/hub")) as hub:
    ...     HfApi(endpoint=hub.url, token=hub.tokens["demo"]).whoami()["name"]
    'demo'
"""

from __future__ import annotations

import signal
import socket
import threading
import time
import urllib.request
from pathlib import Path
from types import FrameType, TracebackType

import uvicorn

from sandbox import server_record
from sandbox.app import create_app
from sandbox.hub import Hub
from sandbox.server_record import ServerRecord

_STARTUP_TIMEOUT_S = 30.0


def serve(
    *, host: str = "127.0.0.1", port: int = 8900, data_dir: Path, page_size: int | None = None
) -> None:
    """Serve the sandbox Hub until SIGINT or SIGTERM, then stop cleanly (uvicorn, log level
    warning).

    Raises:
        DataDirInUse: another live process serves `data_dir`.
    """
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    with run_in_thread(data_dir=data_dir, host=host, port=port, page_size=page_size) as running:
        print(f"sandbox Hub on {running.url} (data: {data_dir})", flush=True)
        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while running.alive and not stop.wait(0.5):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class RunningSandbox:
    """A sandbox Hub served by uvicorn in a daemon thread; `stop()` (or leaving `with`) ends it.

    Attributes:
        url: e.g. `http://127.0.0.1:8900` (use it as `HF_ENDPOINT`).
        tokens: `{"demo": ..., "evalbot": ...}`.
        hub: the served state; `hub.storage` writes repos directly (e.g. content the client
            refuses to send, such as a README with broken front matter).
    """

    def __init__(
        self,
        server: uvicorn.Server,
        thread: threading.Thread,
        hub: Hub,
        record: ServerRecord,
    ) -> None:
        self._server = server
        self._thread = thread
        self._record = record
        self.url = record.url
        self.hub = hub
        self.tokens = dict(hub.tokens)

    @property
    def alive(self) -> bool:
        """Whether the server thread still runs."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and remove the data dir's `server.json`."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        server_record.withdraw(self.hub.storage.root, self._record)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def run_in_thread(
    *, data_dir: Path, host: str = "127.0.0.1", port: int = 0, page_size: int | None = None
) -> RunningSandbox:
    """Start the sandbox Hub on `port` (0: a free one) and return once it answers.

    Raises:
        DataDirInUse: another live process serves `data_dir` (its URL is in the error).
        RuntimeError: when it does not answer within 30 s.
        OSError: when `port` is taken.
    """
    with server_record.claim(data_dir):
        app = create_app(data_dir, page_size=page_size)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        url = f"http://{host}:{sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        _wait_until_up(url, thread)
        record = server_record.publish(data_dir, url)
    return RunningSandbox(server, thread, app.state.hub, record)


def _wait_until_up(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the sandbox Hub stopped while starting")
        try:
            with urllib.request.urlopen(f"{url}/_sandbox/health", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the sandbox Hub did not answer at {url}")
