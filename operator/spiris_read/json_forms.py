"""The JSON forms of the store's read models (`spiris_store.read_records`): what the API answers.

Amounts are strings with two decimals (never floats, so nothing rounds on the way to the UI), dates ISO 8601,
ids as the uuids Postgres holds. Field names are the API's (camelCase); the OpenAPI document (`openapi`)
describes exactly these shapes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from spiris_store.read_records import (
    FiscalYearSummary,
    LinkedVoucher,
    VoucherDetail,
    VoucherPage,
    VoucherRowDetail,
    VoucherSummary,
)
from spiris_store.records import MissingDocument, StoredDocument

from spiris_read.cursors import encode_cursor


def money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def fiscal_year_json(summary: FiscalYearSummary) -> dict[str, Any]:
    year, counts = summary.fiscal_year, summary.counts
    return {
        "year": year.start_date.year,
        "id": str(year.id),
        "startDate": year.start_date.isoformat(),
        "endDate": year.end_date.isoformat(),
        "locked": year.is_locked,
        "counts": {
            "vouchers": counts.vouchers,
            "rows": counts.rows,
            "documents": counts.documents,
            "missingDocuments": counts.missing_documents,
        },
    }


def voucher_summary_json(voucher: VoucherSummary) -> dict[str, Any]:
    return {
        "id": str(voucher.id),
        "number": voucher.number,
        "series": voucher.series,
        "date": voucher.date.isoformat(),
        "text": voucher.text,
        "type": voucher.voucher_type,
        "debitTotal": money(voucher.debit_total),
        "creditTotal": money(voucher.credit_total),
        "rowCount": voucher.row_count,
        "documentCount": voucher.document_count,
        "missingDocumentCount": voucher.missing_document_count,
    }


def voucher_page_json(page: VoucherPage) -> dict[str, Any]:
    return {
        "items": [voucher_summary_json(v) for v in page.items],
        "total": page.total,
        "nextCursor": encode_cursor(page.next_after) if page.next_after else None,
    }


def row_json(row: VoucherRowDetail) -> dict[str, Any]:
    return {
        "rowNo": row.row_no,
        "account": row.account,
        "accountName": row.account_name,
        "debit": money(row.debit),
        "credit": money(row.credit),
        "text": row.text,
        "vatCode": row.vat_code,
    }


def document_json(document: StoredDocument) -> dict[str, Any]:
    record = document.record
    return {
        "id": str(document.id),
        "fileName": record.original_file_name,
        "contentType": record.content_type,
        "sizeBytes": record.size_bytes,
        "sha256": record.sha256,
        "source": record.source,
        "storedAt": document.stored_at.isoformat(),
    }


def missing_document_json(missing: MissingDocument) -> dict[str, Any]:
    return {"source": missing.source, "spirisId": str(missing.spiris_id), "reason": missing.reason}


def voucher_detail_json(detail: VoucherDetail) -> dict[str, Any]:
    return {
        **voucher_summary_json(detail.summary),
        "fiscalYear": detail.fiscal_year.start_date.year,
        "fiscalYearId": str(detail.fiscal_year.id),
        "vanishedAt": detail.vanished_at.isoformat() if detail.vanished_at else None,
        "rows": [row_json(r) for r in detail.rows],
        "documents": [document_json(d) for d in detail.documents],
        "missingDocuments": [missing_document_json(m) for m in detail.missing_documents],
    }


def linked_voucher_json(voucher: LinkedVoucher) -> dict[str, Any]:
    return {"id": str(voucher.id), "number": voucher.number, "date": voucher.date.isoformat()}
