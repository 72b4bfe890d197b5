"""Run the sandbox Hub: blocking (`serve`) or in a background thread (`run_in_thread`).

Example:
    >>> with run_in_thread(data_dir=Path("/tmp/hub")) as hub:
    ...     HfApi(endpoint=hub.url, token=hub.tokens["demo"]).whoami()["name"]
    'demo'
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from pathlib import Path
from types import TracebackType

import uvicorn

from sandbox.app import create_app
from sandbox.hub import Hub

_STARTUP_TIMEOUT_S = 30.0


def serve(
    *, host: str = "127.0.0.1", port: int = 8900, data_dir: Path, page_size: int | None = None
) -> None:
    """Serve the sandbox Hub until interrupted (uvicorn, log level warning)."""
    uvicorn.run(
        create_app(data_dir, page_size=page_size), host=host, port=port, log_level="warning"
    )


class RunningSandbox:
    """A sandbox Hub served by uvicorn in a daemon thread; `stop()` (or leaving `with`) ends it.

    Attributes:
        url: e.g. `http://127.0.0.1:8900` (use it as `HF_ENDPOINT`).
        tokens: `{"demo": ..., "evalbot": ...}`.
        hub: the served state; `hub.storage` writes repos directly (e.g. content the client
            refuses to send, such as a README with broken front matter).
    """

    def __init__(
        self, server: uvicorn.Server, thread: threading.Thread, url: str, hub: Hub
    ) -> None:
        self._server = server
        self._thread = thread
        self.url = url
        self.hub = hub
        self.tokens = dict(hub.tokens)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

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
        RuntimeError: when it does not answer within 30 s.
    """
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
    return RunningSandbox(server, thread, url, app.state.hub)


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
