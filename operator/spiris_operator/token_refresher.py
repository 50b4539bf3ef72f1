"""Refreshing a connection's access token: once, by one writer, persisted before it is used, never dropped.

Spiris refresh tokens are single-use and rotate: the moment Spiris answers a refresh, the stored refresh token
is dead and the only live one is in our hands. So the protocol, all on the token Secret, is:

1. Read the Secret; if the access token has more than ``margin`` left, use it.
2. Claim the refresh with a compare-and-swap (CAS) PUT that adds a lease annotation ``holder/until`` and a
   journal annotation naming (by fingerprint) the refresh token about to be spent. A 409 means someone wrote
   first: re-read and start over. The claim is sized to outlive the slowest refresh (``refresh_timeout``) plus
   the budget for persisting its result, and is given up if writing it took so long that this no longer holds.
3. A live lease of another holder means a refresh is under way: wait for the Secret to change, use its token.
4. Refresh at Spiris, then persist the new token. Persisting never gives up on a write failure it can outlast:
   a 409 (any unrelated write, e.g. an annotation) or a 5xx/timeout makes it re-read the Secret and, while the
   stored refresh token is still the one just spent, write again onto the version read (keeping every other
   annotation, e.g. the web's single-use consent markers). A write that timed out but landed is recognised.
   Only a different grant in the Secret (a fresh consent by the web) wins over the new token. If the budget
   runs out, the token stays in this process's holding pen and is written first on the next call; it is
   never returned for use before it is stored.
5. ``invalid_grant`` from Spiris is believed only when the Secret still holds the refresh token presented and
   no other holder's lapsed claim on that very token is still within its persist budget (then its write is
   awaited first): a slow replica's late write must not look like a revoked consent.

What no client-side protocol can recover is a process killed after Spiris committed a rotation and before the
single PUT of step 4 landed: the new token existed only in that process. The journal annotation makes such a
loss diagnosable (``RefreshInterrupted``), the window is one Kubernetes round trip, and a claim left by a dead
process expires after its lease so the next refresher is never blocked for longer.

``invalid_grant`` surfaces as ``spiris_client.errors.ConsentRequired`` for the caller (ReconsentRequired).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, cast

import urllib3
from kubernetes.client.exceptions import ApiException
from spiris_client.errors import ConsentRequired
from spiris_client.oauth import TokenSet
from spiris_connection import token_secret
from spiris_connection.token_secret import StoredToken, TokenSecretConflict

from spiris_operator.kube_api import REQUEST_TIMEOUT, KubeApi

__all__ = [
    "JOURNAL_ANNOTATION",
    "LEASE_ANNOTATION",
    "RefreshInterrupted",
    "RefreshOutcome",
    "Refresher",
    "TokenNotPersisted",
    "claim_seconds",
    "ensure_fresh",
]

LEASE_ANNOTATION = "spiris.senseworks.io/refresh-lease"
#: ``{holder}/{fingerprint of the refresh token being spent}``, written with the claim.
JOURNAL_ANNOTATION = "spiris.senseworks.io/refresh-spending"
_REFRESH_ANNOTATIONS = (LEASE_ANNOTATION, JOURNAL_ANNOTATION)
#: Time reserved after the Spiris call for persisting its result (several Kubernetes round trips).
PERSIST_BUDGET_SECONDS = 2.5 * REQUEST_TIMEOUT
_POLL_SECONDS = 0.25
_MAX_ROUNDS = 20
_TRANSIENT_STATUSES = frozenset({409, 429, 500, 502, 503, 504})
logger = logging.getLogger(__name__)
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class Refresher(Protocol):
    """Trades a refresh token for a new TokenSet (``SpirisOAuth.refresh``)."""

    def refresh(self, refresh_token: str) -> TokenSet: ...


class RefreshInterrupted(ConsentRequired):
    """Spiris rotated the token for another operator process that died (or gave up) before storing it."""

    def __init__(self) -> None:
        super().__init__(
            description="a refresh by another operator process was cut off after Spiris rotated the token "
            "and before the new one was stored"
        )


class TokenNotPersisted(Exception):
    """A refreshed token could not be stored yet; it is held in memory and written first on the next call."""


@dataclass(frozen=True)
class RefreshOutcome:
    """The token to use now; ``refreshed`` when this call rotated it at Spiris."""

    stored: StoredToken
    refreshed: bool


@dataclass(frozen=True)
class _Unsaved:
    """A token Spiris issued that is not stored yet, and the fingerprint of the refresh token it replaced."""

    token: TokenSet
    spent: str


#: Tokens refreshed but not stored yet, by Secret (``namespace/name``): never dropped while the process lives.
_unsaved: dict[str, _Unsaved] = {}


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def claim_seconds(
    lease: timedelta, refresh_timeout: float, persist_budget: float = PERSIST_BUDGET_SECONDS
) -> float:
    """How long a claim must hold: the configured lease, but never less than the slowest refresh plus the
    time to persist its result (a claim lapsing mid-refresh lets a second replica spend the same token)."""
    return max(lease.total_seconds(), refresh_timeout + persist_budget + 5.0)


def _read_raw(kube: KubeApi, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        secret = kube.core.read_namespaced_secret(name, namespace, _request_timeout=REQUEST_TIMEOUT)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise ApiException(status=exc.status, reason=exc.reason) from None
    raw: dict[str, Any] = kube.api_client.sanitize_for_serialization(secret)  # type: ignore[no-untyped-call]
    return raw


def _annotations(secret: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (((secret.get("metadata") or {}).get("annotations")) or {}).items()}


def _lease_of(secret: Mapping[str, Any]) -> tuple[str, float] | None:
    value = _annotations(secret).get(LEASE_ANNOTATION)
    if not value:
        return None
    holder, _, until = value.rpartition("/")
    try:
        return holder, float(until)
    except ValueError:
        return None


def _journal_of(secret: Mapping[str, Any]) -> tuple[str, str] | None:
    holder, _, spent = _annotations(secret).get(JOURNAL_ANNOTATION, "").rpartition("/")
    return (holder, spent) if spent else None


def _kept_annotations(secret: Mapping[str, Any]) -> dict[str, str]:
    """Everything but our own refresh bookkeeping: the web's consent markers and anyone else's notes."""
    return {k: v for k, v in _annotations(secret).items() if k not in _REFRESH_ANNOTATIONS}


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ApiException):
        return exc.status in _TRANSIENT_STATUSES or exc.status == 0 or exc.status is None
    return isinstance(exc, urllib3.exceptions.HTTPError | OSError | TimeoutError)


def _claim(kube: KubeApi, secret: dict[str, Any], *, holder: str, until: float, spent: str) -> str | None:
    """Write our lease and journal at the Secret's resourceVersion; its new resourceVersion, None on 409."""
    metadata = secret["metadata"]
    annotations = _annotations(secret)
    annotations[LEASE_ANNOTATION] = f"{holder}/{until:.0f}"
    annotations[JOURNAL_ANNOTATION] = f"{holder}/{spent}"
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


