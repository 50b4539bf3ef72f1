"""Retries, 429 waits and the one token renewal after a 401, against a real sandbox with its fault switches.

Sleeps are recorded by `SleepRecorder` instead of slept, so the waits the client chose can be asserted; where
time must pass for Spiris too, the recorder advances the sandbox's clock by the same amount.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from spiris_client import (
    FileTokenProvider,
    RateLimited,
    ServerError,
    SpirisApi,
    SpirisOAuth,
    SpirisUnavailable,
    StaticTokenProvider,
    TokenSet,
    Unauthorized,
)
from spiris_client.backoff import RetryPolicy, rate_limit_wait
from testkit.sandbox_control import SandboxControl
from testkit.sleep_recorder import SleepRecorder

ApiFor = Callable[..., tuple[SpirisApi, SleepRecorder]]


def test_expired_access_token_is_renewed_once_through_the_token_file(
    tmp_path: Path,
    api_for: ApiFor,
    issue_token: Callable[..., TokenSet],
    oauth: SpirisOAuth,
    control: SandboxControl,
) -> None:
    first = issue_token(1)
    token_file = tmp_path / "token.json"
    token_file.write_text(first.to_json())
    refreshed: list[TokenSet] = []

    def operator_refreshes(_: float) -> None:
        # While the worker waits for the mounted Secret to change, the operator refreshes and replaces it.
        if not refreshed:
            assert first.refresh_token is not None
            refreshed.append(oauth.refresh(first.refresh_token))
            token_file.write_text(refreshed[0].to_json())

    worker_sleep = SleepRecorder(operator_refreshes)
    provider = FileTokenProvider(token_file, wait_for_change=30, poll_interval=0.5, sleep=worker_sleep)
    api, _ = api_for(provider)
    control.advance(3601)  # the access token is now an hour old

    settings = api.company_settings()

    assert settings.name
    assert len(refreshed) == 1
    assert worker_sleep.waits == [0.5]
    calls = api.calls.endpoint("/v2/companysettings")
    assert (calls.requests, calls.unauthorized, calls.retries) == (2, 1, 1)
    assert control.stats()["token_grants"].get("refresh_token") == 1
    assert TokenSet.from_json(token_file.read_text()).access_token == refreshed[0].access_token


def test_unchanged_token_file_after_401_fails_as_unauthorized(
    tmp_path: Path, api_for: ApiFor, issue_token: Callable[..., TokenSet], control: SandboxControl
) -> None:
    token_file = tmp_path / "token.json"
    token_file.write_text(issue_token(1).to_json())
    api, _ = api_for(FileTokenProvider(token_file))
    control.advance(3601)
    with pytest.raises(Unauthorized) as caught:
        api.company_settings()
    assert caught.value.status == 401
    assert api.calls.endpoint("/v2/companysettings").requests == 1


def test_forced_429_is_waited_out_for_the_advised_seconds(
    api_for: ApiFor, issue_token: Callable[..., TokenSet], control: SandboxControl
) -> None:
    api, sleeps = api_for(issue_token(1).access_token)
    control.faults(force_429=1)
    assert api.fiscal_years()
    assert sleeps.waits == [1.0]  # the sandbox says "Try again in 1 seconds."
    calls = api.calls.endpoint("/v2/fiscalyears")
    assert (calls.requests, calls.rate_limited, calls.retries) == (2, 1, 1)
    assert control.stats()["throttled_total"] == 1


def test_real_rate_window_is_waited_out_as_the_message_advises(
    api_for: ApiFor, issue_token: Callable[..., TokenSet], control: SandboxControl
) -> None:
    token = issue_token(1).access_token
    control.rate_limit(per_minute=3, reset=True)
    api, sleeps = api_for(token, sleep=SleepRecorder(lambda seconds: control.advance(seconds)))
    for _ in range(5):
        assert api.fiscal_years()
    assert len(sleeps.waits) == 1
    assert 0 < sleeps.waits[0] <= 60 and sleeps.waits[0] == int(sleeps.waits[0])
    assert api.calls.total.rate_limited == 1
    assert api.calls.total.requests == 6


def test_retry_after_header_wins_over_the_message() -> None:
    policy = RetryPolicy()
    wait = rate_limit_wait(
        retry_after_header="7", developer_message="Try again in 55 seconds.", policy=policy, attempt=0
    )
    assert wait == 7.0
    assert (
        rate_limit_wait(
            retry_after_header=None, developer_message="Try again in 55 seconds.", policy=policy, attempt=0
        )
        == 55.0
    )


def test_persistent_429_ends_as_rate_limited_after_bounded_waits(
    api_for: ApiFor, issue_token: Callable[..., TokenSet], control: SandboxControl
) -> None:
    api, sleeps = api_for(issue_token(1).access_token, max_rate_limit_waits=2)
    control.faults(force_429=10)
    with pytest.raises(RateLimited) as caught:
        api.fiscal_years()
    assert caught.value.retry_after == 1.0
    assert caught.value.error_code == 4010
    assert sleeps.waits == [1.0, 1.0]
    assert api.calls.total.requests == 3


def test_a_5xx_burst_is_retried_with_bounded_jittered_backoff(
    api_for: ApiFor, issue_token: Callable[..., TokenSet], control: SandboxControl
) -> None:
    api, sleeps = api_for(issue_token(1).access_token, max_retries=4, backoff_base=0.2, backoff_cap=1.0)
    control.faults(server_errors=3)
    assert api.company_settings().name
    assert len(sleeps.waits) == 3
    for attempt, wait in enumerate(sleeps.waits):
        assert 0 <= wait <= min(1.0, 0.2 * 2**attempt)
    calls = api.calls.endpoint("/v2/companysettings")
    assert (calls.requests, calls.server_errors, calls.retries) == (4, 3, 3)
    assert control.stats_count("/v2/companysettings") == 4


def test_a_long_5xx_outage_fails_as_unavailable_after_the_bound(
    api_for: ApiFor, issue_token: Callable[..., TokenSet], control: SandboxControl
) -> None:
    api, sleeps = api_for(issue_token(1).access_token, max_retries=3, backoff_cap=0.5)
    control.faults(server_errors=20, server_error_status=503, server_error_code=5001)
    with pytest.raises(SpirisUnavailable) as caught:
        api.company_settings()
    assert caught.value.attempts == 4
    assert isinstance(caught.value.__cause__, ServerError)
    assert caught.value.__cause__.error_code == 5001
    assert caught.value.__cause__.status == 503
    assert len(sleeps.waits) == 3
    assert control.stats_count("/v2/companysettings") == 4


@pytest.mark.timeout(60)
def test_timeouts_are_retried_then_fail_as_unavailable(
    api_for: ApiFor, issue_token: Callable[..., TokenSet], control: SandboxControl
) -> None:
    api, sleeps = api_for(issue_token(1).access_token, timeout=0.2, max_retries=2, backoff_cap=0.1)
    control.faults(slow_ms=600)
    with pytest.raises(SpirisUnavailable) as caught:
        api.company_settings()
    assert caught.value.attempts == 3
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)
    assert api.calls.total.transport_errors == 3
    assert len(sleeps.waits) == 2


def test_an_unreachable_host_fails_as_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits: list[float] = []
    with (
        SpirisApi(
            f"http://127.0.0.1:{port}/v2",
            token_provider=StaticTokenProvider("unused-token-value"),
            max_retries=2,
            backoff_cap=0.01,
            sleep=waits.append,
        ) as api,
        pytest.raises(SpirisUnavailable) as caught,
    ):
        api.company_settings()
    assert caught.value.attempts == 3
    assert len(waits) == 2
