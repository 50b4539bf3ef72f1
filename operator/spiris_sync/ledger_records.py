"""Turns Spiris API models (spiris_client) into the store's plain records (spiris_store).

The two lower layers deliberately do not know each other; this is the one place where a `Voucher` becomes a
`VoucherRecord`. Ids become UUIDs, the account number string becomes an int, and a voucher without a date
(never seen, but the field is nullable) is a data error the run reports instead of storing a wrong date.
"""

from __future__ import annotations

import uuid
from datetime import date

from spiris_client.models import Account, CompanySettings, FiscalYear, Voucher
from spiris_store.records import (
    AccountRecord,
    CompanyRecord,
    FiscalYearRecord,
    VoucherRecord,
    VoucherRowRecord,
)


class LedgerDataError(ValueError):
    """Spiris sent something the ledger cannot hold faithfully (e.g. a voucher without a date)."""


def _uuid(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise LedgerDataError(f"not a Spiris id: {value[:40]!r}") from None


def _required_uuid(value: str | None, *, what: str) -> uuid.UUID:
    parsed = _uuid(value)
    if parsed is None:
        raise LedgerDataError(f"{what} has no id")
    return parsed


def company_record(company_key: str, settings: CompanySettings | None) -> CompanyRecord:
    """The company row; without settings (no sales scope) only the key is known."""
    if settings is None:
        return CompanyRecord(company_key=company_key)
    return CompanyRecord(
        company_key=company_key,
        name=settings.name or None,
        corporate_identity_number=settings.corporate_identity_number,
        company_identifier=settings.company_identifier,
        country_code=settings.country_code,
        currency_code=settings.currency_code,
    )


def fiscal_year_record(year: FiscalYear) -> FiscalYearRecord:
    if year.start_date is None or year.end_date is None:
        raise LedgerDataError(f"fiscal year {year.id} has no start or end date")
    return FiscalYearRecord(
        id=_required_uuid(year.id, what="a fiscal year"),
        start_date=year.start_date,
        end_date=year.end_date,
        is_locked=year.is_locked_for_accounting,
        bookkeeping_method=year.bookkeeping_method,
    )


def account_record(account: Account, *, fiscal_year_id: uuid.UUID) -> AccountRecord:
    try:
        number = int(account.number)
    except ValueError:
        raise LedgerDataError(f"account number {account.number[:20]!r} is not a number") from None
    return AccountRecord(
        fiscal_year_id=fiscal_year_id,
        number=number,
        name=account.name,
        type=account.type,
        type_description=account.type_description,
        vat_code_id=_uuid(account.vat_code_id),
        vat_code_description=account.vat_code_description,
        is_active=account.is_active if account.is_active is not None else True,
        created_utc=account.created_utc,
        modified_utc=account.modified_utc,
    )


def voucher_record(voucher: Voucher, *, fiscal_year_id: uuid.UUID) -> VoucherRecord:
    day: date | None = voucher.voucher_date
    if day is None:
        raise LedgerDataError(f"voucher {voucher.id} has no VoucherDate")
    link = voucher.attachments
    return VoucherRecord(
        id=_required_uuid(voucher.id, what="a voucher"),
        fiscal_year_id=fiscal_year_id,
        voucher_date=day,
        rows=tuple(
            VoucherRowRecord(
                account_number=row.account_number,
                debit=row.debit_amount,
                credit=row.credit_amount,
                account_description=row.account_description,
                transaction_text=row.transaction_text,
                cost_center_item_id1=_uuid(row.cost_center_item_ids[0]),
                cost_center_item_id2=_uuid(row.cost_center_item_ids[1]),
                cost_center_item_id3=_uuid(row.cost_center_item_ids[2]),
                project_id=_uuid(row.project_id),
                vat_code_id=_uuid(row.vat_code_id),
                vat_code_and_percent=row.vat_code_and_percent,
            )
            for row in voucher.rows
        ),
        number=voucher.number_and_number_series,
        number_series=voucher.number_series,
        imported_voucher_number=voucher.imported_voucher_number,
        text=voucher.voucher_text,
        voucher_type=voucher.voucher_type,
        source_id=_uuid(voucher.source_id),
        attachment_document_id=_uuid(link.document_id) if link else None,
        attachment_document_type=link.document_type if link else None,
        attachment_ids=tuple(_required_uuid(a, what="an attachment") for a in voucher.attachment_ids),
        created_utc=voucher.created_utc,
        modified_utc=voucher.modified_utc,
    )
