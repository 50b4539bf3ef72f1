"""List-driven documents: a full year reads supplier invoices and attachments from list pages (downloading
each page's attachments through its fresh links) instead of one GET per document, stores exactly what the
per-document path stores, falls back per attachment when a listed link has expired, and leaves small
incremental runs on the per-document path."""

from __future__ import annotations

import logging
import threading

import psycopg
import pytest
from spiris_sync import document_listing
from testkit.ledger_checks import assert_objects_match_sha256, dump, latest_run, object_listing
from testkit.sandbox import CLIENT_ID
from testkit.sandbox_control import SandboxControl

LIST_ATTACHMENTS = "/v2/attachments"
ONE_ATTACHMENT = "/v2/attachments/{attachment_id}"
LIST_SUPPLIER_INVOICES = "/v2/supplierinvoices"
ONE_SUPPLIER_INVOICE = "/v2/supplierinvoices/{invoice_id}"
INVOICE_PRINT = "/v2/customerinvoices/{invoice_id}/print"
INVOICE_LINK = "/v2/customerinvoices/{invoice_id}/pdf"
DOCUMENT_ENDPOINTS = ("/v2/attachments", "/v2/customerinvoices", "/v2/supplierinvoices")


def _stats(stack) -> dict:
    return stack.control.stats()  # type: ignore[no-any-return]


def _calls(stats: dict) -> dict[str, int]:
    return {r["template"]: r["count"] for r in stats["requests"] if r["client_id"] == CLIENT_ID}


def _document_calls(calls: dict[str, int]) -> dict[str, int]:
    return {t: c for t, c in calls.items() if t.startswith(DOCUMENT_ENDPOINTS)}


def _assert_complete(stack, result) -> None:
    truth = stack.truth(2025)
    assert result.outcome == "succeeded", result.summary()
    assert result.counts.documents == truth["voucher_attachments"] + truth["voucher_customer_invoices"]
    assert result.counts.missing_documents == 0
    with psycopg.connect(stack.database_url) as conn:
        unlinked = conn.execute(
            "SELECT count(*) FROM spiris.documents d WHERE NOT EXISTS (SELECT 1 FROM spiris.voucher_documents"
            " vd WHERE vd.company_key = d.company_key AND vd.document_id = d.id)"
        ).fetchone()
    assert unlinked == (0,)
    assert assert_objects_match_sha256(stack.s3, stack.bucket, stack.database_url) > 0


@pytest.mark.timeout(240)
def test_full_year_costs_list_pages_and_stores_the_same(make_stack, monkeypatch) -> None:
    stack = make_stack(vouchers_per_year=500, documents_ratio=0.5, seed=53, fiscal_years=(2025,))
    truth = stack.truth(2025)
    stack.control.reset_stats()
    listed = stack.run_in_process(2025, mode="full")
    _assert_complete(stack, listed)
    calls = _calls(_stats(stack))
    documents = _document_calls(calls)

    # Attachment metadata and links come from list pages; only the invoice PDFs cost a call each.
    assert documents.get(ONE_ATTACHMENT, 0) == 0, documents
    assert documents.get(ONE_SUPPLIER_INVOICE, 0) == 0, documents
    assert 1 <= documents[LIST_ATTACHMENTS] <= 2 and 1 <= documents[LIST_SUPPLIER_INVOICES] <= 2
    # The invoice PDFs are spread over both endpoints (each has its own budget at Spiris), about half each.
    invoices = truth["voucher_customer_invoices"]
    assert documents[INVOICE_PRINT] + documents[INVOICE_LINK] == invoices
    assert min(documents[INVOICE_PRINT], documents[INVOICE_LINK]) >= invoices // 4
    assert sum(documents.values()) == (
        documents[LIST_ATTACHMENTS] + documents[LIST_SUPPLIER_INVOICES] + truth["voucher_customer_invoices"]
    )
    assert listed.counts.documents_fetched == listed.counts.documents
    run = latest_run(stack.database_url)
    assert run["api_calls"] == listed.api_calls == sum(calls.values())
    assert run["api_calls_by_endpoint"] == listed.api_calls_by_endpoint

    # The same year through the per-document path (lists switched off), into a second database and bucket.
    monkeypatch.setattr(document_listing, "MIN_NEEDED", 10**9)
    single = make_stack(sandbox=stack.sandbox)
    stack.control.reset_stats()
    per_document = single.run_in_process(2025, mode="full")
    _assert_complete(single, per_document)
    single_calls = _document_calls(_calls(_stats(stack)))
    assert single_calls[ONE_ATTACHMENT] >= truth["voucher_attachments"]
    assert LIST_ATTACHMENTS not in single_calls and LIST_SUPPLIER_INVOICES not in single_calls
    assert sum(single_calls.values()) > sum(documents.values()) + truth["voucher_attachments"] // 2

    listed_rows, single_rows = dump(stack.database_url), dump(single.database_url)
    for table in ("documents", "voucher_documents", "missing_documents"):
        assert listed_rows[table] == single_rows[table], table
    assert object_listing(stack.s3, stack.bucket) == object_listing(single.s3, single.bucket)


