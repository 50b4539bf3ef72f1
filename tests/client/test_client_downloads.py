"""`Downloader` on temporary storage links: renewal after expiry, bounded failure, short bodies, no token.

Expiry and cut-offs come from the sandbox's storage host; the header check and the lying `Content-Length` use
a tiny local HTTP server that records what it receives.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler

import pytest
from spiris_client import (
    Attachment,
    Downloader,
    DownloadError,
    DownloadExpired,
    DownloadPolicy,
    SpirisApi,
    TokenSet,
)
from testkit.local_http import serve
from testkit.sandbox_control import SandboxControl

ApiFor = Callable[..., tuple[SpirisApi, object]]
MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff")


@pytest.fixture
def api(api_for: ApiFor, issue_token: Callable[..., TokenSet]) -> SpirisApi:
    client, _ = api_for(issue_token(1).access_token)
    return client


@pytest.fixture
def downloader() -> Iterator[Downloader]:
    waits: list[float] = []
    # The sandbox and the recording storage both live on 127.0.0.1 over http: the local-stack policy.
    local = DownloadPolicy(allowed_hosts=("127.0.0.1",), allow_insecure=True)
    with Downloader(sleep=waits.append, backoff_cap=0.01, policy=local) as d:
        yield d


def _attachment(api: SpirisApi) -> Attachment:
    for page in api.attachments(page_size=100):
        for item in page.items:
            if (
                item.content_type in ("application/pdf", "image/png", "image/jpeg")
                and item.attachment_status == 0
            ):
                return api.attachment(item.id)
    raise AssertionError("the sandbox has no downloadable attachment")


def _reference(downloader: Downloader, api: SpirisApi, attachment_id: str) -> bytes:
    url = api.attachment(attachment_id).temporary_url
    assert url
    return b"".join(downloader.stream(url))


def test_an_expired_link_is_renewed_through_the_metadata(
    api: SpirisApi, downloader: Downloader, control: SandboxControl
) -> None:
    attachment = _attachment(api)
    reference = _reference(downloader, api, attachment.id)
    assert reference.startswith(MAGIC)

    stale = attachment.temporary_url
    assert stale
    control.faults(expire_links=True)
    fetched: list[str] = []

    def fresh_url() -> str | None:
        url = api.attachment(attachment.id).temporary_url
        assert url
        fetched.append(url)
        return url

    body = b"".join(downloader.stream(stale, refresh_url=fresh_url))
    assert body == reference
    assert len(fetched) == 1 and fetched[0] != stale
    assert downloader.renewals == 1
    assert control.stats()["expired_downloads"] == 1


def test_a_link_past_its_ttl_is_renewed_too(
    api: SpirisApi, downloader: Downloader, control: SandboxControl
) -> None:
    attachment = _attachment(api)
    stale = attachment.temporary_url
    assert stale
    control.advance(301)  # the sandbox's links live 300 s; the access token (1 h) is still valid
    body = b"".join(downloader.stream(stale, refresh_url=lambda: api.attachment(attachment.id).temporary_url))
    assert body.startswith(MAGIC)
    assert downloader.renewals == 1


def test_a_link_that_keeps_expiring_ends_as_download_expired(
    api: SpirisApi, downloader: Downloader, control: SandboxControl
) -> None:
    attachment = _attachment(api)
    stale = attachment.temporary_url
    assert stale
    control.faults(expire_links=True)
    with pytest.raises(DownloadExpired) as caught:
        b"".join(downloader.stream(stale, refresh_url=lambda: stale))
    assert downloader.renewals == 2
    assert stale.rsplit("/", 1)[-1] not in str(caught.value)
    with pytest.raises(DownloadExpired):
        b"".join(downloader.stream(stale))


def test_a_cut_off_download_is_an_error_and_download_to_restarts_it(
    api: SpirisApi, downloader: Downloader, control: SandboxControl
) -> None:
    attachment = _attachment(api)
    reference = _reference(downloader, api, attachment.id)

    control.faults(truncate_downloads=1)
    url = api.attachment(attachment.id).temporary_url
    assert url
    with pytest.raises(DownloadError):
        b"".join(downloader.stream(url))

    control.faults(truncate_downloads=1)
    sink = io.BytesIO()
    sink.write(b"keep")
    written = downloader.download_to(
        url, sink, refresh_url=lambda: api.attachment(attachment.id).temporary_url
    )
    assert written == len(reference)
    assert sink.getvalue() == b"keep" + reference


def test_sie_export_arrives_through_its_temporary_url(api: SpirisApi, downloader: Downloader) -> None:
    year = max(api.fiscal_years(), key=lambda y: y.start_date or date.min)
    assert year.start_date and year.end_date
    document = api.sie4export(year.start_date, year.end_date)
    assert document.temporary_url
    body = b"".join(downloader.stream(document.temporary_url))
    assert body.startswith(b"#FLAGGA")
    assert b"#VER" in body


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []
    body = b"%PDF-1.4 fake document body " * 100

    def do_GET(self) -> None:
        _Recorder.seen.append({k.lower(): v for k, v in self.headers.items()})
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/temp/fileanonymous/final?sig=abc")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/short"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body[: len(self.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/pdf")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def storage() -> Iterator[str]:
    _Recorder.seen = []
    with serve(_Recorder) as url:
        yield url


def test_storage_never_receives_the_bearer_token(
    storage: str, api: SpirisApi, downloader: Downloader
) -> None:
    assert api.company_settings().name  # the API client has sent its bearer token in this process
    body = b"".join(downloader.stream(f"{storage}/redirect/temp/fileanonymous/abc?sig=xyz"))
    assert body == _Recorder.body
    assert len(_Recorder.seen) == 2  # the redirect and its target
    for headers in _Recorder.seen:
        assert "authorization" not in headers
        assert "cookie" not in headers


def test_a_body_shorter_than_its_content_length_is_never_returned(
    storage: str, downloader: Downloader
) -> None:
    received = bytearray()
    with pytest.raises(DownloadError):
        for chunk in downloader.stream(f"{storage}/short/temp/fileanonymous/abc"):
            received.extend(chunk)
    assert len(received) < len(_Recorder.body)
