"""A synced fiscal year as a `Sie4File`, built from the copy alone (written by `sie4.write_sie4`).

Vouchers and rows come from the live vouchers in (series, number) order; `#KONTO` from the year's chart of
accounts plus any account a row names that the chart lacks. Balances: `#IB` is the opening balance the latest
successful reconciliation recorded (`sync_runs.reconciliation.openingBalances`; Spiris' own figures for the
company's first year, the previous year's closing otherwise), `#UB` = `#IB` + the year's movement for balance
sheet accounts (< 3000) and `#RES` the movement of result accounts. When no run has recorded opening balances
(a copy synced before they were kept) `#IB`/`#UB` are left out rather than guessed (`balances_complete`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from spiris_store.ledger_queries import account_sums
from spiris_store.records import FiscalYearRecord
from spiris_store.sie4 import Sie4File, Sie4Transaction, Sie4Voucher

Connection = psycopg.Connection[Any]
RESULT_ACCOUNTS_FROM = 3000


@dataclass(frozen=True)
class Sie4OfCopy:
    """The year's SIE 4 content, the company's name, and whether opening balances were known."""

    sie: Sie4File
    company_name: str | None
    balances_complete: bool


def _voucher_number(number: str | None, series: str | None) -> str:
    text = number or ""
    if series and text.startswith(series):
        return text[len(series) :]
    return text


def _sort_key(voucher: Sie4Voucher) -> tuple[str, int, str]:
    digits = re.sub(r"\D", "", voucher.number)
    return (voucher.series, int(digits) if digits else 0, voucher.number)


def opening_balances(
    conn: Connection, *, company_key: str, fiscal_year_id: uuid.UUID
) -> dict[int, Decimal] | None:
    """The opening balances the latest successful reconciliation of the year recorded, or None."""
    row = conn.execute(
        """
        SELECT reconciliation -> 'openingBalances' FROM spiris.sync_runs
        WHERE company_key = %s AND fiscal_year_id = %s AND outcome IN ('succeeded', 'degraded')
            AND reconciliation ? 'openingBalances' AND coalesce(reconciliation ->> 'error', '') = ''
        ORDER BY started_at DESC LIMIT 1
        """,
        (company_key, fiscal_year_id),
    ).fetchone()
    if row is None or not isinstance(row[0], dict):
        return None
    return {int(account): Decimal(str(value)) for account, value in row[0].items()}


def sie4_of_fiscal_year(
    conn: Connection, *, company_key: str, fiscal_year: FiscalYearRecord, program: str
) -> Sie4OfCopy:
    """The copy of `fiscal_year` as SIE 4 content (`#PROGRAM` is `program`)."""
    fy_id, start = fiscal_year.id, fiscal_year.start_date
    company = conn.execute(
        "SELECT name, corporate_identity_number FROM spiris.companies WHERE company_key = %s", (company_key,)
    ).fetchone()
    name, org_number = (company[0], company[1]) if company else (None, None)
    years = {0: (start, fiscal_year.end_date)}
    previous = conn.execute(
        "SELECT start_date, end_date FROM spiris.fiscal_years WHERE company_key = %s AND end_date < %s"
        " ORDER BY end_date DESC LIMIT 1",
        (company_key, start),
    ).fetchone()
    if previous is not None:
        years[-1] = (previous[0], previous[1])
    accounts = {
        int(n): str(a)
        for n, a in conn.execute(
            "SELECT number, name FROM spiris.accounts WHERE company_key = %s AND fiscal_year_id = %s",
            (company_key, fy_id),
        ).fetchall()
    }
    rows = conn.execute(
        """
        SELECT v.id, v.number, v.number_series, v.voucher_date, v.text, r.account_number, r.debit, r.credit,
            r.transaction_text, r.account_description,
            (v.created_utc AT TIME ZONE 'Europe/Stockholm')::date
        FROM spiris.vouchers v
        JOIN spiris.voucher_rows r ON r.company_key = v.company_key AND r.voucher_id = v.id
        WHERE v.company_key = %s AND v.fiscal_year_id = %s AND v.vanished_at IS NULL
        ORDER BY v.id, r.row_no
        """,
        (company_key, fy_id),
    ).fetchall()
    grouped: dict[uuid.UUID, tuple[tuple[Any, ...], list[Sie4Transaction]]] = {}
    for row in rows:
        _, transactions = grouped.setdefault(row[0], (row, []))
        account = int(row[5])
        accounts.setdefault(account, str(row[9] or ""))
        transactions.append(
            Sie4Transaction(account=account, amount=Decimal(row[6]) - Decimal(row[7]), text=row[8] or None)
        )
    vouchers = sorted(
        (
            Sie4Voucher(
                series=head[2] or "",
                number=_voucher_number(head[1], head[2]),
                date=head[3],
                text=head[4],
                transactions=tuple(transactions),
                line=0,
                registered=head[10],
            )
            for head, transactions in grouped.values()
        ),
        key=_sort_key,
    )
    movement = account_sums(conn, company_key=company_key, fiscal_year_id=fy_id)
    opening = opening_balances(conn, company_key=company_key, fiscal_year_id=fy_id)
    results = {(0, a): v for a, v in movement.items() if a >= RESULT_ACCOUNTS_FROM}
    ib: dict[tuple[int, int], Decimal] = {}
    ub: dict[tuple[int, int], Decimal] = {}
    if opening is not None:
        ib = {(0, a): v for a, v in opening.items() if a < RESULT_ACCOUNTS_FROM}
        for account in sorted(set(opening) | set(movement)):
            if account < RESULT_ACCOUNTS_FROM:
                ub[(0, account)] = opening.get(account, Decimal(0)) + movement.get(account, Decimal(0))
    sie = Sie4File(
        format="PC8",
        sie_type="4",
        program=program,
        company_name=name,
        org_number=org_number,
        fiscal_years=years,
        accounts=accounts,
        opening_balances=ib,
        closing_balances=ub,
        results=results,
        vouchers=tuple(vouchers),
    )
    return Sie4OfCopy(sie=sie, company_name=name, balances_complete=opening is not None)
