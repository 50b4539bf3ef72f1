"""Kopf's connections to the API server: its own session, with a bounded connection pool.

Kopf builds its aiohttp session with an unlimited pool. At a cold start thousands of per-object workers
patch their object (the finalizer) and post Events at the same moment, each on a new TLS connection, and
every open connection keeps asyncio's 256 KiB read buffer and its OpenSSL state until it idles out: at
3,000 objects that was most of the operator's peak RSS (scenario 6 of ``make bench``). The same session
with a bounded pool queues those requests on a few kept-alive connections instead. A watch stream holds its
connection for as long as it runs, so the bound is the watch streams plus :data:`REQUEST_CONNECTIONS`.
Namespace patterns (globs, exclusions) leave the number of watches open: those keep Kopf's own session.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp
import kopf

__all__ = ["REQUEST_CONNECTIONS", "WATCHED_RESOURCES", "bounded_session", "watch_streams"]

#: Connections for requests other than watches; more would only queue in the API server of a small cluster.
REQUEST_CONNECTIONS = 16
#: The resources the handlers watch per namespace (connections, syncs, token Secrets, sync Jobs).
WATCHED_RESOURCES = 4
#: Kopf's own cluster-wide watches (CustomResourceDefinitions and Namespaces).
CLUSTER_WATCHES = 2


def watch_streams(namespaces: Sequence[str]) -> int | None:
    """How many watch streams Kopf keeps open for ``namespaces`` (none: cluster-wide); None for patterns."""
    if any(char in namespace for namespace in namespaces for char in "*?[!"):
        return None
    return WATCHED_RESOURCES * max(1, len(namespaces)) + CLUSTER_WATCHES


def bounded_session(info: kopf.ConnectionInfo, *, watches: int) -> kopf.AiohttpSession:
    """Kopf's session for ``info`` (TLS, credentials, proxy) with at most ``watches`` + requests connections.

    Must run in the event loop (aiohttp binds the connector to it): call it from an async login handler.
    Kopf closes the session when the credentials are replaced (a re-login after 401).
    """
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=watches + REQUEST_CONNECTIONS, ssl=info.as_ssl_context()),
        headers=info.as_http_headers(),
        proxy=info.proxy_url,
        trust_env=info.trust_env,
    )
    return kopf.AiohttpSession(
        aiohttp_session=session,
        server=info.server,
        default_namespace=info.default_namespace,
        priority=info.priority,
        expiration=info.expiration,
    )
