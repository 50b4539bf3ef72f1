"""The one shared rate-limit budget: a token bucket per (OAuth client id, endpoint template) in Postgres.

Spiris allows 600 requests per minute per OAuth client and endpoint, shared by every company we sync, so all
worker processes draw from the same rows of `spiris.rate_budget`. `acquire()` takes one token in a single
short UPDATE (autocommit, row lock held for microseconds) with the refill computed from the database clock, so
processes on different machines agree on time. The bucket may go negative: a caller that finds it empty
reserves the next token and sleeps exactly until that token has been refilled (no polling, FIFO by arrival).

Choosing capacity (burst) and refill rate. Spiris counts requests per minute (a sliding or a fixed window; the
docs do not say which). For a token bucket with capacity C and refill r tokens/s, at most C + r·W tokens are
granted in ANY window of W seconds: at most C are in the bucket when the window opens and r·W flow in
during it.
"Capacity ≤ limit with refill limit/60" is therefore NOT enough (a full bucket of L plus a minute of refill
grants 2L). So with L = per_minute·(1 - safety_margin) we set r = (L - C) / period: C + r·period = L in every
window, sliding or fixed. A small burst (default 1 % of L) keeps the sustained rate near L while still letting
a fresh worker start without waiting; every token of burst is paid for in sustained rate (the refill is
L - C per period), and a long sync is paced by the sustained rate, so the burst stays small (5 % made a
20,000-voucher year 4 % slower, `make bench` scenario 1). The safety margin (default 5 %) absorbs the time
between the grant here and the moment Spiris counts the request (network, scheduling) and clock drift between
Spiris and us.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import psycopg

from spiris_store.connection import libpq_dsn
from spiris_store.errors import StorageUnavailable

log = logging.getLogger(__name__)


class RateBudget(Protocol):
    """What the Spiris client calls before every request (same shape as `spiris_client`'s RateLimiter)."""

    def acquire(self, endpoint_template: str) -> None:
        """Block until one request to `endpoint_template` (e.g. `/vouchers/{fiscalyearId}`) is allowed."""


class PostgresRateBudget:
    """A `RateBudget` shared through Postgres by every process using the same `client_id`.

    `per_minute` is Spiris' limit per endpoint; `period_seconds` its window (60; tests shrink it);
    `safety_margin` the fraction kept unused; `burst` the bucket capacity (default 1 % of the usable limit,
    at least 1). Owns one autocommit connection, reconnecting after a Postgres restart (for up to
    `reconnect_timeout` seconds, then `StorageUnavailable`). Thread-safe only per instance per thread:
    create one per thread or process. The schema must have been migrated."""

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
    ) -> None:
        if per_minute < 1 or period_seconds <= 0 or not 0 <= safety_margin < 1:
            raise ValueError("per_minute ≥ 1, period_seconds > 0 and 0 ≤ safety_margin < 1 are required")
        usable = per_minute * (1.0 - safety_margin)
        self.capacity = float(burst) if burst is not None else max(1.0, round(usable * 0.01))
        if not 1 <= self.capacity < usable:
            raise ValueError(f"burst must be at least 1 and below the usable limit {usable:g}")
        self.refill_per_second = (usable - self.capacity) / period_seconds
        self.client_id = client_id
        self._dsn = libpq_dsn(dsn)
        self._reconnect_timeout = reconnect_timeout
        self._conn: psycopg.Connection[Any] | None = None
        self._configured: set[str] = set()

    def acquire(self, endpoint_template: str) -> None:
        """Take one token for `endpoint_template`, sleeping as long as needed when the bucket is empty."""
        wait = self._reserve(endpoint_template)
        if wait > 0:
            time.sleep(wait)

    def close(self) -> None:
        """Close the connection (a later `acquire` reconnects)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> PostgresRateBudget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reserve(self, endpoint: str) -> float:
        """Take a token (possibly going into debt) and return how long to wait until it is ours."""
        deadline = time.monotonic() + self._reconnect_timeout
        delay = 0.2
        while True:
            try:
                conn = self._connection()
                if endpoint not in self._configured:
                    self._configure(conn, endpoint)
                row = conn.execute(_TAKE_TOKEN, {"client": self.client_id, "endpoint": endpoint}).fetchone()
                if row is None:  # the row was deleted under us (e.g. a company reset): recreate it
                    self._configured.discard(endpoint)
                    continue
                tokens_after, refill = float(row[0]), float(row[1])
                return 0.0 if tokens_after >= 0 else -tokens_after / refill
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


# One statement, one row lock. The refill uses the row's own updated_at and the DB clock; updated_at never
# moves backwards (greatest), so a statement that waited for the lock cannot refill the same interval twice.
# clock_timestamp() is read once per row (in the sub-select) so tokens and updated_at agree.
_TAKE_TOKEN = """
UPDATE spiris.rate_budget AS b SET
    tokens = least(
        b.capacity,
        b.tokens + greatest(0, extract(epoch FROM (t.now - b.updated_at))) * b.refill_per_second
    ) - 1,
    updated_at = greatest(b.updated_at, t.now),
    granted_total = b.granted_total + 1
FROM (SELECT clock_timestamp() AS now) AS t
WHERE b.client_id = %(client)s AND b.endpoint = %(endpoint)s
RETURNING b.tokens, b.refill_per_second
"""
