"""The fiscal years of a company as the copy holds them, with what was synced into each.

A year is addressed by the calendar year it starts in (as `FiscalYearSync.spec.fiscalYear`), so
`/fiscal-years/2024` is the year starting in 2024 whatever its months.
"""

from __future__ import annotations

from typing import Any

import psycopg
from spiris_store.ledger_queries import ledger_counts

from spiris_read.problems import NotFoundProblem
from spiris_read.records import FiscalYearRecord

Connection = psycopg.Connection[Any]


def fiscal_years(conn: Connection, *, company_key: str) -> list[FiscalYearRecord]:
    """Every fiscal year of the company in the copy, oldest first, with live counts."""
    rows = conn.execute(
        "SELECT id, start_date, end_date, is_locked FROM spiris.fiscal_years"
        " WHERE company_key = %s ORDER BY start_date",
        (company_key,),
    ).fetchall()
    years = []
    for fy_id, start, end, locked in rows:
        counts = ledger_counts(conn, company_key=company_key, fiscal_year_id=fy_id)
        years.append(
            FiscalYearRecord(
                year=start.year,
                id=fy_id,
                start_date=start,
                end_date=end,
                locked=bool(locked),
                vouchers=counts.vouchers,
                rows=counts.rows,
                documents=counts.documents,
                missing_documents=counts.missing_documents,
            )
        )
    return years


def fiscal_year(conn: Connection, *, company_key: str, year: int) -> tuple[Any, Any, Any]:
    """(id, start_date, end_date) of the year starting in `year`; `NotFoundProblem` when the copy has none."""
    row = conn.execute(
        "SELECT id, start_date, end_date FROM spiris.fiscal_years"
        " WHERE company_key = %s AND start_date >= make_date(%s, 1, 1) AND start_date < make_date(%s, 1, 1)"
        " ORDER BY start_date LIMIT 1",
        (company_key, year, year + 1),
    ).fetchone()
    if row is None:
        raise NotFoundProblem(f"No fiscal year starting in {year} has been synced for this connection.")
    return row[0], row[1], row[2]
