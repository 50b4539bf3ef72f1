"""Prometheus metrics of the operator (names fixed in docs/architecture.md; the chart alerts on them).

Gauges are set from the status each reconcile pass computes; counters count finished Jobs and failed
refreshes. "Seconds since the last successful sync" is what alerts need; it is derived in PromQL from the
exported timestamp (``time() - spiris_fiscalyearsync_last_success_timestamp_seconds``), which stays correct
between scrapes. The shared budget's view comes from the FiscalYearSyncs' watch events (``status.priority``
of queued syncs, the ``status.budget`` each worker reports), so it follows the workers' own patches.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from spiris_store.budget_priority import Priority
from spiris_sync.job_contract import Phase

from spiris_operator import conditions
from spiris_operator.timestamps import parse_time

__all__ = ["OperatorMetrics"]


class OperatorMetrics:
    """The operator's metrics in their own registry (so tests can create several)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.connection_ready = Gauge(
            "spiris_connection_ready",
            "1 when the SpirisConnection is Ready",
            ["namespace", "name"],
            registry=r,
        )
        self.token_expiry = Gauge(
            "spiris_token_expiry_timestamp_seconds",
            "When the current access token expires (epoch seconds)",
            ["namespace", "name"],
            registry=r,
        )
        self.refresh_failures = Counter(
            "spiris_token_refresh_failures_total",
            "Failed token refresh attempts",
            ["namespace", "name", "reason"],
            registry=r,
        )
        self.last_success = Gauge(
            "spiris_fiscalyearsync_last_success_timestamp_seconds",
            "Last successful sync of a fiscal year (epoch seconds)",
            ["namespace", "name", "connection"],
            registry=r,
        )
        self.jobs_total = Counter(
            "spiris_sync_jobs_total", "Finished sync Jobs by outcome", ["namespace", "outcome"], registry=r
        )
        self.jobs_active = Gauge("spiris_sync_jobs_active", "Sync Jobs currently running", registry=r)
        self.syncs_queued = Gauge(
            "spiris_fiscal_year_syncs_queued",
            "FiscalYearSyncs waiting for a sync Job slot, by priority class",
            ["priority"],
            registry=r,
        )
        self.budget_wait = Gauge(
            "spiris_fiscal_year_sync_budget_wait_seconds",
            "Seconds the sync's run has waited for the shared Spiris budget (status.budget.waitSeconds)",
            ["namespace", "name", "priority"],
            registry=r,
        )
        self.budget_position = Gauge(
            "spiris_fiscal_year_sync_budget_queue_position",
            "The run's place among those waiting for the shared budget, 1 = next (status.budget)",
            ["namespace", "name", "priority"],
            registry=r,
        )
        for priority in Priority:
            self.syncs_queued.labels(priority.env_value).set(0)
        self._queued: dict[tuple[str, str], str] = {}
        self._budget_labels: dict[tuple[str, str], str] = {}

    def serve(self, port: int, *, addr: str) -> None:
        start_http_server(port, addr=addr, registry=self.registry)

    def observe_connection(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        ready = conditions.is_true(status.get("conditions"), "Ready")
        self.connection_ready.labels(namespace, name).set(1 if ready else 0)
        expires = parse_time(status.get("accessTokenExpiresAt"))
        if expires is not None:
            self.token_expiry.labels(namespace, name).set(expires.timestamp())

    def observe_sync(self, namespace: str, name: str, connection: str, status: Mapping[str, Any]) -> None:
        last = parse_time(status.get("lastSuccessfulSyncTime"))
        if last is not None:
            self.last_success.labels(namespace, name, connection).set(last.timestamp())

    def observe_budget(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """The sync's place in the Job queue and at the shared budget, from its status."""
        key = (namespace, name)
        priority = str(status.get("priority") or "")
        if status.get("phase") == Phase.QUEUED and priority:
            self._queued[key] = priority
        else:
            self._queued.pop(key, None)
        self._count_queued()
        budget = status.get("budget")
        if not isinstance(budget, Mapping):
            self._forget_budget(key)
            return
        label = str(budget.get("priority") or priority)
        if self._budget_labels.get(key, label) != label:
            self._forget_budget(key)
        self._budget_labels[key] = label
        self.budget_wait.labels(namespace, name, label).set(float(budget.get("waitSeconds") or 0.0))
        position = budget.get("queuePosition")
        if isinstance(position, int):
            self.budget_position.labels(namespace, name, label).set(position)
        else:
            with contextlib.suppress(KeyError):
                self.budget_position.remove(namespace, name, label)

    def forget_sync(self, namespace: str, name: str) -> None:
        """The FiscalYearSync is gone: drop its series."""
        self._queued.pop((namespace, name), None)
        self._count_queued()
        self._forget_budget((namespace, name))

    def _count_queued(self) -> None:
        waiting = collections.Counter(self._queued.values())
        for priority in Priority:
            self.syncs_queued.labels(priority.env_value).set(waiting[priority.env_value])

    def _forget_budget(self, key: tuple[str, str]) -> None:
        label = self._budget_labels.pop(key, None)
        if label is None:
            return
        for gauge in (self.budget_wait, self.budget_position):
            with contextlib.suppress(KeyError):
                gauge.remove(*key, label)

    def forget_connection(self, namespace: str, name: str) -> None:
        for gauge in (self.connection_ready, self.token_expiry):
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, name)
