"""The shared rate budget in Postgres: processes drawing together never exceed the limit in any window."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import psycopg
import pytest
from spiris_store.budget import PostgresRateBudget
from spiris_store.errors import StorageUnavailable
from testkit.rate_windows import max_in_window

ENDPOINT = "/vouchers/{fiscalyearId}"
# Scaled down from Spiris' 600/min: 20 requests per 2 s window, 10 % margin, burst 3.
LIMIT, PERIOD, MARGIN, BURST = 20, 2.0, 0.1, 3.0


def _draw(dsn: str, endpoint: str, duration: float, ready: Any, results: Any) -> None:
    budget = PostgresRateBudget(
        dsn, client_id="client-1", per_minute=LIMIT, period_seconds=PERIOD, safety_margin=MARGIN, burst=BURST
    )
    granted: list[float] = []
    ready.wait()  # every interpreter is up (spawn start-up varies under load): start together
    stop_at = time.time() + duration
    while True:
        budget.acquire(endpoint)
        now = time.time()
        if now >= stop_at:
            break
        granted.append(now)
    budget.close()
    results.put((endpoint, granted))


@pytest.mark.timeout(90)
def test_four_processes_never_exceed_the_limit_in_any_window(ledger_dsn: str) -> None:
    duration = 6.0
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(5)
    results = ctx.Queue()
    endpoints = [ENDPOINT] * 4 + ["/accounts/{fiscalyearId}"]
    processes = [ctx.Process(target=_draw, args=(ledger_dsn, e, duration, ready, results)) for e in endpoints]
    for process in processes:
        process.start()
    try:
        collected = [results.get(timeout=75) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    per_process = [stamps for endpoint, stamps in collected if endpoint == ENDPOINT]
    vouchers = [stamp for stamps in per_process for stamp in stamps]
    accounts = next(stamps for endpoint, stamps in collected if endpoint != ENDPOINT)
    assert len(per_process) == 4 and all(stamps for stamps in per_process), "every process got a share"
    assert max_in_window(vouchers, PERIOD) <= LIMIT
    # and the budget is actually used: burst + refill over the run, minus scheduling slack on a busy machine
    usable = LIMIT * (1 - MARGIN)
    expected = BURST + (usable - BURST) / PERIOD * duration
    assert len(vouchers) >= 0.75 * expected, (len(vouchers), expected)
    assert len(vouchers) <= expected + 1
    # another endpoint template is a bucket of its own (Spiris counts per endpoint)
    assert max_in_window(accounts, PERIOD) <= LIMIT and len(accounts) >= 0.75 * expected


def test_burst_is_immediate_then_paced(ledger_dsn: str) -> None:
    with PostgresRateBudget(ledger_dsn, client_id="client-2", per_minute=600, burst=10) as budget:
        assert budget.capacity == 10 and budget.refill_per_second == pytest.approx((570 - 10) / 60)
        began = time.monotonic()
        for _ in range(10):
            budget.acquire(ENDPOINT)
        burst_took = time.monotonic() - began
        for _ in range(5):
            budget.acquire(ENDPOINT)
        paced_took = time.monotonic() - began - burst_took
    assert burst_took < 0.5
    assert paced_took >= 5 / budget.refill_per_second * 0.9


def test_default_burst_and_refill_keep_every_window_under_600() -> None:
    budget = PostgresRateBudget("postgresql://unused/x", client_id="c")
    usable = 600 * 0.95
    assert budget.capacity == round(usable * 0.01)
    assert budget.capacity + budget.refill_per_second * 60 == pytest.approx(usable)
    # a long sync is paced by the refill: it must sustain at least 94 % of Spiris' limit (safety margin 5 %)
    assert budget.refill_per_second * 60 >= 600 * 0.94
    with pytest.raises(ValueError):
        PostgresRateBudget("postgresql://unused/x", client_id="c", per_minute=10, burst=10)


def test_budget_survives_a_dropped_connection(ledger_dsn: str) -> None:
    with PostgresRateBudget(ledger_dsn, client_id="client-3", per_minute=600) as budget:
        budget.acquire(ENDPOINT)
        with psycopg.connect(ledger_dsn, autocommit=True) as admin:
            # what a Postgres restart looks like to the client: the server closes the session
            killed = admin.execute(
                """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE application_name = 'spiris-budget'"""
            ).fetchall()
            assert killed == [(True,)]
            budget.acquire(ENDPOINT)
            granted = admin.execute(
                "SELECT granted_total FROM spiris.rate_budget WHERE client_id = 'client-3'"
            ).fetchone()
    assert granted == (2,)


def test_unreachable_database_gives_up_with_storage_unavailable() -> None:
    budget = PostgresRateBudget("postgresql://x:y@127.0.0.1:1/none", client_id="c", reconnect_timeout=1.0)
    began = time.monotonic()
    with pytest.raises(StorageUnavailable):
        budget.acquire(ENDPOINT)
    assert time.monotonic() - began < 10
