"""Shared pieces of the sandbox suite: its config, the OAuth flow against the sandbox, token helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from spiris_sandbox.server import SandboxServer

from testkit.sandbox import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI
from testkit.sandbox_control import SandboxControl

# The sandbox suite's `control_for` fixture: the control API of one of the test's servers.
ControlFor = Callable[[SandboxServer], SandboxControl]
READ_SCOPES = "ea:api offline_access ea:accounting_readonly ea:sales_readonly ea:purchase_readonly"


# What the sandbox suite's servers are unless a test says otherwise (`start_sandbox(**SUITE_CONFIG, ...)`).
SUITE_CONFIG: dict[str, Any] = {
    "seed": 11,
    "redirect_uris": (REDIRECT_URI,),
    "vouchers_per_year": 60,
    "auto_approve_company": 1,
}


def authorize_params(scope: str = READ_SCOPES, **extra: str) -> dict[str, str]:
    return {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": scope,
        "state": "st-123",
        **extra,
    }


def code_from(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    query = parse_qs(urlparse(response.headers["location"]).query)
    assert query["state"] == ["st-123"]
    return query["code"][0]


def exchange(client: httpx.Client, code: str, **extra: str) -> httpx.Response:
    return client.post(
        "/connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, **extra},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )


def token_for(server: SandboxServer, scope: str = READ_SCOPES) -> dict[str, Any]:
    """A token pair through the real authorize (auto-approve) and token endpoints."""
    with httpx.Client(base_url=server.url) as client:
        code = code_from(client.get("/connect/authorize", params=authorize_params(scope)))
        response = exchange(client, code)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def api(server: SandboxServer, token: dict[str, Any]) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token['access_token']}"})


def control_token(
    server: SandboxServer, *, company: int, scope: str = READ_SCOPES, **extra: Any
) -> dict[str, Any]:
    with SandboxControl(server.url) as control:
        return control.tokens(company, scope=scope, **extra)
