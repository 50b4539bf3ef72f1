"""Storage outages mid-run: the object store stopped, Postgres restarted. Each run ends in a clear failure
(exit 5) or completes; the rerun completes; nothing is lost or duplicated. Each test owns its server."""

from __future__ import annotations

import io
import signal
import subprocess
import time
from collections.abc import Iterator
from functools import partial

import psycopg
import pytest
from spiris_localstack.postgres import OS_USER, PostgresServer
from spiris_localstack.processes import ChildService, start_process, stop_process
from spiris_localstack.s3 import S3Server
from spiris_store.migrate import migrate
from spiris_sync.document_fetcher import REFUSALS_IN_A_ROW
from testkit.ledger_checks import assert_objects_match_sha256
from testkit.sync_stack import summary_of
from testkit.waiting import wait_for


def _stored_documents(database_url: str) -> int:
    try:
        with psycopg.connect(database_url, connect_timeout=2) as conn:
            row = conn.execute("SELECT count(*) FROM spiris.documents").fetchone()
    except psycopg.OperationalError:
        return -1
    return int(row[0]) if row else 0


def _restart(service: ChildService, *, down_for: float, first: signal.Signals, user: str | None) -> None:
    """Stop the server's process (keeping its data directory) and start the very same command again."""
    old = service.process
    assert old is not None
    argv = [str(a) for a in old.args]  # type: ignore[union-attr]
    stop_process(old, first=first, whole_group=service.signal_whole_group, grace=10)
    time.sleep(down_for)
    service.process = start_process(
        argv, cwd=service.base_dir, log_path=service.base_dir / "restart.log", user=user
    )


_wait_for = partial(wait_for, timeout=60, interval=0.1)


def _complete(stack, summary: dict) -> None:
    truth = stack.truth(2025)
    assert summary["outcome"] == "succeeded", summary
    assert summary["counts"]["vouchers"] == truth["vouchers"]
    assert summary["counts"]["documents"] == truth["voucher_attachments"] + truth["voucher_customer_invoices"]
    assert summary["counts"]["missing_documents"] == 0
    with psycopg.connect(stack.database_url) as conn:
        assert conn.execute(
            "SELECT count(*) - count(DISTINCT (source, spiris_id)) FROM spiris.documents"
        ).fetchone() == (0,)
    assert assert_objects_match_sha256(stack.s3, stack.bucket, stack.database_url) > 0


@pytest.fixture
def own_s3() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


def _start_worker(stack) -> subprocess.Popen[str]:
    # Slow API answers (not downloads) keep the invoice-PDF calls going for seconds after the first documents
    # are stored, so the outage below surely hits a run with documents still to store.
    stack.control.faults(slow_ms=100)
    return stack.start_cli(*stack.cli_run_args(2025), "--document-workers", "2")  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_object_store_down_mid_run(make_stack, own_s3: S3Server) -> None:
    stack = make_stack(vouchers_per_year=200, documents_ratio=0.5, seed=43, fiscal_years=(2025,), s3=own_s3)
    worker = _start_worker(stack)
    _wait_for(lambda: _stored_documents(stack.database_url) >= 15)
    old = own_s3.process
    assert old is not None
    argv = [str(a) for a in old.args]  # type: ignore[union-attr]
    stop_process(old, first=signal.SIGKILL, whole_group=True, grace=5)
    stdout, stderr = worker.communicate(timeout=180)
    # The store stays down until the worker has ended, with documents still to store: a clear failure.
    assert worker.returncode == 5, stderr
    assert "storage" in stderr.lower() and "Traceback" not in stderr
    assert summary_of(subprocess.CompletedProcess(worker.args, 5, stdout, stderr))["outcome"] == "failed"
    own_s3.process = start_process(argv, cwd=own_s3.base_dir, log_path=own_s3.base_dir / "restart.log")
    _wait_for(lambda: _bucket_answers(own_s3, stack.bucket))
    stack.control.clear_faults()
    rerun = stack.run_cli(*stack.cli_run_args(2025))
    assert rerun.returncode == 0, rerun.stderr
    _complete(stack, summary_of(rerun))


def _bucket_answers(s3: S3Server, bucket: str) -> bool:
    try:
        return bool(s3.client().bucket_exists(bucket))
    except Exception:
        return False


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_postgres_restarted_mid_run(make_stack, own_postgres: PostgresServer) -> None:
    database_url = own_postgres.create_database("outage")
    migrate(database_url)
    stack = make_stack(
        vouchers_per_year=200, documents_ratio=0.5, seed=47, fiscal_years=(2025,), database_url=database_url
    )
    worker = _start_worker(stack)
    _wait_for(lambda: _stored_documents(database_url) >= 15)
    _restart(own_postgres, down_for=1.0, first=signal.SIGINT, user=OS_USER)
    _, stderr = worker.communicate(timeout=180)
    # Every connection died with the restart: a clear failure (the rerun below completes).
    assert worker.returncode == 5, stderr
    assert "Postgres" in stderr and "Traceback" not in stderr
    _wait_for(lambda: _stored_documents(database_url) >= 0)
    stack.control.clear_faults()
    rerun = stack.run_cli(*stack.cli_run_args(2025))
    assert rerun.returncode == 0, rerun.stderr
    _complete(stack, summary_of(rerun))


@pytest.fixture
def full_s3() -> Iterator[S3Server]:
    """A store that answers but takes no upload: its one volume slot is taken by another bucket, so every PUT
    to a new bucket gets HTTP 500 "no writable volume", as when a real store's disks are full."""
    with S3Server(volume_slots=1) as server:
        server.create_bucket("other-tenant")
        server.client().put_object("other-tenant", "x", io.BytesIO(b"hej"), 3)
        yield server
        server.kill()  # a full weed takes 15 s to stop on SIGTERM; nothing in it is kept


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_store_that_refuses_every_upload_stops_the_run_within_a_few_documents(full_s3, make_stack) -> None:
    stack = make_stack(vouchers_per_year=120, documents_ratio=0.6, seed=53, fiscal_years=(2025,), s3=full_s3)
    truth = stack.truth(2025)
    wanted = truth["voucher_attachments"] + truth["voucher_customer_invoices"]
    stack.control.reset_stats()
    run = stack.run_cli(*stack.cli_run_args(2025), "--document-workers", "2")
    assert run.returncode == 5, run.stderr
    assert f"refused {REFUSALS_IN_A_ROW} documents in a row" in run.stderr and "Traceback" not in run.stderr
    assert summary_of(run)["outcome"] == "failed"
    # Each document tried cost a download (a listed attachment's link, a /pdf link) or a /print call. The
    # run stopped at the streak, the uploads under way then (2 list threads, 4 invoice-PDF threads) and the
    # ones the refusals before it freed their threads to start; not after every document of the year.
    stats = stack.control.stats()
    prints = sum(r["count"] for r in stats["requests"] if r["template"].endswith("/print"))
    tried = stats["downloads"] + prints
    assert wanted > 40 and tried <= 2 * REFUSALS_IN_A_ROW + 6, (tried, wanted)
