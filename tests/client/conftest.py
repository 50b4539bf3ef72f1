"""Fixtures for the client tests: one real `SandboxServer` for the session over HTTP, reset between tests.

`sandbox` auto-approves company 1 (10,000 vouchers in its last fiscal year) so the OAuth flow runs headless;
`control` is the sandbox's control API (`testkit.sandbox_control`); `issue_token()` gets a token pair for a
company without the browser; `api_for()` builds a `SpirisApi` whose sleeps are recorded instead of slept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from spiris_client import SpirisApi, SpirisOAuth, StaticTokenProvider, TokenProvider, TokenSet
from spiris_sandbox.server import SandboxServer
from testkit.sandbox import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, sandbox_server
from testkit.sandbox_control import SandboxControl
from testkit.sleep_recorder import SleepRecorder


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with sandbox_server(
        seed=11,
        redirect_uris=(REDIRECT_URI,),
        vouchers_per_year=10_000,
        auto_approve_company=1,
        rate_limit_per_minute=100_000,
        download_ttl_seconds=300,
    ) as server:
        yield server


@pytest.fixture
def control(sandbox: SandboxServer) -> Iterator[SandboxControl]:
    with SandboxControl(sandbox.url) as ctl:
        ctl.reset()
        yield ctl
        ctl.reset()


@pytest.fixture
def oauth(sandbox: SandboxServer) -> SpirisOAuth:
    return SpirisOAuth(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, identity_url=sandbox.url, sandbox=True)


@pytest.fixture
def issue_token(control: SandboxControl) -> Callable[..., TokenSet]:
    def issue(company: int = 1, **extra: Any) -> TokenSet:
        return TokenSet.from_response(control.tokens(company, **extra), now=time.time())

    return issue


@pytest.fixture
def api_for(sandbox: SandboxServer) -> Iterator[Callable[..., tuple[SpirisApi, SleepRecorder]]]:
    made: list[SpirisApi] = []

    def make(provider: TokenProvider | str, **kwargs: Any) -> tuple[SpirisApi, SleepRecorder]:
        recorder = kwargs.pop("sleep", None) or SleepRecorder()
        tokens = StaticTokenProvider(provider) if isinstance(provider, str) else provider
        api = SpirisApi(sandbox.api_url, token_provider=tokens, sleep=recorder, **kwargs)
        made.append(api)
        return api, recorder

    yield make
    for api in made:
        api.close()
