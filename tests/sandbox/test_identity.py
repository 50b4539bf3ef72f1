"""Identity server conformance (spiris-api.md §1, §6 OAuth): authorize validation, login/picker/consent pages,
codes, PKCE, token endpoint rules, refresh rotation, revocation and expiry by the sandbox clock."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

import httpx
from spiris_sandbox.seed import DEMO_EMAIL, DEMO_PASSWORD, SECOND_EMAIL
from spiris_sandbox.server import SandboxServer
from testkit.sandbox_oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    api,
    authorize_params,
    code_from,
    exchange,
)

Factory = Callable[..., SandboxServer]


def _flow(html: str) -> str:
    match = re.search(r'name="flow" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def _login(client: httpx.Client, params: dict[str, str], email: str = DEMO_EMAIL) -> httpx.Response:
    page = client.get("/connect/authorize", params=params)
    assert page.status_code == 200 and "Logga in" in page.text
    return client.post(
        "/connect/authorize/login", data={"flow": _flow(page.text), "email": email, "password": DEMO_PASSWORD}
    )


def test_authorize_validates_client_redirect_response_type_and_scope(sandbox_factory: Factory) -> None:
    server = sandbox_factory()
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/connect/authorize", params=authorize_params(client_id="nope")).status_code == 400
        bad_redirect = authorize_params(redirect_uri=REDIRECT_URI + "/x")
        assert client.get("/connect/authorize", params=bad_redirect).status_code == 400
        wrong_type = client.get("/connect/authorize", params=authorize_params(response_type="token"))
        assert parse_qs(urlparse(wrong_type.headers["location"]).query)["error"] == [
            "unsupported_response_type"
        ]
        no_api = client.get("/connect/authorize", params=authorize_params(scope="ea:accounting_readonly"))
        query = parse_qs(urlparse(no_api.headers["location"]).query)
        assert query["error"] == ["invalid_scope"] and query["state"] == ["st-123"]


def test_token_response_and_offline_access(sandbox_factory: Factory) -> None:
    server = sandbox_factory()
    with httpx.Client(base_url=server.url) as client:
        body = exchange(client, code_from(client.get("/connect/authorize", params=authorize_params()))).json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
        assert body["access_token"] and body["refresh_token"]
        online = authorize_params(scope="ea:api ea:accounting_readonly")
        body = exchange(client, code_from(client.get("/connect/authorize", params=online))).json()
        assert "refresh_token" not in body


def test_token_endpoint_rules(sandbox_factory: Factory) -> None:
    server = sandbox_factory()
    with httpx.Client(base_url=server.url) as client:
        code = code_from(client.get("/connect/authorize", params=authorize_params()))
        as_json = client.post(
            "/connect/token",
            json={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
        bad_secret = client.post(
            "/connect/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
            auth=(CLIENT_ID, "wrong"),
        )
        assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
        mismatch = exchange(client, code, redirect_uri="https://localhost:44300/other")
        assert mismatch.status_code == 400 and mismatch.json()["error"] == "invalid_grant"
        # The code was consumed by the failed attempt too: codes are single use.
        assert exchange(client, code).json()["error"] == "invalid_grant"
        fresh = code_from(client.get("/connect/authorize", params=authorize_params()))
        in_body = client.post(
            "/connect/token",
            data={
                "grant_type": "authorization_code",
                "code": fresh,
                "redirect_uri": REDIRECT_URI,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        )
        assert in_body.status_code == 200
        assert exchange(client, fresh).json()["error"] == "invalid_grant"
        assert (
            client.post(
                "/connect/token", data={"grant_type": "password"}, auth=(CLIENT_ID, CLIENT_SECRET)
            ).json()["error"]
            == "unsupported_grant_type"
        )


def test_code_expires_after_300_seconds(sandbox_factory: Factory) -> None:
    server = sandbox_factory()
    with httpx.Client(base_url=server.url) as client:
        code = code_from(client.get("/connect/authorize", params=authorize_params()))
        client.post("/_sandbox/clock", json={"advance_seconds": 301})
        assert exchange(client, code).json()["error"] == "invalid_grant"


def test_pkce_s256_is_verified(sandbox_factory: Factory) -> None:
    server = sandbox_factory()
    verifier = "x" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256")
    with httpx.Client(base_url=server.url) as client:
        code = code_from(client.get("/connect/authorize", params=params))
        assert exchange(client, code, code_verifier="y" * 50).json()["error"] == "invalid_grant"
        code = code_from(client.get("/connect/authorize", params=params))
        assert exchange(client, code).json()["error"] == "invalid_grant"
        code = code_from(client.get("/connect/authorize", params=params))
        assert exchange(client, code, code_verifier=verifier).status_code == 200


def test_refresh_rotation_reuse_and_expiry(sandbox_factory: Factory) -> None:
    server = sandbox_factory()
    with httpx.Client(base_url=server.url) as client:
        first = exchange(
            client, code_from(client.get("/connect/authorize", params=authorize_params()))
        ).json()

        def refresh(token: str) -> httpx.Response:
            return client.post(
                "/connect/token",
                data={"grant_type": "refresh_token", "refresh_token": token},
                auth=(CLIENT_ID, CLIENT_SECRET),
            )

        second = refresh(first["refresh_token"])
        assert second.status_code == 200
        assert second.json()["refresh_token"] != first["refresh_token"]
        reused = refresh(first["refresh_token"])
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
        with api(server, second.json()) as session:
            assert session.get("/v2/fiscalyears").status_code == 200
            client.post("/_sandbox/clock", json={"advance_seconds": 3601})
            expired = session.get("/v2/fiscalyears")
            assert expired.status_code == 401 and "WWW-Authenticate" in expired.headers
        third = refresh(second.json()["refresh_token"])
        assert third.status_code == 200
        with api(server, third.json()) as session:
            assert session.get("/v2/fiscalyears").status_code == 200
            assert (
                httpx.get(
                    f"{server.url}/v2/fiscalyears", headers={"Authorization": "Bearer not-a-token"}
                ).status_code
                == 401
            )


def test_password_change_revokes_everything(sandbox_factory: Factory) -> None:
    server = sandbox_factory()
    with httpx.Client(base_url=server.url) as client:
        token = exchange(
            client, code_from(client.get("/connect/authorize", params=authorize_params()))
        ).json()
        assert client.post(f"/_sandbox/users/{DEMO_EMAIL}/revoke").status_code == 200
        with api(server, token) as session:
            assert session.get("/v2/fiscalyears").status_code == 401
        refreshed = client.post(
            "/connect/token",
            data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


def test_interactive_login_picker_consent(sandbox_factory: Factory) -> None:
    server = sandbox_factory(auto_approve_company=None)
    params = authorize_params(
        prompt="login", acr_values="service:44643EB1-3F76-4C1C-A672-402AE8085934 forceselectcompany:true"
    )
    with httpx.Client(base_url=server.url) as client:
        page = client.get("/connect/authorize", params=params)
        wrong = client.post(
            "/connect/authorize/login",
            data={"flow": _flow(page.text), "email": DEMO_EMAIL, "password": "fel"},
        )
        assert "Fel e-postadress eller lösenord" in wrong.text
        picker = _login(client, params)
        assert "Välj företag" in picker.text and "Ölands Café &amp; Bageri HB" in picker.text
        consent = client.post("/connect/authorize/company", data={"flow": _flow(picker.text), "company": "2"})
        assert "Godkänn åtkomst" in consent.text and "Fjällbackas Bygg &amp; Snickeri AB" in consent.text
        assert "ea:accounting_readonly" in consent.text
        allowed = client.post(
            "/connect/authorize/consent", data={"flow": _flow(consent.text), "decision": "allow"}
        )
        token = exchange(client, code_from(allowed)).json()
        assert "access_token" not in allowed.text
    with api(server, token) as session:
        # The token is bound to the company picked in the flow.
        assert session.get("/v2/companysettings").json()["Name"] == "Fjällbackas Bygg & Snickeri AB"
    with httpx.Client(base_url=server.url) as fresh_browser:
        # Without the session cookie the login page comes first again.
        assert "Logga in" in fresh_browser.get("/connect/authorize", params=params).text


def test_default_company_skips_picker_unless_forced(sandbox_factory: Factory) -> None:
    server = sandbox_factory(auto_approve_company=None, default_company=5)
    plain = authorize_params()
    with httpx.Client(base_url=server.url) as client:
        consent = _login(client, plain)
        # The §5.5 trap: no picker, the default company (here one without the API module) is used.
        assert "Sågverket i Ärla AB" in consent.text and "Välj företag" not in consent.text
        token = exchange(
            client,
            code_from(
                client.post(
                    "/connect/authorize/consent", data={"flow": _flow(consent.text), "decision": "allow"}
                )
            ),
        ).json()
        with api(server, token) as session:
            refused = session.get("/v2/fiscalyears")
            assert refused.status_code == 403
            assert refused.json()["DeveloperErrorMessage"].endswith("No access to module: api_standard")
        # Logged in already: a forced picker shows without asking for the password again.
        forced = client.get("/connect/authorize", params={**plain, "prompt": "select_account"})
        assert "Välj företag" in forced.text
        denied = client.post("/connect/authorize/company", data={"flow": _flow(forced.text), "company": "1"})
        refusal = client.post(
            "/connect/authorize/consent", data={"flow": _flow(denied.text), "decision": "deny"}
        )
        query = parse_qs(urlparse(refusal.headers["location"]).query)
        assert query["error"] == ["access_denied"] and query["state"] == ["st-123"]


def test_single_company_user_gets_no_picker_and_flow_cannot_be_forged(sandbox_factory: Factory) -> None:
    server = sandbox_factory(auto_approve_company=None)
    params = authorize_params(prompt="select_account")
    with httpx.Client(base_url=server.url) as client:
        consent = _login(client, params, email=SECOND_EMAIL)
        assert "Fjällbackas Bygg" in consent.text
        forged = _flow(consent.text)[:-4] + "0000"
        refused = client.post("/connect/authorize/consent", data={"flow": forged, "decision": "allow"})
        assert refused.status_code == 400 and "location" not in refused.headers
