"""The app's edges without a browser: Kubernetes unreachable, no slash redirects, cookie flags under https."""

from __future__ import annotations

import warnings
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from kubernetes import client as k8s
from spiris_connection import consent_link
from spiris_localstack.processes import free_port
from spiris_web.app import create_app
from spiris_web.browser_binding import BrowserBinding
from spiris_web.oauth_state import OAuthStateCodec
from spiris_web.settings import WebSettings
from spiris_web.spiris_gateway import SpirisClientGateway
from starlette.responses import Response

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

KEY = "edge-test-signing-key-0123456789abcdef"


def unreachable_kubernetes() -> k8s.ApiClient:
    configuration = k8s.Configuration()
    configuration.host = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    configuration.retries = 0
    return k8s.ApiClient(configuration)


@pytest.fixture
def client() -> TestClient:
    settings = WebSettings(public_url="https://consent.example.se", client_id="c", client_secret="s",
                           link_signing_key=KEY, identity_url="https://identity.example.se")
    return TestClient(create_app(settings, kube=unreachable_kubernetes()), base_url="https://consent.example.se")


def test_kubernetes_unreachable_gives_clear_pages(client: TestClient) -> None:
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200
    link = consent_link.issue(
        signing_key=KEY, public_url="https://consent.example.se", uid="u", namespace="ns", name="acme",
        ttl=timedelta(hours=1),
    )
    page = client.get(f"/consent/{link.token}")
    assert page.status_code == 503
    assert "Tjänsten är tillfälligt otillgänglig" in page.text
    assert page.headers["strict-transport-security"].startswith("max-age=")


def test_no_redirects_besides_spiris(client: TestClient) -> None:
    for path in ("/healthz/", "/consent/abc/", "/oauth/callback/", "/static"):
        response = client.get(path, headers={"host": "evil.example"}, follow_redirects=False)
        assert "location" not in response.headers, path
        assert response.status_code in (404, 405), path


def test_cookies_are_secure_httponly_and_lax_under_https() -> None:
    response = Response()
    BrowserBinding.from_master(KEY, secure=True).set_cookie(response, "nonce")
    codec = OAuthStateCodec.from_master(KEY, ttl_seconds=600, secure=True)
    flow = codec.start(namespace="ns", name="n", uid="u", link_jti="j", nonce="nonce")
    codec.set_flow_cookie(response, flow)
    cookies = response.headers.getlist("set-cookie")
    assert len(cookies) == 2
    for cookie in cookies:
        lowered = cookie.lower()
        assert "httponly" in lowered and "samesite=lax" in lowered and "secure" in lowered
    assert any("path=/oauth/callback" in c.lower() for c in cookies)
    plain = Response()
    BrowserBinding.from_master(KEY, secure=False).set_cookie(plain, "nonce")
    assert "secure" not in plain.headers["set-cookie"].lower()


@pytest.mark.parametrize(("sandbox", "prompt", "acr_extra"), [(False, "select_account", False),
                                                              (True, "login", True)])
def test_authorize_url_forces_the_company_picker(sandbox: bool, prompt: str, acr_extra: bool) -> None:
    settings = WebSettings(public_url="https://consent.example.se", client_id="c", client_secret="s",
                           link_signing_key=KEY, identity_url="https://identity.example.se", sandbox=sandbox)
    url = SpirisClientGateway(settings).authorization_url(
        state="st", code_verifier="v" * 64, scopes=("ea:api", "offline_access")
    )
    assert url.startswith(settings.authorize_url + "?")
    query = parse_qs(urlsplit(url).query)
    assert query["prompt"] == [prompt]
    assert query["acr_values"][0].startswith("service:44643EB1-3F76-4C1C-A672-402AE8085934")
    assert ("forceselectcompany:true" in query["acr_values"][0]) is acr_extra
    assert query["code_challenge_method"] == ["S256"] and "code_verifier" not in query
    assert query["redirect_uri"] == ["https://consent.example.se/oauth/callback"]