class _ExpireLinksOnFirstDownload(logging.Handler):
    """Kills every issued link the moment the first list-driven download starts (a real sandbox switch),
    so the rest of that page's links answer 403 like expired storage links."""

    def __init__(self, control: SandboxControl) -> None:
        super().__init__(level=logging.DEBUG)
        self._control = control
        self._lock = threading.Lock()
        self.fired = False

    def emit(self, record: logging.LogRecord) -> None:
        if not record.getMessage().startswith("downloading "):
            return
        if threading.current_thread() is threading.main_thread():
            return  # the SIE 4 export of a full run, downloaded before the documents pass begins

        with self._lock:
            if self.fired:
                return
            self.fired = True
        self._control.faults(expire_links=True)


@pytest.mark.timeout(180)
def test_expired_list_links_fall_back_and_end_complete(make_stack) -> None:
    stack = make_stack(vouchers_per_year=200, documents_ratio=0.5, seed=59, fiscal_years=(2025,))
    stack.control.reset_stats()
    client_logger = logging.getLogger("spiris_client")
    handler = _ExpireLinksOnFirstDownload(stack.control)
    old_level = client_logger.level
    client_logger.setLevel(logging.DEBUG)
    client_logger.addHandler(handler)
    try:
        result = stack.run_in_process(2025, mode="full", document_workers=1)
    finally:
        client_logger.removeHandler(handler)
        client_logger.setLevel(old_level)
    assert handler.fired
    _assert_complete(stack, result)
    stats = _stats(stack)
    documents = _document_calls(_calls(stats))
    assert stats["expired_downloads"] >= 1
    assert documents[LIST_ATTACHMENTS] >= 1
    # Each expired listed link cost one fresh-link GET; nothing else fell back.
    assert documents[ONE_ATTACHMENT] == stats["expired_downloads"]


@pytest.mark.timeout(180)
def test_small_incremental_runs_keep_the_per_document_path(make_stack) -> None:
    stack = make_stack(vouchers_per_year=300, documents_ratio=0.4, seed=61, fiscal_years=(2025,))
    fy_id = stack.fiscal_year_ids()[2025]
    first = stack.run_in_process(2025)
    assert first.outcome == "succeeded"
    assert _calls(_stats(stack)).get(LIST_ATTACHMENTS, 0) >= 1

    stack.control.advance(600)
    stack.control.add_vouchers(stack.company_number, count=3, fiscal_year_id=fy_id, with_attachments=True)
    stack.control.reset_stats()
    result = stack.run_in_process(2025)
    assert result.outcome == "succeeded", result.summary()
    assert result.counts.missing_documents == 0
    documents = _document_calls(_calls(_stats(stack)))
    assert LIST_ATTACHMENTS not in documents and LIST_SUPPLIER_INVOICES not in documents, documents
    assert 1 <= result.counts.documents_fetched <= 6
    assert sum(documents.values()) <= 2 * 3, documents
