"""The one way a test starts a Spiris sandbox: `sandbox_server(**config)` (a context manager) or
`start_sandbox(**config)` (stopped by the caller), both on a free 127.0.0.1 port with the tests' OAuth client.

Each suite passes only what it varies (seed, sizes, fiscal years, redirect URIs, a `wrap` middleware); the
client credentials are the same everywhere (`CLIENT_ID`, `CLIENT_SECRET`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from spiris_sandbox.config import SandboxConfig
from spiris_sandbox.server import SandboxServer
from starlette.types import ASGIApp

CLIENT_ID = "spiris-tests"
CLIENT_SECRET = "spiris-tests-secret-value"
# The callback an OAuth client outside the web component registers (the client and sandbox suites).
REDIRECT_URI = "https://localhost:44300/callback"

Wrap = Callable[[ASGIApp], ASGIApp]


def sandbox_config(**config: Any) -> SandboxConfig:
    """A `SandboxConfig` with the tests' OAuth client; keyword arguments are `SandboxConfig` fields."""
    values: dict[str, Any] = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **config}
    return SandboxConfig(**values)


def start_sandbox(*, wrap: Wrap | None = None, **config: Any) -> SandboxServer:
    """A started sandbox (the caller stops it); `wrap` wraps its ASGI app (e.g. a response recorder)."""
    return SandboxServer(sandbox_config(**config), wrap=wrap).start()


@contextmanager
def sandbox_server(*, wrap: Wrap | None = None, **config: Any) -> Iterator[SandboxServer]:
    """A sandbox for the `with` block, stopped at its end even when the block fails."""
    server = start_sandbox(wrap=wrap, **config)
    try:
        yield server
    finally:
        server.stop()
