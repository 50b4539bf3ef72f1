"""Read models of the copy: what `read_queries` and `sie4_copy` answer for the read API, beside the write-side
records of `records` (which they reuse where the shape is the same: `FiscalYearRecord`, `LedgerCounts`,
`StoredDocument`, `MissingDocument`). Plain frozen dataclasses; the JSON shapes are the read API's business.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal

from spiris_store.records import FiscalYearRecord, LedgerCounts, MissingDocument, StoredDocument

FiscalYearRef = int | uuid.UUID
"""A fiscal year as a caller names it: the calendar year it starts in (if only one does) or its Spiris id."""


@dataclass(frozen=True)
class FiscalYearSummary:
    """A fiscal year of the copy with what it holds (live counts)."""

    fiscal_year: FiscalYearRecord
    counts: LedgerCounts


@dataclass(frozen=True)
class VoucherKey:
    """A voucher's place in list order, (voucher_date, coalesce(number, ''), id): where a keyset page ends."""

    voucher_date: datetime.date
    number: str
    voucher_id: uuid.UUID


@dataclass(frozen=True)
class VoucherFilter:
    """The list's filters; None means "any"."""

    number: str | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    account: int | None = None
    has_documents: bool | None = None
    missing_documents: bool | None = None


@dataclass(frozen=True)
class VoucherSummary:
    """A voucher as a list shows it: its head, totals and how many documents it has and lacks."""

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


@dataclass(frozen=True)
class VoucherPage:
    """One keyset page; `next_after` is the key to continue after (None on the last page)."""

    items: tuple[VoucherSummary, ...]
    total: int
    next_after: VoucherKey | None


@dataclass(frozen=True)
class VoucherRowDetail:
    """One transaction row as read back, with the account's name from the year's chart."""

    row_no: int
    account: int
    account_name: str | None
    debit: Decimal
    credit: Decimal
    text: str | None
    vat_code: str | None


@dataclass(frozen=True)
class VoucherDetail:
    """A voucher with its rows, documents and missing documents; `fiscal_year` is the year it is in."""

    summary: VoucherSummary
    fiscal_year: FiscalYearRecord
    vanished_at: datetime.datetime | None
    rows: tuple[VoucherRowDetail, ...]
    documents: tuple[StoredDocument, ...]
    missing_documents: tuple[MissingDocument, ...]


@dataclass(frozen=True)
class LinkedVoucher:
    """A live voucher that uses a document."""

    id: uuid.UUID
    number: str | None
    date: datetime.date
