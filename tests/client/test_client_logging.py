"""No token, code, secret or storage link ever reaches a log line or an error message.

Runs the whole client life — consent redirect, code exchange, rotation, a 401 renewal, 429 and 5xx retries,
an expired download link, a reused refresh token — with every logger (ours, httpx, httpcore) at DEBUG, then
searches everything captured for the secrets that were in play.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from spiris_client import (
    ConsentRequired,
    Downloader,
    DownloadPolicy,
    FileTokenProvider,
    SpirisApi,
    SpirisOAuth,
    new_code_verifier,
)
from testkit.sandbox import CLIENT_SECRET
from testkit.sandbox_control import SandboxControl
from testkit.sleep_recorder import SleepRecorder


@pytest.mark.timeout(120)
def test_no_secret_appears_in_debug_logs_or_errors(
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    oauth: SpirisOAuth,
    api_for: Callable[..., tuple[SpirisApi, SleepRecorder]],
    control: SandboxControl,
) -> None:
    secrets: set[str] = {CLIENT_SECRET}
    errors: list[str] = []
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "spiris_client"):
        caplog.set_level(logging.DEBUG, logger=name)

    verifier = new_code_verifier()
    redirect = httpx.get(oauth.authorization_url("state-log", verifier), follow_redirects=False)
    code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    secrets |= {code, verifier}
    first = oauth.exchange_code(code, verifier)
    assert first.refresh_token
    secrets |= {first.access_token, first.refresh_token}

    token_file = tmp_path / "token.json"
    token_file.write_text(first.to_json())
    rotated: list[str] = []

    def operator_refresh(_: float) -> None:
        if not rotated:
            assert first.refresh_token
            new = oauth.refresh(first.refresh_token)
            assert new.refresh_token
            secrets.update((new.access_token, new.refresh_token))
            rotated.append(new.access_token)
            token_file.write_text(new.to_json())

    provider = FileTokenProvider(token_file, wait_for_change=10, poll_interval=0.1, sleep=operator_refresh)
    api, _ = api_for(provider, backoff_cap=0.01)

    control.advance(3601)
    control.faults(force_429=1, server_errors=1)
    year_id = api.fiscal_years()[0].id
    list(api.vouchers(year_id, page_size=50, start_page=200))
    assert rotated, "the 401 renewal path must have run"

    attachment = next(a for p in api.attachments(page_size=50) for a in p.items if a.attachment_status == 0)
    url = api.attachment(attachment.id).temporary_url
    assert url
    secrets.add(urlsplit(url).path.rsplit("/", 1)[-1])
    control.faults(expire_links=True)
    with Downloader(policy=DownloadPolicy(allowed_hosts=("127.0.0.1",), allow_insecure=True)) as downloader:
        fresh_urls: list[str] = []

        def refresh_url() -> str | None:
            fresh = api.attachment(attachment.id).temporary_url
            assert fresh
            fresh_urls.append(fresh)
            secrets.add(urlsplit(fresh).path.rsplit("/", 1)[-1])
            return fresh

        assert b"".join(downloader.stream(url, refresh_url=refresh_url))

    try:
        oauth.refresh(first.refresh_token)
    except ConsentRequired as exc:
        errors.append(str(exc))
        errors.append(repr(exc))
    assert errors, "reusing a rotated refresh token must fail"

    captured = caplog.text + "\n".join(r.getMessage() for r in caplog.records) + "\n".join(errors)
    assert "HTTP Request" in captured  # httpx really logged at this level
    assert any(r.name.startswith("httpcore") for r in caplog.records)
    leaked = sorted(s for s in secrets if s and s in captured)
    assert not leaked, f"{len(leaked)} secret value(s) leaked into logs"
