"""The shared rate budget in Postgres: processes drawing together never exceed the limit in any window."""

from __future__ import annotations

import multiprocessing
import time

import psycopg
import pytest
from spiris_store.budget import PostgresRateBudget
from spiris_store.errors import StorageUnavailable

ENDPOINT = "/vouchers/{fiscalyearId}"
# Scaled down from Spiris' 600/min: 20 requests per 2 s window, 10 % margin, burst 3.
LIMIT, PERIOD, MARGIN, BURST = 20, 2.0, 0.1, 3.0


def _draw(dsn: str, endpoint: str, start_at: float, stop_at: float) -> list[float]:
    budget = PostgresRateBudget(
        dsn, client_id="client-1", per_minute=LIMIT, period_seconds=PERIOD, safety_margin=MARGIN, burst=BURST
    )
    granted: list[float] = []
    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < stop_at:
        budget.acquire(endpoint)
        granted.append(time.time())
    budget.close()
    return granted


def _max_in_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best, left = 0, 0
    for right, stamp in enumerate(stamps):
        while stamp - stamps[left] >= window:
            left += 1
        best = max(best, right - left + 1)
    return best


@pytest.mark.timeout(60)
def test_four_processes_never_exceed_the_limit_in_any_window(ledger_dsn: str) -> None:
    duration = 6.0
    start_at = time.time() + 2.5  # after the spawned interpreters have imported everything
    stop_at = start_at + duration
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(5) as pool:
        results = pool.starmap(
            _draw,
            [(ledger_dsn, ENDPOINT, start_at, stop_at)] * 4
            + [(ledger_dsn, "/accounts/{fiscalyearId}", start_at, stop_at)],
        )
    vouchers = [stamp for stamps in results[:4] for stamp in stamps if stamp < stop_at]
    accounts = [stamp for stamp in results[4] if stamp < stop_at]
    assert all(len(stamps) > 3 for stamps in results[:4]), "every process got a share"
    assert _max_in_window(vouchers, PERIOD) <= LIMIT
    # and the budget is actually used: burst + refill over the run, minus a little scheduling slack
    usable = LIMIT * (1 - MARGIN)
    expected = BURST + (usable - BURST) / PERIOD * duration
    assert len(vouchers) >= 0.85 * expected, (len(vouchers), expected)
    assert len(vouchers) <= expected + 1
    # another endpoint template is a bucket of its own (Spiris counts per endpoint)
    assert _max_in_window(accounts, PERIOD) <= LIMIT and len(accounts) >= 0.85 * expected


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
    assert budget.capacity == round(usable * 0.05)
    assert budget.capacity + budget.refill_per_second * 60 == pytest.approx(usable)
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
