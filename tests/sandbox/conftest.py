"""Fixtures for the sandbox conformance suite: real `SandboxServer`s on free 127.0.0.1 ports.

`sandbox_factory(**config)` starts a server per test (cheap: books are built lazily); `shared_sandbox` is one
module-wide server for read-only checks. Every `/v2` response of every server is validated against our JSON
Schemas of the official OpenAPI document (`spec_validation`); a test whose responses break them fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from spec_validation import ResponseRecorder
from spiris_sandbox.server import SandboxServer
from testkit.sandbox import sandbox_server, start_sandbox
from testkit.sandbox_control import SandboxControl
from testkit.sandbox_oauth import SUITE_CONFIG


@pytest.fixture(scope="module")
def module_recorder() -> Iterator[ResponseRecorder]:
    recorder = ResponseRecorder()
    yield recorder
    assert not recorder.found, "responses that break the spec schemas:\n" + "\n".join(recorder.found)


@pytest.fixture(autouse=True)
def spec_conformance(module_recorder: ResponseRecorder) -> Iterator[ResponseRecorder]:
    """Fail the test that produced a response breaking the spec schemas (checked after it)."""
    before = len(module_recorder.found)
    yield module_recorder
    new = module_recorder.found[before:]
    del module_recorder.found[before:]
    assert not new, "responses that break the spec schemas:\n" + "\n".join(new)


@pytest.fixture
def sandbox_factory(module_recorder: ResponseRecorder) -> Iterator[Callable[..., SandboxServer]]:
    servers: list[SandboxServer] = []

    def start(**overrides: Any) -> SandboxServer:
        server = start_sandbox(wrap=module_recorder.wrap, **{**SUITE_CONFIG, **overrides})
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def shared_sandbox(module_recorder: ResponseRecorder) -> Iterator[SandboxServer]:
    with sandbox_server(wrap=module_recorder.wrap, **SUITE_CONFIG) as server:
        yield server


@pytest.fixture
def control_for() -> Iterator[Callable[[SandboxServer], SandboxControl]]:
    """`control_for(server)`: the control API of a server of this test (one client a server, closed after)."""
    controls: dict[str, SandboxControl] = {}

    def control(server: SandboxServer) -> SandboxControl:
        if server.url not in controls:
            controls[server.url] = SandboxControl(server.url)
        return controls[server.url]

    yield control
    for opened in controls.values():
        opened.close()
