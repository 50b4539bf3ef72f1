"""`SpirisOAuth` against the sandbox identity endpoints: consent URL, PKCE, rotation, consent loss."""

from __future__ import annotations

import base64
import hashlib
import socket
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from spiris_client import (
    DEFAULT_SCOPES,
    ConsentRequired,
    OAuthError,
    SpirisApi,
    SpirisOAuth,
    SpirisUnavailable,
    StaticTokenProvider,
    TokenSet,
    Unauthorized,
    new_code_verifier,
)
from spiris_client.oauth import SPIRIS_SERVICE_ACR
from spiris_sandbox.server import SandboxServer
from testkit.local_http import serve
from testkit.sandbox import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI
from testkit.sandbox_control import SandboxControl

SERVICE = "service:44643EB1-3F76-4C1C-A672-402AE8085934"


class RecordingTransport(httpx.HTTPTransport):
    """The real HTTP transport, keeping a copy of each request it sends (to inspect headers and bodies)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return super().handle_request(request)


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _consent(oauth: SpirisOAuth, verifier: str | None, state: str = "state-1") -> str:
    """Drive the sandbox's auto-approved authorize endpoint; return the code from the redirect."""
    response = httpx.get(oauth.authorization_url(state, verifier), follow_redirects=False)
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI)
    params = _query(location)
    assert params["state"] == state
    return params["code"]


def test_production_authorize_url_forces_the_company_picker() -> None:
    oauth = SpirisOAuth("cid", "secret", "https://app.example/oauth/callback")
    verifier = new_code_verifier()
    url = oauth.authorization_url("st", verifier)
    assert url.startswith("https://identity.vismaonline.com/connect/authorize?")
    q = _query(url)
    assert q["response_type"] == "code"
    assert q["client_id"] == "cid"
    assert q["redirect_uri"] == "https://app.example/oauth/callback"
    assert (
        q["scope"]
        == " ".join(DEFAULT_SCOPES)
        == ("ea:api offline_access ea:accounting_readonly ea:sales_readonly ea:purchase_readonly")
    )
    assert q["state"] == "st"
    expected_challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert q["code_challenge"] == expected_challenge.decode()
    assert q["code_challenge_method"] == "S256"
    assert q["prompt"] == "select_account"
    assert q["acr_values"] == SERVICE == SPIRIS_SERVICE_ACR
    assert "prompt" not in _query(oauth.authorization_url("st", None, force_company_picker=False))
    assert "code_challenge" not in _query(oauth.authorization_url("st", None))


def test_sandbox_authorize_url_uses_login_and_forceselectcompany() -> None:
    oauth = SpirisOAuth(
        "cid", "secret", "https://localhost:44300/callback", "https://id.example", sandbox=True
    )
    q = _query(oauth.authorization_url("st", new_code_verifier(), ["ea:api", "offline_access"]))
    assert q["prompt"] == "login"
    assert q["acr_values"] == f"{SERVICE} forceselectcompany:true"
    assert q["scope"] == "ea:api offline_access"


