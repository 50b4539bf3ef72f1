"""The shared rate budget in Postgres: processes drawing together never exceed the limit in any window."""

from __future__ import annotations

import multiprocessing
import threading
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


class _StalledProcessBudget(PostgresRateBudget):
    """A waiter kept from running (a CPU-starved process, a held GIL) from `stall[0]` to `stall[1]` while
    others run: whatever wakes it in that time (a grant's NOTIFY, its own timeout) is seen at the end."""

    stall: tuple[float, float] = (0.0, 0.0)

    def _notified(self, waiter: int, timeout: float) -> bool:
        notified = super()._notified(waiter, timeout)
        begin, end = self.stall
        if begin <= time.time() < end:
            time.sleep(end - time.time())
        return notified


class _PromptBudget(PostgresRateBudget):
    """A waiter that wakes every 50 ms: in a large fleet some waiter's due time is always near, so the grant
    steps follow the refill whoever is late."""

    def _notified(self, waiter: int, timeout: float) -> bool:
        return super()._notified(waiter, min(timeout, 0.05))


@pytest.mark.timeout(60)
def test_grants_to_a_stalled_process_do_not_reach_spiris_bunched_beyond_the_limit(ledger_dsn: str) -> None:
    # 20 per 2 s, 20 % margin, burst 1: 7.5 tokens/s; claims at most 0.25 s late, so requests leave at most
    # 1 + 7.5 * 2.25 = 17.9 per window. Twelve waiters stall for 2 s while four others draw: without the claim
    # window the ~11 grants made to the stalled ones meanwhile all leave at its end, on top of a full window's
    # refill (~26 in 2 s).
    margin, client = 0.2, "client-stalled"
    began = time.time()
    stall = (began + 2.5, began + 4.5)
    stop_at = stall[1] + 2.5
    returned: list[tuple[float, str]] = []
    lock = threading.Lock()

    def draw(name: str, stalled: bool) -> None:
        kind = _StalledProcessBudget if stalled else _PromptBudget
        with kind(
            ledger_dsn,
            client_id=client,
            per_minute=LIMIT,
            period_seconds=PERIOD,
            safety_margin=margin,
            burst=1,
            company=name,
        ) as budget:
            if isinstance(budget, _StalledProcessBudget):
                budget.stall = stall
            while time.time() < stop_at:
                budget.acquire(ENDPOINT)
                with lock:
                    returned.append((time.time(), name))

    threads = [threading.Thread(target=draw, args=(f"stalled-{n}", True)) for n in range(12)]
    threads += [threading.Thread(target=draw, args=(f"other-{n}", False)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    stamps = [stamp for stamp, _ in returned]
    assert max_in_window(stamps, PERIOD) <= LIMIT
    # the stalled waiters wait on in their places and are served again after the stall
    after = {name for stamp, name in returned if stamp > stall[1] + 0.1}
    assert len(after) >= 10, sorted(after)


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
