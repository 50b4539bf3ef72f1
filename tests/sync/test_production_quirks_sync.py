"""The worker against the sandbox with every production quirk on (the default): first-year opening balances
over several pages, a product variant without customer invoices, documents Spiris refuses with 400 + 3000,
the SIE 4 comparison, and the 20,000-voucher proof — full and incremental copies equal to the sandbox's books
(no duplicate, no gap under unstable ties) and to Spiris' own SIE 4 export."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from spiris_client import SpirisApi, StaticTokenProvider, TokenSet
from spiris_client.download_policy import DownloadPolicy
from spiris_client.downloads import Downloader
from spiris_store import ledger
from spiris_store.sie4 import Sie4File, Sie4Transaction, Sie4Voucher
from spiris_sync import reconciliation, sie_comparison
from spiris_sync.sie_comparison import compare


def _api(stack: Any) -> SpirisApi:
    token = TokenSet.from_json(stack.token_file.read_text())
    return SpirisApi(stack.sandbox.api_url, token_provider=StaticTokenProvider(token.access_token))


def test_first_year_opening_balances_are_read_across_pages(make_stack) -> None:
    stack = make_stack(vouchers_per_year=40, seed=3)
    books = stack.sandbox.state.world.company(1)
    expected = {
        account: Decimal(value) / 100
        for account, value in books.opening_balances[books.fiscal_years[0].id].items()
    }
    with _api(stack) as api:
        assert len(list(api.opening_balances(page_size=2))) >= 3
        assert reconciliation.first_year_opening_balances(api, page_size=2) == {
            a: v for a, v in expected.items() if a < 3000 and v
        }
    result = stack.run_in_process(2024)
    assert result.outcome == "succeeded", result.summary()
    assert result.reconciliation is not None and result.reconciliation["balanced"] is True


def test_a_variant_without_customer_invoices_syncs_what_it_can_degraded(make_stack) -> None:
    stack = make_stack(vouchers_per_year=120, documents_ratio=0.4, seed=5, fiscal_years=(2025,))
    stack.control.faults(company={"number": 1, "product_variant": 3})
    result = stack.run_in_process(2025)
    truth = stack.truth(2025)
    assert result.outcome == "degraded", result.summary()
    assert result.counts.vouchers == truth["vouchers"] and result.counts.rows == truth["rows"]
    assert result.counts.missing_documents == truth["voucher_customer_invoices"] > 0
    assert result.counts.documents == truth["voucher_attachments"]
    assert result.reconciliation is not None and result.reconciliation["balanced"] is True
    assert result.error is not None and "could not be fetched" in result.error
    with psycopg.connect(stack.database_url) as conn:
        reasons = {r[0] for r in conn.execute("SELECT DISTINCT reason FROM spiris.missing_documents")}
    assert reasons == {
        "no access: the company's Spiris product variant does not include this document type (ErrorCode 4009)"
    }


def test_documents_spiris_refuses_with_400_3000_are_missing_not_fatal(make_stack) -> None:
    stack = make_stack(vouchers_per_year=80, documents_ratio=0.5, seed=9, fiscal_years=(2025,))
    books = stack.sandbox.state.world.company(1)
    year = books.fiscal_years[-1].id
    voucher = next(v for v in books.vouchers[year] if v["Attachments"]["AttachmentIds"])
    attachment = voucher["Attachments"]["AttachmentIds"][0]
    stack.control.remove_attachment(1, attachment)
    result = stack.run_in_process(2025)
    assert result.outcome == "degraded", result.summary()
    with psycopg.connect(stack.database_url) as conn:
        missing = conn.execute("SELECT spiris_id, reason FROM spiris.missing_documents").fetchall()
    assert missing == [(uuid.UUID(attachment), "not found in Spiris (400, ErrorCode 3000)")]


def _voucher(series: str, number: str, day: int, rows: list[tuple[int, str]]) -> Sie4Voucher:
    return Sie4Voucher(
        series=series,
        number=number,
        date=datetime.date(2025, 1, day),
        text=None,
        transactions=tuple(Sie4Transaction(account=a, amount=Decimal(v)) for a, v in rows),
        line=1,
    )


def test_comparison_reports_each_kind_of_difference() -> None:
    export = Sie4File(
        format="PC8",
        sie_type="4",
        program=None,
        company_name=None,
        org_number=None,
        fiscal_years={},
        accounts={},
        opening_balances={},
        closing_balances={},
        results={},
        vouchers=(
            _voucher("A", "1", 2, [(1930, "100"), (3001, "-100")]),
            _voucher("A", "2", 3, [(1930, "50"), (3001, "-50")]),
            _voucher("A", "3", 4, [(1930, "10"), (3001, "-10")]),
            _voucher("B", "1", 5, [(2440, "-20"), (4010, "20")]),
            _voucher("C", "7", 6, [(1510, "5"), (3001, "-5")]),
        ),
    )
    d = Decimal
    copy = [
        (uuid.uuid4(), "A1", "A", datetime.date(2025, 1, 2), [(1930, d(100), d(0)), (3001, d(0), d(100))]),
        (uuid.uuid4(), "A2", "A", datetime.date(2025, 1, 9), [(1930, d(50), d(0)), (3001, d(0), d(50))]),
        (uuid.uuid4(), "A3", "A", datetime.date(2025, 1, 4), [(1930, d(11), d(0)), (3001, d(0), d(11))]),
        (uuid.uuid4(), "B1", "B", datetime.date(2025, 1, 5), [(4010, d(20), d(0)), (2440, d(0), d(20))]),
        (uuid.uuid4(), "D1", "D", datetime.date(2025, 1, 7), [(1930, d(1), d(0)), (3001, d(0), d(1))]),
    ]
    report = compare(export, copy, period="2025")
    assert not report.equal
    assert (report.matched, report.matched_in_other_row_order) == (1, 1)
    assert report.missing_in_copy == ["C7"] and report.extra_in_copy == ["D1"]
    assert [item["voucher"] for item in report.differing] == ["A2", "A3"]
    assert report.differing[0]["date"] == {"export": "2025-01-03", "copy": "2025-01-09"}
    assert report.differing[1]["rowsOnlyInExport"] == [
        {"account": 1930, "amount": "10"},
        {"account": 3001, "amount": "-10"},
    ]
    assert report.as_json()["differing"] == 2


def _assert_copy_is_the_books(stack: Any, fiscal_year_id: str) -> int:
    """Voucher by voucher and row by row, the database holds exactly the sandbox's books of the year."""
    books = stack.sandbox.state.world.company(1)
    expected = {
        uuid.UUID(v["Id"]): [
            (r["AccountNumber"], Decimal(str(r["DebitAmount"])), Decimal(str(r["CreditAmount"])))
            for r in v["Rows"]
        ]
        for v in books.vouchers[fiscal_year_id]
    }
    with psycopg.connect(stack.database_url) as conn:
        copy = ledger.vouchers_with_rows(
            conn, company_key=stack.company_key, fiscal_year_id=uuid.UUID(fiscal_year_id)
        )
        duplicates = conn.execute(
            "SELECT count(*) - count(DISTINCT id) FROM spiris.vouchers WHERE fiscal_year_id = %s",
            (uuid.UUID(fiscal_year_id),),
        ).fetchone()
    assert duplicates == (0,)
    ours = {voucher_id: [(a, d, c) for a, d, c in rows] for voucher_id, _n, _s, _day, rows in copy}
    assert ours.keys() == expected.keys(), "a gap or an extra voucher"
    assert ours == expected
    return len(ours)


