"""Issue 14, items 4 and 8 on the operator's side, by calling the reconciler against the real API server.

A connection bound to no company (no ``expectedCorporateIdentityNumber``, no ``allowAnyCompany``) gets no
consent link and a status saying what is missing; binding it (or allowing any company) publishes one. A
consent the web discarded in a race (recorded on the token Secret) becomes ``status.unusedConsents``, a note
on the Authorized condition and one Warning Event; the record survives a token refresh's rewrite.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from spiris_connection import company_binding, token_secret, unused_grants
from spiris_connection.company_identity import CompanyIdentity
from spiris_operator.connection_reconciler import ConnectionContext, reconcile_connection
from spiris_operator.kube_api import KubeApi
from spiris_operator.settings import load_settings
from spiris_operator.spiris_access import FiscalYearInfo
from spiris_sandbox.server import SandboxServer
from testkit.operator_stack import consent_token, create_connection, patch_connection_spec, store_consent

pytestmark = pytest.mark.timeout(60)

KEY = "binding-race-tests-signing-key-0123456789"


class Reader:
    def company(self, access_token: str) -> CompanyIdentity:
        return CompanyIdentity(
            name="Acme Bygg AB", corporate_identity_number="556585-4444", identifier="acme"
        )

    def fiscal_years(self, access_token: str) -> list[FiscalYearInfo]:
        return [FiscalYearInfo(id="fy", start_date="2025-01-01", end_date="2025-12-31", locked=False)]


def _ctx(kube: KubeApi) -> ConnectionContext:
    settings = load_settings({"SPIRIS_LINK_SIGNING_KEY": KEY, "SPIRIS_WEB_PUBLIC_URL": "https://x.example"})
    return ConnectionContext(
        kube=kube, settings=settings, refresher=None, reader=Reader(), holder="t",  # type: ignore[arg-type]
        clock=lambda: datetime.now(UTC),
    )


def _step(kube: KubeApi, namespace: str) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    live = kube.get_custom("spirisconnections", namespace, "acme")
    assert live is not None
    result = reconcile_connection(live, _ctx(kube))
    kube.patch_status("spirisconnections", namespace, "acme", result.status)
    after = kube.get_custom("spirisconnections", namespace, "acme")
    assert after is not None
    return after, [(e.type, e.reason, e.message) for e in result.events]


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == kind)


def test_an_unbound_connection_gets_no_link_until_bound(kube: KubeApi, kube_namespace: str) -> None:
    created = create_connection(kube, kube_namespace, "acme", {"displayName": "Acme"}, any_company=False)
    assert created["spec"]["allowAnyCompany"] is False  # the server's default: bound unless chosen otherwise

    unbound, events = _step(kube, kube_namespace)
    assert not unbound["status"].get("consentUrl")
    ready = _condition(unbound, "Ready")
    assert ready["status"] == "False" and ready["reason"] == "CompanyNotBound"
    assert "expectedCorporateIdentityNumber" in ready["message"] and "allowAnyCompany" in ready["message"]
    assert ready["message"] == company_binding.NOT_BOUND_MESSAGE
    assert not any(reason == "ConsentLinkIssued" for _, reason, _ in events)

    patch_connection_spec(kube, kube_namespace, "acme", {"allowAnyCompany": True})
    allowed, events = _step(kube, kube_namespace)
    assert allowed["status"]["consentUrl"].startswith("https://x.example/consent/")
    assert _condition(allowed, "Ready")["reason"] == "AwaitingConsent"
    assert ("Normal", "ConsentLinkIssued") in [(t, r) for t, r, _ in events]


def test_an_unused_consent_is_surfaced_once(
    kube: KubeApi, kube_namespace: str, sandbox: SandboxServer
) -> None:
    connection = create_connection(
        kube, kube_namespace, "acme", {"expectedCorporateIdentityNumber": "556585-4444"}
    )
    store_consent(kube, connection, consent_token(sandbox.url))
    connected, events = _step(kube, kube_namespace)
    assert connected["status"]["phase"] == "Connected" and "unusedConsents" not in connected["status"]
    assert not any(reason == "UnusedConsent" for _, reason, _ in events)

    # What the web writes when a second consent on the same link lost the race.
    secret = kube.core.read_namespaced_secret(token_secret.secret_name("acme"), kube_namespace)
    secret.metadata.annotations = unused_grants.append(
        secret.metadata.annotations, at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC), company="Annat Bolag AB",
        orgnr="559999-0001", company_id="other",
    )
    kube.core.replace_namespaced_secret(token_secret.secret_name("acme"), kube_namespace, secret)

    noted, events = _step(kube, kube_namespace)
    unused = noted["status"]["unusedConsents"]
    assert unused["count"] == 1 and unused["lastCompany"] == "Annat Bolag AB"
    assert unused["lastCorporateIdentityNumber"] == "559999-0001"
    assert unused["lastTime"] == "2026-03-01T12:00:00Z"
    assert "still valid at Spiris" in unused["message"]
    authorized = _condition(noted, "Authorized")
    assert authorized["status"] == "True" and "1 concurrent consent was not used" in authorized["message"]
    warnings = [(t, m) for t, r, m in events if r == "UnusedConsent"]
    assert len(warnings) == 1 and warnings[0][0] == "Warning"
    assert "Annat Bolag AB (559999-0001)" in warnings[0][1]
    assert noted["status"]["phase"] == "Connected", "the winning consent stays connected"

    again, events = _step(kube, kube_namespace)
    assert again["status"]["unusedConsents"]["count"] == 1
    assert not any(reason == "UnusedConsent" for _, reason, _ in events), "announced once"


def test_unused_grant_records_parse_defensively() -> None:
    assert unused_grants.parse({unused_grants.ANNOTATION: "not json"}) == []
    assert unused_grants.parse({unused_grants.ANNOTATION: '{"a": 1}'}) == []
    annotations: dict[str, str] = {"other": "kept"}
    for n in range(unused_grants.MAX_ENTRIES + 3):
        annotations = unused_grants.append(
            annotations, at=datetime(2026, 1, 1, tzinfo=UTC), company=f"B{n}", orgnr="", company_id=""
        )
    grants = unused_grants.parse(annotations)
    assert len(grants) == unused_grants.MAX_ENTRIES and grants[-1].count == unused_grants.MAX_ENTRIES + 3
    assert annotations["other"] == "kept"
