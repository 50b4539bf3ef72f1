"""SpirisConnection handlers: watch events (the connection's and its token Secret's) feed the scheduler; the
deletion finalizer; and :func:`reconcile_now`, the one reconcile pass the scheduler runs."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf
from spiris_connection import token_secret
from spiris_sync.job_contract import ConditionType, Phase, Reason

from spiris_operator import conditions
from spiris_operator.connection_deletion import DeletionBlocked, delete_company_data
from spiris_operator.connection_reconciler import reconcile_connection
from spiris_operator.handlers.posting import apply_result
from spiris_operator.kube_api import CONNECTIONS, GROUP, VERSION
from spiris_operator.runtime import Runtime
from spiris_operator.scheduler import Scheduler
from spiris_operator.settings import OperatorSettings

__all__ = ["reconcile_now", "register"]


async def reconcile_now(
    runtime: Runtime, namespace: str, name: str, logger: logging.Logger
) -> dict[str, Any] | None:
    """Reconcile one connection (re-read fresh), serialised with any other reconcile of it; the connection
    with its new status merged in, or None when it is gone or being deleted."""
    async with runtime.lock(f"spc/{namespace}/{name}"):
        connection = await asyncio.to_thread(runtime.kube.get_custom, CONNECTIONS, namespace, name)
        if connection is None or connection["metadata"].get("deletionTimestamp"):
            return None
        result = await asyncio.to_thread(reconcile_connection, connection, runtime.connection_ctx)
        was = (connection.get("status") or {}).get("phase")
        if result.status.get("phase") == Phase.RECONSENT_REQUIRED != was:
            runtime.metrics.refresh_failures.labels(namespace, name, "invalid_grant").inc()
        token_health = conditions.find(result.status.get("conditions"), ConditionType.TOKEN_HEALTHY) or {}
        if token_health.get("reason") == Reason.REFRESH_FAILED:
            runtime.metrics.refresh_failures.labels(namespace, name, "unavailable").inc()
        await apply_result(
            runtime, plural=CONNECTIONS, body=connection, status=result.status, events=result.events
        )
        runtime.metrics.observe_connection(
            namespace, name, {**(connection.get("status") or {}), **result.status}
        )
        logger.debug("reconciled, phase %s", result.status.get("phase"))
        return {**connection, "status": {**(connection.get("status") or {}), **result.status}}


def register(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    @kopf.on.event(GROUP, VERSION, CONNECTIONS, id="connection-event", registry=registry)
    async def connection_event(**kwargs: Any) -> None:
        scheduler: Scheduler = kwargs["memo"].scheduler
        scheduler.connection_event(kwargs.get("type"), kwargs["body"])

    @kopf.on.event(
        "v1",
        "secrets",
        id="token-secret",
        labels={token_secret.CONNECTION_LABEL: kopf.PRESENT},
        registry=registry,
    )
    async def token_secret_changed(**kwargs: Any) -> None:
        body = kwargs["body"]
        connection_name = token_secret.connection_name_of(body)
        namespace = body.get("metadata", {}).get("namespace")
        if not connection_name or not namespace:
            return
        scheduler: Scheduler = kwargs["memo"].scheduler
        version = str(body.get("metadata", {}).get("resourceVersion") or "")
        scheduler.secret_event(kwargs.get("type"), str(namespace), connection_name, version)

    @kopf.on.delete(GROUP, VERSION, CONNECTIONS, id="deletion-policy", registry=registry)
    async def connection_deleted(**kwargs: Any) -> None:
        body, namespace, name, logger = kwargs["body"], kwargs["namespace"], kwargs["name"], kwargs["logger"]
        runtime: Runtime = kwargs["memo"].runtime
        runtime.metrics.forget_connection(namespace, name)
        policy = (body.get("spec") or {}).get("deletionPolicy") or "Retain"
        if policy != "Delete":
            logger.info("deletionPolicy Retain: the company's data stays in Postgres and S3")
            return
        try:
            removed = await asyncio.to_thread(
                delete_company_data, runtime.settings.store, str(body["metadata"]["uid"])
            )
        except DeletionBlocked as exc:
            now = runtime.connection_ctx.clock()
            generation = int(body["metadata"].get("generation") or 0)
            status = {
                "conditions": conditions.merge(
                    (body.get("status") or {}).get("conditions"),
                    [conditions.Condition.false("Ready", "DeletionBlocked", str(exc))],
                    generation=generation,
                    now=now,
                )
            }
            await asyncio.to_thread(runtime.kube.patch_status, CONNECTIONS, namespace, name, status)
            kopf.warn(body, reason="DeletionBlocked", message=str(exc))
            raise kopf.TemporaryError(str(exc), delay=30) from None
        kopf.info(
            body, reason="DataDeleted", message=f"deleted {removed.rows_note} and {removed.objects} objects"
        )