def _sie4_report(stack: Any, fiscal_year_id: str) -> sie_comparison.Sie4Comparison:
    # The sandbox serves its SIE file from its own (http, loopback) origin: trust exactly that origin.
    policy = DownloadPolicy(trusted_origin=stack.sandbox.api_url)
    with (
        _api(stack) as api,
        Downloader(policy=policy) as downloader,
        psycopg.connect(stack.database_url) as conn,
    ):
        copy = ledger.vouchers_with_rows(
            conn, company_key=stack.company_key, fiscal_year_id=uuid.UUID(fiscal_year_id)
        )
        return sie_comparison.compare_with_export(
            api=api,
            downloader=downloader,
            copy=copy,
            start=datetime.date(2025, 1, 1),
            end=datetime.date(2025, 12, 31),
        )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_twenty_thousand_vouchers_with_every_quirk_on_full_then_incremental(make_stack) -> None:
    stack = make_stack(vouchers_per_year=20_000, documents_ratio=0.02, seed=21, fiscal_years=(2025,))
    quirks = stack.control.quirks()
    assert quirks["unstable_ties"] and quirks["not_found_as_400"] and quirks["render_latency_ms"] > 0
    assert quirks["filter_error_code"] == 2000 and quirks["temporary_url_latency_ms"] > 0
    books = stack.sandbox.state.world.company(1)
    fy = books.fiscal_years[-1].id

    full = stack.run_in_process(2025, mode="full")
    assert full.outcome == "succeeded", full.summary()
    assert full.listing is not None and full.listing["vanishCheckSkipped"] is None
    assert full.counts.vouchers == full.counts.vouchers_fetched == 20_000
    assert _assert_copy_is_the_books(stack, fy) == 20_000
    assert full.reconciliation is not None and full.reconciliation["balanced"] is True
    sie4 = full.reconciliation["sie4"]
    assert sie4["equal"] is True and sie4["matched"] + sie4["matchedInOtherRowOrder"] == 20_000, sie4

    # Spiris moves on: vouchers change, new ones are booked, an attachment a voucher keeps is deleted.
    stack.control.advance(60)
    stack.control.change_vouchers(1, count=40)
    added = stack.control.add_vouchers(1, count=25, with_attachments=True)
    new_voucher = books.voucher_index[added[0]][1]
    gone = new_voucher["Attachments"]["AttachmentIds"][0]
    stack.control.remove_attachment(1, gone)

    incremental = stack.run_in_process(2025)
    assert incremental.listing is not None and incremental.listing["modeUsed"] == "incremental"
    assert incremental.outcome == "degraded", incremental.summary()  # the deleted attachment, recorded
    assert incremental.counts.vouchers == 20_025
    assert incremental.counts.vouchers_fetched < 1000
    assert _assert_copy_is_the_books(stack, fy) == 20_025
    with psycopg.connect(stack.database_url) as conn:
        missing = conn.execute("SELECT spiris_id FROM spiris.missing_documents").fetchall()
    assert missing == [(uuid.UUID(gone),)]
    report = _sie4_report(stack, fy)
    assert report.equal, report.as_json()
    assert report.vouchers_in_export == report.vouchers_in_copy == 20_025
