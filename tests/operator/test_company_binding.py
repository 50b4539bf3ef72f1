"""The operator compares organisation numbers like the web does: a consent for ``556585-4444`` reported by
Spiris as ``5565854444``, ``556585 4444`` or with an en dash is the expected company, not WrongCompany."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from spiris_connection.company_identity import CompanyIdentity
from spiris_operator.connection_reconciler import ConnectionContext, reconcile_connection
from spiris_operator.kube_api import KubeApi
from spiris_operator.settings import load_settings
from spiris_operator.spiris_access import FiscalYearInfo
from spiris_sandbox.server import SandboxServer
from testkit.operator_stack import consent_token, create_connection, store_consent

pytestmark = pytest.mark.timeout(60)


class ReportingReader:
    """Spiris as it may spell the number."""

    def __init__(self, number: str) -> None:
        self.number = number

    def company(self, access_token: str) -> CompanyIdentity:
        return CompanyIdentity(name="Acme Bygg AB", corporate_identity_number=self.number, identifier="acme")

    def fiscal_years(self, access_token: str) -> list[FiscalYearInfo]:
        return [FiscalYearInfo(id="fy", start_date="2025-01-01", end_date="2025-12-31", locked=False)]


@pytest.mark.parametrize(
    ("reported", "phase"),
    [
        ("5565854444", "Connected"),
        ("556585 4444", "Connected"),
        ("556585\u20134444", "Connected"),
        ("556585-4445", "ReconsentRequired"),
    ],
)
def test_reported_number_spellings(
    kube: KubeApi, kube_namespace: str, sandbox: SandboxServer, reported: str, phase: str
) -> None:
    connection = create_connection(
        kube, kube_namespace, "acme", {"expectedCorporateIdentityNumber": "556585-4444"}
    )
    store_consent(kube, connection, consent_token(sandbox.url))
    settings = load_settings(
        {
            "SPIRIS_LINK_SIGNING_KEY": "binding-tests-signing-key-0123456789",
            "SPIRIS_WEB_PUBLIC_URL": "https://x.example",
        }
    )
    ctx = ConnectionContext(
        kube=kube,
        settings=settings,
        refresher=None,
        reader=ReportingReader(reported),
        holder="t",  # type: ignore[arg-type]
        clock=lambda: datetime.now(UTC),
    )
    live = kube.get_custom("spirisconnections", kube_namespace, "acme")
    assert live is not None
    result = reconcile_connection(live, ctx)
    assert result.status["phase"] == phase
