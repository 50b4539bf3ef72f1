"""Idempotent batched writes of the ledger: companies, fiscal years, accounts, vouchers with rows, documents.

Every function writes inside the caller's connection and transaction (it opens a savepoint of its own, so a
failed batch leaves the caller's transaction usable and an autocommit caller still gets an atomic batch).
The worker commits one page together with its checkpoint. Vouchers are compared by a content hash: an
unchanged voucher only gets `synced_at`/`run_id` touched, a changed one is updated and its rows are replaced
(deleted and re-inserted with COPY) in the same transaction, so a reader never sees a voucher with half its
rows.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from spiris_store.connection import atomic
from spiris_store.records import (
    AccountRecord,
    CompanyRecord,
    DocumentRecord,
    FiscalYearRecord,
    StoredDocument,
    VoucherDocumentLink,
    VoucherRecord,
    VoucherUpsertResult,
)

Connection = psycopg.Connection[Any]

_VOUCHER_COLUMNS = (
    "company_key",
    "id",
    "fiscal_year_id",
    "number",
    "number_series",
    "imported_voucher_number",
    "voucher_date",
    "text",
    "voucher_type",
    "source_id",
    "attachment_document_id",
    "attachment_document_type",
    "attachment_ids",
    "created_utc",
    "modified_utc",
    "row_count",
    "debit_total",
    "credit_total",
    "content_sha256",
    "run_id",
)
_ROW_COLUMNS = (
    "company_key",
    "voucher_id",
    "row_no",
    "account_number",
    "account_description",
    "debit",
    "credit",
    "transaction_text",
    "cost_center_item_id1",
    "cost_center_item_id2",
    "cost_center_item_id3",
    "project_id",
    "vat_code_id",
    "vat_code_and_percent",
)
_VOUCHER_UPDATABLE = [c for c in _VOUCHER_COLUMNS if c not in ("company_key", "id")]


def upsert_company(conn: Connection, company: CompanyRecord) -> None:
    """Insert or update a company; `last_seen_at` is bumped. Fields passed as None keep their stored value."""
    with atomic(conn):
        conn.execute(
            """
            INSERT INTO spiris.companies AS c (company_key, name, corporate_identity_number,
                company_identifier, country_code, currency_code)
            VALUES (%s, %s, %s, %s, %s, %s)
            ON CONFLICT (company_key) DO UPDATE SET
                name = coalesce(excluded.name, c.name),
                corporate_identity_number =
                    coalesce(excluded.corporate_identity_number, c.corporate_identity_number),
                company_identifier = coalesce(excluded.company_identifier, c.company_identifier),
                country_code = coalesce(excluded.country_code, c.country_code),
                currency_code = coalesce(excluded.currency_code, c.currency_code),
                last_seen_at = now(),
                updated_at = now()
            """,
            (
                company.company_key,
                company.name,
                company.corporate_identity_number,
                company.company_identifier,
                company.country_code,
                company.currency_code,
            ),
        )


def ensure_company(conn: Connection, company_key: str) -> None:
    """Make sure a `companies` row exists for `company_key` (details are filled in by `upsert_company`)."""
    conn.execute(
        "INSERT INTO spiris.companies (company_key) VALUES (%s) ON CONFLICT (company_key) DO NOTHING",
        (company_key,),
    )


def upsert_fiscal_years(
    conn: Connection, *, company_key: str, fiscal_years: Sequence[FiscalYearRecord]
) -> int:
    """Insert or update fiscal years of a company (the company row must exist).
    Returns how many were given."""
    if not fiscal_years:
        return 0
    with atomic(conn), conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO spiris.fiscal_years AS f (company_key, id, start_date, end_date, is_locked,
                bookkeeping_method)
            VALUES (%s, %s, %s, %s, %s, %s)
            ON CONFLICT (company_key, id) DO UPDATE SET
                start_date = excluded.start_date, end_date = excluded.end_date,
                is_locked = excluded.is_locked, bookkeeping_method = excluded.bookkeeping_method,
                updated_at = now()
            """,
            [
                (company_key, fy.id, fy.start_date, fy.end_date, fy.is_locked, fy.bookkeeping_method)
                for fy in fiscal_years
            ],
        )
    return len(fiscal_years)


