"""The ledger against a real PostgreSQL: idempotent upserts, rows replaced, runs, checkpoints, deletion."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from spiris_store import ledger
from spiris_store.connection import connect
from spiris_store.records import (
    AccountRecord,
    DocumentRecord,
    MissingDocument,
    RunCounts,
    VoucherDocumentLink,
    VoucherRowRecord,
)
from testkit.store_samples import CONTRACT_TABLES, FY_2024, FY_2025, make_voucher, seed_company

Conn = psycopg.Connection[Any]


def _rows(conn: Conn, voucher_id: uuid.UUID) -> list[tuple[Any, ...]]:
    return conn.execute(
        """SELECT row_no, account_number, debit, credit, transaction_text FROM spiris.voucher_rows
        WHERE voucher_id = %s ORDER BY row_no""",
        (voucher_id,),
    ).fetchall()


def test_voucher_upserts_are_idempotent(conn: Conn) -> None:
    company = seed_company(conn)
    vouchers = [make_voucher(n) for n in range(1, 51)]
    first = ledger.upsert_vouchers(conn, company_key=company, vouchers=vouchers, run_id=None)
    conn.commit()
    assert (first.inserted, first.updated, first.unchanged, first.rows_written) == (50, 0, 0, 100)
    again = ledger.upsert_vouchers(conn, company_key=company, vouchers=vouchers, run_id=None)
    conn.commit()
    assert (again.inserted, again.updated, again.unchanged, again.rows_written) == (0, 0, 50, 0)
    counts = ledger.ledger_counts(conn, company_key=company, fiscal_year_id=FY_2024.id)
    assert (counts.vouchers, counts.rows) == (50, 100)
    assert conn.execute("SELECT count(*) FROM spiris.voucher_rows").fetchone() == (100,)
    stored = conn.execute(
        """SELECT number, number_series, voucher_date, text, voucher_type, row_count, debit_total,
        credit_total FROM spiris.vouchers WHERE id = %s""",
        (vouchers[4].id,),
    ).fetchone()
    assert stored == (
        "A5",
        "A",
        date(2024, 6, 1),
        "Verifikation 5",
        2,
        2,
        Decimal("100.00"),
        Decimal("100.00"),
    )


def test_changed_voucher_gets_its_rows_replaced_in_order(conn: Conn) -> None:
    company = seed_company(conn)
    original = make_voucher(7)
    ledger.upsert_vouchers(conn, company_key=company, vouchers=[original, make_voucher(8)], run_id=None)
    conn.commit()
    changed = dataclasses.replace(
        original,
        text="Rättad",
        rows=(
            VoucherRowRecord(
                account_number=6110, debit=Decimal("80.00"), credit=Decimal(0), transaction_text="å"
            ),
            VoucherRowRecord(account_number=2641, debit=Decimal("20.00"), credit=Decimal(0)),
            VoucherRowRecord(account_number=1930, debit=Decimal(0), credit=Decimal("100.00")),
        ),
    )
    result = ledger.upsert_vouchers(
        conn, company_key=company, vouchers=[changed, make_voucher(8)], run_id=None
    )
    conn.commit()
    assert (result.inserted, result.updated, result.unchanged, result.rows_written) == (0, 1, 1, 3)
    assert _rows(conn, original.id) == [
        (1, 6110, Decimal("80.00"), Decimal("0.00"), "å"),
        (2, 2641, Decimal("20.00"), Decimal("0.00"), None),
        (3, 1930, Decimal("0.00"), Decimal("100.00"), None),
    ]
    assert conn.execute(
        "SELECT text, row_count FROM spiris.vouchers WHERE id = %s", (original.id,)
    ).fetchone() == (
        "Rättad",
        3,
    )
    assert len(_rows(conn, make_voucher(8).id)) == 2


def test_a_failed_batch_writes_nothing_and_leaves_the_transaction_usable(conn: Conn) -> None:
    company = seed_company(conn)
    unknown_year = dataclasses.replace(FY_2024, id=uuid.uuid4())
    good = make_voucher(1)
    bad = make_voucher(2, fiscal_year=unknown_year)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        ledger.upsert_vouchers(conn, company_key=company, vouchers=[good, bad], run_id=None)
    # the savepoint was rolled back; the caller's transaction goes on
    ledger.upsert_vouchers(conn, company_key=company, vouchers=[make_voucher(3)], run_id=None)
    conn.commit()
    ids = {r[0] for r in conn.execute("SELECT id FROM spiris.vouchers").fetchall()}
    assert ids == {make_voucher(3).id}
    assert conn.execute("SELECT count(*) FROM spiris.voucher_rows").fetchone() == (2,)


def test_a_page_and_its_checkpoint_commit_together(conn: Conn) -> None:
    company = seed_company(conn)
    run = ledger.start_run(conn, company_key=company, fiscal_year=2024, mode="full", trigger="test")
    conn.commit()
    with conn.transaction():
        ledger.upsert_vouchers(conn, company_key=company, vouchers=[make_voucher(1)], run_id=run.id)
        first = ledger.set_checkpoint(
            conn, company_key=company, fiscal_year_id=FY_2024.id, phase="vouchers", page=1, run_id=run.id
        )
    # a killed process: page 2 written but never committed
    ledger.upsert_vouchers(conn, company_key=company, vouchers=[make_voucher(2)], run_id=run.id)
    ledger.set_checkpoint(
        conn, company_key=company, fiscal_year_id=FY_2024.id, phase="vouchers", page=2, run_id=run.id
    )
    conn.rollback()
    checkpoint = ledger.get_checkpoint(conn, company_key=company, fiscal_year_id=FY_2024.id, phase="vouchers")
    assert checkpoint is not None and checkpoint.page == 1 and checkpoint.run_id == run.id
    assert conn.execute("SELECT count(*) FROM spiris.vouchers").fetchone() == (1,)
    # a later run takes over: page and run move, started_at (the listing start) stays
    second_run = ledger.start_run(conn, company_key=company, fiscal_year=2024, mode="full", trigger="test")
    later = ledger.set_checkpoint(
        conn,
        company_key=company,
        fiscal_year_id=FY_2024.id,
        phase="vouchers",
        page=2,
        run_id=second_run.id,
        watermark=datetime(2024, 5, 1, tzinfo=UTC),
        state={"total_pages": 9},
    )
    conn.commit()
    assert (later.page, later.run_id, later.started_at) == (2, second_run.id, first.started_at)
    assert later.watermark == datetime(2024, 5, 1, tzinfo=UTC) and later.state == {"total_pages": 9}
    assert (
        ledger.get_checkpoint(conn, company_key=company, fiscal_year_id=FY_2024.id, phase="documents") is None
    )
    assert ledger.clear_checkpoints(conn, company_key=company, fiscal_year_id=FY_2024.id) == 1
    conn.commit()
    assert (
        ledger.get_checkpoint(conn, company_key=company, fiscal_year_id=FY_2024.id, phase="vouchers") is None
    )


def test_runs_record_provenance_and_latest_run(conn: Conn) -> None:
    assert ledger.latest_run(conn, "nobody", 2024) is None
    first = ledger.start_run(
        conn, company_key="c1", fiscal_year=2024, mode="full", trigger="job/fys-2024-abc", scopes=["ea:api"]
    )
    conn.commit()
    assert first.outcome == "running" and first.host and first.scopes == ("ea:api",)
    assert ledger.last_watermark(conn, company_key="c1", fiscal_year=2024) is None
    mark = datetime(2024, 3, 1, 12, tzinfo=UTC)
    finished = ledger.finish_run(
        conn,
        run_id=first.id,
        outcome="succeeded",
        counts=RunCounts(accounts=3, vouchers=10, rows=20, documents=4),
        api_calls=17,
        api_calls_by_endpoint={"/vouchers/{fiscalyearId}": 2},
        next_watermark=mark,
        reconciliation={"balanced": True, "differences": [], "sum": Decimal("1.10")},
        checksums={"vouchers": "abc"},
        fiscal_year_id=FY_2024.id,
    )
    conn.commit()
    assert finished.outcome == "succeeded" and finished.finished_at is not None
    assert finished.counts.vouchers == 10 and finished.api_calls_by_endpoint == {
        "/vouchers/{fiscalyearId}": 2
    }
    assert finished.reconciliation == {"balanced": True, "differences": [], "sum": "1.10"}
    assert conn.execute("SELECT balanced FROM spiris.sync_runs WHERE id = %s", (first.id,)).fetchone() == (
        True,
    )
    assert ledger.last_watermark(conn, company_key="c1", fiscal_year=2024) == mark

    crashed = ledger.start_run(conn, company_key="c1", fiscal_year=2024, mode="incremental", trigger="cli")
    conn.commit()
    latest = ledger.latest_run(conn, "c1", 2024)
    assert latest is not None and latest.id == crashed.id and latest.outcome == "running"
    # the next run closes the one that died
    third = ledger.start_run(conn, company_key="c1", fiscal_year=2024, mode="incremental", trigger="cli")
    conn.commit()
    abandoned = ledger.get_run(conn, crashed.id)
    assert abandoned is not None and abandoned.outcome == "failed" and "abandoned" in (abandoned.error or "")
    ledger.finish_run(conn, run_id=third.id, outcome="failed", counts=RunCounts(), error="Spiris unavailable")
    conn.commit()
    latest = ledger.latest_run(conn, "c1", 2024)
    assert latest is not None and latest.id == third.id and latest.error == "Spiris unavailable"
    assert ledger.latest_run(conn, "c1", 2025) is None
    # a failed run leaves the last good watermark in place
    assert ledger.last_watermark(conn, company_key="c1", fiscal_year=2024) == mark
    with pytest.raises(ValueError):
        ledger.finish_run(conn, run_id=third.id, outcome="running", counts=RunCounts())


def test_runs_are_keyed_by_fiscal_year_id_and_read_back_by_job(conn: Conn) -> None:
    # Two fiscal years starting in the same calendar year: the id, not the year, keeps their runs apart.
    short, longer = uuid.uuid4(), uuid.uuid4()
    mark = datetime(2024, 6, 1, tzinfo=UTC)
    first = ledger.start_run(
        conn,
        company_key="c2",
        fiscal_year=2024,
        fiscal_year_id=short,
        mode="full",
        trigger="initial",
        job_name="acme-short-sync-1",
    )
    ledger.finish_run(
        conn, run_id=first.id, outcome="succeeded", counts=RunCounts(vouchers=3), next_watermark=mark
    )
    live = ledger.start_run(
        conn,
        company_key="c2",
        fiscal_year=2024,
        fiscal_year_id=longer,
        mode="full",
        trigger="initial",
        job_name="acme-long-sync-1",
    )
    # Starting a run of one year does not close the other year's live run as abandoned.
    ledger.start_run(
        conn,
        company_key="c2",
        fiscal_year=2024,
        fiscal_year_id=short,
        mode="incremental",
        trigger="t",
        job_name="acme-short-sync-2",
    )
    conn.commit()
    still = ledger.get_run(conn, live.id)
    assert still is not None and still.outcome == "running"
    assert ledger.last_watermark(conn, company_key="c2", fiscal_year=2024, fiscal_year_id=short) == mark
    assert ledger.last_watermark(conn, company_key="c2", fiscal_year=2024, fiscal_year_id=longer) is None
    mine = ledger.run_of_job(conn, company_key="c2", job_name="acme-short-sync-1")
    assert mine is not None and mine.id == first.id and mine.counts.vouchers == 3
    assert mine.job_name == "acme-short-sync-1" and mine.fiscal_year_id == short
    assert ledger.run_of_job(conn, company_key="other", job_name="acme-short-sync-1") is None


def test_full_relist_marks_vanished_vouchers(conn: Conn) -> None:
    company = seed_company(conn)
    ledger.upsert_vouchers(
        conn, company_key=company, vouchers=[make_voucher(n) for n in (1, 2, 3)], run_id=None
    )
    ledger.upsert_vouchers(
        conn, company_key=company, vouchers=[make_voucher(9, fiscal_year=FY_2025)], run_id=None
    )
    conn.commit()
    listing_started = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
    conn.commit()
    ledger.upsert_vouchers(
        conn, company_key=company, vouchers=[make_voucher(1), make_voucher(3)], run_id=None
    )
    conn.commit()
    assert (
        ledger.mark_vanished(conn, company_key=company, fiscal_year_id=FY_2024.id, seen_since=listing_started)
        == 1
    )
    conn.commit()
    assert (
        ledger.mark_vanished(conn, company_key=company, fiscal_year_id=FY_2024.id, seen_since=listing_started)
        == 0
    )
    vanished = conn.execute("SELECT id FROM spiris.vouchers WHERE vanished_at IS NOT NULL").fetchall()
    assert vanished == [(make_voucher(2).id,)]
    counts = ledger.ledger_counts(conn, company_key=company, fiscal_year_id=FY_2024.id)
    assert (counts.vouchers, counts.rows, counts.vanished) == (2, 4, 1)
    # it comes back: seen again clears vanished_at
    ledger.upsert_vouchers(conn, company_key=company, vouchers=[make_voucher(2)], run_id=None)
    conn.commit()
    assert ledger.ledger_counts(conn, company_key=company, fiscal_year_id=FY_2024.id).vanished == 0


def test_accounts_and_fiscal_years_upsert(conn: Conn) -> None:
    company = seed_company(conn)
    account = AccountRecord(fiscal_year_id=FY_2024.id, number=1930, name="Företagskonto", type=1)
    ledger.upsert_accounts(
        conn, company_key=company, accounts=[account, dataclasses.replace(account, number=3001)]
    )
    ledger.upsert_accounts(
        conn, company_key=company, accounts=[dataclasses.replace(account, is_active=False)]
    )
    ledger.upsert_fiscal_years(
        conn, company_key=company, fiscal_years=[dataclasses.replace(FY_2024, is_locked=True)]
    )
    conn.commit()
    assert conn.execute("SELECT number, name, is_active FROM spiris.accounts ORDER BY number").fetchall() == [
        (1930, "Företagskonto", False),
        (3001, "Företagskonto", True),
    ]
    assert conn.execute("SELECT count(*), bool_or(is_locked) FROM spiris.fiscal_years").fetchone() == (
        2,
        True,
    )
    assert ledger.ledger_counts(conn, company_key=company, fiscal_year_id=FY_2024.id).accounts == 2


def _document(company: str, spiris_id: uuid.UUID, sha: str = "a" * 64) -> DocumentRecord:
    return DocumentRecord(
        company_key=company,
        source="attachment",
        spiris_id=spiris_id,
        sha256=sha,
        object_key=f"companies/{company}/sha256/{sha[:2]}/{sha}",
        content_type="application/pdf",
        size_bytes=10,
        original_file_name="kvitto.pdf",
        spiris_attachment_id=spiris_id,
    )


def test_documents_links_and_missing_documents(conn: Conn) -> None:
    company = seed_company(conn)
    voucher = make_voucher(1)
    ledger.upsert_vouchers(conn, company_key=company, vouchers=[voucher], run_id=None)
    attachment_id = uuid.uuid4()
    missing = MissingDocument(
        voucher_id=voucher.id, source="attachment", spiris_id=attachment_id, reason="expired"
    )
    first = ledger.record_missing_document(conn, company_key=company, missing=missing, run_id=None)
    second = ledger.record_missing_document(
        conn, company_key=company, missing=dataclasses.replace(missing, last_error="HTTP 404"), run_id=None
    )
    conn.commit()
    assert (first.attempts, second.attempts, second.last_error) == (1, 2, "HTTP 404")
    assert second.first_seen_at == first.first_seen_at
    assert [m.spiris_id for m in ledger.list_missing_documents(conn, company_key=company)] == [attachment_id]
    assert ledger.list_missing_documents(conn, company_key=company, fiscal_year_id=FY_2025.id) == []
    assert ledger.ledger_counts(conn, company_key=company, fiscal_year_id=FY_2024.id).missing_documents == 1

    assert (
        ledger.find_document(conn, company_key=company, source="attachment", spiris_id=attachment_id) is None
    )
    stored = ledger.upsert_document(conn, _document(company, attachment_id))
    again = ledger.upsert_document(conn, _document(company, attachment_id, sha="b" * 64))
    assert again.id == stored.id
    found = ledger.find_document(conn, company_key=company, source="attachment", spiris_id=attachment_id)
    assert found is not None and found.record.sha256 == "b" * 64
    link = VoucherDocumentLink(voucher_id=voucher.id, document_id=stored.id, relation="attachment")
    assert ledger.link_voucher_documents(conn, company_key=company, links=[link]) == 1
    assert ledger.link_voucher_documents(conn, company_key=company, links=[link]) == 0
    assert ledger.clear_missing_document(
        conn, company_key=company, voucher_id=voucher.id, source="attachment", spiris_id=attachment_id
    )
    conn.commit()
    counts = ledger.ledger_counts(conn, company_key=company, fiscal_year_id=FY_2024.id)
    assert (counts.documents, counts.missing_documents) == (1, 0)


def test_account_sums_and_unbalanced_vouchers(conn: Conn) -> None:
    company = seed_company(conn)
    lopsided = dataclasses.replace(
        make_voucher(3),
        rows=(
            VoucherRowRecord(account_number=1930, debit=Decimal("10.00"), credit=Decimal(0)),
            VoucherRowRecord(account_number=3001, debit=Decimal(0), credit=Decimal("9.99")),
        ),
    )
    vouchers = [make_voucher(1, amount="100.10"), make_voucher(2, amount="0.20", account=1510), lopsided]
    ledger.upsert_vouchers(conn, company_key=company, vouchers=vouchers, run_id=None)
    conn.commit()
    sums = ledger.account_sums(conn, company_key=company, fiscal_year_id=FY_2024.id)
    assert sums == {1510: Decimal("0.20"), 1930: Decimal("110.10"), 3001: Decimal("-110.29")}
    up_to_february = ledger.account_sums(
        conn, company_key=company, fiscal_year_id=FY_2024.id, up_to=date(2024, 2, 28)
    )
    assert up_to_february == {1930: Decimal("100.10"), 3001: Decimal("-100.10")}
    unbalanced = ledger.unbalanced_vouchers(conn, company_key=company, fiscal_year_id=FY_2024.id)
    assert [(u.id, u.debit_total, u.credit_total) for u in unbalanced] == [
        (lopsided.id, Decimal("10.00"), Decimal("9.99"))
    ]


def test_delete_company_removes_everything_and_returns_object_keys(conn: Conn) -> None:
    doomed = seed_company(conn, "doomed")
    kept = seed_company(conn, "kept")
    for company in (doomed, kept):
        run = ledger.start_run(conn, company_key=company, fiscal_year=2024, mode="full", trigger="t")
        ledger.upsert_accounts(
            conn,
            company_key=company,
            accounts=[AccountRecord(fiscal_year_id=FY_2024.id, number=1930, name="Bank")],
        )
        ledger.upsert_vouchers(conn, company_key=company, vouchers=[make_voucher(1)], run_id=run.id)
        document = ledger.upsert_document(conn, _document(company, uuid.UUID(int=5)))
        ledger.upsert_document(conn, _document(company, uuid.UUID(int=6), sha="c" * 64))
        ledger.link_voucher_documents(
            conn,
            company_key=company,
            links=[
                VoucherDocumentLink(
                    voucher_id=make_voucher(1).id, document_id=document.id, relation="attachment"
                )
            ],
        )
        ledger.set_checkpoint(
            conn, company_key=company, fiscal_year_id=FY_2024.id, phase="v", page=1, run_id=run.id
        )
        ledger.record_missing_document(
            conn,
            company_key=company,
            missing=MissingDocument(make_voucher(1).id, "attachment", uuid.UUID(int=7), "gone"),
            run_id=run.id,
        )
    conn.commit()
    keys = ledger.delete_company(conn, doomed)
    conn.commit()
    assert keys == [
        f"companies/doomed/sha256/aa/{'a' * 64}",
        f"companies/doomed/sha256/cc/{'c' * 64}",
    ]
    for table in (*sorted(CONTRACT_TABLES), "sync_checkpoints", "missing_documents"):
        per_company = dict(
            conn.execute(f"SELECT company_key, count(*) FROM spiris.{table} GROUP BY company_key").fetchall()
        )
        assert doomed not in per_company, table
        assert per_company.get(kept, 0) >= 1, table
    assert ledger.delete_company(conn, doomed) == []


def test_upsert_company_keeps_known_fields(conn: Conn) -> None:
    from spiris_store.records import CompanyRecord

    ledger.upsert_company(
        conn, CompanyRecord(company_key="k", name="Ärlig AB", corporate_identity_number="556677-8899")
    )
    first_seen = conn.execute("SELECT first_seen_at FROM spiris.companies").fetchone()
    conn.commit()
    ledger.upsert_company(conn, CompanyRecord(company_key="k", currency_code="SEK"))
    conn.commit()
    row = conn.execute(
        """SELECT name, corporate_identity_number, currency_code, first_seen_at, last_seen_at
        FROM spiris.companies"""
    ).fetchone()
    assert row is not None and row[:3] == ("Ärlig AB", "556677-8899", "SEK")
    assert first_seen is not None and row[3] == first_seen[0] and row[4] - row[3] >= timedelta(0)


def test_awkward_text_and_all_fields_round_trip(conn: Conn) -> None:
    company = seed_company(conn, "co\\mpany\tkey")
    created = datetime(2024, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
    voucher = dataclasses.replace(
        make_voucher(1, text="Rad 1\nRad 2\ttab \\N backslash \\ 'quote' \"dq\" å"),
        number=None,
        imported_voucher_number="IMP\\1",
        source_id=uuid.UUID(int=77),
        attachment_document_id=uuid.UUID(int=78),
        attachment_document_type=3,
        attachment_ids=(uuid.UUID(int=79), uuid.UUID(int=80)),
        created_utc=created,
        modified_utc=created + timedelta(days=1),
        rows=(
            VoucherRowRecord(
                account_number=9_999_999_999,
                debit=Decimal("10000000000"),
                credit=Decimal(0),
                account_description="Konto\r\nmed radbrytning",
                transaction_text="\\N",
                cost_center_item_id1=uuid.UUID(int=1),
                cost_center_item_id2=uuid.UUID(int=2),
                cost_center_item_id3=uuid.UUID(int=3),
                project_id=uuid.UUID(int=4),
                vat_code_id=uuid.UUID(int=5),
                vat_code_and_percent="MP1 25%",
            ),
            VoucherRowRecord(account_number=1930, debit=Decimal("0.005"), credit=Decimal("10000000000.004")),
        ),
    )
    ledger.upsert_vouchers(conn, company_key=company, vouchers=[voucher], run_id=None)
    conn.commit()
    stored = conn.execute(
        """SELECT company_key, number, imported_voucher_number, text, source_id, attachment_document_id,
        attachment_document_type, attachment_ids, created_utc, modified_utc, debit_total, credit_total
        FROM spiris.vouchers"""
    ).fetchone()
    assert stored == (
        company,
        None,
        "IMP\\1",
        voucher.text,
        uuid.UUID(int=77),
        uuid.UUID(int=78),
        3,
        [uuid.UUID(int=79), uuid.UUID(int=80)],
        created,
        created + timedelta(days=1),
        Decimal("10000000000.00"),
        Decimal("10000000000.00"),
    )
    rows = conn.execute(
        """SELECT account_number, account_description, debit, credit, transaction_text, cost_center_item_id1,
        cost_center_item_id2, cost_center_item_id3, project_id, vat_code_id, vat_code_and_percent
        FROM spiris.voucher_rows ORDER BY row_no"""
    ).fetchall()
    assert rows == [
        (
            9_999_999_999,
            "Konto\r\nmed radbrytning",
            Decimal("10000000000.00"),
            Decimal("0.00"),
            "\\N",
            uuid.UUID(int=1),
            uuid.UUID(int=2),
            uuid.UUID(int=3),
            uuid.UUID(int=4),
            uuid.UUID(int=5),
            "MP1 25%",
        ),
        (1930, None, Decimal("0.00"), Decimal("10000000000.00"), None, None, None, None, None, None, None),
    ]
    # the same content hashes the same; any field change is a change
    assert ledger.voucher_content_sha256(voucher) == ledger.voucher_content_sha256(
        dataclasses.replace(voucher)
    )
    assert ledger.voucher_content_sha256(voucher) != ledger.voucher_content_sha256(
        dataclasses.replace(voucher, attachment_ids=(uuid.UUID(int=79),))
    )
    again = ledger.upsert_vouchers(conn, company_key=company, vouchers=[voucher], run_id=None)
    assert again.unchanged == 1


def test_naive_timestamps_are_refused(conn: Conn) -> None:
    company = seed_company(conn)
    naive = dataclasses.replace(make_voucher(1), modified_utc=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.upsert_vouchers(conn, company_key=company, vouchers=[naive], run_id=None)


def test_overlapping_writers_of_one_company_do_not_collide(ledger_dsn: str, conn: Conn) -> None:
    company = seed_company(conn)
    vouchers = [make_voucher(n) for n in range(1, 21)]
    first_holds_lock = threading.Event()
    errors: list[BaseException] = []
    results: list[Any] = []

    def first_writer() -> None:
        with connect(ledger_dsn) as own, own.transaction():
            results.append(ledger.upsert_vouchers(own, company_key=company, vouchers=vouchers, run_id=None))
            first_holds_lock.set()
            time.sleep(0.5)  # still uncommitted while the second writer arrives

    def second_writer() -> None:
        first_holds_lock.wait(5)
        try:
            with connect(ledger_dsn) as own, own.transaction():
                results.append(
                    ledger.upsert_vouchers(own, company_key=company, vouchers=vouchers, run_id=None)
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_writer), threading.Thread(target=second_writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert errors == []
    assert [(r.inserted, r.unchanged) for r in results] == [(20, 0), (0, 20)]
    assert conn.execute("SELECT count(*) FROM spiris.voucher_rows").fetchone() == (40,)
