"""Scenario 3: the Postgres ingest rate and the share of a run spent waiting on Spiris.

Two ingest figures: inside the worker's own full sync (its `upsert_vouchers` calls timed by
`instrumented_worker.py`), and direct — the same vouchers read back from the sandbox and written into a fresh
database with `spiris_store.ledger.upsert_vouchers` in pages of 1,000, each page committed with its
checkpoint as the worker does, timing only the upserts and commits (best of three runs). The waiting share
comes from the worker's full sync: (rate-budget waits + HTTP time, summed over its threads) / (the threads'
time: the whole run for the main thread, the documents pass for each document worker).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from context import SYNC_YEAR, Context
from harness import CLIENT_ID, UNLIMITED
from spiris_client.api import SpirisApi
from spiris_client.tokens import StaticTokenProvider
from spiris_store import ledger
from spiris_store.connection import connect
from spiris_store.records import CompanyRecord, FiscalYearRecord, VoucherRecord
from spiris_sync.ledger_records import voucher_record

REPEATS = 3


def _direct_ingest(ctx: Context) -> dict[str, Any]:
    main = ctx.synced_main_year()
    sandbox = main.sandbox
    fy_id = sandbox.fiscal_year_id(1, SYNC_YEAR)
    token = sandbox.control("POST", "tokens", json={"company": 1, "client_id": CLIENT_ID})["access_token"]
    sandbox.set_rate_limit(UNLIMITED)
    with SpirisApi(sandbox.api_url, token_provider=StaticTokenProvider(token)) as api:
        year = next(y for y in api.fiscal_years() if y.id == fy_id)
        pages = [[voucher_record(v, fiscal_year_id=uuid.UUID(fy_id)) for v in page.items]
                 for page in api.vouchers(fy_id)]
    sandbox.set_rate_limit(ctx.sizes.scaled_limit)
    assert year.start_date is not None and year.end_date is not None
    record = FiscalYearRecord(id=uuid.UUID(fy_id), start_date=year.start_date, end_date=year.end_date)
    # Best of three into fresh databases: the figure is the store's speed, not other load on a shared machine.
    attempts = [_ingest_once(ctx.services.fresh_database(), record, pages) for _ in range(REPEATS)]
    vouchers = sum(len(p) for p in pages)
    rows = sum(len(v.rows) for p in pages for v in p)
    seconds = min(attempts)
    return {"direct_vouchers": vouchers, "direct_rows": rows, "direct_seconds": seconds,
            "direct_attempt_seconds": attempts, "direct_rows_per_second": rows / seconds}


def _ingest_once(dsn: str, year: FiscalYearRecord, pages: list[list[VoucherRecord]]) -> float:
    fy = year.id
    with connect(dsn) as conn:
        ledger.upsert_company(conn, CompanyRecord(company_key="ingest", name="Ingest AB"))
        ledger.upsert_fiscal_years(conn, company_key="ingest", fiscal_years=[year])
        run = ledger.start_run(
            conn, company_key="ingest", fiscal_year=SYNC_YEAR, mode="full", trigger="bench"
        )
        conn.commit()
        began = time.perf_counter()
        for number, page in enumerate(pages, start=1):
            with conn.transaction():
                ledger.upsert_vouchers(conn, company_key="ingest", vouchers=page, run_id=run.id)
                ledger.set_checkpoint(conn, company_key="ingest", fiscal_year_id=fy, phase="vouchers",
                                      page=number, run_id=run.id)
        return time.perf_counter() - began


def run(ctx: Context) -> dict[str, Any]:
    figures = _direct_ingest(ctx)
    main = ctx.synced_main_year()
    timings = main.full_sync.timings if main.full_sync is not None else {}
    figures["in_run_measured_under_limit"] = main.measured
    if timings.get("upsert_seconds"):
        figures["in_run_rows"] = timings["upserted_rows"]
        figures["in_run_upsert_seconds"] = timings["upsert_seconds"]
        figures["in_run_rows_per_second"] = timings["upserted_rows"] / timings["upsert_seconds"]
    else:
        figures["in_run_rows_per_second"] = None
    if timings.get("process_seconds"):
        thread_seconds = timings["process_seconds"] + timings["documents_pass_seconds"] * max(
            0, timings["document_workers"] - 1)
        waiting = timings["budget_wait_seconds"] + timings["http_seconds"]
        figures["budget_wait_seconds"] = timings["budget_wait_seconds"]
        figures["http_seconds"] = timings["http_seconds"]
        figures["thread_seconds"] = thread_seconds
        figures["spiris_wait_share"] = waiting / thread_seconds if thread_seconds else None
        figures["voucher_pass_seconds"] = timings["voucher_pass_seconds"]
        figures["documents_pass_seconds"] = timings["documents_pass_seconds"]
    return figures
