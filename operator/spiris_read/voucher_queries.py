"""Vouchers of the copy: filtered keyset pages of a year, one voucher with rows and documents, and the
documents behind one transaction row.

A transaction row has no documents of its own in Spiris: the documents behind a row are its voucher's, so
the row's answer is the voucher's documents with the row as context. Vanished vouchers (no longer in
Spiris) are left out of lists but can still be opened by id, marked with `vanishedAt`, for the audit trail.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from spiris_read.cursors import VoucherCursor
from spiris_read.problems import NotFoundProblem
from spiris_read.records import (
    DocumentRecord,
    MissingDocument,
    VoucherDetail,
    VoucherPage,
    VoucherRow,
    VoucherSummary,
)

Connection = psycopg.Connection[Any]

_HAS_DOCUMENTS = sql.SQL(
    "EXISTS (SELECT 1 FROM spiris.voucher_documents vd WHERE vd.company_key = v.company_key"
    " AND vd.voucher_id = v.id)"
)
_HAS_MISSING = sql.SQL(
    "EXISTS (SELECT 1 FROM spiris.missing_documents m WHERE m.company_key = v.company_key"
    " AND m.voucher_id = v.id)"
)
_SUMMARY_COLUMNS = sql.SQL(
    """v.id, v.number, v.number_series, v.voucher_date, v.text, v.voucher_type, v.debit_total,
    v.credit_total, v.row_count,
    (SELECT count(*) FROM spiris.voucher_documents vd WHERE vd.company_key = v.company_key
        AND vd.voucher_id = v.id),
    (SELECT count(*) FROM spiris.missing_documents m WHERE m.company_key = v.company_key
        AND m.voucher_id = v.id)"""
)


@dataclass(frozen=True)
class VoucherFilter:
    """The list's filters; None means "any"."""

    number: str | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    account: int | None = None
    has_documents: bool | None = None
    missing_documents: bool | None = None


def _summary(row: tuple[Any, ...]) -> VoucherSummary:
    return VoucherSummary(
        id=row[0],
        number=row[1],
        series=row[2],
        date=row[3],
        text=row[4],
        voucher_type=row[5],
        debit_total=row[6],
        credit_total=row[7],
        row_count=int(row[8]),
        document_count=int(row[9]),
        missing_document_count=int(row[10]),
    )


def _conditions(filters: VoucherFilter) -> tuple[list[sql.Composable], dict[str, Any]]:
    where: list[sql.Composable] = []
    params: dict[str, Any] = {}
    if filters.number is not None:
        where.append(sql.SQL("v.number = %(number)s"))
        params["number"] = filters.number
    if filters.date_from is not None:
        where.append(sql.SQL("v.voucher_date >= %(date_from)s"))
        params["date_from"] = filters.date_from
    if filters.date_to is not None:
        where.append(sql.SQL("v.voucher_date <= %(date_to)s"))
        params["date_to"] = filters.date_to
    if filters.account is not None:
        where.append(
            sql.SQL(
                "EXISTS (SELECT 1 FROM spiris.voucher_rows r WHERE r.company_key = v.company_key"
                " AND r.voucher_id = v.id AND r.account_number = %(account)s)"
            )
        )
        params["account"] = filters.account
    if filters.has_documents is not None:
        where.append(_HAS_DOCUMENTS if filters.has_documents else sql.SQL("NOT ") + _HAS_DOCUMENTS)
    if filters.missing_documents is not None:
        where.append(_HAS_MISSING if filters.missing_documents else sql.SQL("NOT ") + _HAS_MISSING)
    return where, params


def voucher_page(
    conn: Connection,
    *,
    company_key: str,
    fiscal_year_id: uuid.UUID,
    filters: VoucherFilter,
    after: VoucherCursor | None,
    limit: int,
) -> VoucherPage:
    """One page of the year's live vouchers in (date, number, id) order, with the filtered total."""
    where, params = _conditions(filters)
    params.update(c=company_key, fy=fiscal_year_id, limit=limit + 1)
    base = [sql.SQL("v.company_key = %(c)s AND v.fiscal_year_id = %(fy)s AND v.vanished_at IS NULL"), *where]
    page_where = list(base)
    if after is not None:
        page_where.append(
            sql.SQL("(v.voucher_date, coalesce(v.number, ''), v.id) > (%(ad)s, %(an)s, %(ai)s)")
        )
        params.update(ad=after.voucher_date, an=after.number, ai=after.voucher_id)
    query = sql.SQL(
        "SELECT {columns} FROM spiris.vouchers v WHERE {where}"
        " ORDER BY v.voucher_date, coalesce(v.number, ''), v.id LIMIT %(limit)s"
    ).format(columns=_SUMMARY_COLUMNS, where=sql.SQL(" AND ").join(page_where))
    rows = conn.execute(query, params).fetchall()
    count = conn.execute(
        sql.SQL("SELECT count(*) FROM spiris.vouchers v WHERE {where}").format(
            where=sql.SQL(" AND ").join(base)
        ),
        params,
    ).fetchone()
    items = tuple(_summary(r) for r in rows[:limit])
    next_cursor = None
    if len(rows) > limit and items:
        last = items[-1]
        next_cursor = VoucherCursor(last.date, last.number or "", last.id).encode()
    return VoucherPage(items=items, total=int(count[0]) if count else 0, next_cursor=next_cursor)


