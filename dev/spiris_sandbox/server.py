"""`SandboxServer`: the sandbox served by uvicorn in a background thread on 127.0.0.1 (port 0 → a free port).

Use it as a context manager in tests: `with SandboxServer(SandboxConfig(seed=3)) as sandbox: sandbox.url`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from spiris_sandbox.app import build_app
from spiris_sandbox.config import SandboxConfig
from spiris_sandbox.state import SandboxState


class SandboxServer:
    """One running sandbox; `.url` is its base (identity at `.url`, API at `.url + "/v2"`)."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        access_log: bool = False,
        wrap: Callable[[ASGIApp], ASGIApp] | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self._access_log = access_log
        # An ASGI middleware around the whole app (the conformance suite validates every response with it).
        self._wrap = wrap
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.state: SandboxState | None = None
        self.port = 0

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("the sandbox is not running")
        return f"http://{self.config.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + "/v2"

    def start(self) -> SandboxServer:
        app, self.state = build_app(self.config)
        if self._wrap is not None:
            app = self._wrap(app)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
        # TCP (inherited from this one); with 0, Nagle + the client's delayed ACK add ~40 ms per response.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        self.port = sock.getsockname()[1]
        uv_config = uvicorn.Config(app, log_level="warning", access_log=self._access_log, lifespan="off")
        self._server = uvicorn.Server(uv_config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"spiris-sandbox:{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
