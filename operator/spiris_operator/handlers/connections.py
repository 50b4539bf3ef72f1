"""SpirisConnection handlers: a reconcile timer, token Secret events, and the deletion finalizer."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf
from spiris_connection import token_secret

from spiris_operator import conditions
from spiris_operator.connection_deletion import DeletionBlocked, delete_company_data
from spiris_operator.connection_reconciler import reconcile_connection
from spiris_operator.handlers.posting import apply_result
from spiris_operator.kube_api import CONNECTIONS, GROUP, VERSION
from spiris_operator.runtime import Runtime
from spiris_operator.settings import OperatorSettings

__all__ = ["reconcile_now", "register"]


async def reconcile_now(runtime: Runtime, namespace: str, name: str, logger: logging.Logger) -> None:
    """Reconcile one connection (re-read fresh), serialised with any other reconcile of it."""
    async with runtime.lock(f"spc/{namespace}/{name}"):
        connection = await asyncio.to_thread(runtime.kube.get_custom, CONNECTIONS, namespace, name)
        if connection is None or connection["metadata"].get("deletionTimestamp"):
            return
        result = await asyncio.to_thread(reconcile_connection, connection, runtime.connection_ctx)
        if any(n.reason == "PhaseReconsentRequired" for n in result.events):
            runtime.metrics.refresh_failures.labels(namespace, name, "invalid_grant").inc()
        token_health = conditions.find(result.status.get("conditions"), "TokenHealthy") or {}
        if token_health.get("reason") == "RefreshFailed":
            runtime.metrics.refresh_failures.labels(namespace, name, "unavailable").inc()
        await apply_result(
            runtime, plural=CONNECTIONS, body=connection, status=result.status, events=result.events
        )
        runtime.metrics.observe_connection(
            namespace, name, {**(connection.get("status") or {}), **result.status}
        )
        logger.debug("reconciled, phase %s", result.status.get("phase"))


def register(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    @kopf.timer(
        GROUP, VERSION, CONNECTIONS, id="reconcile", interval=settings.reconcile_interval, registry=registry
    )
    async def connection_timer(**kwargs: Any) -> None:
        await reconcile_now(kwargs["memo"].runtime, kwargs["namespace"], kwargs["name"], kwargs["logger"])

    @kopf.on.event(
        "v1",
        "secrets",
        id="token-secret",
        labels={token_secret.CONNECTION_LABEL: kopf.PRESENT},
        registry=registry,
    )
    async def token_secret_changed(**kwargs: Any) -> None:
        body, memo, logger = kwargs["body"], kwargs["memo"], kwargs["logger"]
        connection_name = token_secret.connection_name_of(body)
        namespace = body.get("metadata", {}).get("namespace")
        if kwargs.get("type") is None or not connection_name or not namespace:
            return  # the initial listing: the timers cover existing objects
        await reconcile_now(memo.runtime, str(namespace), connection_name, logger)

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