def _release(kube: KubeApi, namespace: str, name: str, *, holder: str) -> None:
    """Best effort: drop our claim after a refresh that did not happen, so nobody waits for it to lapse."""
    try:
        secret = _read_raw(kube, namespace, name)
        lease = _lease_of(secret) if secret is not None else None
        if secret is None or lease is None or lease[0] != holder:
            return
        body = dict(secret)
        body["metadata"] = {**secret["metadata"], "annotations": _kept_annotations(secret)}
        kube.core.replace_namespaced_secret(
            name, namespace, cast(Any, body), _request_timeout=REQUEST_TIMEOUT
        )
    except Exception as exc:  # the lease lapses by itself; this only shortens the wait
        logger.info("could not release the refresh claim on %s/%s: %s", namespace, name, type(exc).__name__)


class _Persister:
    """Writes one freshly issued token into the Secret, outlasting conflicts and transient failures."""

    def __init__(
        self,
        kube: KubeApi,
        *,
        connection: Mapping[str, Any],
        namespace: str,
        name: str,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        self.kube = kube
        self.connection = connection
        self.namespace = namespace
        self.name = name
        self.sleep = sleep
        self.clock = clock

    def persist(self, unsaved: _Unsaved, secret: dict[str, Any], *, deadline: float) -> StoredToken | None:
        """The stored token once written (or found written); None when another grant replaced the one spent
        (a fresh consent: it wins). Raises :class:`TokenNotPersisted` when ``deadline`` passes first."""
        delay = 0.2
        current: dict[str, Any] | None = secret
        while True:
            if current is not None:
                decided = self._decide(unsaved, current)
                if decided is not None:
                    return decided if isinstance(decided, StoredToken) else None
                try:
                    version = token_secret.replace_token(
                        self.kube.core,
                        connection=self.connection,
                        token=unsaved.token,
                        resource_version=str(current["metadata"]["resourceVersion"]),
                        annotations=_kept_annotations(current),
                    )
                    return StoredToken(token=unsaved.token, resource_version=version)
                except TokenSecretConflict:
                    logger.info(
                        "token Secret %s/%s changed under the write; re-reading", self.namespace, self.name
                    )
                except Exception as exc:
                    if not _is_transient(exc):
                        raise
                    logger.warning(
                        "writing the refreshed token to %s/%s failed (%s); re-reading and retrying",
                        self.namespace,
                        self.name,
                        type(exc).__name__,
                    )
            if self.clock() >= deadline:
                raise TokenNotPersisted(
                    f"the refreshed token for {self.namespace}/{self.name} is not stored yet; kept, retried"
                )
            self.sleep(delay)
            delay = min(delay * 2, 2.0)
            try:
                current = _read_raw(self.kube, self.namespace, self.name)
            except Exception as exc:
                if not _is_transient(exc):
                    raise
                current = None
                continue
            if current is None:
                return None  # the Secret (and with it the connection's consent) is gone: nothing to keep

    def _decide(self, unsaved: _Unsaved, secret: dict[str, Any]) -> StoredToken | bool | None:
        """Whether ``secret`` already settles the write: our token landed (a StoredToken), another grant
        replaced the one we spent (False), or neither, so write (None)."""
        try:
            stored = token_secret.parse_secret(secret)
        except token_secret.TokenSecretInvalid:
            return None  # an unusable document is never better than a live token: overwrite it
        version = str(secret["metadata"]["resourceVersion"])
        if stored.access_token == unsaved.token.access_token:
            return StoredToken(token=stored, resource_version=version)
        if token_secret.fingerprint(stored.refresh_token) != unsaved.spent:
            logger.info(
                "token Secret %s/%s holds a newer grant than the one refreshed; it wins",
                self.namespace,
                self.name,
            )
            return False
        return None


def ensure_fresh(
    kube: KubeApi,
    *,
    connection: Mapping[str, Any],
    refresher: Refresher,
    margin: timedelta,
    lease: timedelta,
    holder: str,
    force: bool = False,
    refresh_timeout: float = 30.0,
    persist_budget: float = PERSIST_BUDGET_SECONDS,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> RefreshOutcome | None:
    """The connection's usable token, refreshed first if it expires within ``margin`` (or ``force``).

    None when there is no token Secret. Raises ``ConsentRequired`` (invalid_grant), ``SpirisUnavailable``,
    ``TokenSecretInvalid``, :class:`TokenNotPersisted` (retry later: the new token is held), and
    ``TokenSecretConflict`` when the Secret kept changing.
    """
    metadata = connection["metadata"]
    namespace, conn_name = str(metadata["namespace"]), str(metadata["name"])
    name = token_secret.secret_name(conn_name)
    key = f"{namespace}/{name}"
    persister = _Persister(
        kube, connection=connection, namespace=namespace, name=name, sleep=sleep, clock=clock
    )
    hold = claim_seconds(lease, refresh_timeout, persist_budget)
    # What we saw before queueing for the lock: if it changes meanwhile, someone else refreshed.
    entry = _read_raw(kube, namespace, name)
    first_seen: str | None = token_secret.parse_secret(entry).access_token if entry is not None else None
    with _lock_for(key):
        forced = force
        for _ in range(_MAX_ROUNDS):
            secret = _read_raw(kube, namespace, name)
            if secret is None:
                _unsaved.pop(key, None)
                return None
            held_back = _unsaved.get(key)
            if held_back is not None:
                # A token refreshed earlier and not stored yet: storing it comes before anything else.
                stored_back = persister.persist(held_back, secret, deadline=clock() + persist_budget)
                _unsaved.pop(key, None)
                if stored_back is not None:
                    return RefreshOutcome(stored=stored_back, refreshed=True)
                continue
            version = str(secret["metadata"]["resourceVersion"])
            current = StoredToken(token=token_secret.parse_secret(secret), resource_version=version)
            now = clock()
            if first_seen is None:
                first_seen = current.token.access_token
            elif current.token.access_token != first_seen and not current.token.expires_within(0, now=now):
                # Someone rotated the token while we waited or lost a CAS: use theirs, never refresh twice.
                return _with_access_copy(kube, connection, secret, current, refreshed=False)
            if not forced and not current.token.expires_within(margin.total_seconds(), now=now):
                return _with_access_copy(kube, connection, secret, current, refreshed=False)
            refresh_token = current.token.refresh_token
            if refresh_token is None:
                raise token_secret.TokenSecretInvalid("the stored token has no refresh token")
            held = _lease_of(secret)
            if held is not None and held[0] != holder and held[1] > now:
                _wait_for_change(kube, namespace, name, version, until=held[1], clock=clock, sleep=sleep)
                forced = False  # whoever held the lease refreshed; re-evaluate what is stored now
                continue
            spent = token_secret.fingerprint(refresh_token)
            previous_journal = _journal_of(secret)
            until = now + hold
            claimed = _claim(kube, secret, holder=holder, until=until, spent=spent)
            if claimed is None:
                forced = False
                continue
            if clock() + refresh_timeout + persist_budget > until:
                continue  # writing the claim took so long it no longer covers a refresh: claim again
            try:
                fresh = refresher.refresh(refresh_token)
            except ConsentRequired:
                if _superseded_after_refusal(
                    kube,
                    namespace,
                    name,
                    spent=spent,
                    holder=holder,
                    journal=previous_journal,
                    wait=persist_budget,
                    clock=clock,
                    sleep=sleep,
                ):
                    forced = False
                    continue
                raise
            except BaseException:
                _release(kube, namespace, name, holder=holder)
                raise
            unsaved = _Unsaved(token=fresh, spent=spent)
            claimed_secret = {**secret, "metadata": {**secret["metadata"], "resourceVersion": claimed}}
            claimed_secret["metadata"]["annotations"] = {
                **_annotations(secret),
                LEASE_ANNOTATION: f"{holder}/{until:.0f}",
                JOURNAL_ANNOTATION: f"{holder}/{spent}",
            }
            try:
                stored = persister.persist(unsaved, claimed_secret, deadline=max(until, clock() + 10.0))
            except TokenNotPersisted:
                _unsaved[key] = unsaved
                raise
            except BaseException:
                _unsaved[key] = unsaved
                raise
            if stored is None:
                forced = False
                continue  # a fresh consent was stored meanwhile: it wins, use it
            return RefreshOutcome(stored=stored, refreshed=True)
        raise TokenSecretConflict(f"the token Secret {namespace}/{name} kept changing; will retry")


def _with_access_copy(
    kube: KubeApi,
    connection: Mapping[str, Any],
    secret: dict[str, Any],
    current: StoredToken,
    *,
    refreshed: bool,
) -> RefreshOutcome:
    """``current``, after making sure the Job's access-only key matches it (Secrets from before that key
    existed are rewritten once; a conflict just leaves it to the next pass)."""
    if token_secret.has_current_access_copy(secret, current.token):
        return RefreshOutcome(stored=current, refreshed=refreshed)
    try:
        version = token_secret.replace_token(
            kube.core,
            connection=connection,
            token=current.token,
            resource_version=current.resource_version,
            annotations=_annotations(secret),
        )
    except TokenSecretConflict:
        return RefreshOutcome(stored=current, refreshed=refreshed)
    return RefreshOutcome(
        stored=StoredToken(token=current.token, resource_version=version), refreshed=refreshed
    )


def _superseded_after_refusal(
    kube: KubeApi,
    namespace: str,
    name: str,
    *,
    spent: str,
    holder: str,
    journal: tuple[str, str] | None,
    wait: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> bool:
    """After ``invalid_grant``: True when the Secret no longer holds the refresh token presented (someone
    rotated it or a consent replaced it), waiting first for another holder whose claim on the same token
    lapsed but whose write may still come. False means the refusal is real: consent is needed."""
    secret = _read_raw(kube, namespace, name)
    if secret is None:
        return True
    if token_secret.fingerprint(token_secret.parse_secret(secret).refresh_token) != spent:
        return True
    if journal is not None and journal[0] != holder and journal[1] == spent:
        logger.warning(
            "refresh of %s/%s refused after another holder's claim on that token lapsed; awaiting its write",
            namespace,
            name,
        )
        version = str(secret["metadata"]["resourceVersion"])
        _wait_for_change(
            kube,
            namespace,
            name,
            version,
            until=clock() + wait,
            clock=clock,
            sleep=sleep,
            spent=spent,
        )
        after = _read_raw(kube, namespace, name)
        if after is None or token_secret.fingerprint(token_secret.parse_secret(after).refresh_token) != spent:
            return True
        raise RefreshInterrupted
    return False


def _wait_for_change(
    kube: KubeApi,
    namespace: str,
    name: str,
    version: str,
    *,
    until: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    spent: str | None = None,
) -> None:
    """Poll until the Secret's resourceVersion changes (or, with ``spent``, until its refresh token does)."""
    while clock() < until:
        secret = _read_raw(kube, namespace, name)
        if secret is None:
            return
        if spent is not None:
            if token_secret.fingerprint(token_secret.parse_secret(secret).refresh_token) != spent:
                return
        elif str(secret["metadata"]["resourceVersion"]) != version:
            return
        sleep(_POLL_SECONDS)
