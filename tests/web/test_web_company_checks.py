"""The callback's company checks in real Chromium: CompanyStatus, ProductVariant and a probe voucher page
decide the page while the person is still there — Swedish by default, English on the switch.

Company states and variants are switched on the sandbox for the duration of one test (and switched back), so
the shared sandbox stays as seeded for the other tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from testkit.consent_journey import Journey
from testkit.sandbox_control import SandboxControl

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


@contextmanager
def company_switched(control: SandboxControl, number: int, **switch: Any) -> Iterator[None]:
    control.faults(company={"number": number, **switch})
    try:
        yield
    finally:
        restore = {"number": number, "company_status": 1, "product_variant": 5, "permission": "full"}
        control.faults(company=restore)


def _journey(web: Any, page: Any, namespace: str, company: Any, artifacts: Path) -> tuple[str, Journey, Any]:
    name, link = web.create_connection(namespace, display_name=company.name, orgnr=company.org_number)
    journey = Journey(page, artifacts)
    response = journey.through_spiris(link.url, company=company.number)
    return name, journey, response


@pytest.mark.parametrize(
    ("switch", "status", "heading_sv", "heading_en", "shot"),
    [
        (
            {"product_variant": 2},
            403,
            "Företagets Spiris saknar bokföring",
            "The company's Spiris has no bookkeeping",
            "variant-invoicing",
        ),
        (
            {"product_variant": 6},
            403,
            "Företagets Spiris saknar bokföring",
            "The company's Spiris has no bookkeeping",
            "variant-invoicing-collaboration",
        ),
        (
            {"permission": "none"},
            403,
            "Behörighet saknas i Spiris",
            "Permission missing in Spiris",
            "probe-no-access-4011",
        ),
    ],
)
def test_refused_companies_get_a_page_saying_what_to_fix(
    web: Any, sandbox_control: SandboxControl, page: Any, kube_namespace: str, companies: Any,
    artifacts: Path,
    switch: dict[str, Any], status: int, heading_sv: str, heading_en: str, shot: str,
) -> None:
    company = companies["third"]
    with company_switched(sandbox_control, company.number, **switch):
        name, journey, response = _journey(web, page, kube_namespace, company, artifacts)
    assert response.status == status
    assert journey.heading() == heading_sv
    journey.shot(f"{shot}-sv")
    page.get_by_role("link", name="In English").click()
    assert journey.heading() == heading_en
    journey.shot(f"{shot}-en")
    assert web.secret(kube_namespace, name) is None, "a refusal must not write the token Secret"


def test_inactive_company_status_is_refused(
    web: Any, sandbox_control: SandboxControl, page: Any, kube_namespace: str, companies: Any, artifacts: Path
) -> None:
    company = companies["third"]
    with company_switched(sandbox_control, company.number, company_status=0):
        name, journey, response = _journey(web, page, kube_namespace, company, artifacts)
    assert response.status == 403
    assert journey.heading() == "Företaget är inte aktivt i Spiris"
    assert web.secret(kube_namespace, name) is None


@pytest.mark.parametrize(
    ("switch", "heading_sv", "heading_en", "body_sv", "shot"),
    [
        (
            {"company_status": 2},
            "Kopplat \u2013 men {name} är skrivskyddat i Spiris",
            "Connected \u2013 but {name} is read-only in Spiris",
            "skrivskyddat",
            "connected-read-only",
        ),
        (
            {"product_variant": 3},
            "Kopplat \u2013 utan kundfakturor",
            "Connected \u2013 without customer invoices",
            "saknar kundfakturor",
            "connected-bookkeeping-variant",
        ),
    ],
)
def test_readable_companies_connect_with_a_page_saying_what_it_means(
    web: Any, sandbox_control: SandboxControl, page: Any, kube_namespace: str, companies: Any,
    artifacts: Path,
    switch: dict[str, Any], heading_sv: str, heading_en: str, body_sv: str, shot: str,
) -> None:
    company = companies["second"]
    with company_switched(sandbox_control, company.number, **switch):
        name, journey, response = _journey(web, page, kube_namespace, company, artifacts)
    assert response.status == 200
    assert journey.heading() == heading_sv.format(name=company.name)
    assert body_sv in page.locator("main").inner_text()
    journey.shot(f"{shot}-sv")
    page.get_by_role("link", name="In English").click()
    assert journey.heading() == heading_en.format(name=company.name)
    journey.shot(f"{shot}-en")
    assert web.secret(kube_namespace, name) is not None, "a readable company is connected"
