"""`Downloader` refuses what Spiris should not make us fetch: plain http, hosts off the allow-list, loopback
and private addresses (also behind a redirect), bodies over the size cap (declared or not), gzip bombs.

Small local HTTP servers on 127.0.0.1 play the storage host and the attacker's target; each records the
requests it received, so "refused" also means "never contacted".
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from spiris_client import Downloader, DownloadPolicy, DownloadRefused, DownloadTooLarge

BODY = b"%PDF-1.4 a small document\n"


class Recording(ThreadingHTTPServer):
    """A server whose handler answers with ``respond(path)``: (status, headers, body)."""

    def __init__(self, respond: Callable[[str], tuple[int, dict[str, str], bytes]]) -> None:
        self.respond = respond
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append({"path": self.path, "headers": dict(self.headers)})
                status, headers, body = server.respond(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def serve() -> Iterator[Callable[..., Recording]]:
    servers: list[Recording] = []

    def start(respond: Callable[[str], tuple[int, dict[str, str], bytes]]) -> Recording:
        server = Recording(respond)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _file(_: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/pdf", "Content-Length": str(len(BODY))}, BODY


def _fetch(url: str, **options: Any) -> bytes:
    with Downloader(sleep=lambda _: None, **options) as downloader:
        return b"".join(downloader.stream(url))


def test_default_policy_refuses_loopback_http_without_contacting_it(serve: Callable[..., Recording]) -> None:
    target = serve(_file)
    for url in (f"{target.url}/temp/x", target.url.replace("127.0.0.1", "localhost") + "/temp/x"):
        with pytest.raises(DownloadRefused):
            _fetch(url)
    assert target.requests == []


def test_an_allowed_name_resolving_to_loopback_is_refused_at_connect_time(
    serve: Callable[..., Recording],
) -> None:
    target = serve(_file)
    port = target.server_address[1]
    # Scheme and host pass the URL check; the address check stops it before any byte is sent.
    with pytest.raises(DownloadRefused, match="non-public address"):
        _fetch(f"https://localhost:{port}/temp/x", policy=DownloadPolicy(allowed_hosts=("localhost",)))
    assert target.requests == []


def test_the_configured_api_origin_is_trusted_but_its_redirect_elsewhere_is_not(
    serve: Callable[..., Recording],
) -> None:
    elsewhere = serve(_file)
    sandbox = serve(
        lambda path: (
            (302, {"Location": f"{elsewhere.url}/secret", "Content-Length": "0"}, b"")
            if path.startswith("/redirect")
            else _file(path)
        )
    )
    policy = DownloadPolicy(trusted_origin=f"{sandbox.url}/v2")
    assert _fetch(f"{sandbox.url}/temp/fileanonymous/1", policy=policy) == BODY
    with pytest.raises(DownloadRefused):
        _fetch(f"{sandbox.url}/redirect", policy=policy)
    assert elsewhere.requests == []  # the hop was checked before it was followed


def test_a_redirect_to_an_allowed_name_on_loopback_is_refused(serve: Callable[..., Recording]) -> None:
    target = serve(_file)
    port = target.server_address[1]
    hop = serve(lambda _: (302, {"Location": f"https://localhost:{port}/x", "Content-Length": "0"}, b""))
    policy = DownloadPolicy(allowed_hosts=("localhost",), trusted_origin=hop.url)
    with pytest.raises(DownloadRefused, match="non-public address"):
        _fetch(f"{hop.url}/start", policy=policy)
    assert target.requests == [] and len(hop.requests) == 1


def test_a_declared_size_over_the_cap_is_refused_before_reading(serve: Callable[..., Recording]) -> None:
    big = serve(lambda _: (200, {"Content-Length": str(10_000)}, b"x" * 10_000))
    with pytest.raises(DownloadTooLarge):
        _fetch(f"{big.url}/f", policy=DownloadPolicy(trusted_origin=big.url), max_bytes=1_000)


def test_an_undeclared_size_over_the_cap_is_cut_off(serve: Callable[..., Recording]) -> None:
    # No Content-Length: the body ends when the connection closes.
    endless = serve(lambda _: (200, {"Connection": "close"}, b"y" * 300_000))
    with pytest.raises(DownloadTooLarge):
        _fetch(f"{endless.url}/f", policy=DownloadPolicy(trusted_origin=endless.url), max_bytes=100_000)


def test_identity_is_asked_for_and_a_gzip_bomb_is_cut_off_after_decoding(
    serve: Callable[..., Recording],
) -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))
    server = serve(lambda _: (200, {"Content-Encoding": "gzip", "Content-Length": str(len(bomb))}, bomb))
    with pytest.raises(DownloadTooLarge):
        _fetch(f"{server.url}/f", policy=DownloadPolicy(trusted_origin=server.url), max_bytes=1024 * 1024)
    assert server.requests[0]["headers"].get("Accept-Encoding") == "identity"


def test_private_and_link_local_addresses_are_not_public() -> None:
    policy = DownloadPolicy()
    for address in (
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
    ):
        with pytest.raises(DownloadRefused):
            policy.check_address("storage.example", address)
    policy.check_address("eaccountingstoragese.vismaonline.com", "20.50.2.1")


def test_production_hosts_over_https_pass_the_url_check() -> None:
    policy = DownloadPolicy()
    policy.check_url("https://eaccountingstoragese.vismaonline.com/temp/fileanonymous/abc")
    policy.check_url("https://apistorage.vismaonline.com/v3/temp/fileanonymous/abc")
    for refused in (
        "http://eaccountingstoragese.vismaonline.com/temp/x",
        "https://vismaonline.com.evil.example/temp/x",
        "https://evil.example/temp/x",
        "file:///etc/passwd",
    ):
        with pytest.raises(DownloadRefused):
            policy.check_url(refused)
