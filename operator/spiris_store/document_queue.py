"""What the documents pass reads from the ledger: the vouchers whose documents still need work, and which
documents are stored already.

A voucher is pending when it changed since ``changed_since`` (the last completed documents pass), has a
missing document to retry, or refers to an attachment or customer-invoice PDF not yet linked to it. Which
voucher types carry invoice documents is the caller's (the pipeline's) knowledge, passed in.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from spiris_store.records import DocumentSource, PendingDocumentVoucher

Connection = psycopg.Connection[Any]

__all__ = [
    "DocumentQueue",
    "known_documents", "pending_document_count", "pending_document_vouchers",
    "stored_spiris_ids",
]

_PENDING_WHERE = """
    v.company_key = %(c)s AND v.fiscal_year_id = %(fy)s AND v.vanished_at IS NULL
    AND (cardinality(v.attachment_ids) > 0
         OR (v.source_id IS NOT NULL AND v.voucher_type = ANY(%(doc_types)s)))
    AND (
        %(cutoff)s::timestamptz IS NULL OR v.changed_at >= %(cutoff)s::timestamptz
        OR EXISTS (SELECT 1 FROM spiris.missing_documents m
                   WHERE m.company_key = v.company_key AND m.voucher_id = v.id)
        OR EXISTS (SELECT 1 FROM unnest(v.attachment_ids) AS a(id)
                   WHERE NOT EXISTS (
                       SELECT 1 FROM spiris.documents d
                       JOIN spiris.voucher_documents vd
                         ON vd.company_key = d.company_key AND vd.document_id = d.id AND vd.voucher_id = v.id
                       WHERE d.company_key = v.company_key AND d.spiris_id = a.id
                         AND d.source IN ('attachment', 'supplier_invoice_attachment')))
        OR (v.voucher_type = ANY(%(customer_types)s) AND v.source_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM spiris.documents d
                JOIN spiris.voucher_documents vd
                  ON vd.company_key = d.company_key AND vd.document_id = d.id AND vd.voucher_id = v.id
                WHERE d.company_key = v.company_key AND d.source = 'customer_invoice_pdf'
                  AND d.spiris_id = v.source_id))
    )
    AND (%(after)s::uuid IS NULL OR v.id > %(after)s::uuid)
"""


@dataclass(frozen=True)
class DocumentQueue:
    """Whose pending vouchers: one company's fiscal year, changed since ``changed_since`` (None: all);
    ``invoice_types`` are the voucher types whose ``source_id`` is an invoice with documents,
    ``customer_invoice_types`` those whose invoice has a PDF (the pipeline's knowledge)."""

    company_key: str
    fiscal_year_id: uuid.UUID
    changed_since: datetime | None
    invoice_types: Collection[int]
    customer_invoice_types: Collection[int]

    def params(self, after: uuid.UUID | None) -> dict[str, Any]:
        return {
            "c": self.company_key,
            "fy": self.fiscal_year_id,
            "cutoff": self.changed_since,
            "doc_types": sorted(self.invoice_types),
            "customer_types": sorted(self.customer_invoice_types),
            "after": after,
        }


def pending_document_vouchers(
    conn: Connection, queue: DocumentQueue, *, after: uuid.UUID | None = None, limit: int | None = None
) -> list[PendingDocumentVoucher]:
    """The queue's pending vouchers with ids above ``after``, in id order (at most ``limit``)."""
    rows = conn.execute(
        "SELECT v.id, v.voucher_type, v.source_id, v.attachment_ids FROM spiris.vouchers v WHERE "  # noqa: S608 (constant SQL)
        + _PENDING_WHERE
        + " ORDER BY v.id LIMIT %(limit)s",
        queue.params(after) | {"limit": limit},
    ).fetchall()
    return [
        PendingDocumentVoucher(id=r[0], voucher_type=r[1], source_id=r[2], attachment_ids=tuple(r[3] or ()))
        for r in rows
    ]


def pending_document_count(conn: Connection, queue: DocumentQueue, *, after: uuid.UUID | None = None) -> int:
    """How many documents the pending vouchers above ``after`` refer to (attachments plus one per invoice)."""
    row = conn.execute(
        """
        SELECT coalesce(sum(cardinality(v.attachment_ids)
                            + (v.source_id IS NOT NULL AND v.voucher_type = ANY(%(doc_types)s))::int), 0)
        FROM spiris.vouchers v WHERE """  # noqa: S608 (constant SQL)
        + _PENDING_WHERE,
        queue.params(after),
    ).fetchone()
    return int(row[0]) if row else 0


def stored_spiris_ids(
    conn: Connection,
    *,
    company_key: str,
    sources: Collection[DocumentSource],
    spiris_ids: Iterable[uuid.UUID],
) -> set[uuid.UUID]:
    """Which of ``spiris_ids`` are stored as documents of one of ``sources``."""
    rows = conn.execute(
        """SELECT spiris_id FROM spiris.documents
           WHERE company_key = %s AND spiris_id = ANY(%s) AND source = ANY(%s)""",
        (company_key, list(spiris_ids), list(sources)),
    ).fetchall()
    return {row[0] for row in rows}


def known_documents(
    conn: Connection,
    *,
    company_key: str,
    attachment_ids: Iterable[uuid.UUID],
    invoice_ids: Iterable[uuid.UUID],
) -> dict[tuple[DocumentSource, uuid.UUID], uuid.UUID]:
    """Documents stored already for these attachments and invoices: (source, Spiris id) → our document id
    (attachments under either attachment source, the customer-invoice PDFs, and every stored attachment
    of the supplier invoices)."""
    rows = conn.execute(
        """
        SELECT source, spiris_id, id FROM spiris.documents
        WHERE company_key = %(c)s AND (
            (source IN ('attachment', 'supplier_invoice_attachment') AND spiris_id = ANY(%(a)s))
            OR (source = 'customer_invoice_pdf' AND spiris_id = ANY(%(i)s))
            OR (source = 'supplier_invoice_attachment' AND spiris_invoice_id = ANY(%(i)s)))
        """,
        {"c": company_key, "a": list(attachment_ids), "i": list(invoice_ids)},
    ).fetchall()
    return {(r[0], r[1]): r[2] for r in rows}
