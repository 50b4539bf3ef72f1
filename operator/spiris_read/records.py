"""What the read side answers, as typed records with their JSON form.

Amounts are strings with two decimals (never floats, so nothing rounds on the way to the UI), dates ISO 8601,
ids as the uuids Postgres holds. Field names are the API's (camelCase); the OpenAPI document
(`openapi`) describes exactly these shapes.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


def money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


@dataclass(frozen=True)
class FiscalYearRecord:
    year: int
    id: uuid.UUID
    start_date: datetime.date
    end_date: datetime.date
    locked: bool
    vouchers: int
    rows: int
    documents: int
    missing_documents: int

    def as_json(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "id": str(self.id),
            "startDate": self.start_date.isoformat(),
            "endDate": self.end_date.isoformat(),
            "locked": self.locked,
            "counts": {
                "vouchers": self.vouchers,
                "rows": self.rows,
                "documents": self.documents,
                "missingDocuments": self.missing_documents,
            },
        }


@dataclass(frozen=True)
class VoucherSummary:
    id: uuid.UUID
    number: str | None
    series: str | None
    date: datetime.date
    text: str | None
    voucher_type: int | None
    debit_total: Decimal
    credit_total: Decimal
    row_count: int
    document_count: int
    missing_document_count: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "number": self.number,
            "series": self.series,
            "date": self.date.isoformat(),
            "text": self.text,
            "type": self.voucher_type,
            "debitTotal": money(self.debit_total),
            "creditTotal": money(self.credit_total),
            "rowCount": self.row_count,
            "documentCount": self.document_count,
            "missingDocumentCount": self.missing_document_count,
        }


@dataclass(frozen=True)
class VoucherPage:
    items: tuple[VoucherSummary, ...]
    total: int
    next_cursor: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "items": [v.as_json() for v in self.items],
            "total": self.total,
            "nextCursor": self.next_cursor,
        }


@dataclass(frozen=True)
class VoucherRow:
    row_no: int
    account: int
    account_name: str | None
    debit: Decimal
    credit: Decimal
    text: str | None
    vat_code: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "rowNo": self.row_no,
            "account": self.account,
            "accountName": self.account_name,
            "debit": money(self.debit),
            "credit": money(self.credit),
            "text": self.text,
            "vatCode": self.vat_code,
        }


@dataclass(frozen=True)
class DocumentRecord:
    id: uuid.UUID
    file_name: str | None
    content_type: str
    size_bytes: int
    sha256: str
    source: str
    object_key: str
    stored_at: datetime.datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "fileName": self.file_name,
            "contentType": self.content_type,
            "sizeBytes": self.size_bytes,
            "sha256": self.sha256,
            "source": self.source,
            "storedAt": self.stored_at.isoformat(),
        }


@dataclass(frozen=True)
class MissingDocument:
    source: str
    spiris_id: uuid.UUID
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "spirisId": str(self.spiris_id), "reason": self.reason}


@dataclass(frozen=True)
class VoucherDetail:
    summary: VoucherSummary
    fiscal_year: int
    vanished_at: datetime.datetime | None
    rows: tuple[VoucherRow, ...]
    documents: tuple[DocumentRecord, ...]
    missing_documents: tuple[MissingDocument, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            **self.summary.as_json(),
            "fiscalYear": self.fiscal_year,
            "vanishedAt": self.vanished_at.isoformat() if self.vanished_at else None,
            "rows": [r.as_json() for r in self.rows],
            "documents": [d.as_json() for d in self.documents],
            "missingDocuments": [m.as_json() for m in self.missing_documents],
        }


@dataclass(frozen=True)
class LinkedVoucher:
    id: uuid.UUID
    number: str | None
    date: datetime.date

    def as_json(self) -> dict[str, Any]:
        return {"id": str(self.id), "number": self.number, "date": self.date.isoformat()}
