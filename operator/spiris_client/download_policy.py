"""Which temporary download links the worker may fetch: https to Spiris' storage hosts, public addresses only.

Spiris hands out ``TemporaryUrl`` links and we fetch whatever they say, so a link (or a redirect from it) must
not be able to point the worker at ``127.0.0.1``, the cluster's private network or a cloud metadata address
(server-side request forgery). The policy checks every URL — the first and every redirect hop — for scheme and
host (an allow-list of names, ``*.suffix`` wildcards; default ``*.vismaonline.com``, where Spiris' storage
lives: spiris-api.md §3.6), and :class:`GuardedBackend` checks, at connect time, every address the name
resolves to and connects to the very address it checked (no second lookup a DNS rebinding could change). The
one origin exempt from both checks is the configured Spiris API origin itself (scheme, host and port): we
already send it our bearer token, and it is how the local stack's sandbox on ``http://127.0.0.1:P`` serves its
links. ``allow_insecure`` (http, private and loopback addresses for the allowed hosts) exists only for local
stacks.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from spiris_client.errors import DownloadRefused

__all__ = ["DEFAULT_ALLOWED_HOSTS", "DownloadPolicy", "GuardedBackend", "guarded_transport"]

#: Spiris' storage hosts (``eaccountingstorage{cc}.vismaonline.com``, before: ``apistorage.vismaonline.com``).
DEFAULT_ALLOWED_HOSTS = ("*.vismaonline.com",)


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return parts.scheme.lower(), parts.hostname.lower().rstrip("."), port


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_global) and not ip.is_multicast


@dataclass(frozen=True)
class DownloadPolicy:
    """The rules for one worker; ``trusted_origin`` is the Spiris API base URL (its origin is exempt)."""

    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    trusted_origin: str | None = None
    allow_insecure: bool = False
    _trusted: tuple[str, str, int] | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_trusted", _origin(self.trusted_origin) if self.trusted_origin else None)

    @classmethod
    def from_settings(
        cls,
        *,
        allowed_hosts: Iterable[str] = (),
        trusted_origin: str | None = None,
        allow_insecure: bool = False,
    ) -> DownloadPolicy:
        """A policy from configuration; no hosts given means Spiris' storage hosts."""
        hosts = tuple(h.strip().lower() for h in allowed_hosts if h.strip()) or DEFAULT_ALLOWED_HOSTS
        return cls(allowed_hosts=hosts, trusted_origin=trusted_origin, allow_insecure=allow_insecure)

    def is_trusted(self, scheme: str, host: str, port: int) -> bool:
        return self._trusted is not None and self._trusted == (scheme, host.lower().rstrip("."), port)

    def _host_allowed(self, host: str) -> bool:
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in self.allowed_hosts)

    def check_url(self, url: str) -> None:
        """Raise :class:`DownloadRefused` unless ``url`` may be fetched (before any connection is made)."""
        origin = _origin(url)
        if origin is None:
            raise DownloadRefused("the download link is not an absolute URL")
        scheme, host, port = origin
        if self.is_trusted(scheme, host, port):
            return
        if scheme != "https" and not (scheme == "http" and self.allow_insecure):
            raise DownloadRefused(f"the download link uses {scheme}, only https is allowed")
        if not self._host_allowed(host):
            raise DownloadRefused(f"the download host {host} is not on the allow-list")

    def check_address(self, host: str, address: str) -> None:
        """Raise :class:`DownloadRefused` when ``host`` resolved to a non-public ``address``."""
        if self.allow_insecure or _is_public(address):
            return
        raise DownloadRefused(f"the download host {host} resolves to a non-public address")


class GuardedBackend(httpcore.SyncBackend):
    """Resolves, checks every address, and connects to the checked one (trusted origin excepted)."""

    def __init__(self, policy: DownloadPolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        trusted = any(self._policy.is_trusted(scheme, host, port) for scheme in ("http", "https"))
        if trusted:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {type(exc).__name__}") from exc
        addresses = [str(info[4][0]) for info in infos]
        for address in addresses:
            self._policy.check_address(host, address)
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


def guarded_transport(policy: DownloadPolicy) -> httpx.HTTPTransport:
    """An httpx transport whose connections go through :class:`GuardedBackend`."""
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx has no public hook for the network backend; the pool is rebuilt with the same TLS defaults.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False), network_backend=GuardedBackend(policy)
    )
    return transport
