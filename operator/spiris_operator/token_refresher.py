"""Refreshing a connection's access token: once, by one writer, persisted before it is used.

Spiris refresh tokens are single-use and rotate, so two refreshers presenting the same refresh token lose the
connection. The protocol, all on the token Secret:

1. Read the Secret; if the access token has more than ``margin`` left, use it.
2. Claim the refresh by writing a lease annotation with the resourceVersion just read (compare-and-swap). A
409
   means someone else wrote first: re-read and start over — never refresh on a stale read.
3. A live lease of another holder means a refresh is under way: wait for the Secret to change and use its
token. 4. Refresh at Spiris, then replace the Secret with the new token at the claimed resourceVersion (CAS),
which also
   drops the lease. Only after that write succeeds is the new token returned for use. If that CAS fails (the
   web stored a fresh consent meanwhile), the stored token wins.

``invalid_grant`` surfaces as ``spiris_client.errors.ConsentRequired`` for the caller (ReconsentRequired).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, cast

from kubernetes.client.exceptions import ApiException
from spiris_client.oauth import TokenSet
from spiris_connection import token_secret
from spiris_connection.token_secret import StoredToken, TokenSecretConflict

from spiris_operator.kube_api import REQUEST_TIMEOUT, KubeApi

__all__ = ["LEASE_ANNOTATION", "RefreshOutcome", "Refresher", "ensure_fresh"]

LEASE_ANNOTATION = "spiris.senseworks.io/refresh-lease"
_POLL_SECONDS = 0.25
_MAX_ROUNDS = 20
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class Refresher(Protocol):
    """Trades a refresh token for a new TokenSet (``SpirisOAuth.refresh``)."""

    def refresh(self, refresh_token: str) -> TokenSet: ...


@dataclass(frozen=True)
class RefreshOutcome:
    """The token to use now; ``refreshed`` when this call rotated it at Spiris."""

    stored: StoredToken
    refreshed: bool


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def _read_raw(kube: KubeApi, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        secret = kube.core.read_namespaced_secret(name, namespace, _request_timeout=REQUEST_TIMEOUT)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    raw: dict[str, Any] = kube.api_client.sanitize_for_serialization(secret)  # type: ignore[no-untyped-call]
    return raw


def _lease_of(secret: Mapping[str, Any]) -> tuple[str, float] | None:
    value = ((secret.get("metadata") or {}).get("annotations") or {}).get(LEASE_ANNOTATION)
    if not value:
        return None
    holder, _, until = str(value).rpartition("/")
    try:
        return holder, float(until)
    except ValueError:
        return None


def _claim(kube: KubeApi, secret: dict[str, Any], *, holder: str, until: float) -> str | None:
    """Write our lease at the Secret's resourceVersion; the new resourceVersion, or None on 409."""
    metadata = secret["metadata"]
    annotations = dict(metadata.get("annotations") or {})
    annotations[LEASE_ANNOTATION] = f"{holder}/{until:.0f}"
    body = dict(secret)
    body["metadata"] = {**metadata, "annotations": annotations}
    try:
        result = kube.core.replace_namespaced_secret(
            metadata["name"], metadata["namespace"], cast(Any, body), _request_timeout=REQUEST_TIMEOUT
        )
    except ApiException as exc:
        if exc.status == 409:
            return None
        raise ApiException(status=exc.status, reason=exc.reason) from None
    return str(cast(Any, result).metadata.resource_version)


def ensure_fresh(
    kube: KubeApi,
    *,
    connection: Mapping[str, Any],
    refresher: Refresher,
    margin: timedelta,
    lease: timedelta,
    holder: str,
    force: bool = False,
    clock: Callable[[], float] = time.time,
) -> RefreshOutcome | None:
    """The connection's usable token, refreshed first if it expires within ``margin`` (or ``force``).

    None when there is no token Secret. Raises ``ConsentRequired`` (invalid_grant), ``SpirisUnavailable``,
    ``TokenSecretInvalid``.
    """
    metadata = connection["metadata"]
    namespace, conn_name = str(metadata["namespace"]), str(metadata["name"])
    name = token_secret.secret_name(conn_name)
    # What we saw before queueing for the lock: if it changes meanwhile, someone else refreshed.
    entry = _read_raw(kube, namespace, name)
    first_seen: str | None = token_secret.parse_secret(entry).access_token if entry is not None else None
    with _lock_for(f"{namespace}/{name}"):
        forced = force
        for _ in range(_MAX_ROUNDS):
            secret = _read_raw(kube, namespace, name)
            if secret is None:
                return None
            version = str(secret["metadata"]["resourceVersion"])
            current = StoredToken(token=token_secret.parse_secret(secret), resource_version=version)
            now = clock()
            if first_seen is None:
                first_seen = current.token.access_token
            elif current.token.access_token != first_seen and not current.token.expires_within(0, now=now):
                # Someone rotated the token while we waited or lost a CAS: use theirs, never refresh twice.
                return RefreshOutcome(stored=current, refreshed=False)
            if not forced and not current.token.expires_within(margin.total_seconds(), now=now):
                return RefreshOutcome(stored=current, refreshed=False)
            if current.token.refresh_token is None:
                raise token_secret.TokenSecretInvalid("the stored token has no refresh token")
            held = _lease_of(secret)
            if held is not None and held[0] != holder and held[1] > now:
                _wait_for_change(kube, namespace, name, version, until=held[1], clock=clock)
                forced = False  # whoever held the lease refreshed; re-evaluate what is stored now
                continue
            claimed = _claim(kube, secret, holder=holder, until=now + lease.total_seconds())
            if claimed is None:
                forced = False
                continue
            fresh = refresher.refresh(current.token.refresh_token)
            try:
                new_version = token_secret.replace_token(
                    kube.core, connection=connection, token=fresh, resource_version=claimed
                )
            except TokenSecretConflict:
                continue  # a fresh consent was stored meanwhile: it wins, use it
            return RefreshOutcome(
                stored=StoredToken(token=fresh, resource_version=new_version), refreshed=True
            )
        raise TokenSecretConflict(f"the token Secret {namespace}/{name} kept changing; will retry")


def _wait_for_change(
    kube: KubeApi, namespace: str, name: str, version: str, *, until: float, clock: Callable[[], float]
) -> None:
    while clock() < until:
        secret = _read_raw(kube, namespace, name)
        if secret is None or str(secret["metadata"]["resourceVersion"]) != version:
            return
        time.sleep(_POLL_SECONDS)
