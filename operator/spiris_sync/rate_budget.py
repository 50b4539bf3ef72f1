"""The shared Spiris rate budget as the client's rate limiter, safe for the documents pass's threads.

Every request draws from ``spiris_store``'s Postgres token bucket keyed by (OAuth client id, endpoint
template), so all workers of all companies together stay under Spiris' per-endpoint limit. A
``PostgresRateBudget`` owns one database connection and must not be shared between threads, so each thread
gets its own, made on first use and closed with the run.
"""

from __future__ import annotations

import threading

from spiris_store.budget import PostgresRateBudget


class PerThreadRateBudget:
    """A ``RateLimiter`` handing each calling thread its own ``PostgresRateBudget`` over the same bucket."""

    def __init__(self, dsn: str, *, client_id: str, per_minute: int) -> None:
        self._dsn = dsn
        self._client_id = client_id
        self._per_minute = per_minute
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[PostgresRateBudget] = []

    def _budget(self) -> PostgresRateBudget:
        budget: PostgresRateBudget | None = getattr(self._local, "budget", None)
        if budget is None:
            budget = PostgresRateBudget(self._dsn, client_id=self._client_id, per_minute=self._per_minute)
            self._local.budget = budget
            with self._lock:
                self._all.append(budget)
        return budget

    def acquire(self, endpoint_template: str) -> None:
        self._budget().acquire(endpoint_template)

    def close(self) -> None:
        with self._lock:
            budgets, self._all = self._all, []
        for budget in budgets:
            budget.close()
