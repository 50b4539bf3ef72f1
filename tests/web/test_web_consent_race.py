"""Issue 14 item 4 and the company binding of item 8, at the web component.

Two people finishing the consent flow of one link at the same time: the first token written wins, the second
gets a clear "already connected" page (Swedish, and English through the language switch), changes nothing,
and its grant — which Spiris gives us no way to revoke — is recorded on the token Secret for the operator to
surface. The same rule as plain calls of ``ConnectionStore.store_consented_token`` (as the chart's web
ServiceAccount): a write is only ever over the Secret version that was checked; an unrelated change (a
token refresh, an annotation) is written over, another consent never. A connection bound to no company gets
a page saying so and nothing is written.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from kubernetes import config as k8s_config
from spiris_client.oauth import TokenSet
from spiris_connection import unused_grants
from spiris_connection.token_secret import secret_name
from spiris_web.connections import (
    LINK_ANNOTATION,
    STATE_ANNOTATION,
    AlreadyConnected,
    ConnectionStore,
    GrantInfo,
)
from testkit.consent_journey import Journey
from testkit.sandbox_control import SandboxControl

pytestmark = [pytest.mark.timeout(180)]


def _state_jti(callback_url: str) -> str:
    state = parse_qs(urlsplit(callback_url).query)["state"][0]
    payload = state.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])


def _company_of(sandbox: Any, access_token: str) -> str:
    response = httpx.get(
        f"{sandbox.url}/v2/companysettings", headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    )
    response.raise_for_status()
    return str(response.json()["CorporateIdentityNumber"])


@pytest.mark.browser
def test_two_browsers_racing_on_one_link_first_wins_second_is_told_and_recorded(
    web: Any,
    sandbox: Any,
    sandbox_control: SandboxControl,
    browser: Any,
    kube_namespace: str,
    companies: Any,
    artifacts: Path,
) -> None:
    first_company, second_company = companies["full"], companies["second"]
    name, link = web.create_connection(
        kube_namespace, display_name="Norrskens", orgnr=None, allow_any_company=True
    )
    contexts = [browser.new_context(viewport={"width": 1100, "height": 900}) for _ in range(2)]
    try:
        journeys = []
        for context, company in zip(contexts, (first_company, second_company), strict=True):
            tab = context.new_page()
            tab.set_default_timeout(30000)
            journey = Journey(tab, artifacts)
            journey.open(link.url)
            journey.grant()
            journey.login()
            journey.pick(company.number)
            journeys.append(journey)
        # Hold both code exchanges at Spiris so both callbacks pass their checks before either writes.
        sandbox_control.faults(token_slow_ms=1500)
        try:
            a, b = journeys
            allow = 'button[name="decision"][value="allow"]'
            with (
                a.page.expect_response(lambda r: "/oauth/callback" in r.url) as got_a,
                b.page.expect_response(lambda r: "/oauth/callback" in r.url) as got_b,
            ):
                a.page.locator(allow).click(no_wait_after=True)
                b.page.locator(allow).click(no_wait_after=True)
            responses = [got_a.value, got_b.value]
        finally:
            sandbox_control.faults(token_slow_ms=0)
        for journey in journeys:
            journey.settle_at_callback()

        statuses = sorted(r.status for r in responses)
        assert statuses == [200, 409], statuses
        first_won = responses[0].status == 200
        winner, loser = (journeys[0], journeys[1]) if first_won else (journeys[1], journeys[0])
        winner_company, loser_company = (
            (first_company, second_company) if winner is journeys[0] else (second_company, first_company)
        )
        assert loser.heading() == "Kopplingen är redan klar"
        body = loser.page.locator("main").inner_text()
        assert loser_company.name in body and loser_company.org_number in body and "ingenting har" in body
        loser.shot("consent-race-already-connected-sv")
        loser.page.get_by_role("link", name="In English").click()
        assert loser.heading() == "The connection is already complete"
        assert "nothing has been changed" in loser.page.locator("main").inner_text()

        # The Secret holds the winner's consent, untouched by the loser.
        secret = web.secret(kube_namespace, name)
        annotations = secret.metadata.annotations
        assert annotations[STATE_ANNOTATION] == _state_jti(winner.callback_url())
        assert annotations[LINK_ANNOTATION] == link.jti
        stored = web.token_json(kube_namespace, name)
        assert _company_of(sandbox, stored["access_token"]) == winner_company.org_number
        # The loser's grant is recorded (no token in it) for the operator to surface.
        grants = unused_grants.parse(annotations)
        assert [(g.company, g.orgnr) for g in grants] == [(loser_company.name, loser_company.org_number)]
        assert "token" not in annotations[unused_grants.ANNOTATION].lower()
    finally:
        for context in contexts:
            context.close()


@pytest.mark.browser
def test_a_connection_bound_to_no_company_refuses_consent(
    web: Any, page: Any, kube_namespace: str, artifacts: Path
) -> None:
    name, link = web.create_connection(kube_namespace, display_name="Obunden", orgnr=None)
    journey = Journey(page, artifacts)
    response = journey.open(link.url)
    assert response.status == 403
    assert journey.heading() == "Länken är inte knuten till ett företag"
    page.get_by_role("link", name="In English").click()
    assert journey.heading() == "The link is not tied to a company"
    assert web.secret(kube_namespace, name) is None


def _token(n: int) -> TokenSet:
    return TokenSet(
        access_token=f"access-{n}", refresh_token=f"refresh-{n}", token_type="Bearer", expires_in=3600,
        expires_at=2_000_000_000, scope="ea:api offline_access",
    )


def test_store_writes_only_over_the_checked_version(web: Any, web_access: Any, kube_namespace: str) -> None:
    store = ConnectionStore(k8s_config.new_client_from_config(config_file=web_access.kubeconfig("web")))
    name, _ = web.create_connection(kube_namespace, display_name="Race", orgnr="556585-4444")
    connection = web.connection(kube_namespace, name)
    grant = GrantInfo(company="Second AB", orgnr="559999-0002", company_id="second")

    # Two first consents, both checked "no Secret": the first creates, the second changes nothing.
    store.store_consented_token(
        connection=connection, token=_token(1), link_jti="L1", state_jti="S1", checked=None, grant=grant
    )
    with pytest.raises(AlreadyConnected):
        store.store_consented_token(
            connection=connection, token=_token(2), link_jti="L1", state_jti="S2", checked=None, grant=grant
        )
    assert web.token_json(kube_namespace, name)["refresh_token"] == "refresh-1"
    assert len(unused_grants.parse(web.secret(kube_namespace, name).metadata.annotations)) == 1

    # A re-consent checked at version V while the operator touched the Secret (an annotation, as a refresh
    # claim does): the checked markers still stand, so it is written over the newer version.
    checked = store.consent_record(namespace=kube_namespace, connection_name=name)
    assert checked is not None and checked.state_jti == "S1"
    secret = web.secret(kube_namespace, name)
    secret.metadata.annotations = {**secret.metadata.annotations, "spiris.senseworks.io/refresh-lease": "x/1"}
    web.core.replace_namespaced_secret(secret_name(name), kube_namespace, secret)
    store.store_consented_token(
        connection=connection, token=_token(3), link_jti="L2", state_jti="S3", checked=checked, grant=grant
    )
    after = web.secret(kube_namespace, name).metadata.annotations
    assert web.token_json(kube_namespace, name)["refresh_token"] == "refresh-3"
    assert after[STATE_ANNOTATION] == "S3" and "spiris.senseworks.io/refresh-lease" not in after
    assert len(unused_grants.parse(after)) == 1, "the record of unused grants survives a re-consent"

    # A second re-consent checked at that same old version lost to the one above: nothing changes.
    with pytest.raises(AlreadyConnected):
        store.store_consented_token(
            connection=connection, token=_token(4), link_jti="L2", state_jti="S4", checked=checked,
            grant=grant,
        )
    assert web.token_json(kube_namespace, name)["refresh_token"] == "refresh-3"
    assert len(unused_grants.parse(web.secret(kube_namespace, name).metadata.annotations)) == 2
