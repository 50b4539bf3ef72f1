"""FiscalYearSync handlers: watch events (the sync's and its Jobs') feed the scheduler; :func:`reconcile_now`
is the one reconcile pass it runs, which starts, queues and follows the sync Jobs; :func:`observe_sync` sees
every watched FiscalYearSync (metrics of the shared budget, the Job queue's order after a start)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import kopf

from spiris_operator.connection_reconciler import VERIFY_ANNOTATION
from spiris_operator.fiscal_year_reconciler import reconcile_fiscal_year_sync
from spiris_operator.handlers.posting import apply_result
from spiris_operator.job_cap import QueuedRun
from spiris_operator.kube_api import CONNECTIONS, GROUP, SYNCS, VERSION
from spiris_operator.runtime import Runtime
from spiris_operator.scheduler import Scheduler
from spiris_operator.settings import OperatorSettings

__all__ = ["register"]


def register(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    @kopf.on.event(GROUP, VERSION, SYNCS, id="fiscal-year-sync-event", registry=registry)
    async def fiscal_year_sync_event(**kwargs: Any) -> None:
        scheduler: Scheduler = kwargs["memo"].scheduler
        scheduler.fiscal_year_sync_event(kwargs.get("type"), kwargs["body"])

    @kopf.on.event(
        "batch",
        "v1",
        "jobs",
        id="sync-job-event",
        labels={"app.kubernetes.io/component": "sync-job"},
        registry=registry,
    )
    async def sync_job_event(**kwargs: Any) -> None:
        scheduler: Scheduler = kwargs["memo"].scheduler
        scheduler.job_event(kwargs.get("type"), kwargs["body"])


def observe_sync(runtime: Runtime, kind: str | None, body: Mapping[str, Any], first: bool) -> None:
    """A FiscalYearSync as the watch delivers it: its budget metrics and, on first sight (after a start or
    failover), its place in the Job queue from status."""
    metadata = body.get("metadata") or {}
    key = (str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))
    if kind == "DELETED":
        runtime.metrics.forget_sync(*key)
        runtime.fys_ctx.cap.withdraw(key)
        return
    status = body.get("status") or {}
    runtime.metrics.observe_budget(*key, status)
    waiting = QueuedRun.from_status(key, status) if first else None
    if waiting is not None:
        runtime.fys_ctx.cap.remember(waiting)


async def reconcile_now(runtime: Runtime, namespace: str, name: str) -> dict[str, Any] | None:
    """Reconcile one FiscalYearSync (re-read fresh); the object with its new status merged in, or None when it
    is gone or being deleted."""
    async with runtime.lock(f"fys/{namespace}/{name}"):
        fys = await asyncio.to_thread(runtime.kube.get_custom, SYNCS, namespace, name)
        if fys is None or fys["metadata"].get("deletionTimestamp"):
            return None
        result = await asyncio.to_thread(reconcile_fiscal_year_sync, fys, runtime.fys_ctx)
        await apply_result(runtime, plural=SYNCS, body=fys, status=result.status, events=result.events)
        merged = {**(fys.get("status") or {}), **result.status}
        connection = str((fys.get("spec") or {}).get("connectionRef", {}).get("name", ""))
        runtime.metrics.observe_sync(namespace, name, connection, merged)
        if result.finished_outcome:
            outcome = result.finished_outcome.lower()
            # The contract's label values: succeeded, degraded, yielded (a time slice used up: no failure),
            # failed (every failure kind is a failure).
            runtime.metrics.jobs_total.labels(
                namespace, outcome if outcome in {"succeeded", "degraded", "yielded"} else "failed"
            ).inc()
        if result.finished_outcome or result.job_started:
            running = await asyncio.to_thread(runtime.fys_ctx.cap.running)
            runtime.metrics.jobs_active.set(running)
        if result.consent_problem:
            # The worker was refused by Spiris: make the connection verify its token right away.
            await asyncio.to_thread(
                runtime.kube.patch_metadata,
                CONNECTIONS,
                namespace,
                connection,
                {"annotations": {VERIFY_ANNOTATION: str(merged.get("lastSyncTime"))}},
            )
        return {**fys, "status": merged}
