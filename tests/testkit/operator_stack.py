"""The operator test stack: a real ``spiris-operator`` subprocess, consent through the sandbox, and small
reading functions shared by the operator's end-to-end tests (tests/operator/conftest.py builds its fixtures on
these; polling is `testkit.waiting.wait_for`, the sandbox's control API `testkit.sandbox_control`).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import httpx
from spiris_client.oauth import SpirisOAuth, TokenSet
from spiris_connection import token_secret
from spiris_operator.kube_api import KubeApi

from testkit.sandbox import CLIENT_ID, CLIENT_SECRET

# The web component's callback the operator's consent links lead to (registered with the sandbox).
WEB_REDIRECT_URI = "http://127.0.0.1:8080/oauth/callback"
# What every operator test's sandbox is: company 1 approved without the browser, small books.
SANDBOX_CONFIG: dict[str, Any] = {
    "redirect_uris": (WEB_REDIRECT_URI,),
    "auto_approve_company": 1,
    "vouchers_per_year": 20,
}
SIGNING_KEY = "operator-tests-link-signing-key-0123456789"
BIN = Path(sys.executable).parent



class OperatorProcess:
    """One ``spiris-operator`` subprocess; ``output`` is everything it logged (across restarts)."""

    def __init__(self, *, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OperatorProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "spiris-operator")], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def kill(self) -> None:
        """An abrupt crash (SIGKILL): no cleanup, like a node failure."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def spiris_oauth(sandbox_url: str) -> SpirisOAuth:
    return SpirisOAuth(CLIENT_ID, CLIENT_SECRET, WEB_REDIRECT_URI, identity_url=sandbox_url, sandbox=True)


def consent_token(sandbox_url: str) -> TokenSet:
    """Walk the sandbox's consent flow (auto-approving) and exchange the code, as the web component does."""
    oauth = spiris_oauth(sandbox_url)
    url = oauth.authorization_url(state=uuid.uuid4().hex, code_verifier=None)
    response = httpx.get(url, follow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), response.text[:200]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(response.headers["location"]).query)
    return oauth.exchange_code(query["code"][0])


def create_connection(
    kube: KubeApi, namespace: str, name: str, spec: dict[str, Any] | None = None, *, any_company: bool = True
) -> dict[str, Any]:
    """Create a connection; unless ``spec`` binds a company, it explicitly allows any (``any_company``):
    these tests consent with whichever sandbox company they need, and connections are bound by default."""
    spec = dict(spec or {})
    if any_company and "expectedCorporateIdentityNumber" not in spec:
        spec.setdefault("allowAnyCompany", True)
    _create_custom(kube, namespace, "SpirisConnection", name, spec)
    created = kube.get_custom("spirisconnections", namespace, name)
    assert created is not None
    return created


def _create_custom(kube: KubeApi, namespace: str, kind: str, name: str, spec: dict[str, Any]) -> None:
    body = {
        "apiVersion": "spiris.senseworks.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    plural = {"SpirisConnection": "spirisconnections", "FiscalYearSync": "fiscalyearsyncs"}[kind]
    kube.custom.create_namespaced_custom_object("spiris.senseworks.io", "v1alpha1", namespace, plural, body)


def patch_connection_spec(kube: KubeApi, namespace: str, name: str, spec: dict[str, Any]) -> None:
    """Merge `spec` into the connection's spec, as `kubectl patch --type merge` would."""
    kube.custom.patch_namespaced_custom_object(
        "spiris.senseworks.io", "v1alpha1", namespace, "spirisconnections", name, {"spec": spec}
    )


def create_fiscal_year_sync(kube: KubeApi, namespace: str, name: str, spec: dict[str, Any]) -> None:
    _create_custom(kube, namespace, "FiscalYearSync", name, spec)


def store_consent(kube: KubeApi, connection: dict[str, Any], token: TokenSet) -> None:
    """Write the token Secret the way the web component does after a consent."""
    token_secret.write_consented_token(kube.core, connection=connection, token=token)


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any]:
    for entry in ((obj or {}).get("status") or {}).get("conditions") or []:
        if entry.get("type") == type_:
            return dict(entry)
    return {}


def events_of(kube: KubeApi, namespace: str, name: str) -> list[dict[str, Any]]:
    body = kube.core.list_namespaced_event(namespace)
    items = kube.api_client.sanitize_for_serialization(body).get("items") or []
    return [e for e in items if (e.get("involvedObject") or {}).get("name") == name]
