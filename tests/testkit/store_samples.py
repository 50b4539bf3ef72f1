"""Sample ledger data for the store tests (plain records, deterministic ids)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
from spiris_localstack.s3 import S3Server
from spiris_store import ledger
from spiris_store.documents import S3Settings
from spiris_store.records import CompanyRecord, FiscalYearRecord, VoucherRecord, VoucherRowRecord

FY_2024 = FiscalYearRecord(id=uuid.UUID(int=2024), start_date=date(2024, 1, 1), end_date=date(2024, 12, 31))
FY_2025 = FiscalYearRecord(id=uuid.UUID(int=2025), start_date=date(2025, 1, 1), end_date=date(2025, 12, 31))


def seed_company(conn: psycopg.Connection[Any], company_key: str = "company-a") -> str:
    """A company with fiscal years 2024 and 2025, committed."""
    ledger.upsert_company(conn, CompanyRecord(company_key=company_key, name="Åkesson & Söner AB"))
    ledger.upsert_fiscal_years(conn, company_key=company_key, fiscal_years=[FY_2024, FY_2025])
    conn.commit()
    return company_key


def make_voucher(
    n: int,
    *,
    fiscal_year: FiscalYearRecord = FY_2024,
    amount: str = "100.00",
    account: int = 1930,
    counter_account: int = 3001,
    text: str | None = None,
    day: int = 1,
) -> VoucherRecord:
    """A balanced voucher with two rows; `n` makes its id and number."""
    value = Decimal(amount)
    return VoucherRecord(
        id=uuid.UUID(int=n + 10_000),
        fiscal_year_id=fiscal_year.id,
        voucher_date=date(fiscal_year.start_date.year, 1 + (n % 12), day),
        number=f"A{n}",
        number_series="A",
        text=text if text is not None else f"Verifikation {n}",
        voucher_type=2,
        rows=(
            VoucherRowRecord(account_number=account, debit=value, credit=Decimal("0")),
            VoucherRowRecord(account_number=counter_account, debit=Decimal("0"), credit=value),
        ),
    )


# The tables of schema `spiris` that hold a company's copy (the store's contract with the read side).
CONTRACT_TABLES = frozenset(
    {
        "companies",
        "fiscal_years",
        "accounts",
        "vouchers",
        "voucher_rows",
        "documents",
        "voucher_documents",
        "sync_runs",
    }
)


def s3_settings(s3_server: S3Server, bucket: str) -> S3Settings:
    """The store's S3 settings for `bucket` on the session's S3 server."""
    return S3Settings(
        endpoint=s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        bucket=bucket,
        region=s3_server.region,
    )
