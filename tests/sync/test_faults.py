"""Faults: 5xx bursts, expired download links, cut-off downloads — each ends complete, or degraded and then
complete on the rerun; nothing lost, nothing duplicated."""

from __future__ import annotations

import psycopg
import pytest
from spiris_sync.exit_codes import SpirisUnavailableFailure
from testkit.ledger_checks import assert_objects_match_sha256, latest_run


def _assert_complete(stack, result, year: int = 2025) -> None:
    truth = stack.truth(year)
    assert result.outcome == "succeeded", result.summary()
    assert result.counts.vouchers == truth["vouchers"]
    assert result.counts.rows == truth["rows"]
    assert result.counts.documents == truth["voucher_attachments"] + truth["voucher_customer_invoices"]
    assert result.counts.missing_documents == 0
    assert result.reconciliation is not None and result.reconciliation["balanced"] is True
    with psycopg.connect(stack.database_url) as conn:
        duplicates = conn.execute(
            "SELECT count(*) - count(DISTINCT (source, spiris_id)) FROM spiris.documents"
        ).fetchone()
    assert duplicates == (0,)
    assert assert_objects_match_sha256(stack.s3, stack.bucket, stack.database_url) > 0


@pytest.mark.timeout(180)
def test_server_error_bursts(make_stack) -> None:
    stack = make_stack(vouchers_per_year=150, documents_ratio=0.3, seed=31, fiscal_years=(2025,))
    # Short bursts are retried away by the client.
    stack.control.faults(server_errors=3)
    _assert_complete(stack, stack.run_in_process(2025, document_workers=2))

    # A long outage fails the run clearly (exit 4) and leaves a record; the rerun completes.
    stack.control.faults(server_errors=10_000, server_error_status=503)
    with pytest.raises(SpirisUnavailableFailure):
        stack.run_in_process(2025, mode="full")
    failed = latest_run(stack.database_url)
    assert failed["outcome"] == "failed" and "Spiris" in failed["error"]
    stack.control.clear_faults()
    _assert_complete(stack, stack.run_in_process(2025, mode="full"))


@pytest.mark.timeout(180)
def test_expired_links_are_missing_then_fetched_next_run(make_stack) -> None:
    stack = make_stack(vouchers_per_year=120, documents_ratio=0.3, seed=37, fiscal_years=(2025,))
    # Every temporary link is dead on arrival: attachments cannot be had, invoice PDFs still can (those routed
    # to /pdf fall back to /print when its link is dead).
    stack.control.faults(download_ttl_seconds=0)
    degraded = stack.run_in_process(2025)
    assert degraded.outcome == "degraded"
    assert degraded.counts.missing_documents > 0
    run = latest_run(stack.database_url)
    assert run["outcome"] == "degraded" and "could not be fetched" in run["error"]
    with psycopg.connect(stack.database_url) as conn:
        reasons = {r[0] for r in conn.execute("SELECT DISTINCT reason FROM spiris.missing_documents")}
    assert any("expired" in reason for reason in reasons), reasons

    stack.control.faults(download_ttl_seconds=300)
    recovered = stack.run_in_process(2025)
    _assert_complete(stack, recovered)
    assert recovered.counts.documents_fetched == degraded.counts.missing_documents


@pytest.mark.timeout(180)
def test_cut_off_downloads_are_started_over(make_stack) -> None:
    stack = make_stack(vouchers_per_year=120, documents_ratio=0.3, seed=41, fiscal_years=(2025,))
    stack.control.faults(truncate_downloads=2)
    _assert_complete(stack, stack.run_in_process(2025, document_workers=1))
