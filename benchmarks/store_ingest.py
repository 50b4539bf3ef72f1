"""Ledger ingest benchmark: voucher rows per second into a real PostgreSQL 15 (target ≥ 20,000 rows/s).

Starts a private PostgreSQL (spiris_localstack), applies the schema, and writes vouchers the way the worker
does: pages of 1,000 vouchers (Spiris' maximum page size), each page committed together with its checkpoint.
Reports first-time ingest, an unchanged re-sync (hash compare only) and a re-sync where every voucher changed
(rows replaced). Run: `.venv/bin/python benchmarks/store_ingest.py [vouchers] [rows_per_voucher]`.
"""

from __future__ import annotations

import dataclasses
import sys
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal

from spiris_localstack.postgres import PostgresServer
from spiris_store import ledger
from spiris_store.connection import connect
from spiris_store.migrate import migrate
from spiris_store.records import CompanyRecord, FiscalYearRecord, VoucherRecord, VoucherRowRecord

PAGE = 1000


def make_vouchers(count: int, rows_per_voucher: int, fiscal_year: FiscalYearRecord) -> list[VoucherRecord]:
    vouchers = []
    for n in range(count):
        amount = Decimal(n % 10_000) + Decimal("0.25")
        debit_rows = [
            VoucherRowRecord(
                account_number=4000 + i,
                debit=amount,
                credit=Decimal(0),
                transaction_text=f"Inköp {n}",
                project_id=uuid.UUID(int=i + 1),
            )
            for i in range(rows_per_voucher - 1)
        ]
        credit = VoucherRowRecord(
            account_number=1930, debit=Decimal(0), credit=amount * (rows_per_voucher - 1)
        )
        vouchers.append(
            VoucherRecord(
                id=uuid.UUID(int=n + 1),
                fiscal_year_id=fiscal_year.id,
                voucher_date=fiscal_year.start_date + timedelta(days=n % 365),
                number=f"A{n + 1}",
                number_series="A",
                text=f"Leverantörsfaktura {n + 1}",
                voucher_type=12,
                rows=(*debit_rows, credit),
            )
        )
    return vouchers


def ingest(dsn: str, company_key: str, fiscal_year: FiscalYearRecord, vouchers: list[VoucherRecord]) -> float:
    with connect(dsn) as conn:
        run = ledger.start_run(conn, company_key=company_key, fiscal_year=2024, mode="full", trigger="bench")
        conn.commit()
        began = time.perf_counter()
        for page_no, start in enumerate(range(0, len(vouchers), PAGE), start=1):
            with conn.transaction():
                ledger.upsert_vouchers(
                    conn, company_key=company_key, vouchers=vouchers[start : start + PAGE], run_id=run.id
                )
                ledger.set_checkpoint(
                    conn,
                    company_key=company_key,
                    fiscal_year_id=fiscal_year.id,
                    phase="vouchers",
                    page=page_no,
                    run_id=run.id,
                )
        return time.perf_counter() - began


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 25_000
    rows_per_voucher = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    fiscal_year = FiscalYearRecord(id=uuid.uuid4(), start_date=date(2024, 1, 1), end_date=date(2024, 12, 31))
    vouchers = make_vouchers(count, rows_per_voucher, fiscal_year)
    changed = [dataclasses.replace(v, text=(v.text or "") + " (rättad)") for v in vouchers]
    rows = count * rows_per_voucher
    with PostgresServer() as pg:
        migrate(pg.dsn)
        with connect(pg.dsn) as conn:
            ledger.upsert_company(conn, CompanyRecord(company_key="bench", name="Bench AB"))
            ledger.upsert_fiscal_years(conn, company_key="bench", fiscal_years=[fiscal_year])
            conn.commit()
        for label, batch in (
            ("first ingest", vouchers),
            ("unchanged re-sync", vouchers),
            ("all changed", changed),
        ):
            seconds = ingest(pg.dsn, "bench", fiscal_year, batch)
            rate = rows / seconds
            print(f"{label:18} {count:>7} vouchers {rows:>8} rows  {seconds:6.2f} s  {rate:>9,.0f} rows/s")


if __name__ == "__main__":
    main()
