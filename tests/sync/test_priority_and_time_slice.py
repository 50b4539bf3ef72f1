"""The worker's side of the prioritised budget: SPIRIS_SYNC_PRIORITY reaches the shared budget (a first sync's
ledger at FIRST_SYNC, its documents at BACKFILL), a background documents pass yields at its time slice
(exit 8, everything fetched stored and linked) and the next run finishes it without fetching a document
twice, and an unknown priority word is a configuration error."""

from __future__ import annotations

import psycopg
import pytest
from spiris_store.budget_priority import Priority
from spiris_sync import run as sync_run
from spiris_sync.rate_budget import PerThreadRateBudget
from testkit.ledger_checks import latest_run
from testkit.sandbox import CLIENT_ID
from testkit.sync_stack import run_unconfigured, summary_of

DOCUMENT_ENDPOINTS = ("/v2/attachments", "/v2/customerinvoices", "/v2/supplierinvoices", "/v2/documents")
INVOICE_PRINT = "/v2/customerinvoices/{invoice_id}/print"


def _document_bytes_fetched(stack) -> int:
    """Every document's bytes come from one storage download or one `/print` call; the SIE 4 export of a
    full run is the only other download."""
    stats = stack.control.stats()
    calls = {r["template"]: r["count"] for r in stats["requests"] if r["client_id"] == CLIENT_ID}
    sie4 = sum(c for t, c in calls.items() if t.startswith("/v2/sie4export"))
    return int(stats["downloads"]) + calls.get(INVOICE_PRINT, 0) - sie4


def _stored(database_url: str) -> tuple[int, int]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM spiris.documents), (SELECT count(*) FROM spiris.voucher_documents)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.mark.timeout(120)
def test_a_sliced_backfill_yields_and_the_next_run_finishes_without_refetching(make_stack) -> None:
    stack = make_stack(company=2, vouchers_per_year=150, documents_ratio=0.4, seed=41, fiscal_years=(2025,))
    truth = stack.truth(2025)
    expected = truth["voucher_attachments"] + truth["voucher_customer_invoices"]
    # A budget of 120 requests a minute per endpoint makes the documents pass take seconds, not a blink.
    env = stack.env(
        SPIRIS_RATE_LIMIT_PER_MINUTE="120",
        SPIRIS_SYNC_PRIORITY="backfill",
        SPIRIS_SYNC_TIME_SLICE_SECONDS="1",
    )
    first = stack.run_cli(*stack.cli_run_args(2025), env=env)
    assert first.returncode == 8, first.stderr
    summary = summary_of(first)
    assert summary["outcome"] == "yielded" and summary["exitCode"] == 8
    assert summary["listing"]["documentsYielded"] is True
    assert summary["budget"]["priority"] == summary["budget"]["documentsPriority"] == "backfill"
    assert summary["budget"]["waitSeconds"] > 0  # the small budget really held the run back
    # The ledger is never cut by the slice: complete and reconciled in the yielded run.
    assert summary["counts"]["vouchers"] == truth["vouchers"]
    assert summary["reconciliation"]["balanced"] is True
    run = latest_run(stack.database_url)
    assert run["outcome"] == "yielded" and run["next_watermark"] is not None
    assert run["checksums"]["budget"]["priority"] == "backfill"
    documents, links = _stored(stack.database_url)
    assert 0 < documents < expected, "the slice should stop the pass part-way"
    assert links > 0  # what was fetched is linked, not only stored
    fetched_first = _document_bytes_fetched(stack)
    assert fetched_first == documents

    second = stack.run_in_process(2025, SPIRIS_RATE_LIMIT_PER_MINUTE="120")
    assert second.outcome == "succeeded", second.summary()
    assert second.mode == "incremental"  # the yielded run's ledger counts: no second full listing
    assert second.counts.documents == expected and second.counts.missing_documents == 0
    assert _stored(stack.database_url) == (expected, second.counts.documents)
    assert _document_bytes_fetched(stack) == expected  # no document was fetched twice


class _SpyBudget(PerThreadRateBudget):
    """The real shared budget, recording the class each request was granted in."""

    granted: list[tuple[Priority, str]] = []

    def acquire(self, endpoint_template: str) -> None:
        self.granted.append((self.priority, endpoint_template))
        super().acquire(endpoint_template)


@pytest.mark.timeout(120)
def test_a_first_sync_does_its_ledger_first_then_its_documents_as_backfill(make_stack, monkeypatch) -> None:
    stack = make_stack(vouchers_per_year=60, documents_ratio=0.5, seed=43, fiscal_years=(2025,))
    monkeypatch.setattr(_SpyBudget, "granted", [])
    monkeypatch.setattr(sync_run, "PerThreadRateBudget", _SpyBudget)
    result = stack.run_in_process(2025, SPIRIS_SYNC_PRIORITY="first-sync")
    assert result.outcome in {"succeeded", "degraded"}, result.summary()
    granted = _SpyBudget.granted
    ledger = [(p, e) for p, e in granted if not e.startswith(DOCUMENT_ENDPOINTS)]
    documents = [(p, e) for p, e in granted if e.startswith(DOCUMENT_ENDPOINTS)]
    assert ledger and documents
    assert {p for p, _ in ledger} == {Priority.FIRST_SYNC}, ledger
    assert {p for p, _ in documents} == {Priority.BACKFILL}, documents
    # Ledger before documents: every FIRST_SYNC request was made before the first BACKFILL one.
    classes = [p for p, _ in granted]
    assert classes == sorted(classes)
    assert result.budget is not None
    assert result.budget["priority"] == "first-sync" and result.budget["documentsPriority"] == "backfill"
    assert latest_run(stack.database_url)["checksums"]["budget"]["documentsPriority"] == "backfill"


@pytest.mark.timeout(60)
def test_an_unknown_priority_is_a_configuration_error() -> None:
    done = run_unconfigured({"SPIRIS_SYNC_PRIORITY": "urgent"})
    assert done.returncode == 2, done.stderr
    assert "SPIRIS_SYNC_PRIORITY='urgent'" in done.stderr
    assert "on-demand, first-sync, scheduled, backfill" in done.stderr
    assert "Traceback" not in done.stderr and "dbsecret" not in done.stderr
