"""Read-side checks over the synced ledger: per-account sums, unbalanced vouchers, counts and checksums.

These feed reconciliation (compared with Spiris `accountbalances`) and the run's counts. Vanished vouchers
(no longer listed by Spiris) are left out of sums, balance checks and counts (counted separately).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg

from spiris_store.records import LedgerCounts, UnbalancedVoucher

Connection = psycopg.Connection[Any]


def account_sums(
    conn: Connection, *, company_key: str, fiscal_year_id: uuid.UUID, up_to: date | None = None
) -> dict[int, Decimal]:
    """Per account number: sum(debit) - sum(credit) of the fiscal year's rows (vouchers dated on or before
    `up_to` when given). Accounts without rows are absent."""
    rows = conn.execute(
        """
        SELECT r.account_number, sum(r.debit) - sum(r.credit)
        FROM spiris.voucher_rows r
        JOIN spiris.vouchers v ON v.company_key = r.company_key AND v.id = r.voucher_id
        WHERE v.company_key = %s AND v.fiscal_year_id = %s AND v.vanished_at IS NULL
            AND (%s::date IS NULL OR v.voucher_date <= %s::date)
        GROUP BY r.account_number ORDER BY r.account_number
        """,
        (company_key, fiscal_year_id, up_to, up_to),
    ).fetchall()
    return {int(number): Decimal(total) for number, total in rows}


def unbalanced_vouchers(
    conn: Connection, *, company_key: str, fiscal_year_id: uuid.UUID
) -> list[UnbalancedVoucher]:
    """Vouchers of the fiscal year whose stored rows do not balance (sum of debit ≠ sum of credit), or that
    have no rows at all."""
    rows = conn.execute(
        """
        SELECT v.id, v.number, coalesce(sum(r.debit), 0), coalesce(sum(r.credit), 0)
        FROM spiris.vouchers v
        LEFT JOIN spiris.voucher_rows r ON r.company_key = v.company_key AND r.voucher_id = v.id
        WHERE v.company_key = %s AND v.fiscal_year_id = %s AND v.vanished_at IS NULL
        GROUP BY v.id, v.number
        HAVING coalesce(sum(r.debit), 0) <> coalesce(sum(r.credit), 0) OR count(r.row_no) = 0
        ORDER BY v.number, v.id
        """,
        (company_key, fiscal_year_id),
    ).fetchall()
    return [UnbalancedVoucher(id=r[0], number=r[1], debit_total=r[2], credit_total=r[3]) for r in rows]


def ledger_counts(conn: Connection, *, company_key: str, fiscal_year_id: uuid.UUID) -> LedgerCounts:
    """What the ledger holds for the fiscal year: accounts, live vouchers and their rows, distinct documents
    linked to them, missing documents and vanished vouchers."""
    row = conn.execute(
        """
        SELECT
            (SELECT count(*) FROM spiris.accounts WHERE company_key = %(c)s AND fiscal_year_id = %(fy)s),
            (SELECT count(*) FROM spiris.vouchers
                WHERE company_key = %(c)s AND fiscal_year_id = %(fy)s AND vanished_at IS NULL),
            (SELECT coalesce(sum(row_count), 0) FROM spiris.vouchers
                WHERE company_key = %(c)s AND fiscal_year_id = %(fy)s AND vanished_at IS NULL),
            (SELECT count(DISTINCT vd.document_id) FROM spiris.voucher_documents vd
                JOIN spiris.vouchers v ON v.company_key = vd.company_key AND v.id = vd.voucher_id
                WHERE v.company_key = %(c)s AND v.fiscal_year_id = %(fy)s AND v.vanished_at IS NULL),
            (SELECT count(*) FROM spiris.missing_documents m
                JOIN spiris.vouchers v ON v.company_key = m.company_key AND v.id = m.voucher_id
                WHERE v.company_key = %(c)s AND v.fiscal_year_id = %(fy)s AND v.vanished_at IS NULL),
            (SELECT count(*) FROM spiris.vouchers
                WHERE company_key = %(c)s AND fiscal_year_id = %(fy)s AND vanished_at IS NOT NULL)
        """,
        {"c": company_key, "fy": fiscal_year_id},
    ).fetchone()
    assert row is not None
    return LedgerCounts(*(int(x) for x in row))


def vouchers_with_rows(
    conn: Connection, *, company_key: str, fiscal_year_id: uuid.UUID
) -> list[tuple[uuid.UUID, str | None, str | None, date, list[tuple[int, Decimal, Decimal]]]]:
    """Every live voucher of the fiscal year as (id, number, number series, date, rows in Spiris' order as
    (account, debit, credit)): what a row-by-row comparison with Spiris' SIE 4 export needs."""
    rows = conn.execute(
        """
        SELECT v.id, v.number, v.number_series, v.voucher_date,
            coalesce(array_agg(r.account_number ORDER BY r.row_no) FILTER (WHERE r.row_no IS NOT NULL), '{}'),
            coalesce(array_agg(r.debit ORDER BY r.row_no) FILTER (WHERE r.row_no IS NOT NULL), '{}'),
            coalesce(array_agg(r.credit ORDER BY r.row_no) FILTER (WHERE r.row_no IS NOT NULL), '{}')
        FROM spiris.vouchers v
        LEFT JOIN spiris.voucher_rows r ON r.company_key = v.company_key AND r.voucher_id = v.id
        WHERE v.company_key = %s AND v.fiscal_year_id = %s AND v.vanished_at IS NULL
        GROUP BY v.id, v.number, v.number_series, v.voucher_date
        """,
        (company_key, fiscal_year_id),
    ).fetchall()
    return [
        (
            row[0],
            row[1],
            row[2],
            row[3],
            [(int(a), Decimal(d), Decimal(c)) for a, d, c in zip(row[4], row[5], row[6], strict=True)],
        )
        for row in rows
    ]


def live_voucher_count(conn: Connection, *, company_key: str, fiscal_year_id: uuid.UUID) -> int:
    """How many vouchers of the fiscal year Spiris still lists (vanished ones left out)."""
    row = conn.execute(
        "SELECT count(*) FROM spiris.vouchers"
        " WHERE company_key = %s AND fiscal_year_id = %s AND vanished_at IS NULL",
        (company_key, fiscal_year_id),
    ).fetchone()
    return int(row[0]) if row else 0


def vouchers_synced_since(
    conn: Connection, *, company_key: str, fiscal_year_id: uuid.UUID, since: datetime
) -> int:
    """How many distinct vouchers of the fiscal year were written (seen in a listing) since ``since``."""
    row = conn.execute(
        """SELECT count(*) FROM spiris.vouchers
        WHERE company_key = %s AND fiscal_year_id = %s AND synced_at >= %s""",
        (company_key, fiscal_year_id, since),
    ).fetchone()
    return int(row[0]) if row else 0


def vouchers_checksum(conn: Connection, *, company_key: str, fiscal_year_id: uuid.UUID) -> str | None:
    """SHA-256 over the content hashes of the fiscal year's live vouchers in id order (None when none)."""
    row = conn.execute(
        """SELECT encode(sha256(string_agg(content_sha256, '' ORDER BY id)::bytea), 'hex')
        FROM spiris.vouchers WHERE company_key = %s AND fiscal_year_id = %s AND vanished_at IS NULL""",
        (company_key, fiscal_year_id),
    ).fetchone()
    return row[0] if row else None


def database_now(conn: Connection) -> datetime:
    """The database's clock (the one `synced_at` and checkpoints are written with)."""
    row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    value: datetime = row[0]
    return value
