"""The connection reconciler called directly against the API emulator (no token Secret yet, so no Spiris):
consent links are kept, renewed before they expire, and rotated on request; transitions produce Events.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from spiris_connection import consent_link
from spiris_operator.connection_reconciler import ConnectionContext, reconcile_connection
from spiris_operator.kube_api import KubeApi
from spiris_operator.settings import load_settings
from testkit.operator_stack import create_connection

pytestmark = pytest.mark.timeout(60)

KEY = "reconciler-tests-signing-key-0123456789"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _step(
    kube: KubeApi, namespace: str, now: datetime, *, public_url: str = "https://consent.example",
    signing_key: str = KEY,
) -> dict:
    settings = load_settings({"SPIRIS_LINK_SIGNING_KEY": signing_key, "SPIRIS_WEB_PUBLIC_URL": public_url})
    # No token Secret exists, so neither Spiris client is ever called.
    ctx = ConnectionContext(
        kube=kube, settings=settings, refresher=None, reader=None, holder="t", clock=lambda: now
    )  # type: ignore[arg-type]
    connection = kube.get_custom("spirisconnections", namespace, "acme")
    assert connection is not None
    result = reconcile_connection(connection, ctx)
    kube.patch_status("spirisconnections", namespace, "acme", result.status)
    return {"status": result.status, "events": [(e.type, e.reason) for e in result.events]}


def test_without_a_public_url_there_is_no_link_and_the_condition_names_the_chart_value(
    kube: KubeApi, kube_namespace: str
) -> None:
    # The chart installs without publicUrl (it lints as shipped); the operator never guesses one.
    unset = load_settings({"SPIRIS_LINK_SIGNING_KEY": KEY})
    assert unset.web_public_url == "" and unset.redirect_uri == ""
    create_connection(kube, kube_namespace, "acme")
    waiting = _step(kube, kube_namespace, T0, public_url="")
    assert waiting["status"]["consentUrl"] is None
    [ready] = [c for c in waiting["status"]["conditions"] if c["type"] == "Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "PublicUrlNotSet")
    assert "publicUrl" in ready["message"] and "SPIRIS_WEB_PUBLIC_URL" in ready["message"]
    assert ("Normal", "ConsentLinkIssued") not in waiting["events"]
    # Once the value is set, the next pass publishes the link.
    ready_now = _step(kube, kube_namespace, T0 + timedelta(minutes=1))
    assert ready_now["status"]["consentUrl"].startswith("https://consent.example/consent/")
    assert ("Normal", "ConsentLinkIssued") in ready_now["events"]


def test_without_a_link_signing_key_there_is_no_link_and_the_condition_names_the_secret(
    kube: KubeApi, kube_namespace: str
) -> None:
    # The chart's ref to the key is optional: the operator starts without the Secret and says what to create
    # (issuing a link without a key would raise on every pass).
    create_connection(kube, kube_namespace, "acme")
    waiting = _step(kube, kube_namespace, T0, signing_key="")
    assert waiting["status"]["consentUrl"] is None
    [ready] = [c for c in waiting["status"]["conditions"] if c["type"] == "Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "LinkSigningKeyNotSet")
    for named in ("linkSigningKey.existingSecret", "spiris-link-signing-key", "linkSigningKey.key",
                  "signing-key", "SPIRIS_LINK_SIGNING_KEY"):
        assert named in ready["message"]
    stored = kube.get_custom("spirisconnections", kube_namespace, "acme")
    assert stored is not None and stored["status"]["conditions"] == waiting["status"]["conditions"]
    assert ("Normal", "ConsentLinkIssued") not in waiting["events"]
    ready_now = _step(kube, kube_namespace, T0 + timedelta(minutes=1))
    assert ready_now["status"]["consentUrl"].startswith("https://consent.example/consent/")


def test_links_are_kept_renewed_and_rotated(kube: KubeApi, kube_namespace: str) -> None:
    create_connection(kube, kube_namespace, "acme", {"consent": {"linkTTL": "2h"}})
    first = _step(kube, kube_namespace, T0)
    url = first["status"]["consentUrl"]
    assert url.startswith("https://consent.example/consent/")
    assert first["status"]["consentExpiresAt"] == "2026-03-01T14:00:00Z"
    assert ("Normal", "ConsentLinkIssued") in first["events"] and ("Normal", "PhasePendingConsent") in first[
        "events"
    ]

    kept = _step(kube, kube_namespace, T0 + timedelta(minutes=30))
    assert "consentUrl" not in kept["status"] and kept["events"] == []  # nothing changed, nothing posted

    renewed = _step(kube, kube_namespace, T0 + timedelta(hours=1, minutes=30))  # under an hour left
    assert renewed["status"]["consentUrl"] != url
    assert renewed["status"]["consentExpiresAt"] == "2026-03-01T15:30:00Z"

    kube.patch_metadata(
        "spirisconnections",
        kube_namespace,
        "acme",
        {"annotations": {"spiris.senseworks.io/rotate-consent-link": "a"}},
    )
    rotated = _step(kube, kube_namespace, T0 + timedelta(hours=1, minutes=31))
    assert rotated["status"]["consentUrl"] != renewed["status"]["consentUrl"]
    assert rotated["status"]["handledRotation"] == "a"
    again = _step(kube, kube_namespace, T0 + timedelta(hours=1, minutes=32))
    assert "consentUrl" not in again["status"], "one rotation per annotation value"

    token = consent_link.token_from_url(rotated["status"]["consentUrl"])
    claims = consent_link.verify(token, signing_key=KEY, now=T0 + timedelta(hours=1, minutes=32))
    assert claims.name == "acme" and claims.namespace == kube_namespace
