"""Fixtures shared by the end-to-end tests: the control API of the running local stack's sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from spiris_localstack.stack import LocalStack
from testkit.sandbox_control import SandboxControl


@pytest.fixture
def sandbox_control(stack: LocalStack) -> Iterator[SandboxControl]:
    """The sandbox of the test module's `stack` (its own process), through testkit's control client."""
    with SandboxControl(stack.sandbox_url, timeout=30) as control:
        yield control
