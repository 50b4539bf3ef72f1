"""Idempotent writes of the ledger's reference data: companies, fiscal years, accounts, documents, links.

Every function writes inside the caller's connection and transaction (it opens a savepoint of its own, so a
failed batch leaves the caller's transaction usable and an autocommit caller still gets an atomic batch).
Vouchers and their rows, the hot path, are in `voucher_upserts`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
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
)

Connection = psycopg.Connection[Any]


def upsert_company(conn: Connection, company: CompanyRecord) -> None:
    """Record what Spiris said about a company: fields passed as None keep their stored value, and
    `details_read_at` is now even when it said nothing (a refused `/companysettings` is not asked again until
    the details are stale, see `company_details_fresh`)."""
    with atomic(conn):
        conn.execute(
            """
            INSERT INTO spiris.companies AS c (company_key, name, corporate_identity_number,
                company_identifier, country_code, currency_code, details_read_at)
            VALUES (%s, %s, %s, %s, %s, %s, now())
            ON CONFLICT (company_key) DO UPDATE SET
                name = coalesce(excluded.name, c.name),
                corporate_identity_number =
                    coalesce(excluded.corporate_identity_number, c.corporate_identity_number),
                company_identifier = coalesce(excluded.company_identifier, c.company_identifier),
                country_code = coalesce(excluded.country_code, c.country_code),
                currency_code = coalesce(excluded.currency_code, c.currency_code),
                last_seen_at = now(),
                details_read_at = now(),
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


def company_details_fresh(conn: Connection, company_key: str, *, max_age_seconds: float) -> bool:
    """Whether the company's details were asked of Spiris within `max_age_seconds`, answered or refused."""
    row = conn.execute(
        """SELECT 1 FROM spiris.companies WHERE company_key = %s
        AND details_read_at > now() - make_interval(secs => %s)""",
        (company_key, max_age_seconds),
    ).fetchone()
    return row is not None


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
