"""Leader election over a ``coordination.k8s.io/v1`` Lease: one active operator replica, the others stand by.

The protocol is client-go's: the holder renews ``renewTime`` every ``renew_period``; a candidate takes the
Lease over only when the record it observed has not changed for ``lease_duration`` by *its own* clock (so
clock skew between nodes does not matter), and every write is a compare-and-swap on the resourceVersion, so
two candidates can never both win. A holder that cannot renew for ``renew_deadline`` (shorter than the
duration) considers itself deposed before anyone else may take over. Plain synchronous calls on the
kubernetes client, run from a thread; tested against the real API server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

__all__ = ["LeaderLease", "LeaseSettings"]

logger = logging.getLogger(__name__)
REQUEST_TIMEOUT = 5


@dataclass(frozen=True)
class LeaseSettings:
    """Where the Lease lives and its timing (seconds). Failover after a crash ≈ duration + retry period."""

    namespace: str
    name: str = "spiris-operator-leader"
    identity: str = ""
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    renew_period: float = 5.0
    retry_period: float = 3.0


def _micro_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class LeaderLease:
    """One candidate's view of the Lease; :meth:`try_acquire_or_renew` is one step of the election."""

    api: k8s.CoordinationV1Api
    settings: LeaseSettings
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    _observed: tuple[str, str, str] | None = None
    _observed_at: float = 0.0
    _last_renewed: float | None = None
    transitions: int = field(default=0)

    @property
    def is_leader(self) -> bool:
        """True while our last successful renewal is younger than the renew deadline."""
        return (
            self._last_renewed is not None
            and self.clock() - self._last_renewed < self.settings.renew_deadline
        )

    def try_acquire_or_renew(self) -> bool:
        """Acquire the Lease if free or expired, renew it if ours; True when we hold it afterwards."""
        try:
            return self._step()
        except ApiException as exc:
            logger.warning("leader lease: API error %s", exc.status)
        except Exception as exc:  # network trouble: we simply did not renew this time
            logger.warning("leader lease: %s", type(exc).__name__)
        return self.is_leader

    def _spec(self, *, acquire_time: str | None, transitions: int) -> dict[str, Any]:
        now = _micro_time(self.wall())
        return {
            "holderIdentity": self.settings.identity,
            "leaseDurationSeconds": max(1, round(self.settings.lease_duration)),
            "acquireTime": acquire_time or now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    def _step(self) -> bool:
        s = self.settings
        try:
            lease = self._read()
        except ApiException as exc:
            if exc.status != 404:
                raise
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": s.name, "namespace": s.namespace},
                "spec": self._spec(acquire_time=None, transitions=0),
            }
            try:
                self.api.create_namespaced_lease(
                    s.namespace, cast(Any, body), _request_timeout=REQUEST_TIMEOUT
                )
            except ApiException as create_exc:
                if create_exc.status == 409:
                    return False  # someone else created it first
                raise
            self._won()
            return True
        spec = lease.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        record = (holder, str(spec.get("renewTime") or ""), str(lease["metadata"]["resourceVersion"]))
        now = self.clock()
        if record[:2] != (self._observed or ("", "", ""))[:2]:
            self._observed, self._observed_at = record, now
        ours = holder == s.identity
        duration = float(spec.get("leaseDurationSeconds") or s.lease_duration)
        if not ours and holder and now - self._observed_at < duration:
            self._last_renewed = None
            return False  # held by a live leader
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if ours else 1)
        acquire = str(spec["acquireTime"]) if ours and spec.get("acquireTime") else None
        lease_body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": s.name, "namespace": s.namespace, "resourceVersion": record[2]},
            "spec": self._spec(acquire_time=acquire, transitions=transitions),
        }
        try:
            self._replace(lease_body)
        except ApiException as exc:
            if exc.status == 409:
                self._observed = None  # changed under us: look again next step
                return self.is_leader and ours
            raise
        if not ours:
            self.transitions = transitions
            logger.info("leader lease %s/%s acquired (was held by %r)", s.namespace, s.name, holder or None)
        self._won()
        return True

    def _read(self) -> dict[str, Any]:
        s = self.settings
        lease = self.api.read_namespaced_lease(s.name, s.namespace, _request_timeout=REQUEST_TIMEOUT)
        plain: dict[str, Any] = self.api.api_client.sanitize_for_serialization(lease)
        return plain

    def _replace(self, body: dict[str, Any]) -> None:
        s = self.settings
        self.api.replace_namespaced_lease(
            s.name, s.namespace, cast(Any, body), _request_timeout=REQUEST_TIMEOUT
        )

    def _won(self) -> None:
        self._last_renewed = self.clock()

    def release(self) -> None:
        """Give the Lease up at a clean shutdown: a standby takes over at once instead of waiting it out."""
        s = self.settings
        if self._last_renewed is None:
            return
        self._last_renewed = None
        try:
            lease = self._read()
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != s.identity:
                return
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {
                    "name": s.name,
                    "namespace": s.namespace,
                    "resourceVersion": lease["metadata"]["resourceVersion"],
                },
                "spec": {
                    **self._spec(acquire_time=None, transitions=int(spec.get("leaseTransitions") or 0)),
                    "holderIdentity": "",
                    "leaseDurationSeconds": 1,
                },
            }
            self._replace(body)
        except Exception as exc:  # the standby then waits the lease out; nothing is lost
            logger.warning("leader lease: release failed (%s)", type(exc).__name__)
