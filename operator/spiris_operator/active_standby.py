"""Running as one of several replicas: stand by until the Lease is ours, then run Kopf until we lose it.

A standby replica runs no Kopf at all — no watches, no handlers, no finalizer work — so two replicas can never
both act on an object; it only answers its liveness probe and polls the Lease. Once elected it starts Kopf,
whose initial listing reconciles every object once (the scheduler's first sight), and renews the Lease in the
background. If renewing fails for the renew deadline, Kopf is stopped and the process exits non-zero, so the
pod restarts as a standby, like kube-controller-manager does. Duplicates stay impossible even in a split
brain: Job names follow the run counter and token refreshes are claimed on the token Secret.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from spiris_operator.leader_lease import LeaderLease

__all__ = ["run_when_leader", "serve_standby_health"]

logger = logging.getLogger(__name__)


async def serve_standby_health(host: str, port: int) -> asyncio.AbstractServer | None:
    """A minimal HTTP responder on the liveness port while Kopf (which owns the port later) is not running."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            body = b'{"standby": true}\n'
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    if port <= 0:
        return None
    try:
        return await asyncio.start_server(answer, host, port)
    except OSError as exc:  # e.g. two replicas on one workstation: standing by matters more than the probe
        logger.warning("standby liveness endpoint %s:%d not available: %s", host, port, exc.strerror)
        return None


async def _elect(lease: LeaderLease) -> None:
    while not await asyncio.to_thread(lease.try_acquire_or_renew):
        await asyncio.sleep(lease.settings.retry_period)


async def _keep(lease: LeaderLease, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(lease.settings.renew_period)
        held = await asyncio.to_thread(lease.try_acquire_or_renew)
        if not held and not lease.is_leader:
            logger.error("leader lease lost: stopping this replica (it restarts as a standby)")
            stop.set()
            return


async def run_when_leader(
    lease: LeaderLease,
    operator: Callable[[asyncio.Event], Awaitable[None]],
    *,
    health_host: str,
    health_port: int,
) -> int:
    """Stand by, then run ``operator(stop_flag)`` while leading; 0 after a clean stop, 1 if deposed."""
    server = await serve_standby_health(health_host, health_port)
    logger.info("standing by for leader lease %s/%s", lease.settings.namespace, lease.settings.name)
    try:
        await _elect(lease)
    finally:
        if server is not None:
            server.close()
            await server.wait_closed()
    logger.info("elected leader as %s", lease.settings.identity)
    stop = asyncio.Event()
    keeper = asyncio.create_task(_keep(lease, stop), name="leader-lease")
    deposed = False
    try:
        await operator(stop)
    finally:
        deposed = keeper.done() and not keeper.cancelled()
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
        if not deposed:
            await asyncio.to_thread(lease.release)
    return 1 if deposed else 0