def voucher_detail(
    conn: Connection, *, company_key: str, voucher_id: uuid.UUID, fiscal_year_id: uuid.UUID | None = None
) -> VoucherDetail:
    """The voucher with its rows (account names from the year's chart), documents and missing documents;
    `NotFoundProblem` when the company has no such voucher (or not in `fiscal_year_id`, when given)."""
    head = conn.execute(
        sql.SQL(
            "SELECT {columns}, fy.start_date, v.vanished_at, v.fiscal_year_id FROM spiris.vouchers v"
            " JOIN spiris.fiscal_years fy ON fy.company_key = v.company_key AND fy.id = v.fiscal_year_id"
            " WHERE v.company_key = %(c)s AND v.id = %(id)s"
        ).format(columns=_SUMMARY_COLUMNS),
        {"c": company_key, "id": voucher_id},
    ).fetchone()
    if head is None or (fiscal_year_id is not None and head[13] != fiscal_year_id):
        raise NotFoundProblem(f"Voucher {voucher_id} is not in the copy of this connection.")
    rows = conn.execute(
        """
        SELECT r.row_no, r.account_number, coalesce(a.name, r.account_description), r.debit, r.credit,
            r.transaction_text, r.vat_code_and_percent
        FROM spiris.voucher_rows r
        LEFT JOIN spiris.accounts a ON a.company_key = r.company_key AND a.fiscal_year_id = %(fy)s
            AND a.number = r.account_number
        WHERE r.company_key = %(c)s AND r.voucher_id = %(id)s ORDER BY r.row_no
        """,
        {"c": company_key, "id": voucher_id, "fy": head[13]},
    ).fetchall()
    missing = conn.execute(
        "SELECT source, spiris_id, reason FROM spiris.missing_documents"
        " WHERE company_key = %s AND voucher_id = %s ORDER BY source, spiris_id",
        (company_key, voucher_id),
    ).fetchall()
    return VoucherDetail(
        summary=_summary(head),
        fiscal_year=head[11].year,
        vanished_at=head[12],
        rows=tuple(
            VoucherRow(
                row_no=r[0],
                account=int(r[1]),
                account_name=r[2],
                debit=r[3],
                credit=r[4],
                text=r[5],
                vat_code=r[6],
            )
            for r in rows
        ),
        documents=tuple(voucher_documents(conn, company_key=company_key, voucher_id=voucher_id)),
        missing_documents=tuple(MissingDocument(source=m[0], spiris_id=m[1], reason=m[2]) for m in missing),
    )


def voucher_documents(conn: Connection, *, company_key: str, voucher_id: uuid.UUID) -> list[DocumentRecord]:
    """The documents linked to a voucher, by file name."""
    rows = conn.execute(
        """
        SELECT d.id, d.original_file_name, d.content_type, d.size_bytes, d.sha256, d.source, d.object_key,
            d.stored_at
        FROM spiris.voucher_documents vd
        JOIN spiris.documents d ON d.company_key = vd.company_key AND d.id = vd.document_id
        WHERE vd.company_key = %s AND vd.voucher_id = %s
        ORDER BY d.original_file_name NULLS LAST, d.id
        """,
        (company_key, voucher_id),
    ).fetchall()
    return [
        DocumentRecord(
            id=r[0],
            file_name=r[1],
            content_type=r[2],
            size_bytes=int(r[3]),
            sha256=r[4],
            source=r[5],
            object_key=r[6],
            stored_at=r[7],
        )
        for r in rows
    ]


def row_documents(
    conn: Connection, *, company_key: str, voucher_id: uuid.UUID, row_no: int
) -> tuple[VoucherDetail, VoucherRow]:
    """The voucher and the one row asked for; its documents are the voucher's. `NotFoundProblem` when the
    voucher has no row `row_no`."""
    detail = voucher_detail(conn, company_key=company_key, voucher_id=voucher_id)
    for row in detail.rows:
        if row.row_no == row_no:
            return detail, row
    raise NotFoundProblem(f"Voucher {voucher_id} has no row {row_no}.")
