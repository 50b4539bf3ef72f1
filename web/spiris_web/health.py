"""`/healthz` (the process serves), `/readyz` (it can serve a consent) and `/metrics` (Prometheus).

Readiness normally checks the one dependency every consent needs before the person is sent anywhere: the
Kubernetes API holding the SpirisConnections. Spiris itself is not probed (its outages are shown on the pages,
and a readiness probe must not spend the shared API budget). In the not-configured mode readiness is the
report of what is missing instead (spiris_web.not_configured), so the routes take the readiness check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from spiris_web.connections import ConnectionStore, KubernetesUnavailable
from spiris_web.logging_json import logger
from spiris_web.metrics import WebMetrics

Endpoint = Callable[[Request], Awaitable[Response]]


def kubernetes_readiness(store: ConnectionStore) -> Endpoint:
    """Ready while the Kubernetes API answers."""

    async def readyz(request: Request) -> Response:
        try:
            await run_in_threadpool(store.ping)
        except KubernetesUnavailable as exc:
            logger.warning("not ready", extra={"cause": str(exc)})
            return PlainTextResponse("kubernetes unreachable\n", status_code=503)
        return PlainTextResponse("ok\n")

    return readyz


def health_routes(*, readyz: Endpoint, metrics: WebMetrics) -> list[Route]:
    """The three operational endpoints."""

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
