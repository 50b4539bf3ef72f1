"""The shared budget's queue: by class, round robin between companies, minimum shares, leases, positions.

Real Postgres; each test puts the bucket into debt (no token for a known time) while its waiters line up,
so the grant order is decided by the scheduling alone, then lets the refill hand the tokens out.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import psycopg
import pytest
from psycopg import pq
from spiris_store.budget import MIN_SHARE, BudgetWait, PostgresRateBudget, queue_snapshot
from spiris_store.budget_priority import Priority
from testkit.rate_windows import max_in_window
from testkit.waiting import wait_for

CLIENT = "client-fair"
ENDPOINT = "/vouchers/{fiscalyearId}"
PERIOD = 2.0
# 21 per 2 s, no margin, burst 1: a token every 0.1 s, so the order of returns is the order of grants.
SLOW = 21


def _budget(
    dsn: str,
    company: str = "",
    priority: Priority = Priority.SCHEDULED,
    per_minute: int = SLOW,
    burst: float | None = 1,
    **kw: Any,
) -> PostgresRateBudget:
    return PostgresRateBudget(
        dsn,
        client_id=CLIENT,
        per_minute=per_minute,
        period_seconds=PERIOD,
        safety_margin=0.0,
        burst=burst,
        company=company,
        priority=priority,
        **kw,
    )


def _sql(dsn: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def _owe(dsn: str, tokens: float) -> None:
    """Put the (configured) bucket into debt: no token for -tokens / refill seconds."""
    _sql(
        dsn,
        "UPDATE spiris.rate_budget SET tokens = %s, updated_at = clock_timestamp() WHERE client_id = %s",
        (tokens, CLIENT),
    )


def _waiting(dsn: str) -> int:
    rows = _sql(
        dsn,
        """SELECT count(*) FROM spiris.rate_budget_waiters
        WHERE granted_at IS NULL AND expires_at > clock_timestamp()""",
    )
    return int(rows[0][0])


def _configured_bucket(dsn: str, per_minute: int = SLOW) -> None:
    with _budget(dsn, per_minute=per_minute) as budget:
        budget.acquire(ENDPOINT)


class _Arrivals:
    """Threads that each acquire once, in a known order of arrival; `granted` is the order of grants."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.granted: list[tuple[Priority, str]] = []
        self.waits: dict[str, list[BudgetWait]] = {}
        self.budgets: dict[str, PostgresRateBudget] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def arrive(self, company: str, priority: Priority, name: str | None = None) -> None:
        """Start one request and return once it waits in the queue."""
        key = name or company
        budget = _budget(self.dsn, company, priority, on_wait=self.waits.setdefault(key, []).append)
        self.budgets[key] = budget
        expected = _waiting(self.dsn) + 1

        def request() -> None:
            budget.acquire(ENDPOINT)
            with self._lock:
                self.granted.append((priority, company))
            budget.close()

        thread = threading.Thread(target=request, daemon=True)
        thread.start()
        self._threads.append(thread)
        wait_for(lambda: _waiting(self.dsn) >= expected, timeout=10, interval=0.01, what=f"{key} queued")

    def join(self, timeout: float = 20) -> None:
        for thread in self._threads:
            thread.join(timeout)
        assert not any(t.is_alive() for t in self._threads), "every request was granted"


