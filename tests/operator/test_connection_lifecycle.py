"""SpirisConnection end to end: a real operator process, the API emulator and the Spiris sandbox.

Consent link → token Secret (written as the web does) → verified at Spiris → Ready; rotation of the link;
refresh before expiry; invalid_grant → ReconsentRequired; and no token anywhere but the Secret.
"""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from spiris_connection import consent_link, token_secret
from spiris_operator.kube_api import KubeApi
from testkit.operator_stack import (
    SIGNING_KEY,
    condition,
    consent_token,
    create_connection,
    events_of,
    patch_connection_spec,
    store_consent,
)
from testkit.sandbox_control import SandboxControl
from testkit.waiting import wait_for

pytestmark = pytest.mark.timeout(90)


def _get(kube: KubeApi, namespace: str, name: str = "acme") -> dict:
    obj = kube.get_custom("spirisconnections", namespace, name)
    assert obj is not None
    return obj


def _everything_visible(kube: KubeApi, namespace: str, operator_output: str) -> str:
    """All that a user or log collector can see: statuses, Events, Jobs and the operator's log."""
    parts = [operator_output]
    for plural in ("spirisconnections", "fiscalyearsyncs"):
        parts.append(json.dumps(kube.list_custom(plural, namespace)))
    parts.append(
        json.dumps(kube.api_client.sanitize_for_serialization(kube.core.list_namespaced_event(namespace)))
    )
    parts.append(json.dumps(kube.list_jobs(namespace, selector="app.kubernetes.io/component=sync-job")))
    return "\n".join(parts)


def test_consent_link_then_token_secret_turns_ready(
    kube: KubeApi, kube_namespace: str, start_operator, spiris_env, sandbox, sandbox_control: SandboxControl
) -> None:
    company = sandbox_control.company()
    operator = start_operator(**spiris_env)
    create_connection(
        kube, kube_namespace, "acme", {"expectedCorporateIdentityNumber": company["org_number"]}
    )

    pending = wait_for(lambda: (c := _get(kube, kube_namespace)).get("status", {}).get("consentUrl") and c)
    assert pending["status"]["phase"] == "PendingConsent"
    assert condition(pending, "Ready")["status"] == "False"
    assert condition(pending, "Ready")["reason"] == "AwaitingConsent"
    link_token = consent_link.token_from_url(pending["status"]["consentUrl"])
    claims = consent_link.verify(link_token, signing_key=SIGNING_KEY)
    assert (claims.uid, claims.namespace, claims.name) == (pending["metadata"]["uid"], kube_namespace, "acme")
    consent_link.check_against_connection(claims, link_token, pending)

    # Rotation on request: a new link, the old one is dead.
    kube.patch_metadata(
        "spirisconnections",
        kube_namespace,
        "acme",
        {"annotations": {"spiris.senseworks.io/rotate-consent-link": "1"}},
    )
    rotated = wait_for(
        lambda: (
            (c := _get(kube, kube_namespace)).get("status", {}).get("consentUrl")
            != pending["status"]["consentUrl"]
            and c
        )
    )
    with pytest.raises(consent_link.InvalidConsentLink):
        consent_link.check_against_connection(claims, link_token, rotated)

    # The web stores the token; the operator verifies it at Spiris and turns Ready.
    token = consent_token(sandbox.url)
    store_consent(kube, rotated, token)
    ready = wait_for(
        lambda: condition(c := _get(kube, kube_namespace), "Ready").get("status") == "True" and c
    )
    status = ready["status"]
    assert status["phase"] == "Connected"
    assert status["company"]["corporateIdentityNumber"] == company["org_number"]
    assert status["company"]["name"] == company["name"]
    assert [fy["startDate"] for fy in status["fiscalYears"]] == ["2024-01-01", "2025-01-01"]
    assert status["tokenSecretName"] == "acme-spiris-token"
    assert "consentUrl" not in status or not status["consentUrl"]
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Ready": "True",
        "Authorized": "True",
        "TokenHealthy": "True",
    }
    assert all(c["observedGeneration"] == ready["metadata"]["generation"] for c in status["conditions"])
    expected = {"ConsentLinkIssued", "PhasePendingConsent", "PhaseConnected"}
    wait_for(lambda: expected <= {e["reason"] for e in events_of(kube, kube_namespace, "acme")},
             timeout=10, what=f"the Events {sorted(expected)}")

    # kubectl wait --for=condition=Ready style readiness is there; no token leaked anywhere.
    visible = _everything_visible(kube, kube_namespace, operator.output)
    assert token.access_token not in visible and token.refresh_token not in visible


def test_wrong_company_is_refused(
    kube: KubeApi, kube_namespace: str, start_operator, spiris_env, sandbox
) -> None:
    start_operator(**spiris_env)
    connection = create_connection(
        kube, kube_namespace, "acme", {"expectedCorporateIdentityNumber": "111111-1111"}
    )
    wait_for(lambda: _get(kube, kube_namespace).get("status", {}).get("consentUrl"))
    store_consent(kube, connection, consent_token(sandbox.url))
    refused = wait_for(
        lambda: condition(c := _get(kube, kube_namespace), "Ready").get("reason") == "WrongCompany" and c
    )
    assert refused["status"]["phase"] == "ReconsentRequired"
    assert "111111-1111" in condition(refused, "Ready")["message"]


