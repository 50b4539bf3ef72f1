"""What the operator asks Spiris about a connection: the company behind a token and its fiscal years.

A small seam over ``spiris_client`` so the connection reconciler depends on two calls, not on the client's
construction details; the real implementation builds a ``SpirisApi`` with a static bearer token per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from spiris_connection.company_identity import CompanyIdentity

__all__ = ["FiscalYearInfo", "SpirisReader"]


@dataclass(frozen=True)
class FiscalYearInfo:
    """One fiscal year: Spiris id, ISO dates, locked for accounting."""

    id: str
    start_date: str
    end_date: str
    locked: bool


class SpirisReader(Protocol):
    """Reads company settings and fiscal years with an access token.

    Raises ``spiris_client.errors.Unauthorized`` on 401, ``Forbidden`` on missing permission or module, and
    ``SpirisUnavailable`` when Spiris cannot be reached.
    """

    def company(self, access_token: str) -> CompanyIdentity: ...

    def fiscal_years(self, access_token: str) -> list[FiscalYearInfo]: ...
