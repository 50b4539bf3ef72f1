"""The one shared rate-limit budget: a token bucket per (OAuth client id, endpoint template) in Postgres.

Spiris allows 600 requests per minute per OAuth client and endpoint, shared by every company we sync, so all
worker processes draw from the same rows of `spiris.rate_budget`, with the refill computed from the database
clock so processes on different machines agree on time. When a token is there and nobody waits for the
endpoint, `acquire()` takes it in ONE short UPDATE (autocommit, row lock held for microseconds): an idle
budget costs one round trip. Otherwise the caller queues, and the queue is ordered by who it is, not by
arrival: one large company must not hold everyone's first ledger back, and a "sync now" must not wait
behind background work.

Scheduling (`spiris.rate_budget_wait()`, one transaction under the bucket row's lock, so every process
decides the same way). A queued caller is a row of `spiris.rate_budget_waiters` with its class
(`budget_priority.Priority`) and company. Each whole token goes to: the class — the best (lowest) class with
waiters, except that a waiting class whose share of the recent queued grants is below `MIN_SHARE` is served
first (starvation-free: a saturating class 1 still leaves each other class its 5 %); the share is a counter
decayed by `SHARE_DECAY` per queued grant (≈ the last 50), so it needs no clock and no window table, and
grants on the fast path do not count (nobody waited then). Within the class, the company served least
recently (round robin over companies, i.e. deficit round robin with unit cost, `spiris.rate_budget_turns`);
within the company, first come first served. A new bucket starts as if classes 2-4 had had twice their
minimum lately (migration 0004), so plain class order rules until some 35 queued grants went elsewhere.

No thundering herd, no polling. A waiter LISTENs on its own channel and sleeps until about when its place
can be reached ((position - tokens) / refill; at most a third of its lease). Whoever holds the lock when a
token is due — a waking waiter or a new arrival — grants every whole token to the waiters first in line and
NOTIFYs them; a notified waiter claims its grant with one more step. A grant is a token taken at grant time,
so the bucket keeps its exact bound on grants; but a waiter that wakes late (a CPU-starved process, a stalled
thread while other processes go on granting) would send its request later than it was counted, bunched with
the requests granted since: a window of the limit would see the grants of W + lateness seconds. So a grant
claimed more than `claim_seconds` after it was made is void (its token is lost) and the waiter waits again
in its place: requests leave at most `claim_seconds` after their grant, and any window W holds at most
C + r·(W + claim_seconds) of them. The claim window defaults to a quarter of the margin's time (0.75 s at
600/min, 5 %; at least 0.25 s), the rest of the margin covers the way to Spiris. Reserving a future token
instead (the old design: the bucket went negative) wasted the slot of every waiter that overslept and fixed
the order at arrival. A waiter's row has a lease (`lease_seconds`), renewed each time it wakes: the
row of a crashed process expires and never blocks others; a token granted to a process that died before
using it is lost (one token per crash, acceptable). After a Postgres restart the waiter reconnects and
resumes with its row (or queues anew if the row expired), as `acquire` always reconnected.

Choosing capacity (burst) and refill rate. Spiris counts requests per minute (a sliding or a fixed window; the
docs do not say which). For a token bucket with capacity C and refill r tokens/s, at most C + r·W tokens are
granted in ANY window of W seconds: at most C are in the bucket when the window opens and r·W flow in
during it; tokens never go below zero, queued or not.
"Capacity ≤ limit with refill limit/60" is therefore NOT enough (a full bucket of L plus a minute of refill
grants 2L). So with L = per_minute·(1 - safety_margin) we set r = (L - C) / period: C + r·period = L in every
window, sliding or fixed. A small burst (default 1 % of L) keeps the sustained rate near L while still letting
a fresh worker start without waiting; every token of burst is paid for in sustained rate (the refill is
L - C per period), and a long sync is paced by the sustained rate, so the burst stays small (5 % made a
20,000-voucher year 4 % slower, `make bench` scenario 1). The safety margin (default 5 %) absorbs the time
between the grant here and the moment Spiris counts the request (network, scheduling, a late wake) and clock
drift between Spiris and us; a quarter of it the claim window above, so at defaults at most
C + r·(W + claim) = 577 of 600 reach Spiris in any window W = period, before network jitter.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol, TypeVar

import psycopg
from psycopg import sql

from spiris_store.budget_priority import Priority
from spiris_store.connection import libpq_dsn
from spiris_store.errors import StorageUnavailable

log = logging.getLogger(__name__)

# The share of recent queued grants each class is guaranteed while it waits. Class 1 needs none: it is
# served first whenever no other class is below its minimum, so it gets at least the remaining 85 %.
MIN_SHARE: Mapping[Priority, float] = {
    Priority.ON_DEMAND: 0.0,
    Priority.FIRST_SYNC: 0.05,
    Priority.SCHEDULED: 0.05,
    Priority.BACKFILL: 0.05,
}
# Each queued grant weighs this much in the class shares (an exponential moving average over grants). A
# starved class is served once its share decays below the minimum, and each grant lifts it by about this
# much, so it gets its minimum plus about half of SHARE_DECAY.
SHARE_DECAY = 0.02

_T = TypeVar("_T")


class RateBudget(Protocol):
    """What the Spiris client calls before every request (same shape as `spiris_client`'s RateLimiter)."""

    def acquire(self, endpoint_template: str) -> None:
        """Block until one request to `endpoint_template` (e.g. `/vouchers/{fiscalyearId}`) is allowed."""


@dataclass(frozen=True)
class BudgetWait:
    """One `acquire` that had to queue: its class, its place when it began waiting (1 = next), how long
    it waited, and for which endpoint template."""

    priority: Priority
    queue_position: int
    waited_seconds: float
    endpoint: str


@dataclass(frozen=True)
class QueueEntry:
    """A company waiting in a class for an endpoint: the place of its next request (1 = next), since when
    its oldest request waits, and how many of its requests wait."""

    company: str
    priority: Priority
    endpoint: str
    position: int
    waiting_since: datetime
    waiters: int = 1


@dataclass(frozen=True)
class _Step:
    waiter: int
    granted: bool
    position: int
    tokens: float
    refill: float


class PostgresRateBudget:
    """A `RateBudget` shared through Postgres by every process using the same `client_id`.

    `per_minute` is Spiris' limit per endpoint; `period_seconds` its window (60; tests shrink it);
    `safety_margin` the fraction kept unused; `burst` the bucket capacity (default 1 % of the usable limit,
    at least 1). `company` (the fairness key, e.g. the connection's uid) and `priority` (settable: a worker
    changes class between passes) place queued requests; `on_wait` is called after each `acquire` that had
    to queue, `last_wait` and `waited_seconds_total` report the waits. `lease_seconds` is how long a
    waiter's row outlives its process; `claim_seconds` how late a notified waiter may claim its grant
    (default: a quarter of the margin's share of the period, at least 0.25 s). Owns one autocommit
    connection, reconnecting after a Postgres restart (for up to `reconnect_timeout` seconds, then
    `StorageUnavailable`). Thread-safe only per instance per thread: create one per thread or process. The
    schema must have been migrated."""

    def __init__(
        self,
        dsn: str,
        *,
        client_id: str,
        per_minute: int = 600,
        period_seconds: float = 60.0,
        safety_margin: float = 0.05,
        burst: float | None = None,
        reconnect_timeout: float = 60.0,
        company: str = "",
        priority: Priority = Priority.SCHEDULED,
        on_wait: Callable[[BudgetWait], None] | None = None,
        lease_seconds: float = 30.0,
        claim_seconds: float | None = None,
    ) -> None:
        if per_minute < 1 or period_seconds <= 0 or not 0 <= safety_margin < 1:
            raise ValueError("per_minute ≥ 1, period_seconds > 0 and 0 ≤ safety_margin < 1 are required")
        if lease_seconds <= 0 or (claim_seconds is not None and claim_seconds <= 0):
            raise ValueError("lease_seconds and claim_seconds must be positive")
        usable = per_minute * (1.0 - safety_margin)
        self.capacity = float(burst) if burst is not None else max(1.0, round(usable * 0.01))
        if not 1 <= self.capacity < usable:
            raise ValueError(f"burst must be at least 1 and below the usable limit {usable:g}")
        self.refill_per_second = (usable - self.capacity) / period_seconds
        self.client_id = client_id
        self.company = company
        self.priority = priority
        self._on_wait = on_wait
        self._lease = lease_seconds
        self._claim = (
            claim_seconds if claim_seconds is not None else max(0.25, safety_margin * period_seconds / 4)
        )
        self._dsn = libpq_dsn(dsn)
        self._reconnect_timeout = reconnect_timeout
        self._conn: psycopg.Connection[Any] | None = None
        self._configured: set[str] = set()
        self._channel = f"spiris_budget_{uuid.uuid4().hex}"
        self._listening = False
        self._last_wait: BudgetWait | None = None
        self._waited_total = 0.0

    @property
    def last_wait(self) -> BudgetWait | None:
        """The latest `acquire` that had to queue (None until one did)."""
        return self._last_wait

    @property
    def waited_seconds_total(self) -> float:
        """Seconds spent queued by all `acquire` calls of this instance."""
        return self._waited_total

    def acquire(self, endpoint_template: str) -> None:
        """Take one token for `endpoint_template`, queueing by class and company when it is short."""
        if self._call(lambda conn: self._take_free_token(conn, endpoint_template)):
            return
        wait = self._queue(endpoint_template)
        if wait is not None:
            self._last_wait = wait
            self._waited_total += wait.waited_seconds
            if self._on_wait is not None:
                self._on_wait(wait)

    def close(self) -> None:
        """Close the connection (a later `acquire` reconnects)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> PostgresRateBudget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _queue(self, endpoint: str) -> BudgetWait | None:
        """Wait in line until granted; the wait, or None when the first step already granted a token."""
        began = time.monotonic()
        priority = self.priority
        step = self._call(partial(self._step, endpoint=endpoint, waiter=None, priority=priority))
        if step.granted:
            return None
        first_position = step.position
        while not step.granted:
            # Wake about when our place can be reached; a grant by someone else wakes us at once, and the
            # next step claims it (or finds it void when we woke too late, and we wait on).
            due = (step.position - step.tokens) / step.refill + 0.002
            self._notified(step.waiter, min(max(due, 0.001), self._lease / 3))
            step = self._call(partial(self._step, endpoint=endpoint, waiter=step.waiter, priority=priority))
        return BudgetWait(priority, first_position, time.monotonic() - began, endpoint)

    def _take_free_token(self, conn: psycopg.Connection[Any], endpoint: str) -> bool:
        if endpoint not in self._configured:
            self._configure(conn, endpoint)
        row = conn.execute(_TAKE_FREE_TOKEN, {"client": self.client_id, "endpoint": endpoint}).fetchone()
        return row is not None

    def _step(
        self, conn: psycopg.Connection[Any], *, endpoint: str, waiter: int | None, priority: Priority
    ) -> _Step:
        while True:
            if not self._listening:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                self._listening = True
            row = conn.execute(
                _WAIT,
                {
                    "client": self.client_id,
                    "endpoint": endpoint,
                    "waiter": waiter,
                    "company": self.company,
                    "priority": int(priority),
                    "channel": self._channel,
                    "lease": self._lease,
                    "claim": self._claim,
                    "decay": SHARE_DECAY,
                    "min_shares": [MIN_SHARE[p] for p in sorted(Priority)],
                },
            ).fetchone()
            if row is not None:
                return _Step(int(row[0]), bool(row[1]), int(row[2]), float(row[3]), float(row[4]))
            # the bucket row was deleted under us (e.g. a company reset): recreate it
            self._configure(conn, endpoint)

    def _notified(self, waiter: int, timeout: float) -> bool:
        """Whether a grant to `waiter` was notified within `timeout` seconds (others' are stale: dropped)."""
        conn = self._conn
        if conn is None:
            return False
        deadline = time.monotonic() + timeout
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                for notify in conn.notifies(timeout=remaining, stop_after=1):
                    if notify.payload == str(waiter):
                        return True
        except psycopg.OperationalError:
            self.close()  # the next step reconnects and finds out whether we were granted meanwhile
        return False

    def _call(self, operation: Callable[[psycopg.Connection[Any]], _T]) -> _T:
        """Run `operation` on the connection, reconnecting while Postgres is unavailable."""
        deadline = time.monotonic() + self._reconnect_timeout
        delay = 0.2
        while True:
            try:
                return operation(self._connection())
            except psycopg.OperationalError as exc:
                self.close()
                if time.monotonic() >= deadline:
                    raise StorageUnavailable(f"rate budget: Postgres is unavailable: {exc}") from exc
                log.warning("rate budget: Postgres connection lost, reconnecting in %.1fs", delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._dsn, autocommit=True, connect_timeout=5, application_name="spiris-budget"
            )
            self._listening = False
        return self._conn

    def _configure(self, conn: psycopg.Connection[Any], endpoint: str) -> None:
        # The latest configuration wins; tokens are clamped so a lowered capacity takes effect at once.
        conn.execute(
            """
            INSERT INTO spiris.rate_budget (client_id, endpoint, tokens, capacity, refill_per_second)
            VALUES (%(client)s, %(endpoint)s, %(capacity)s, %(capacity)s, %(refill)s)
            ON CONFLICT (client_id, endpoint) DO UPDATE SET
                capacity = excluded.capacity, refill_per_second = excluded.refill_per_second,
                tokens = least(spiris.rate_budget.tokens, excluded.capacity)
            """,
            {
                "client": self.client_id,
                "endpoint": endpoint,
                "capacity": self.capacity,
                "refill": self.refill_per_second,
            },
        )
        self._configured.add(endpoint)


def queue_snapshot(dsn: str, client_id: str) -> list[QueueEntry]:
    """Who waits for `client_id`'s budget now: one entry per (endpoint, class, company), first in line
    first. For metrics and status; positions are estimates (see `spiris.rate_budget_queue`)."""
    try:
        with psycopg.connect(libpq_dsn(dsn), autocommit=True, connect_timeout=5) as conn:
            rows = conn.execute(_QUEUE_SNAPSHOT, {"client": client_id}).fetchall()
    except psycopg.OperationalError as exc:
        raise StorageUnavailable(f"rate budget: Postgres is unavailable: {exc}") from exc
    return [
        QueueEntry(
            company=company,
            priority=Priority(priority),
            endpoint=endpoint,
            position=int(position),
            waiting_since=since,
            waiters=int(waiters),
        )
        for endpoint, priority, company, position, since, waiters in rows
    ]


# One statement, one row lock: a token when one is there and nobody is queued for the endpoint (a queued
# waiter's turn must not be taken by a newcomer). updated_at never moves backwards (greatest), so a statement
# that waited for the lock cannot refill the same interval twice; clock_timestamp() is read once per row (in
# the sub-select) so tokens and updated_at agree. No row back: the caller queues.
_TAKE_FREE_TOKEN = """
UPDATE spiris.rate_budget AS b SET
    tokens = spiris.rate_budget_refilled(b.tokens, b.capacity, b.refill_per_second, b.updated_at, t.now) - 1,
    updated_at = greatest(b.updated_at, t.now),
    granted_total = b.granted_total + 1
FROM (SELECT clock_timestamp() AS now) AS t
WHERE b.client_id = %(client)s AND b.endpoint = %(endpoint)s
    AND spiris.rate_budget_refilled(b.tokens, b.capacity, b.refill_per_second, b.updated_at, t.now) >= 1
    AND NOT EXISTS (
        SELECT 1 FROM spiris.rate_budget_waiters AS w
        WHERE w.client_id = b.client_id AND w.endpoint = b.endpoint
            AND w.granted_at IS NULL AND w.expires_at > t.now
    )
RETURNING b.tokens
"""

# One grant step (migration 0004): queue or renew the caller's row, grant what is due, report its state.
_WAIT = """
SELECT * FROM spiris.rate_budget_wait(
    %(client)s, %(endpoint)s, %(waiter)s::bigint, %(company)s, %(priority)s::smallint, %(channel)s,
    %(lease)s, %(claim)s, %(decay)s, %(min_shares)s::double precision[]
)
"""

_QUEUE_SNAPSHOT = """
SELECT endpoint, priority, company, min(queue_position), min(enqueued_at), count(*)
FROM spiris.rate_budget_queue(%(client)s, NULL)
GROUP BY endpoint, priority, company
ORDER BY endpoint, min(queue_position), company
"""