def test_refresh_before_expiry_rotates_and_persists(
    kube: KubeApi, kube_namespace: str, start_operator, spiris_env, sandbox, sandbox_control: SandboxControl
) -> None:
    operator = start_operator(**spiris_env)
    connection = create_connection(kube, kube_namespace, "acme")
    token = consent_token(sandbox.url)
    # Stored as if it had been issued almost an hour ago: 60 s left, inside the 5 minute refresh margin.
    store_consent(kube, connection, dataclasses.replace(token, expires_at=int(time.time()) + 60))
    refreshed = wait_for(
        lambda: (c := _get(kube, kube_namespace)).get("status", {}).get("lastTokenRefreshTime") and c
    )
    stored = token_secret.read_token(kube.core, namespace=kube_namespace, connection_name="acme")
    assert stored is not None
    assert (
        stored.token.refresh_token != token.refresh_token and stored.token.access_token != token.access_token
    )
    assert stored.token.expires_at > time.time() + 3000
    wait_for(lambda: condition(_get(kube, kube_namespace), "Ready").get("status") == "True")
    time.sleep(2)  # several reconcile ticks: a fresh token is not refreshed again
    assert sandbox_control.refresh_grants() == 1
    assert refreshed["status"]["accessTokenExpiresAt"]
    visible = _everything_visible(kube, kube_namespace, operator.output)
    for secret_value in (
        token.access_token,
        token.refresh_token,
        stored.token.access_token,
        stored.token.refresh_token,
    ):
        assert secret_value not in visible


def test_invalid_grant_requires_reconsent(
    kube: KubeApi, kube_namespace: str, start_operator, spiris_env, sandbox, sandbox_control: SandboxControl
) -> None:
    operator = start_operator(**spiris_env)
    connection = create_connection(kube, kube_namespace, "acme")
    token = consent_token(sandbox.url)
    store_consent(kube, connection, token)
    wait_for(lambda: condition(_get(kube, kube_namespace), "Ready").get("status") == "True")

    # The user revokes access in Spiris; the next refresh gets invalid_grant.
    sandbox_control.revoke(sandbox_control.first_user_email())
    stored = token_secret.read_token(kube.core, namespace=kube_namespace, connection_name="acme")
    assert stored is not None
    token_secret.replace_token(
        kube.core,
        connection=connection,
        token=dataclasses.replace(stored.token, expires_at=int(time.time()) + 30),
        resource_version=stored.resource_version,
    )
    broken = wait_for(
        lambda: (c := _get(kube, kube_namespace)).get("status", {}).get("phase") == "ReconsentRequired" and c
    )
    ready = condition(broken, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ReconsentRequired")
    assert "consent again" in ready["message"]
    assert condition(broken, "TokenHealthy")["status"] == "False"
    assert broken["status"]["consentUrl"], "a fresh consent link is published"
    # Events are posted after the status patch: wait for them rather than read them once.
    wait_for(lambda: any(e["type"] == "Warning" and e["reason"] == "PhaseReconsentRequired"
                         for e in events_of(kube, kube_namespace, "acme")), what="the Warning Event")

    # No refresh loop against Spiris while waiting for the human.
    grants = sandbox_control.refresh_grants()
    time.sleep(2)
    assert sandbox_control.refresh_grants() == grants
    assert _get(kube, kube_namespace).get("status", {})["consentUrl"] == broken["status"]["consentUrl"]

    # A new consent brings it back.
    store_consent(kube, _get(kube, kube_namespace), consent_token(sandbox.url))
    wait_for(lambda: _get(kube, kube_namespace).get("status", {}).get("phase") == "Connected")
    visible = _everything_visible(kube, kube_namespace, operator.output)
    assert token.access_token not in visible and token.refresh_token not in visible


def test_suspend(kube: KubeApi, kube_namespace: str, start_operator, spiris_env) -> None:
    start_operator(**spiris_env)
    create_connection(kube, kube_namespace, "acme", {"suspend": True})
    suspended = wait_for(
        lambda: (c := _get(kube, kube_namespace)).get("status", {}).get("phase") == "Suspended" and c
    )
    assert condition(suspended, "Ready")["reason"] == "Suspended"


def test_latest_years_window_follows_the_spec(
    kube: KubeApi, kube_namespace: str, start_operator, spiris_env, sandbox
) -> None:
    operator = start_operator(**spiris_env)
    connection = create_connection(kube, kube_namespace, "acme", {"sync": {"latestFiscalYears": 1}})
    store_consent(kube, connection, consent_token(sandbox.url))

    def children() -> list[str]:
        return sorted(c["metadata"]["name"] for c in kube.list_custom("fiscalyearsyncs", kube_namespace))

    wait_for(lambda: children() == ["acme-2025"], what="the latest year")
    patch_connection_spec(kube, kube_namespace, "acme", {"sync": {"latestFiscalYears": 2}})
    wait_for(lambda: children() == ["acme-2024", "acme-2025"], what="two latest years")
    patch_connection_spec(kube, kube_namespace, "acme", {"sync": {"latestFiscalYears": 1}})
    try:
        wait_for(lambda: children() == ["acme-2025"], what="the window shrinks back", timeout=30)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}\n{children()}\n{_get(kube, kube_namespace)}\n{operator.output[-4000:]}"
        ) from None
    wait_for(
        lambda: _get(kube, kube_namespace)["status"]["observedGeneration"] == 3, what="generation observed"
    )