def upsert_accounts(conn: Connection, *, company_key: str, accounts: Sequence[AccountRecord]) -> int:
    """Insert or update accounts (keyed by fiscal year and number). Their fiscal years must exist.
    Returns how many were given."""
    if not accounts:
        return 0
    with atomic(conn), conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO spiris.accounts AS a (company_key, fiscal_year_id, number, name, type,
                type_description, vat_code_id, vat_code_description, is_active, created_utc, modified_utc)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (company_key, fiscal_year_id, number) DO UPDATE SET
                name = excluded.name, type = excluded.type, type_description = excluded.type_description,
                vat_code_id = excluded.vat_code_id, vat_code_description = excluded.vat_code_description,
                is_active = excluded.is_active, created_utc = excluded.created_utc,
                modified_utc = excluded.modified_utc, synced_at = now()
            """,
            [
                (
                    company_key,
                    a.fiscal_year_id,
                    a.number,
                    a.name,
                    a.type,
                    a.type_description,
                    a.vat_code_id,
                    a.vat_code_description,
                    a.is_active,
                    a.created_utc,
                    a.modified_utc,
                )
                for a in accounts
            ],
        )
    return len(accounts)


def voucher_content_sha256(voucher: VoucherRecord) -> str:
    """A stable hash of everything stored about a voucher and its rows (detects changes; used as checksum)."""
    payload = {
        "id": str(voucher.id),
        "fy": str(voucher.fiscal_year_id),
        "date": voucher.voucher_date.isoformat(),
        "number": voucher.number,
        "series": voucher.number_series,
        "imported": voucher.imported_voucher_number,
        "text": voucher.text,
        "type": voucher.voucher_type,
        "source": _opt(voucher.source_id),
        "doc": _opt(voucher.attachment_document_id),
        "doctype": voucher.attachment_document_type,
        "attachments": [str(a) for a in voucher.attachment_ids],
        "created": _opt(voucher.created_utc),
        "modified": _opt(voucher.modified_utc),
        "rows": [
            [
                r.account_number,
                r.account_description,
                str(_money(r.debit)),
                str(_money(r.credit)),
                r.transaction_text,
                _opt(r.cost_center_item_id1),
                _opt(r.cost_center_item_id2),
                _opt(r.cost_center_item_id3),
                _opt(r.project_id),
                _opt(r.vat_code_id),
                r.vat_code_and_percent,
            ]
            for r in voucher.rows
        ],
    }
    return hashlib.sha256(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


def upsert_vouchers(
    conn: Connection, *, company_key: str, vouchers: Sequence[VoucherRecord], run_id: int | None
) -> VoucherUpsertResult:
    """Insert or update a batch of vouchers with their rows (fiscal years must exist). Idempotent: a voucher
    whose content hash is unchanged is not rewritten. Every voucher given is marked seen (`synced_at = now()`,
    `run_id`, `vanished_at` cleared). A voucher given twice in one batch: the last one wins."""
    batch = list({v.id: v for v in vouchers}.values())
    if not batch:
        return VoucherUpsertResult(inserted=0, updated=0, unchanged=0, rows_written=0)
    hashes = {v.id: voucher_content_sha256(v) for v in batch}
    ids = list(hashes)
    with atomic(conn), conn.cursor() as cur:
        cur.execute(
            "SELECT id, content_sha256 FROM spiris.vouchers WHERE company_key = %s AND id = ANY(%s)",
            (company_key, ids),
        )
        existing: dict[uuid.UUID, str] = {row[0]: row[1] for row in cur.fetchall()}
        changed = [v for v in batch if existing.get(v.id) != hashes[v.id]]
        unchanged_ids = [v.id for v in batch if existing.get(v.id) == hashes[v.id]]
        if unchanged_ids:
            cur.execute(
                """
                UPDATE spiris.vouchers SET synced_at = now(), run_id = %s, vanished_at = NULL
                WHERE company_key = %s AND id = ANY(%s)
                """,
                (run_id, company_key, unchanged_ids),
            )
        rows_written = 0
        if changed:
            _write_changed_vouchers(
                cur, company_key=company_key, vouchers=changed, hashes=hashes, run_id=run_id
            )
            changed_ids = [v.id for v in changed if v.id in existing]
            if changed_ids:
                cur.execute(
                    "DELETE FROM spiris.voucher_rows WHERE company_key = %s AND voucher_id = ANY(%s)",
                    (company_key, changed_ids),
                )
            with cur.copy(f"COPY spiris.voucher_rows ({', '.join(_ROW_COLUMNS)}) FROM STDIN") as copy:
                for v in changed:
                    for row_no, r in enumerate(v.rows, start=1):
                        copy.write_row(
                            (
                                company_key,
                                v.id,
                                row_no,
                                r.account_number,
                                r.account_description,
                                _money(r.debit),
                                _money(r.credit),
                                r.transaction_text,
                                r.cost_center_item_id1,
                                r.cost_center_item_id2,
                                r.cost_center_item_id3,
                                r.project_id,
                                r.vat_code_id,
                                r.vat_code_and_percent,
                            )
                        )
                        rows_written += 1
    inserted = sum(1 for v in changed if v.id not in existing)
    return VoucherUpsertResult(
        inserted=inserted,
        updated=len(changed) - inserted,
        unchanged=len(unchanged_ids),
        rows_written=rows_written,
    )


def _write_changed_vouchers(
    cur: psycopg.Cursor[Any],
    *,
    company_key: str,
    vouchers: Iterable[VoucherRecord],
    hashes: dict[uuid.UUID, str],
    run_id: int | None,
) -> None:
    # COPY into a session-local staging table, then one INSERT … ON CONFLICT: far faster than row-by-row.
    columns = ", ".join(_VOUCHER_COLUMNS)
    cur.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS voucher_batch AS SELECT {columns} "  # noqa: S608 (constant identifiers)
        "FROM spiris.vouchers WITH NO DATA"
    )
    cur.execute("TRUNCATE voucher_batch")
    with cur.copy(f"COPY voucher_batch ({', '.join(_VOUCHER_COLUMNS)}) FROM STDIN") as copy:
        for v in vouchers:
            copy.write_row(
                (
                    company_key,
                    v.id,
                    v.fiscal_year_id,
                    v.number,
                    v.number_series,
                    v.imported_voucher_number,
                    v.voucher_date,
                    v.text,
                    v.voucher_type,
                    v.source_id,
                    v.attachment_document_id,
                    v.attachment_document_type,
                    list(v.attachment_ids),
                    v.created_utc,
                    v.modified_utc,
                    len(v.rows),
                    sum((_money(r.debit) for r in v.rows), Decimal("0.00")),
                    sum((_money(r.credit) for r in v.rows), Decimal("0.00")),
                    hashes[v.id],
                    run_id,
                )
            )
    assignments = ", ".join(f"{c} = excluded.{c}" for c in _VOUCHER_UPDATABLE)
    cur.execute(
        f"""
        INSERT INTO spiris.vouchers ({", ".join(_VOUCHER_COLUMNS)})
        SELECT {", ".join(_VOUCHER_COLUMNS)} FROM voucher_batch
        ON CONFLICT (company_key, id) DO UPDATE SET {assignments},
            synced_at = now(), changed_at = now(), vanished_at = NULL
        """  # noqa: S608 (constant identifiers)
    )
    cur.execute("TRUNCATE voucher_batch")


def mark_vanished(
    conn: Connection, *, company_key: str, fiscal_year_id: uuid.UUID, seen_since: datetime
) -> int:
    """After a complete full re-list: mark vouchers of the fiscal year not seen since `seen_since` (the
    time the listing began, e.g. `Checkpoint.started_at`, which survives a resume) as vanished. Returns how
    many were newly marked. Vanished vouchers stay in the table (with their rows) for the audit trail."""
    with atomic(conn):
        cur = conn.execute(
            """
            UPDATE spiris.vouchers SET vanished_at = now()
            WHERE company_key = %s AND fiscal_year_id = %s AND vanished_at IS NULL AND synced_at < %s
            """,
            (company_key, fiscal_year_id, seen_since),
        )
        return cur.rowcount


def upsert_document(conn: Connection, document: DocumentRecord) -> StoredDocument:
    """Insert or update a document's metadata, keyed by (company_key, source, spiris_id); returns the stored
    row with our document id (stable across updates). The company row must exist."""
    d = document
    with atomic(conn):
        row = conn.execute(
            """
            INSERT INTO spiris.documents AS d (company_key, source, spiris_id, sha256, object_key,
                content_type, size_bytes, original_file_name, spiris_attachment_id, spiris_invoice_id,
                spiris_document_type)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (company_key, source, spiris_id) DO UPDATE SET
                sha256 = excluded.sha256, object_key = excluded.object_key,
                content_type = excluded.content_type, size_bytes = excluded.size_bytes,
                original_file_name = excluded.original_file_name,
                spiris_attachment_id = excluded.spiris_attachment_id,
                spiris_invoice_id = excluded.spiris_invoice_id,
                spiris_document_type = excluded.spiris_document_type, updated_at = now()
            RETURNING id, stored_at
            """,
            (
                d.company_key,
                d.source,
                d.spiris_id,
                d.sha256,
                d.object_key,
                d.content_type,
                d.size_bytes,
                d.original_file_name,
                d.spiris_attachment_id,
                d.spiris_invoice_id,
                d.spiris_document_type,
            ),
        ).fetchone()
    assert row is not None
    return StoredDocument(id=row[0], record=d, stored_at=row[1])


def find_document(
    conn: Connection, *, company_key: str, source: str, spiris_id: uuid.UUID
) -> StoredDocument | None:
    """The stored document for (company_key, source, spiris_id), or None if it was never stored. Lets the
    worker skip downloading a document it already has."""
    row = conn.execute(
        """
        SELECT id, stored_at, sha256, object_key, content_type, size_bytes, original_file_name,
            spiris_attachment_id, spiris_invoice_id, spiris_document_type
        FROM spiris.documents WHERE company_key = %s AND source = %s AND spiris_id = %s
        """,
        (company_key, source, spiris_id),
    ).fetchone()
    if row is None:
        return None
    record = DocumentRecord(
        company_key=company_key,
        source=source,  # type: ignore[arg-type]  # the CHECK constraint guarantees a DocumentSource
        spiris_id=spiris_id,
        sha256=row[2],
        object_key=row[3],
        content_type=row[4],
        size_bytes=row[5],
        original_file_name=row[6],
        spiris_attachment_id=row[7],
        spiris_invoice_id=row[8],
        spiris_document_type=row[9],
    )
    return StoredDocument(id=row[0], record=record, stored_at=row[1])


def link_voucher_documents(
    conn: Connection, *, company_key: str, links: Sequence[VoucherDocumentLink]
) -> int:
    """Record voucher → document links (idempotent). Returns how many links were new."""
    if not links:
        return 0
    with atomic(conn), conn.cursor() as cur:
        new = 0
        for link in links:
            cur.execute(
                """
                INSERT INTO spiris.voucher_documents (company_key, voucher_id, document_id, relation)
                VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING
                """,
                (company_key, link.voucher_id, link.document_id, link.relation),
            )
            new += cur.rowcount
    return new


def _money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def _opt(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