def _round_trips(budget: PostgresRateBudget, calls: int, endpoint: str, tmp_path: Any) -> int:
    """How many requests the client sent to Postgres for `calls` acquires (libpq's protocol trace)."""
    conn = budget._conn  # the budget's own session: its protocol trace is the only exact count
    assert conn is not None
    trace = tmp_path / f"trace-{time.monotonic_ns()}"
    with open(trace, "w") as out:
        conn.pgconn.trace(out.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        for _ in range(calls):
            budget.acquire(endpoint)
        conn.pgconn.untrace()
    # a client message ending a request: Sync (extended protocol) or Query (simple protocol)
    return len(re.findall(r"^F\t\d+\t(?:Sync|Query)\b", trace.read_text(), flags=re.MULTILINE))


def test_an_idle_acquire_is_one_round_trip(ledger_dsn: str, tmp_path: Any) -> None:
    with _budget(ledger_dsn, per_minute=6000, burst=None) as budget:
        assert budget.capacity == 60
        # the first creates the bucket row; by the sixth psycopg has prepared the statement (once)
        for _ in range(6):
            budget.acquire(ENDPOINT)
        began = time.monotonic()
        assert _round_trips(budget, 10, ENDPOINT, tmp_path) == 10
        assert time.monotonic() - began < 1.0
        assert budget.last_wait is None and budget.waited_seconds_total == 0


def test_a_late_on_demand_request_is_granted_before_waiting_scheduled_and_backfill(ledger_dsn: str) -> None:
    _configured_bucket(ledger_dsn)
    _owe(ledger_dsn, -15)  # 1.5 s without a token
    arrivals = _Arrivals(ledger_dsn)
    for n in range(3):
        arrivals.arrive(f"backfill-{n}", Priority.BACKFILL)
    for n in range(3):
        arrivals.arrive(f"scheduled-{n}", Priority.SCHEDULED)
    for n in range(2):
        arrivals.arrive(f"person-{n}", Priority.ON_DEMAND)
    arrivals.join()
    assert [priority for priority, _ in arrivals.granted] == [1, 1, 3, 3, 3, 4, 4, 4]
    # FIFO within a class when every company is as recently served as the others (never)
    assert [company for _, company in arrivals.granted][:2] == ["person-0", "person-1"]


def test_round_robin_between_companies_within_a_class(ledger_dsn: str) -> None:
    _configured_bucket(ledger_dsn)
    _owe(ledger_dsn, -20)
    arrivals = _Arrivals(ledger_dsn)
    for n in range(10):
        arrivals.arrive("big", Priority.FIRST_SYNC, name=f"big-{n}")
    small = [f"small-{n}" for n in range(5)]
    for company in small:
        arrivals.arrive(company, Priority.FIRST_SYNC)
    arrivals.join()
    companies = [company for _, company in arrivals.granted]
    # the big company came first and is served first, then each small one before its second request
    assert companies[0] == "big"
    assert sorted(companies[1:6]) == small
    assert companies[6:] == ["big"] * 9


@pytest.mark.timeout(60)
def test_a_saturating_on_demand_class_leaves_backfill_its_minimum_share_within_the_bound(
    ledger_dsn: str,
) -> None:
    limit = 61  # 30 tokens/s
    _configured_bucket(ledger_dsn, per_minute=limit)
    granted: list[tuple[float, Priority]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def draw(priority: Priority, company: str) -> None:
        with _budget(ledger_dsn, company, priority, per_minute=limit) as budget:
            while not stop.is_set():
                budget.acquire(ENDPOINT)
                with lock:
                    granted.append((time.time(), priority))

    people = [threading.Thread(target=draw, args=(Priority.ON_DEMAND, f"person-{n}")) for n in range(3)]
    backfill = [threading.Thread(target=draw, args=(Priority.BACKFILL, f"old-{n}")) for n in range(2)]
    threads = people + backfill
    began = time.time()
    for thread in people:
        thread.start()
    wait_for(lambda: len(granted) >= 5, timeout=10, interval=0.02, what="class 1 saturating the budget")
    for thread in backfill:
        thread.start()
    wait_for(lambda: len(granted) >= 200, timeout=30, interval=0.1, what="200 grants")
    stop.set()
    for thread in threads:
        thread.join(10)
    took = time.time() - began
    classes = [priority for _, priority in granted]
    first_backfill = classes.index(Priority.BACKFILL)
    since = classes[first_backfill:]
    backfill_share = since.count(Priority.BACKFILL) / len(since)
    assert len(since) >= 100, "the minimum share is measured over a saturated stretch"
    assert MIN_SHARE[Priority.BACKFILL] <= backfill_share <= 0.15, (backfill_share, len(since))
    # the bound holds with every grant counted, and queueing wastes no rate
    stamps = [stamp for stamp, _ in granted]
    assert max_in_window(stamps, PERIOD) <= limit
    refill = (limit - 1) / PERIOD
    assert len(granted) >= 0.8 * (1 + refill * (stamps[-1] - began)), (len(granted), took)


def test_a_crashed_waiter_expires_and_blocks_nobody(ledger_dsn: str, tmp_path: Any) -> None:
    _configured_bucket(ledger_dsn)
    _owe(ledger_dsn, -50)
    script = (
        "import sys; from spiris_store.budget import PostgresRateBudget as B; "
        "from spiris_store.budget_priority import Priority as P; "
        "B(sys.argv[1], client_id=sys.argv[2], per_minute=21, period_seconds=2.0, safety_margin=0.0, "
        "burst=1, company='crashed', priority=P.ON_DEMAND, lease_seconds=0.5).acquire(sys.argv[3])"
    )
    crashed = subprocess.Popen([sys.executable, "-c", script, ledger_dsn, CLIENT, ENDPOINT])
    try:
        wait_for(lambda: _waiting(ledger_dsn) == 1, timeout=20, interval=0.05, what="the doomed waiter")
    finally:
        os.kill(crashed.pid, signal.SIGKILL)
        crashed.wait(10)
    # its lease runs out (nobody renews it); the row itself is left until the next grant step sweeps it
    wait_for(lambda: _waiting(ledger_dsn) == 0, timeout=5, interval=0.05, what="the dead row's lease")
    assert _sql(ledger_dsn, "SELECT count(*) FROM spiris.rate_budget_waiters") == [(1,)]
    [(granted_before,)] = _sql(ledger_dsn, "SELECT granted_total FROM spiris.rate_budget")
    _owe(ledger_dsn, -8)
    with _budget(ledger_dsn, "alive", Priority.BACKFILL) as alive:
        began = time.monotonic()
        alive.acquire(ENDPOINT)
        assert time.monotonic() - began < 2.0
        assert alive.last_wait is not None and alive.last_wait.queue_position == 1  # the dead row is no one
    # the dead row was swept, not granted: no token went to it
    assert _sql(ledger_dsn, "SELECT count(*) FROM spiris.rate_budget_waiters") == [(0,)]
    assert _sql(ledger_dsn, "SELECT granted_total FROM spiris.rate_budget") == [(granted_before + 1,)]
    # a row left behind does not send an idle acquire through the queue once its lease is over
    _sql(
        ledger_dsn,
        """INSERT INTO spiris.rate_budget_waiters
        (client_id, endpoint, company, priority, channel, enqueued_at, expires_at)
        VALUES (%s, %s, 'gone', 1, 'nobody', clock_timestamp(), clock_timestamp())""",
        (CLIENT, ENDPOINT),
    )
    with _budget(ledger_dsn, "idle") as idle:
        time.sleep(0.15)  # a token again
        idle.acquire(ENDPOINT)  # its first: also writes its configuration
        time.sleep(0.15)
        assert _round_trips(idle, 1, ENDPOINT, tmp_path) == 1
        assert idle.last_wait is None


def test_queue_position_and_wait_are_reported(ledger_dsn: str) -> None:
    _configured_bucket(ledger_dsn)
    _owe(ledger_dsn, -10)
    arrivals = _Arrivals(ledger_dsn)
    for company in ("a", "b", "c"):
        arrivals.arrive(company, Priority.SCHEDULED)
    snapshot = queue_snapshot(ledger_dsn, CLIENT)
    assert [(e.company, e.priority, e.endpoint, e.position, e.waiters) for e in snapshot] == [
        ("a", Priority.SCHEDULED, ENDPOINT, 1, 1),
        ("b", Priority.SCHEDULED, ENDPOINT, 2, 1),
        ("c", Priority.SCHEDULED, ENDPOINT, 3, 1),
    ]
    assert snapshot[0].waiting_since <= snapshot[1].waiting_since <= snapshot[2].waiting_since
    arrivals.join()
    assert queue_snapshot(ledger_dsn, CLIENT) == []
    for position, company in enumerate(("a", "b", "c"), start=1):
        [wait] = arrivals.waits[company]  # on_wait: once per acquire that queued
        assert wait.priority == Priority.SCHEDULED and wait.endpoint == ENDPOINT
        assert wait.queue_position == position
        assert 0.4 <= wait.waited_seconds < 3.0
        budget = arrivals.budgets[company]
        assert budget.last_wait == wait and budget.waited_seconds_total == wait.waited_seconds


def test_a_waiter_survives_a_dropped_connection(ledger_dsn: str) -> None:
    _configured_bucket(ledger_dsn)
    _owe(ledger_dsn, -8)
    arrivals = _Arrivals(ledger_dsn)
    arrivals.arrive("a", Priority.SCHEDULED)
    killed = _sql(
        ledger_dsn,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'spiris-budget'"
        " AND datname = current_database()",
    )
    assert killed == [(True,)]
    arrivals.join()
    assert arrivals.granted == [(Priority.SCHEDULED, "a")]
    # it kept its place (its row), so it was granted once, in about the time the debt took
    [wait] = arrivals.waits["a"]
    assert wait.waited_seconds < 3.0
    assert _sql(ledger_dsn, "SELECT count(*) FROM spiris.rate_budget_waiters") == [(0,)]
