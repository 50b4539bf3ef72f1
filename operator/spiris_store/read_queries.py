"""The read API's queries over the copy: fiscal years, filtered keyset pages of vouchers, one voucher with its
rows and documents, a document and the vouchers that use it.

Every lookup is scoped by the company key, so an id of another company is simply not there (`NotInCopy`).
A fiscal year is named by its Spiris id or by the calendar year it starts in; a year in which two start is
`AmbiguousFiscalYear`. A transaction row has no documents of its own in Spiris: the documents behind a row are
its voucher's. Vanished vouchers (no longer in Spiris) are left out of lists but can still be opened by id,
marked with `vanished_at`, for the audit trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from spiris_store.errors import AmbiguousFiscalYear, NotInCopy
from spiris_store.ledger_queries import ledger_counts
from spiris_store.read_records import (
    FiscalYearRef,
    FiscalYearSummary,
    LinkedVoucher,
    VoucherDetail,
    VoucherFilter,
    VoucherKey,
    VoucherPage,
    VoucherRowDetail,
    VoucherSummary,
)
from spiris_store.records import DocumentRecord, FiscalYearRecord, MissingDocument, StoredDocument

Connection = psycopg.Connection[Any]

_YEAR_COLUMNS = "id, start_date, end_date, is_locked, bookkeeping_method"
_DOCUMENT_COLUMNS = (
    "d.id, d.stored_at, d.company_key, d.source, d.spiris_id, d.sha256, d.object_key, d.content_type,"
    " d.size_bytes, d.original_file_name, d.spiris_attachment_id, d.spiris_invoice_id, d.spiris_document_type"
)
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


def _year(row: Sequence[Any]) -> FiscalYearRecord:
    return FiscalYearRecord(
        id=row[0], start_date=row[1], end_date=row[2], is_locked=bool(row[3]), bookkeeping_method=row[4]
    )


def fiscal_years(conn: Connection, *, company_key: str) -> list[FiscalYearSummary]:
    """Every fiscal year of the company in the copy, oldest first, with live counts."""
    rows = conn.execute(
        f"SELECT {_YEAR_COLUMNS} FROM spiris.fiscal_years"  # noqa: S608 (constant identifiers)
        " WHERE company_key = %s ORDER BY start_date, id",
        (company_key,),
    ).fetchall()
    return [
        FiscalYearSummary(
            fiscal_year=_year(row),
            counts=ledger_counts(conn, company_key=company_key, fiscal_year_id=row[0]),
        )
        for row in rows
    ]


def resolve_fiscal_year(conn: Connection, *, company_key: str, ref: FiscalYearRef) -> FiscalYearRecord:
    """The fiscal year with Spiris id `ref`, or the one starting in calendar year `ref`. `NotInCopy` when the
    copy has none; `AmbiguousFiscalYear` (naming every id) when more than one starts in that year."""
    if isinstance(ref, uuid.UUID):
        row = conn.execute(
            f"SELECT {_YEAR_COLUMNS} FROM spiris.fiscal_years"  # noqa: S608 (constant identifiers)
            " WHERE company_key = %s AND id = %s",
            (company_key, ref),
        ).fetchone()
        if row is None:
            raise NotInCopy(f"Fiscal year {ref} has not been synced for this connection.")
        return _year(row)
    rows = conn.execute(
        f"SELECT {_YEAR_COLUMNS} FROM spiris.fiscal_years"  # noqa: S608 (constant identifiers)
        " WHERE company_key = %s AND start_date >= make_date(%s, 1, 1) AND start_date < make_date(%s, 1, 1)"
        " ORDER BY start_date, id",
        (company_key, ref, ref + 1),
    ).fetchall()
    if not rows:
        raise NotInCopy(f"No fiscal year starting in {ref} has been synced for this connection.")
    if len(rows) > 1:
        raise AmbiguousFiscalYear(ref, tuple(row[0] for row in rows))
    return _year(rows[0])


def _summary(row: Sequence[Any]) -> VoucherSummary:
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
    after: VoucherKey | None,
    limit: int,
) -> VoucherPage:
    """One page of the year's live vouchers in (date, number, id) order, with the filtered total. Keyset
    paging on `vouchers_page_idx`: a page costs the same at voucher 19,000 as at voucher 1."""
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
    next_after = None
    if len(rows) > limit and items:
        last = items[-1]
        next_after = VoucherKey(last.date, last.number or "", last.id)
    return VoucherPage(items=items, total=int(count[0]) if count else 0, next_after=next_after)


def voucher_detail(
    conn: Connection, *, company_key: str, voucher_id: uuid.UUID, fiscal_year_id: uuid.UUID | None = None
) -> VoucherDetail:
    """The voucher with its rows (account names from the year's chart), documents and missing documents;
    `NotInCopy` when the company has no such voucher (or not in `fiscal_year_id`, when given)."""
    head = conn.execute(
        sql.SQL(
            "SELECT {columns}, v.vanished_at, fy.id, fy.start_date, fy.end_date, fy.is_locked,"
            " fy.bookkeeping_method FROM spiris.vouchers v"
            " JOIN spiris.fiscal_years fy ON fy.company_key = v.company_key AND fy.id = v.fiscal_year_id"
            " WHERE v.company_key = %(c)s AND v.id = %(id)s"
        ).format(columns=_SUMMARY_COLUMNS),
        {"c": company_key, "id": voucher_id},
    ).fetchone()
    if head is None or (fiscal_year_id is not None and head[12] != fiscal_year_id):
        raise NotInCopy(f"Voucher {voucher_id} is not in the copy of this connection.")
    year = _year(head[12:17])
    rows = conn.execute(
        """
        SELECT r.row_no, r.account_number, coalesce(a.name, r.account_description), r.debit, r.credit,
            r.transaction_text, r.vat_code_and_percent
        FROM spiris.voucher_rows r
        LEFT JOIN spiris.accounts a ON a.company_key = r.company_key AND a.fiscal_year_id = %(fy)s
            AND a.number = r.account_number
        WHERE r.company_key = %(c)s AND r.voucher_id = %(id)s ORDER BY r.row_no
        """,
        {"c": company_key, "id": voucher_id, "fy": year.id},
    ).fetchall()
    missing = conn.execute(
        "SELECT voucher_id, source, spiris_id, reason, attempts, last_error, first_seen_at, last_seen_at"
        " FROM spiris.missing_documents WHERE company_key = %s AND voucher_id = %s"
        " ORDER BY source, spiris_id",
        (company_key, voucher_id),
    ).fetchall()
    return VoucherDetail(
        summary=_summary(head),
        fiscal_year=year,
        vanished_at=head[11],
        rows=tuple(
            VoucherRowDetail(
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
        missing_documents=tuple(
            MissingDocument(
                voucher_id=m[0],
                source=m[1],
                spiris_id=m[2],
                reason=m[3],
                attempts=m[4],
                last_error=m[5],
                first_seen_at=m[6],
                last_seen_at=m[7],
            )
            for m in missing
        ),
    )


def voucher_row(
    conn: Connection, *, company_key: str, voucher_id: uuid.UUID, row_no: int
) -> tuple[VoucherDetail, VoucherRowDetail]:
    """The voucher and the one row asked for (its documents are the voucher's); `NotInCopy` when the voucher
    is not there or has no row `row_no`."""
    detail = voucher_detail(conn, company_key=company_key, voucher_id=voucher_id)
    for row in detail.rows:
        if row.row_no == row_no:
            return detail, row
    raise NotInCopy(f"Voucher {voucher_id} has no row {row_no}.")


def _stored_document(row: Sequence[Any]) -> StoredDocument:
    record = DocumentRecord(
        company_key=row[2],
        source=row[3],
        spiris_id=row[4],
        sha256=row[5],
        object_key=row[6],
        content_type=row[7],
        size_bytes=int(row[8]),
        original_file_name=row[9],
        spiris_attachment_id=row[10],
        spiris_invoice_id=row[11],
        spiris_document_type=row[12],
    )
    return StoredDocument(id=row[0], record=record, stored_at=row[1])


def voucher_documents(conn: Connection, *, company_key: str, voucher_id: uuid.UUID) -> list[StoredDocument]:
    """The documents linked to a voucher, by file name."""
    rows = conn.execute(
        f"""
        SELECT {_DOCUMENT_COLUMNS}
        FROM spiris.voucher_documents vd
        JOIN spiris.documents d ON d.company_key = vd.company_key AND d.id = vd.document_id
        WHERE vd.company_key = %s AND vd.voucher_id = %s
        ORDER BY d.original_file_name NULLS LAST, d.id
        """,  # noqa: S608 (constant identifiers)
        (company_key, voucher_id),
    ).fetchall()
    return [_stored_document(r) for r in rows]


def document(conn: Connection, *, company_key: str, document_id: uuid.UUID) -> StoredDocument:
    """The document with our id `document_id`; `NotInCopy` when the company has none with this id."""
    row = conn.execute(
        f"SELECT {_DOCUMENT_COLUMNS} FROM spiris.documents d"  # noqa: S608 (constant identifiers)
        " WHERE d.company_key = %s AND d.id = %s",
        (company_key, document_id),
    ).fetchone()
    if row is None:
        raise NotInCopy(f"Document {document_id} is not in the copy of this connection.")
    return _stored_document(row)


def linked_vouchers(conn: Connection, *, company_key: str, document_id: uuid.UUID) -> list[LinkedVoucher]:
    """The live vouchers that use the document, by date and number."""
    rows = conn.execute(
        """
        SELECT v.id, v.number, v.voucher_date FROM spiris.voucher_documents vd
        JOIN spiris.vouchers v ON v.company_key = vd.company_key AND v.id = vd.voucher_id
        WHERE vd.company_key = %s AND vd.document_id = %s AND v.vanished_at IS NULL
        ORDER BY v.voucher_date, v.number
        """,
        (company_key, document_id),
    ).fetchall()
    return [LinkedVoucher(id=r[0], number=r[1], date=r[2]) for r in rows]
