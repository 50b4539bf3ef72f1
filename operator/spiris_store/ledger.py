"""The ledger's public functions in one namespace (`from spiris_store import ledger`).

The work is done in small modules — `upserts` and `voucher_upserts` (writes), `runs` (provenance),
`checkpoints` (resume), `missing_documents`, `document_queue` (the documents pass's reads), `ledger_queries`
(reconciliation reads, counts, checksums) and `deletion`; this module only re-exports them so callers have
one stable import, and `spiris_sync` holds no SQL. All functions take an open psycopg connection
(`spiris_store.connection.connect`) and run inside the caller's transaction.
"""

from __future__ import annotations

from spiris_store.checkpoints import clear_checkpoints, get_checkpoint, set_checkpoint
from spiris_store.deletion import delete_company
from spiris_store.document_queue import (
    known_documents,
    pending_document_count,
    pending_document_vouchers,
    stored_spiris_ids,
)
from spiris_store.ledger_queries import (
    account_sums,
    database_now,
    ledger_counts,
    live_voucher_count,
    unbalanced_vouchers,
    vouchers_checksum,
    vouchers_synced_since,
    vouchers_with_rows,
)
from spiris_store.missing_documents import (
    clear_missing_document,
    clear_missing_documents_except,
    list_missing_documents,
    record_missing_document,
)
from spiris_store.runs import (
    finish_run,
    get_run,
    last_full_pass,
    last_watermark,
    latest_run,
    run_of_job,
    start_run,
    update_run,
)
from spiris_store.upserts import (
    company_details_fresh,
    ensure_company,
    find_document,
    link_voucher_documents,
    upsert_accounts,
    upsert_company,
    upsert_document,
    upsert_fiscal_years,
)
from spiris_store.voucher_upserts import mark_vanished, upsert_vouchers, voucher_content_sha256

__all__ = [
    "account_sums",
    "clear_checkpoints",
    "clear_missing_document",
    "clear_missing_documents_except",
    "company_details_fresh",
    "database_now",
    "delete_company",
    "ensure_company",
    "find_document",
    "finish_run",
    "get_checkpoint",
    "get_run",
    "known_documents",
    "last_full_pass",
    "last_watermark",
    "latest_run",
    "ledger_counts",
    "link_voucher_documents",
    "list_missing_documents",
    "live_voucher_count",
    "mark_vanished",
    "pending_document_count",
    "pending_document_vouchers",
    "record_missing_document",
    "run_of_job",
    "set_checkpoint",
    "start_run",
    "stored_spiris_ids",
    "unbalanced_vouchers",
    "update_run",
    "upsert_accounts",
    "upsert_company",
    "upsert_document",
    "upsert_fiscal_years",
    "upsert_vouchers",
    "voucher_content_sha256",
    "vouchers_checksum",
    "vouchers_synced_since",
    "vouchers_with_rows",
]
