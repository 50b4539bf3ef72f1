"""The production :class:`~spiris_operator.spiris_access.SpirisReader`: ``spiris_client.SpirisApi`` per call.

Verification is rare (when a token changes, about hourly), so a short-lived client with a static bearer token
is simpler than sharing one; few retries, because the reconcile loop itself retries later.
"""

from __future__ import annotations

from spiris_client.api import SpirisApi
from spiris_client.tokens import StaticTokenProvider
from spiris_connection.company_identity import CompanyIdentity

from spiris_operator.spiris_access import FiscalYearInfo

__all__ = ["ClientSpirisReader"]


class ClientSpirisReader:
    """Reads company settings and fiscal years from the Spiris API at ``api_url`` (incl. ``/v2``)."""

    def __init__(self, api_url: str, *, timeout: float = 20.0) -> None:
        self.api_url = api_url
        self.timeout = timeout

    def _api(self, access_token: str) -> SpirisApi:
        return SpirisApi(
            self.api_url,
            token_provider=StaticTokenProvider(access_token),
            timeout=self.timeout,
            max_retries=1,
        )

    def company(self, access_token: str) -> CompanyIdentity:
        with self._api(access_token) as api:
            return CompanyIdentity.from_settings(api.company_settings())

    def fiscal_years(self, access_token: str) -> list[FiscalYearInfo]:
        with self._api(access_token) as api:
            years = api.fiscal_years()
        return [
            FiscalYearInfo(
                id=str(year.id),
                start_date=year.start_date.isoformat() if year.start_date else "",
                end_date=year.end_date.isoformat() if year.end_date else "",
                locked=year.is_locked_for_accounting,
            )
            for year in years
            if year.start_date is not None
        ]
