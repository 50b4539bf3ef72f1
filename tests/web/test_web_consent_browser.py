"""The consent flow in real Chromium: our pages, the sandbox's login/picker/consent, the Kubernetes emulator.

Every test starts from a SpirisConnection created in the emulator with a consent link in its status (as the
operator would publish it) and asserts both what the person sees (page, language, status code) and what
changed in Kubernetes (the token Secret — or, for every failure, nothing at all).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from spiris_connection.token_secret import CONNECTION_LABEL
from spiris_web.connections import UNUSED_CONSENT_REASON
from testkit.consent_journey import PHONE, Journey
from testkit.sandbox_control import SandboxControl

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

def assert_no_secret(web: Any, namespace: str, name: str) -> None:
    assert web.secret(namespace, name) is None, "a failure must not write the token Secret"


def refused_grant_events(web: Any, namespace: str, name: str) -> list[Any]:
    """The Warning Events the web left on a connection whose consent Spiris granted but we refused."""
    events = web.core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
    return [e for e in events if e.reason == UNUSED_CONSENT_REASON and e.type == "Warning"]


def assert_security_headers(response: Any) -> None:
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


def test_happy_path_with_company_picker_writes_the_token_secret(
    web: Any, sandbox: Any, page: Any, kube_namespace: str, companies: Any, artifacts: Path, log_capture: Any
) -> None:
    full = companies["full"]
    name, link = web.create_connection(
        kube_namespace, display_name="Norrskens Redovisning", orgnr=full.org_number
    )
    journey = Journey(page, artifacts)

    response = journey.open(link.url)
    assert response.status == 200
    assert_security_headers(response)
    assert page.locator("html").get_attribute("lang") == "sv"
    body = page.locator("main").inner_text()
    for expected in ("Norrskens Redovisning", "Fullständig", "Programbehörighet", "Bokföring", "verifikation",
                     full.org_number):
        assert expected in body
    assert page.get_by_role("button", name="Ge behörighet").is_visible()
    journey.shot("consent-sv")

    page.get_by_role("link", name="In English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("button", name="Grant access").is_visible()
    assert "Full access" in page.locator("main").inner_text()
    journey.shot("consent-en")
    page.get_by_role("link", name="På svenska").click()
    assert page.locator("html").get_attribute("lang") == "sv"

    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    journey.shot("consent-phone-sv")
    page.set_viewport_size({"width": 1100, "height": 900})

    for _ in range(6):  # the button is reachable with Tab alone (skip link, language switch, button)
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "BUTTON":
            break
    assert page.evaluate("document.activeElement.textContent") == "Ge behörighet"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid", "keyboard focus must be visible"
    page.locator("button").scroll_into_view_if_needed()
    journey.shot("consent-keyboard-focus-sv", full_page=False)

    journey.grant()
    authorize = urlsplit(journey.authorize_url())
    assert f"{authorize.scheme}://{authorize.netloc}" == sandbox.url
    query = parse_qs(authorize.query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert "code_verifier" not in query
    assert query["prompt"] == ["login"] and "forceselectcompany:true" in query["acr_values"][0]
    assert query["redirect_uri"] == [f"{web.url}/oauth/callback"]
    assert "ea:sales_readonly" in query["scope"][0].split()

    journey.login()
    assert page.locator(f'button[name="company"][value="{companies["second"].number}"]').is_visible()
    journey.pick(full.number)
    callback = journey.decide(allow=True)
    assert callback.status == 200
    assert_security_headers(callback)
    assert full.name in journey.heading()
    assert full.org_number in page.locator("main").inner_text()
    journey.shot("success-sv")
    page.get_by_role("link", name="In English").click()
    assert "is connected" in journey.heading() and full.name in journey.heading()
    journey.remember_body()
    journey.shot("success-en")

    connection = web.connection(kube_namespace, name)
    secret = web.secret(kube_namespace, name)
    owner = secret.metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.uid, owner.controller) == (
        "SpirisConnection", name, connection["metadata"]["uid"], True,
    )
    assert secret.metadata.labels[CONNECTION_LABEL] == name
    assert secret.metadata.labels["app.kubernetes.io/managed-by"] == "spiris-operator"
    token = web.token_json(kube_namespace, name)
    assert token["access_token"] and token["refresh_token"] and isinstance(token["expires_at"], int)

    secrets = [token["access_token"], token["refresh_token"], *journey.codes_seen()]
    assert journey.codes_seen(), "the callback carried a code"
    everything = "\n".join(journey.bodies) + "\n" + log_capture.text()
    for value in secrets:
        assert value not in everything
    assert "/oauth/callback" in log_capture.text()  # the access log did log the callback, redacted


def test_replayed_link_and_callback_change_nothing(
    web: Any, page: Any, kube_namespace: str, companies: Any, artifacts: Path
) -> None:
    full = companies["full"]
    name, link = web.create_connection(kube_namespace, display_name="Norrskens", orgnr=full.org_number)
    journey = Journey(page, artifacts)
    assert journey.through_spiris(link.url, company=full.number).status == 200
    written = web.secret(kube_namespace, name).metadata.resource_version
    callback = journey.callback_url()

    again = journey.open(callback)  # the same code and state, same browser
    assert again.status == 400
    assert journey.heading() == "Godkännandet kunde inte kontrolleras"
    journey.shot("state-invalid-sv")

    reused = journey.open(link.url)  # the link produced the Secret: it is used up
    assert reused.status == 410 and journey.heading() == "Länken är redan använd"
    journey.shot("link-used-sv")
    journey.open(link.url + "?lang=en")
    journey.shot("link-used-en")
    journey.open(link.url + "?lang=sv")

    # The operator rotates the link (e.g. re-consent needed): the new link replaces the stored token.
    first_access = web.token_json(kube_namespace, name)["access_token"]
    rotated = web.issue_link(kube_namespace, name)
    assert journey.open(link.url).status == 410
    assert journey.through_spiris(rotated.url, company=full.number).status == 200
    replaced = web.secret(kube_namespace, name)
    assert replaced.metadata.resource_version != written
    assert web.token_json(kube_namespace, name)["access_token"] != first_access
    written = replaced.metadata.resource_version
    link = rotated

    web.mark_ready(kube_namespace, name)
    assert journey.open(link.url).status == 410
    assert web.secret(kube_namespace, name).metadata.resource_version == written


def test_forged_expired_foreign_and_rotated_links(
    web: Any, page: Any, kube_namespace: str, companies: Any, artifacts: Path
) -> None:
    orgnr = companies["full"].org_number
    name, link = web.create_connection(kube_namespace, display_name="Norrskens", orgnr=orgnr)
    journey = Journey(page, artifacts)

    header, payload, signature = link.token.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    response = journey.open(f"{web.url}/consent/{forged}")
    assert response.status == 400 and journey.heading() == "Länken fungerar inte"
    assert_security_headers(response)
    journey.shot("link-invalid-sv")

    assert journey.open(f"{web.url}/consent/not-a-token").status == 400

    expired = web.issue_link(
        kube_namespace, name, ttl=timedelta(hours=1), now=datetime.now(UTC) - timedelta(hours=2)
    )
    assert journey.open(expired.url).status == 410
    assert journey.heading() == "Länken har gått ut"
    journey.shot("link-expired-sv")
    journey.open(expired.url + "?lang=en")
    assert journey.heading() == "This link has expired"
    journey.shot("link-expired-en")
    journey.open(expired.url + "?lang=sv")

    other, _ = web.create_connection(kube_namespace, display_name="Annan", orgnr=orgnr)
    other_uid = web.connection(kube_namespace, other)["metadata"]["uid"]
    foreign = web.issue_link(kube_namespace, name, uid=other_uid, publish=False)
    assert journey.open(foreign.url).status == 404
    assert journey.heading() == "Kopplingen finns inte längre"
    journey.shot("link-unknown-sv")

    old = web.issue_link(kube_namespace, name)
    web.issue_link(kube_namespace, name)  # the operator rotated the link
    assert journey.open(old.url).status == 410
    assert journey.heading() == "Det finns en nyare länk"
    journey.shot("link-replaced-sv")

    assert journey.open(f"{web.url}/nowhere").status == 404
    journey.shot("not-found-sv")
    assert_no_secret(web, kube_namespace, name)
    assert_no_secret(web, kube_namespace, other)


def test_tampered_or_foreign_state_and_forged_form_are_refused(
    web: Any, browser: Any, page: Any, kube_namespace: str, companies: Any, artifacts: Path
) -> None:
    name, link = web.create_connection(kube_namespace, display_name="Norrskens",
                                       orgnr=companies["full"].org_number)
    journey = Journey(page, artifacts)
    journey.open(link.url)
    journey.grant()
    state = parse_qs(urlsplit(journey.authorize_url()).query)["state"][0]

    head, payload, signature = state.split(".")
    tampered = f"{head}.{payload}.{signature[::-1]}"
    response = journey.open(f"{web.url}/oauth/callback?code=abc&state={tampered}")
    assert response.status == 400 and journey.heading() == "Godkännandet kunde inte kontrolleras"
    assert_security_headers(response)

    assert journey.open(f"{web.url}/oauth/callback?code=abc").status == 400
    assert journey.open(f"{web.url}/oauth/callback?code=abc&state={link.token}").status == 400

    stranger = browser.new_context()
    try:
        other_tab = stranger.new_page()
        response = other_tab.goto(f"{web.url}/oauth/callback?code=abc&state={state}")
        assert response.status == 400, "a state from another browser must not be accepted"
        other_tab.goto(f"{web.url}/oauth/callback?code=abc&state={state}&lang=en")
        other_tab.screenshot(path=str(artifacts / "state-invalid-en.png"), full_page=True)
        forged_form = other_tab.request.post(f"{web.url}/consent/{link.token}", form={"csrf_token": "x"},
                                             max_redirects=0)
        assert forged_form.status == 403
        assert "Please reload the page" in forged_form.text()  # this browser chose English above
    finally:
        stranger.close()

    with httpx.Client() as client:  # a cross-site POST without the browser cookie
        posted = client.post(f"{web.url}/consent/{link.token}", data={"csrf_token": "forged"})
    assert posted.status_code == 403 and "location" not in posted.headers
    assert_no_secret(web, kube_namespace, name)


def test_declined_consent(web: Any, page: Any, kube_namespace: str, companies: Any, artifacts: Path) -> None:
    full = companies["full"]
    name, link = web.create_connection(kube_namespace, display_name="Norrskens", orgnr=full.org_number)
    journey = Journey(page, artifacts)
    response = journey.through_spiris(link.url, company=full.number, allow=False)
    assert response.status == 403
    assert journey.heading() == "Behörigheten godkändes inte"
    journey.shot("declined-sv")
    page.get_by_role("link", name="In English").click()
    assert journey.heading() == "Access was not granted"
    journey.shot("declined-en")
    assert_no_secret(web, kube_namespace, name)


def test_wrong_company_is_refused(
    web: Any, page: Any, kube_namespace: str, companies: Any, artifacts: Path, log_capture: Any
) -> None:
    expected, chosen = companies["full"], companies["second"]
    name, link = web.create_connection(kube_namespace, display_name="Norrskens", orgnr=expected.org_number)
    journey = Journey(page, artifacts)
    response = journey.through_spiris(link.url, company=chosen.number)
    assert response.status == 409
    assert journey.heading() == "Fel företag valdes"
    text = page.locator("main").inner_text()
    assert chosen.name in text and chosen.org_number in text and expected.org_number in text
    journey.shot("wrong-company-sv")
    page.get_by_role("link", name="In English").click()
    journey.shot("wrong-company-en")
    assert_no_secret(web, kube_namespace, name)
    [event] = refused_grant_events(web, kube_namespace, name)
    assert chosen.name in event.message and chosen.org_number in event.message
    assert event.involved_object.kind == "SpirisConnection" and event.involved_object.uid
    for code in journey.codes_seen():
        assert code not in log_capture.text() and code not in event.message


@pytest.mark.parametrize(
    ("role", "status", "heading", "shot"),
    [
        ("readonly", 403, "Behörighet saknas i Spiris", "missing-permission"),
        ("no_module", 403, "Modulen Bokföring saknas", "missing-module"),
        ("inactive", 403, "Företaget är inte aktivt i Spiris", "company-inactive"),
    ],
)
def test_spiris_refusals_get_their_own_page(
    web: Any, page: Any, kube_namespace: str, companies: Any, artifacts: Path,
    role: str, status: int, heading: str, shot: str,
) -> None:
    company = companies[role]
    name, link = web.create_connection(kube_namespace, display_name=company.name, orgnr=company.org_number)
    journey = Journey(page, artifacts)
    response = journey.through_spiris(link.url, company=company.number)
    assert response.status == status
    assert journey.heading() == heading
    journey.shot(f"{shot}-sv")
    page.get_by_role("link", name="In English").click()
    journey.shot(f"{shot}-en")
    assert_no_secret(web, kube_namespace, name)
    [event] = refused_grant_events(web, kube_namespace, name)
    assert "remove this integration in Spiris" in event.message


def test_spiris_unavailable(
    web: Any, sandbox_control: SandboxControl, page: Any, kube_namespace: str, companies: Any, artifacts: Path
) -> None:
    full = companies["full"]
    name, link = web.create_connection(kube_namespace, display_name="Norrskens", orgnr=full.org_number)
    journey = Journey(page, artifacts)
    journey.open(link.url)
    journey.grant()
    journey.login()
    journey.pick(full.number)
    sandbox_control.faults(server_errors=10, server_error_status=503)
    try:
        response = journey.decide(allow=True)
    finally:
        sandbox_control.faults(server_errors=0)
    assert response.status == 502
    assert journey.heading() == "Spiris svarar inte just nu"
    journey.shot("spiris-unavailable-sv")
    page.get_by_role("link", name="In English").click()
    journey.shot("spiris-unavailable-en")
    assert_no_secret(web, kube_namespace, name)


def test_script_in_display_name_is_escaped(
    web: Any, page: Any, kube_namespace: str, companies: Any, artifacts: Path
) -> None:
    payload = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    orgnr = companies["full"].org_number
    name, link = web.create_connection(kube_namespace, display_name=payload, orgnr=orgnr)
    journey = Journey(page, artifacts)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    assert journey.open(link.url).status == 200
    html = journey.remember_body()
    assert "<script>window.__pwned" not in html and "&lt;script&gt;" in html
    assert payload in page.locator("main").inner_text()  # shown as text, verbatim
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("script").count() == 0
    journey.shot("consent-hostile-name-sv")
    assert_no_secret(web, kube_namespace, name)


def test_health_ready_and_metrics(web: Any) -> None:
    with httpx.Client(base_url=web.url) as client:
        assert client.get("/healthz").text == "ok\n"
        ready = client.get("/readyz")
        assert ready.status_code == 200
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert "spiris_web_pages_total" in metrics.text
        assert "spiris_web_request_duration_seconds" in metrics.text
        css = client.get("/static/web.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_missing_permission_switched_on_at_runtime(
    web: Any, sandbox_control: SandboxControl, page: Any, kube_namespace: str, companies: Any, artifacts: Path
) -> None:
    company = companies["third"]
    name, link = web.create_connection(kube_namespace, display_name=company.name, orgnr=company.org_number)
    sandbox_control.faults(company={"number": company.number, "permission": "readonly"})
    try:
        response = Journey(page, artifacts).through_spiris(link.url, company=company.number)
    finally:
        sandbox_control.faults(company={"number": company.number, "permission": "full"})
    assert response.status == 403
    assert page.locator("h1").inner_text() == "Behörighet saknas i Spiris"
    assert "Fullständig" in page.locator("main").inner_text()
    assert_no_secret(web, kube_namespace, name)


def test_script_in_spiris_company_name_is_escaped_on_success(
    web: Any, sandbox: Any, page: Any, kube_namespace: str, companies: Any, artifacts: Path
) -> None:
    company = companies["third"]
    profile = sandbox.state.world.profiles[company.number]
    hostile = '<script>window.__pwned = 1</script>Ölands "Café" & <b>Bageri</b>'
    original = (profile.name, profile.settings["Name"])
    profile.name, profile.settings["Name"] = hostile, hostile
    try:
        name, link = web.create_connection(
            kube_namespace, display_name="Ölands Café", orgnr=company.org_number
        )
        journey = Journey(page, artifacts)
        assert journey.through_spiris(link.url, company=company.number).status == 200
    finally:
        profile.name, profile.settings["Name"] = original
    html = journey.remember_body()
    assert "<script>window.__pwned" not in html and "<b>Bageri</b>" not in html
    assert "&lt;script&gt;" in html
    assert hostile in page.locator("h1").inner_text()  # shown verbatim, as text
    assert page.evaluate("window.__pwned === undefined") and page.locator("main b").count() == 0
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    journey.shot("success-hostile-name-phone-sv")
    assert web.secret(kube_namespace, name) is not None


@pytest.mark.parametrize("change", ["rotated", "ready"])
def test_link_rotated_or_used_during_the_flow_is_refused_at_callback(
    web: Any, page: Any, kube_namespace: str, companies: Any, artifacts: Path, change: str
) -> None:
    full = companies["full"]
    name, link = web.create_connection(kube_namespace, display_name="Norrskens", orgnr=full.org_number)
    journey = Journey(page, artifacts)
    journey.open(link.url)
    journey.grant()
    journey.login()
    journey.pick(full.number)
    if change == "rotated":
        web.issue_link(kube_namespace, name)  # the operator rotates while the person is at Spiris
    else:
        web.mark_ready(kube_namespace, name)
    response = journey.decide(allow=True)
    assert response.status == 410
    expected = "Det finns en nyare länk" if change == "rotated" else "Länken är redan använd"
    assert journey.heading() == expected
    assert_no_secret(web, kube_namespace, name)
