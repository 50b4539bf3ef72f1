"""Bookkeeping of documents a voucher refers to but that could not be fetched.

A failed download is never silently dropped: it is recorded here (attempts counted, last error kept), the run
reports it, the next run retries it, and it is cleared once the document is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from spiris_store.connection import atomic
from spiris_store.records import DocumentSource, MissingDocument

Connection = psycopg.Connection[Any]


def record_missing_document(
    conn: Connection, *, company_key: str, missing: MissingDocument, run_id: int | None
) -> MissingDocument:
    """Record (or count another failed attempt of) a missing document; the voucher must exist.
    Returns the stored state (attempts, first/last seen)."""
    with atomic(conn):
        row = conn.execute(
            """
            INSERT INTO spiris.missing_documents AS m (company_key, voucher_id, source, spiris_id, reason,
                last_error, last_run_id)
            VALUES (%s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (company_key, voucher_id, source, spiris_id) DO UPDATE SET
                reason = excluded.reason, last_error = excluded.last_error,
                attempts = m.attempts + 1, last_seen_at = now(), last_run_id = excluded.last_run_id
            RETURNING voucher_id, source, spiris_id, reason, attempts, last_error, first_seen_at, last_seen_at
            """,
            (
                company_key,
                missing.voucher_id,
                missing.source,
                missing.spiris_id,
                missing.reason,
                missing.last_error,
                run_id,
            ),
        ).fetchone()
    assert row is not None
    return _missing(row)


def clear_missing_document(
    conn: Connection, *, company_key: str, voucher_id: uuid.UUID, source: DocumentSource, spiris_id: uuid.UUID
) -> bool:
    """Forget a missing document (it has now been stored). Returns whether it was recorded as missing."""
    return _forget(conn, company_key=company_key, voucher_id=voucher_id, only=(source, spiris_id)) > 0


def clear_missing_documents_except(
    conn: Connection,
    *,
    company_key: str,
    voucher_id: uuid.UUID,
    still_missing: Iterable[tuple[DocumentSource, uuid.UUID]],
) -> int:
    """Forget the voucher's missing documents except ``still_missing`` (now stored, or no longer referred
    to by the changed voucher). Returns how many were forgotten."""
    return _forget(conn, company_key=company_key, voucher_id=voucher_id, keep=still_missing)


def _forget(
    conn: Connection,
    *,
    company_key: str,
    voucher_id: uuid.UUID,
    only: tuple[DocumentSource, uuid.UUID] | None = None,
    keep: Iterable[tuple[DocumentSource, uuid.UUID]] = (),
) -> int:
    """The one DELETE of missing documents: of one voucher, only ``only`` when given, never ``keep``."""
    with atomic(conn):
        cur = conn.execute(
            """DELETE FROM spiris.missing_documents
            WHERE company_key = %s AND voucher_id = %s
              AND (%s::text IS NULL OR (source || ':' || spiris_id::text) = %s::text)
              AND NOT ((source || ':' || spiris_id::text) = ANY(%s::text[]))""",
            (
                company_key,
                voucher_id,
                f"{only[0]}:{only[1]}" if only else None,
                f"{only[0]}:{only[1]}" if only else None,
                [f"{source}:{spiris_id}" for source, spiris_id in keep],
            ),
        )
        return cur.rowcount


def list_missing_documents(
    conn: Connection, *, company_key: str, fiscal_year_id: uuid.UUID | None = None
) -> list[MissingDocument]:
    """Missing documents of a company (optionally only of vouchers in one fiscal year), oldest first."""
    rows = conn.execute(
        """
        SELECT m.voucher_id, m.source, m.spiris_id, m.reason, m.attempts, m.last_error, m.first_seen_at,
            m.last_seen_at
        FROM spiris.missing_documents m
        JOIN spiris.vouchers v ON v.company_key = m.company_key AND v.id = m.voucher_id
        WHERE m.company_key = %s AND (%s::uuid IS NULL OR v.fiscal_year_id = %s::uuid)
        ORDER BY m.first_seen_at, m.voucher_id, m.spiris_id
        """,
        (company_key, fiscal_year_id, fiscal_year_id),
    ).fetchall()
    return [_missing(row) for row in rows]


def _missing(row: Sequence[Any]) -> MissingDocument:
    return MissingDocument(
        voucher_id=row[0],
        source=row[1],
        spiris_id=row[2],
        reason=row[3],
        attempts=row[4],
        last_error=row[5],
        first_seen_at=row[6],
        last_seen_at=row[7],
    )
