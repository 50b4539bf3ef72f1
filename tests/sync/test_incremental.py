"""Incremental re-syncs fetch only what changed, and a re-sync with no changes costs a handful of calls."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from spiris_client.api import SpirisApi
from spiris_store import ledger
from spiris_store.records import VoucherRecord, VoucherRowRecord
from spiris_sync import run as run_module
from testkit.ledger_checks import latest_run
from testkit.sandbox import CLIENT_ID


def _sandbox_calls(stack) -> dict[str, int]:
    stats = stack.control.stats()
    return {r["template"]: r["count"] for r in stats["requests"] if r["client_id"] == CLIENT_ID}


@pytest.mark.timeout(120)
def test_changed_and_new_vouchers_are_fetched_alone(make_stack) -> None:
    stack = make_stack(vouchers_per_year=400, documents_ratio=0.3, seed=11)
    fy_id = stack.fiscal_year_ids()[2025]
    first = stack.run_in_process(2025)
    assert first.outcome == "succeeded"

    assert first.api_calls_by_endpoint.get("/v2/companysettings") == 1

    # No changes: a handful of calls (fiscal years, accounts, one empty voucher page, balances); the company's
    # details are a day old at most, so no /companysettings.
    stack.control.reset_stats()
    quiet = stack.run_in_process(2025)
    assert quiet.outcome == "succeeded"
    assert quiet.counts.vouchers_fetched == 0 and quiet.counts.documents_fetched == 0
    assert quiet.api_calls <= 6, quiet.api_calls_by_endpoint
    assert "/v2/companysettings" not in _sandbox_calls(stack)
    assert sum(_sandbox_calls(stack).values()) == quiet.api_calls

    # Three changed and two new vouchers (the new ones with documents), after the look-back window.
    stack.control.advance(600)
    changed = stack.control.change_vouchers(stack.company_number, count=3, fiscal_year_id=fy_id)
    added = stack.control.add_vouchers(
        stack.company_number, count=2, fiscal_year_id=fy_id, with_attachments=True
    )
    assert len(changed) == 3 and len(added) == 2
    stack.control.reset_stats()
    result = stack.run_in_process(2025)

    assert result.outcome == "succeeded", result.summary()
    assert result.mode == "incremental"
    assert result.counts.vouchers_fetched == 5
    assert result.listing is not None
    assert result.listing["vouchersInserted"] == 2 and result.listing["vouchersUpdated"] == 3
    assert result.counts.vouchers == first.counts.vouchers + 2
    # Only the new vouchers' documents were downloaded; nothing already stored was fetched again.
    assert 1 <= result.counts.documents_fetched <= 4
    sandbox = _sandbox_calls(stack)
    assert sum(sandbox.values()) == result.api_calls
    voucher_calls = sum(c for t, c in sandbox.items() if t.startswith("/v2/vouchers/"))
    assert voucher_calls == 1
    document_calls = sum(
        count
        for template, count in sandbox.items()
        if template.startswith(("/v2/attachments", "/v2/customerinvoices", "/v2/supplierinvoices"))
    )
    assert document_calls <= 2 * 5
    run = latest_run(stack.database_url)
    assert run["api_calls"] == result.api_calls and run["vouchers_fetched"] == 5
    assert run["api_calls_by_endpoint"] == result.api_calls_by_endpoint
    assert result.reconciliation is not None and result.reconciliation["balanced"] is True

    # Details older than a day are read again.
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE spiris.companies SET details_read_at = now() - interval '25 hours'"
            " WHERE company_key = %s",
            (stack.company_key,),
        )
    stack.control.reset_stats()
    assert stack.run_in_process(2025).outcome == "succeeded"
    assert _sandbox_calls(stack).get("/v2/companysettings") == 1


@pytest.mark.timeout(120)
def test_full_run_marks_vanished_vouchers_without_deleting(make_stack) -> None:
    stack = make_stack(vouchers_per_year=60, seed=13, fiscal_years=(2025,))
    first = stack.run_in_process(2025)
    assert first.outcome == "succeeded"
    fy = uuid.UUID(first.fiscal_year_id)
    ghost = uuid.uuid4()  # a voucher we hold but Spiris no longer lists
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        ledger.upsert_vouchers(
            conn,
            company_key=stack.company_key,
            vouchers=[
                VoucherRecord(
                    id=ghost,
                    fiscal_year_id=fy,
                    voucher_date=datetime.date(2025, 3, 1),
                    number="X1",
                    rows=(
                        VoucherRowRecord(account_number=1930, debit=Decimal("5.00"), credit=Decimal("0")),
                        VoucherRowRecord(account_number=3001, debit=Decimal("0"), credit=Decimal("5.00")),
                    ),
                )
            ],
            run_id=None,
        )

    incremental = stack.run_in_process(2025)
    assert incremental.listing is not None and incremental.listing["vanished"] == 0
    assert incremental.reconciliation is not None and incremental.reconciliation["balanced"] is False
    assert incremental.outcome == "degraded"  # the ghost's rows differ from Spiris' balances

    full = stack.run_in_process(2025, mode="full")
    assert full.listing is not None and full.listing["vanished"] == 1
    assert full.counts.vanished == 1 and full.counts.vouchers == first.counts.vouchers
    assert full.outcome == "succeeded" and full.reconciliation["balanced"] is True
    with psycopg.connect(stack.database_url) as conn:
        row = conn.execute(
            "SELECT vanished_at IS NOT NULL, row_count FROM spiris.vouchers WHERE id = %s", (ghost,)
        ).fetchone()
    assert row == (True, 2)  # kept, with its rows, for the audit trail


class _FilterOnUnknownProperty(SpirisApi):
    """Sends the incremental filter on a property the sandbox does not know, so it refuses the query —
    as a Spiris that cannot filter vouchers on ModifiedUtc would."""

    def vouchers(self, fiscal_year_id: str, *, filter: str | None = None, **kwargs: Any) -> Any:
        if filter is not None:
            filter = filter.replace("ModifiedUtc", "ModifiedUtcUnknown")
        return super().vouchers(fiscal_year_id, filter=filter, **kwargs)


@pytest.mark.timeout(120)
def test_rejected_modified_filter_falls_back_to_a_full_relist(make_stack, monkeypatch) -> None:
    stack = make_stack(vouchers_per_year=80, seed=17, fiscal_years=(2025,))
    assert stack.run_in_process(2025).outcome == "succeeded"
    monkeypatch.setattr(run_module, "SpirisApi", _FilterOnUnknownProperty)
    result = stack.run_in_process(2025)
    assert result.outcome == "succeeded"
    assert result.listing is not None
    assert result.listing["modeUsed"] == "full"
    # The sandbox answers a rejected filter as production is believed to: 2000 naming $filter.
    assert "ErrorCode 2000" in result.listing["fallbackReason"]
    assert result.counts.vouchers_fetched == stack.truth(2025)["vouchers"]
    run = latest_run(stack.database_url)
    assert run["checksums"]["listing"]["fallbackReason"] == result.listing["fallbackReason"]


@pytest.mark.timeout(120)
def test_ledger_only_run_fetches_no_documents_then_a_full_run_fetches_them(make_stack) -> None:
    """FiscalYearSync `include.documents: false` (`--skip-documents`): the ledger lands, no document is
    fetched or counted missing; a later run with documents fetches exactly those the ledger points at."""
    stack = make_stack(vouchers_per_year=120, documents_ratio=0.4, seed=5)
    ledger_only = stack.run_in_process(2025, include_documents=False)
    assert ledger_only.outcome == "succeeded", ledger_only.summary()
    assert ledger_only.counts.vouchers == 120 and ledger_only.counts.rows > 120
    assert ledger_only.counts.documents == 0 and ledger_only.counts.documents_fetched == 0
    assert ledger_only.counts.missing_documents == 0
    calls = ledger_only.api_calls_by_endpoint
    document_endpoints = ("/v2/attachments", "/v2/customerinvoices", "/v2/supplierinvoices")
    assert not any(template.startswith(document_endpoints) for template in calls)

    with_documents = stack.run_in_process(2025)
    assert with_documents.outcome == "succeeded", with_documents.summary()
    assert with_documents.counts.documents > 0
    assert with_documents.counts.documents_fetched == with_documents.counts.documents
