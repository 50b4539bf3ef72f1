"""Plain records the stores accept and return.

The store takes these small frozen dataclasses (plain values, no Spiris client models) so the layers stay
independent: the sync worker maps Spiris API objects to them. Amounts are `Decimal`, business dates are
`date`, `*_utc` fields are timezone-aware `datetime` in UTC, Spiris ids are `uuid.UUID`. `company_key` is our
stable key for a company (the SpirisConnection's uid).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

DocumentSource = Literal["attachment", "customer_invoice_pdf", "supplier_invoice_attachment"]
"""Where a document came from: a voucher's `Attachments.AttachmentIds` entry, the PDF of the customer
invoice a voucher's `SourceId` points to, or an attachment of the supplier invoice it points to."""

DOCUMENT_SOURCES: tuple[DocumentSource, ...] = (
    "attachment",
    "customer_invoice_pdf",
    "supplier_invoice_attachment",
)

#: ``yielded``: the documents pass stopped at its time slice; the ledger is complete, the next run continues.
RunOutcome = Literal["running", "succeeded", "degraded", "failed", "yielded"]
RUN_OUTCOMES: tuple[RunOutcome, ...] = ("running", "succeeded", "degraded", "failed", "yielded")


@dataclass(frozen=True)
class CompanyRecord:
    """One client company (Spiris `GET /companysettings`)."""

    company_key: str
    name: str | None = None
    corporate_identity_number: str | None = None
    company_identifier: str | None = None
    country_code: str | None = None
    currency_code: str | None = None


@dataclass(frozen=True)
class FiscalYearRecord:
    """One Spiris fiscal year (`FiscalYearApi`)."""

    id: uuid.UUID
    start_date: date
    end_date: date
    is_locked: bool = False
    bookkeeping_method: int | None = None


@dataclass(frozen=True)
class AccountRecord:
    """One account of one fiscal year (`AccountApi`; `number` parsed from Spiris' string to int)."""

    fiscal_year_id: uuid.UUID
    number: int
    name: str
    type: int | None = None
    type_description: str | None = None
    vat_code_id: uuid.UUID | None = None
    vat_code_description: str | None = None
    is_active: bool = True
    created_utc: datetime | None = None
    modified_utc: datetime | None = None


@dataclass(frozen=True)
class VoucherRowRecord:
    """One voucher row (`VoucherRowApi`); its position in `VoucherRecord.rows` is its order."""

    account_number: int
    debit: Decimal
    credit: Decimal
    account_description: str | None = None
    transaction_text: str | None = None
    cost_center_item_id1: uuid.UUID | None = None
    cost_center_item_id2: uuid.UUID | None = None
    cost_center_item_id3: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    vat_code_id: uuid.UUID | None = None
    vat_code_and_percent: str | None = None


@dataclass(frozen=True)
class VoucherRecord:
    """One voucher (`VoucherApi`) with its rows in Spiris' array order."""

    id: uuid.UUID
    fiscal_year_id: uuid.UUID
    voucher_date: date
    rows: tuple[VoucherRowRecord, ...]
    number: str | None = None
    number_series: str | None = None
    imported_voucher_number: str | None = None
    text: str | None = None
    voucher_type: int | None = None
    source_id: uuid.UUID | None = None
    attachment_document_id: uuid.UUID | None = None
    attachment_document_type: int | None = None
    attachment_ids: tuple[uuid.UUID, ...] = ()
    created_utc: datetime | None = None
    modified_utc: datetime | None = None


@dataclass(frozen=True)
class VoucherUpsertResult:
    """What one `upsert_vouchers` batch changed."""

    inserted: int
    updated: int
    unchanged: int
    rows_written: int


@dataclass(frozen=True)
class DocumentRecord:
    """Metadata of one stored document. `spiris_id` is the id of the Spiris object the file came from
    (the attachment id for attachments, the customer invoice id for an invoice PDF); together with
    `company_key` and `source` it identifies the document."""

    company_key: str
    source: DocumentSource
    spiris_id: uuid.UUID
    sha256: str
    object_key: str
    content_type: str
    size_bytes: int
    original_file_name: str | None = None
    spiris_attachment_id: uuid.UUID | None = None
    spiris_invoice_id: uuid.UUID | None = None
    spiris_document_type: int | None = None


@dataclass(frozen=True)
class StoredDocument:
    """A document row as stored (`DocumentRecord` plus our id and when it was first stored)."""

    id: uuid.UUID
    record: DocumentRecord
    stored_at: datetime


@dataclass(frozen=True)
class VoucherDocumentLink:
    """A voucher → document link; `relation` says how it was found (same vocabulary as `DocumentSource`)."""

    voucher_id: uuid.UUID
    document_id: uuid.UUID
    relation: DocumentSource


@dataclass(frozen=True)
class PendingDocumentVoucher:
    """A voucher whose documents the documents pass still has to store, link or retry."""

    id: uuid.UUID
    voucher_type: int | None
    source_id: uuid.UUID | None
    attachment_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class MissingDocument:
    """A document a voucher refers to that could not be fetched (retried by the next run)."""

    voucher_id: uuid.UUID
    source: DocumentSource
    spiris_id: uuid.UUID
    reason: str
    attempts: int = 0
    last_error: str | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None


@dataclass(frozen=True)
class Checkpoint:
    """Progress of one phase of one fiscal year's sync. `page` is the last page fully committed;
    `started_at` is when the phase's listing began (kept across resumes, used by `mark_vanished`);
    `state` is free-form JSON for the worker."""

    company_key: str
    fiscal_year_id: uuid.UUID
    phase: str
    page: int
    run_id: int
    started_at: datetime
    updated_at: datetime
    watermark: datetime | None = None
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunCounts:
    """Counts a run reports (what the fiscal year holds after the run, plus what it fetched)."""

    accounts: int = 0
    vouchers: int = 0
    rows: int = 0
    documents: int = 0
    missing_documents: int = 0
    vanished: int = 0
    vouchers_fetched: int = 0
    documents_fetched: int = 0


@dataclass(frozen=True)
class RunRecord:
    """One `spiris.sync_runs` row: the provenance record of a run."""

    id: int
    company_key: str
    fiscal_year: int
    fiscal_year_id: uuid.UUID | None
    mode: str
    trigger: str
    host: str | None
    started_at: datetime
    finished_at: datetime | None
    scopes: tuple[str, ...]
    outcome: RunOutcome
    error: str | None
    counts: RunCounts
    api_calls: int
    api_calls_by_endpoint: dict[str, int]
    watermark_used: datetime | None
    next_watermark: datetime | None
    reconciliation: dict[str, Any] | None
    checksums: dict[str, Any] | None
    job_name: str | None = None

    @property
    def listed_whole_year(self) -> bool:
        """The run was a full voucher pass, planned or fallen back to (what ``last_full_pass`` counts)."""
        listing = (self.checksums or {}).get("listing") or {}
        return (listing.get("modeUsed") or self.mode) == "full"


@dataclass(frozen=True)
class LedgerCounts:
    """What the ledger holds for one fiscal year of one company."""

    accounts: int
    vouchers: int
    rows: int
    documents: int
    missing_documents: int
    vanished: int


@dataclass(frozen=True)
class UnbalancedVoucher:
    """A voucher whose debit and credit totals differ."""

    id: uuid.UUID
    number: str | None
    debit_total: Decimal
    credit_total: Decimal
