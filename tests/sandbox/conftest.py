"""Fixtures for the sandbox conformance suite: real `SandboxServer`s on free 127.0.0.1 ports.

`sandbox_factory(**config)` starts a server per test (cheap: books are built lazily); `shared_sandbox` is one
module-wide server for read-only checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sandbox_oauth import make_config
from spiris_sandbox.server import SandboxServer


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., SandboxServer]]:
    servers: list[SandboxServer] = []

    def start(**overrides: Any) -> SandboxServer:
        server = SandboxServer(make_config(**overrides)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(make_config()) as server:
        yield server