def test_code_exchange_with_pkce_uses_basic_auth_and_a_form_body(
    sandbox: SandboxServer, control: SandboxControl
) -> None:
    transport = RecordingTransport()
    oauth = SpirisOAuth(
        CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, identity_url=sandbox.url, sandbox=True, transport=transport
    )
    verifier = new_code_verifier()
    before = time.time()  # expiry is judged by our own clock, never the server's
    token = oauth.exchange_code(_consent(oauth, verifier), verifier)

    assert token.token_type == "Bearer"
    assert token.expires_in == 3600
    assert token.refresh_token
    assert abs(token.expires_at - (before + 3600)) <= 5
    sent = transport.requests[-1]
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert (
        sent.headers["authorization"]
        == "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    )
    form = parse_qs(sent.content.decode())
    assert form["grant_type"] == ["authorization_code"]
    assert form["redirect_uri"] == [REDIRECT_URI]
    assert form["code_verifier"] == [verifier]
    assert "client_secret" not in form

    with SpirisApi(sandbox.api_url, token_provider=StaticTokenProvider(token.access_token)) as api:
        assert api.company_settings().name


def test_a_code_is_single_use_and_a_wrong_verifier_is_refused(
    oauth: SpirisOAuth, control: SandboxControl
) -> None:
    verifier = new_code_verifier()
    code = _consent(oauth, verifier)
    oauth.exchange_code(code, verifier)
    with pytest.raises(ConsentRequired):
        oauth.exchange_code(code, verifier)
    with pytest.raises(ConsentRequired):
        oauth.exchange_code(_consent(oauth, verifier), new_code_verifier())


def test_refresh_tokens_rotate_and_a_reused_one_means_consent_again(
    oauth: SpirisOAuth, issue_token: Callable[..., TokenSet], sandbox: SandboxServer
) -> None:
    first = issue_token(1)
    assert first.refresh_token
    second = oauth.refresh(first.refresh_token)
    assert second.refresh_token and second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token

    with pytest.raises(ConsentRequired) as caught:
        oauth.refresh(first.refresh_token)
    assert "consent again" in str(caught.value)
    assert first.refresh_token not in str(caught.value)

    third = oauth.refresh(second.refresh_token)
    with SpirisApi(sandbox.api_url, token_provider=StaticTokenProvider(third.access_token)) as api:
        assert api.fiscal_years()


def test_a_client_without_redirect_uri_refreshes_but_runs_no_consent(
    issue_token: Callable[..., TokenSet], sandbox: SandboxServer
) -> None:
    # The operator without a public URL: refreshing names no redirect URI, so none is made up for it.
    refresher = SpirisOAuth(CLIENT_ID, CLIENT_SECRET, None, identity_url=sandbox.url, sandbox=True)
    token = issue_token(1)
    assert token.refresh_token
    assert refresher.refresh(token.refresh_token).access_token != token.access_token
    with pytest.raises(ValueError, match="no redirect_uri"):
        refresher.authorization_url("st", None)
    with pytest.raises(ValueError, match="no redirect_uri"):
        refresher.exchange_code("code")


def test_a_password_change_kills_both_tokens(
    oauth: SpirisOAuth, issue_token: Callable[..., TokenSet], control: SandboxControl, sandbox: SandboxServer
) -> None:
    token = issue_token(1)
    users = control.users()
    control.revoke(users[0]["email"])
    assert token.refresh_token
    with pytest.raises(ConsentRequired):
        oauth.refresh(token.refresh_token)
    with (
        SpirisApi(sandbox.api_url, token_provider=StaticTokenProvider(token.access_token)) as api,
        pytest.raises(Unauthorized),
    ):
        api.fiscal_years()


def test_a_wrong_client_secret_is_an_oauth_error_not_a_consent_loss(
    sandbox: SandboxServer, issue_token: Callable[..., TokenSet]
) -> None:
    oauth = SpirisOAuth(CLIENT_ID, "not-the-secret", REDIRECT_URI, identity_url=sandbox.url, sandbox=True)
    token = issue_token(1)
    assert token.refresh_token
    with pytest.raises(OAuthError) as caught:
        oauth.refresh(token.refresh_token)
    assert caught.value.error == "invalid_client"
    assert caught.value.status == 401
    assert "not-the-secret" not in str(caught.value)


def test_an_unreachable_identity_server_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    oauth = SpirisOAuth(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, identity_url=f"http://127.0.0.1:{port}")
    with pytest.raises(SpirisUnavailable):
        oauth.refresh("some-refresh-token")


class _TokenEndpoint(BaseHTTPRequestHandler):
    """A stand-in identity server for answers the sandbox never gives (no rotation, 5xx, HTML error pages)."""

    mode = "no-rotation"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.mode == "no-rotation":
            status, body = (
                200,
                b'{"access_token": "at-without-rotation", "token_type": "Bearer", "expires_in": 60}',
            )
        elif self.mode == "outage":
            status, body = 503, b"<html>Service Unavailable</html>"
        else:
            status, body = 400, b"<html>Bad Request</html>"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def token_endpoint() -> Iterator[str]:
    with serve(_TokenEndpoint) as url:
        yield url


def test_refresh_keeps_the_presented_refresh_token_when_none_is_returned(token_endpoint: str) -> None:
    _TokenEndpoint.mode = "no-rotation"
    oauth = SpirisOAuth(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, identity_url=token_endpoint)
    token = oauth.refresh("presented-refresh-token")
    assert token.access_token == "at-without-rotation"
    assert token.refresh_token == "presented-refresh-token"
    assert token.expires_in == 60


def test_identity_outages_and_garbage_answers_are_typed(token_endpoint: str) -> None:
    oauth = SpirisOAuth(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, identity_url=token_endpoint)
    _TokenEndpoint.mode = "outage"
    with pytest.raises(SpirisUnavailable):
        oauth.refresh("some-refresh-token")
    _TokenEndpoint.mode = "html"
    with pytest.raises(OAuthError) as caught:
        oauth.refresh("some-refresh-token")
    assert caught.value.status == 400
