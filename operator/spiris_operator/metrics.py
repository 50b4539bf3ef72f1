"""Prometheus metrics of the operator (names fixed in docs/architecture.md; the chart alerts on them).

Gauges are set from the status each reconcile pass computes; counters count finished Jobs and failed
refreshes. "Seconds since the last successful sync" is what alerts need; it is derived in PromQL from the
exported timestamp (``time() - spiris_fiscalyearsync_last_success_timestamp_seconds``), which stays correct
between scrapes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

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

    def forget_connection(self, namespace: str, name: str) -> None:
        for gauge in (self.connection_ready, self.token_expiry):
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, name)
