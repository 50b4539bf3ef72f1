"""Documents of the copy by our document id: metadata and the vouchers that use it.

Document ids are our own stable uuids (`spiris.documents.id`), scoped by company: the same id under another
connection is not found, so one tenant can never reach another's file by guessing.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from spiris_read.problems import NotFoundProblem
from spiris_read.records import DocumentRecord, LinkedVoucher

Connection = psycopg.Connection[Any]


def document(conn: Connection, *, company_key: str, document_id: uuid.UUID) -> DocumentRecord:
    """The document's row; `NotFoundProblem` when the company has none with this id."""
    row = conn.execute(
        "SELECT id, original_file_name, content_type, size_bytes, sha256, source, object_key, stored_at"
        " FROM spiris.documents WHERE company_key = %s AND id = %s",
        (company_key, document_id),
    ).fetchone()
    if row is None:
        raise NotFoundProblem(f"Document {document_id} is not in the copy of this connection.")
    return DocumentRecord(
        id=row[0],
        file_name=row[1],
        content_type=row[2],
        size_bytes=int(row[3]),
        sha256=row[4],
        source=row[5],
        object_key=row[6],
        stored_at=row[7],
    )


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
