"""The SIE 4 export of a fiscal year as the API serves it: the copy's `Sie4File` (`spiris_store.sie4_copy`)
written by the one codec (`spiris_store.sie4.write_sie4`), with a safe file name and whether `#IB`/`#UB` are
in it (`balances_complete`, the `X-Spiris-Balances` header).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from spiris_store.read_pool import Connection
from spiris_store.read_queries import resolve_fiscal_year
from spiris_store.read_records import FiscalYearRef
from spiris_store.sie4 import write_sie4
from spiris_store.sie4_copy import sie4_of_fiscal_year

PROGRAM = "Spiris operator (Senseworks)"


@dataclass(frozen=True)
class SieExport:
    content: bytes
    file_name: str
    balances_complete: bool


def sie_export(
    conn: Connection, *, company_key: str, year: FiscalYearRef, generated: datetime.date
) -> SieExport:
    """The fiscal year `year` (calendar year it starts in, or its id) as a SIE 4 file; the store's
    `NotInCopy`/`AmbiguousFiscalYear` when the copy has no such year or two."""
    fiscal_year = resolve_fiscal_year(conn, company_key=company_key, ref=year)
    copy = sie4_of_fiscal_year(conn, company_key=company_key, fiscal_year=fiscal_year, program=PROGRAM)
    safe_name = re.sub(r"[^A-Za-z0-9_-]+", "-", copy.company_name or "company").strip("-")[:60] or "company"
    start = fiscal_year.start_date
    suffix = str(start.year) if isinstance(year, int) else start.isoformat()
    return SieExport(
        content=write_sie4(copy.sie, generated=generated, program_version="1.0"),
        file_name=f"{safe_name}-{suffix}.se",
        balances_complete=copy.balances_complete,
    )
