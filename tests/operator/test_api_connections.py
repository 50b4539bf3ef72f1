"""Kopf's session to the API server keeps its connections bounded however many requests run at once.

A cold start makes every per-object worker patch its object at the same moment; each open TLS connection
costs the operator about 300 KB, so the session must queue those requests on a bounded pool. Measured here
against a real keep-alive HTTP server that counts the connections open at once.
"""

from __future__ import annotations

import asyncio

import kopf
from spiris_operator.api_connections import REQUEST_CONNECTIONS, bounded_session, watch_streams


class _CountingServer:
    """HTTP/1.1 with keep-alive; each answer takes a moment so that requests overlap."""

    def __init__(self) -> None:
        self.open = 0
        self.most_open = 0
        self.authorizations: set[str] = set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                for line in head.decode().split("\r\n"):
                    if line.lower().startswith("authorization:"):
                        self.authorizations.add(line.split(":", 1)[1].strip())
                await asyncio.sleep(0.02)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()


async def test_many_requests_at_once_share_a_bounded_pool_with_the_credentials() -> None:
    counting = _CountingServer()
    server = await asyncio.start_server(counting.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    info = kopf.ConnectionInfo(server=f"http://127.0.0.1:{port}", token="t0ken", default_namespace="ns")
    context = bounded_session(info, watches=2)
    session = context.aiohttp_session
    try:

        async def get(n: int) -> int:
            async with session.get(f"{info.server}/api/v1/namespaces/ns/events/{n}") as response:
                await response.read()
                return response.status

        statuses = await asyncio.gather(*(get(n) for n in range(200)))
    finally:
        await session.close()
        server.close()
        await server.wait_closed()
    assert statuses == [200] * 200
    assert 2 < counting.most_open <= 2 + REQUEST_CONNECTIONS
    assert counting.authorizations == {"Bearer t0ken"}
    assert (context.server, context.default_namespace) == (info.server, "ns")


def test_watch_streams_per_namespace_and_none_for_patterns() -> None:
    assert watch_streams(()) == 6  # cluster-wide: four resources, plus Kopf's CRD and Namespace watches
    assert watch_streams(("a", "b", "c")) == 14
    assert watch_streams(("team-*",)) is None
    assert watch_streams(("!kube-system",)) is None
