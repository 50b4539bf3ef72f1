"""The shared Spiris rate budget as the client's rate limiter, safe for the documents pass's threads.

Every request draws from ``spiris_store``'s Postgres token bucket keyed by (OAuth client id, endpoint
template), so all workers of all companies together stay under Spiris' per-endpoint limit. A
``PostgresRateBudget`` owns one database connection and must not be shared between threads, so each thread
gets its own, made on first use and closed with the run. All of them queue as one company (the fairness
key) in the run's class, which the worker switches between passes; their waits add up to the run's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from spiris_store.budget import BudgetWait, PostgresRateBudget
from spiris_store.budget_priority import Priority


class PerThreadRateBudget:
    """A ``RateLimiter`` handing each calling thread its own ``PostgresRateBudget`` over the same bucket."""

    def __init__(
        self,
        dsn: str,
        *,
        client_id: str,
        per_minute: int,
        company: str = "",
        priority: Priority = Priority.SCHEDULED,
        on_wait: Callable[[BudgetWait], None] | None = None,
    ) -> None:
        self._dsn = dsn
        self._client_id = client_id
        self._per_minute = per_minute
        self._company = company
        self._priority = priority
        self._on_wait = on_wait
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[PostgresRateBudget] = []
        # waits of budgets already closed still count for the run
        self._closed_wait = 0.0

    @property
    def priority(self) -> Priority:
        return self._priority

    @priority.setter
    def priority(self, priority: Priority) -> None:
        """Every thread's budget, present and future, queues in ``priority`` from its next request on."""
        with self._lock:
            self._priority = priority
            for budget in self._all:
                budget.priority = priority

    @property
    def waited_seconds_total(self) -> float:
        """Seconds all threads together have waited for the budget."""
        with self._lock:
            return self._closed_wait + sum(b.waited_seconds_total for b in self._all)

    def _budget(self) -> PostgresRateBudget:
        budget: PostgresRateBudget | None = getattr(self._local, "budget", None)
        if budget is None:
            with self._lock:
                budget = PostgresRateBudget(
                    self._dsn,
                    client_id=self._client_id,
                    per_minute=self._per_minute,
                    company=self._company,
                    priority=self._priority,
                    on_wait=self._on_wait,
                )
                self._all.append(budget)
            self._local.budget = budget
        return budget

    def acquire(self, endpoint_template: str) -> None:
        self._budget().acquire(endpoint_template)

    def close(self) -> None:
        with self._lock:
            budgets, self._all = self._all, []
            self._closed_wait += sum(b.waited_seconds_total for b in budgets)
        for budget in budgets:
            budget.close()
