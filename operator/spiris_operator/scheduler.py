"""From watch events to reconciles: which object to wake for an event, and each object's next due time.

The glue between Kopf's event handlers and :class:`~spiris_operator.work_queue.WorkQueue`. It remembers, per
object, the fingerprint of its inputs (:mod:`event_triggers`) so that echoes of our own status writes and the
workers' progress patches wake nothing; which FiscalYearSyncs belong to which connection, so a connection
turning Ready wakes its syncs; and which syncs wait for a Job slot, so a finished Job wakes them. After each
reconcile the object's due time comes from :mod:`due_times`. The reconcile passes themselves are injected
(the handlers' ``reconcile_now``), so this runs in tests without Kubernetes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from spiris_sync.job_contract import ConditionType, Phase

from spiris_operator import conditions, due_times, event_triggers, first_sight
from spiris_operator.work_queue import GONE, WorkQueue

__all__ = ["CONNECTION", "SYNC", "Scheduler"]

CONNECTION = "spc"
SYNC = "fys"
ReconcilePass = Callable[[str, str], Awaitable[dict[str, Any] | None]]


def _ids(body: Mapping[str, Any]) -> tuple[str, str]:
    metadata = body.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


@dataclass
class Scheduler:
    """Event routing and due times over one work queue."""

    reconcile_connection: ReconcilePass
    reconcile_sync: ReconcilePass
    refresh_margin: timedelta
    verify_interval: timedelta = timedelta(hours=1)
    workers: int = 8
    resync: float = 6 * 3600.0
    clock: Callable[[], float] = field(default=lambda: datetime.now(UTC).timestamp())
    #: Sees every FiscalYearSync the watch delivers (event kind, body, first sight), e.g. the workers' own
    #: status patches, which wake no reconcile.
    observe_sync: Callable[[str | None, Mapping[str, Any], bool], None] | None = None
    #: The ``n`` syncs first in line for a Job slot (None: a freed slot wakes every queued sync).
    next_queued: Callable[[int], list[tuple[str, str]]] | None = None
    queue: WorkQueue = field(init=False)
    _inputs: dict[Hashable, str] = field(default_factory=dict)
    _children_view: dict[Hashable, str] = field(default_factory=dict)
    _syncs_of: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    _connection_of: dict[tuple[str, str], str] = field(default_factory=dict)
    _jobs: dict[tuple[str, str], str] = field(default_factory=dict)
    _queued: set[tuple[str, str]] = field(default_factory=set)
    _connections: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    _secrets: dict[tuple[str, str], str] = field(default_factory=dict)
    _waiting: set[tuple[str, str]] = field(default_factory=set)
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.queue = WorkQueue(self._reconcile, workers=self.workers, resync=self.resync, clock=self.clock)

    def start(self) -> None:
        """Run the queue, once. Called from inside Kopf's event handlers rather than at startup: a task copies
        its creator's context, and Kopf's Event posting (``kopf.event``) needs its handlers' context."""
        if self._task is None:
            self._task = asyncio.create_task(self.queue.run(), name="spiris-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # events ---------------------------------------------------------------------------------------------
    def connection_event(self, kind: str | None, body: Mapping[str, Any]) -> None:
        self.start()
        namespace, name = _ids(body)
        key = (CONNECTION, namespace, name)
        if kind == "DELETED":
            self._inputs.pop(key, None)
            self._children_view.pop(key, None)
            self._connections.pop((namespace, name), None)
            self.queue.forget(key)
            self._wake_syncs_of(namespace, name)
            return
        self._connections[(namespace, name)] = body
        fingerprint = event_triggers.connection_input(body)
        first = key not in self._inputs
        if self._inputs.get(key) != fingerprint:
            self._inputs[key] = fingerprint
            if first and self._connection_settled(body):
                self._schedule_due(key, body)
            else:
                self.queue.wake(key)
        view = event_triggers.connection_output_for_children(body)
        if self._children_view.get(key) != view:
            first_view = key not in self._children_view
            self._children_view[key] = view
            if not first_view:
                self._wake_syncs_of(namespace, name)
            elif self._ready(body):
                # Syncs listed before their connection, settled as "waiting for it": it is Ready now.
                self._wake_syncs_of(namespace, name, only_waiting=True)

    def _connection_settled(self, body: Mapping[str, Any]) -> bool:
        namespace, name = _ids(body)
        if not first_sight.connection_settled(body):
            return False
        version = self._secrets.get((namespace, name))
        # A Secret not seen yet is checked when its own first sight arrives.
        return version is None or first_sight.token_matches(body, version)

    def secret_event(self, kind: str | None, namespace: str, connection: str, version: str) -> None:
        """A token Secret changed; on its first sight only if the connection's status does not describe it."""
        self.start()
        if kind == "DELETED":
            self._secrets.pop((namespace, connection), None)
            self.queue.wake((CONNECTION, namespace, connection))
            return
        self._secrets[(namespace, connection)] = version
        known = self._connections.get((namespace, connection))
        if kind is not None or (known is not None and not first_sight.token_matches(known, version)):
            self.queue.wake((CONNECTION, namespace, connection))

    def connection_body(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The latest body of a connection the watch delivered (None: not seen, or deleted)."""
        return self._connections.get((namespace, name))

    def wake_connection(self, namespace: str, name: str) -> None:
        self.start()
        self.queue.wake((CONNECTION, namespace, name))

    @staticmethod
    def _ready(body: Mapping[str, Any]) -> bool:
        return conditions.is_true((body.get("status") or {}).get("conditions"), ConditionType.READY)

    def _schedule_due(self, key: tuple[str, str, str], body: Mapping[str, Any]) -> None:
        """A settled object on first sight: run it when due, or at its safety resync."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        if key[0] == CONNECTION:
            due = due_times.connection_due(
                body, now=now, refresh_margin=self.refresh_margin, verify_interval=self.verify_interval
            )
        else:
            due = due_times.fiscal_year_sync_due(body, now=now)
        self.queue.schedule_at(key, due.timestamp() if due is not None else self.queue.safety_resync(key))

    def fiscal_year_sync_event(self, kind: str | None, body: Mapping[str, Any]) -> None:
        self.start()
        namespace, name = _ids(body)
        key = (SYNC, namespace, name)
        if self.observe_sync is not None:
            self.observe_sync(kind, body, key not in self._inputs)
        if kind == "DELETED":
            self._inputs.pop(key, None)
            self.queue.forget(key)
            self._queued.discard((namespace, name))
            self._waiting.discard((namespace, name))
            self._unindex(namespace, name)
            return
        if first_sight.sync_waits_for_connection(body):
            self._waiting.add((namespace, name))
        else:
            self._waiting.discard((namespace, name))
        connection = str(((body.get("spec") or {}).get("connectionRef") or {}).get("name") or "")
        if self._connection_of.get((namespace, name)) != connection:
            self._unindex(namespace, name)
            self._connection_of[(namespace, name)] = connection
            self._syncs_of.setdefault((namespace, connection), set()).add(name)
        fingerprint = event_triggers.fiscal_year_sync_input(body)
        first = key not in self._inputs
        if self._inputs.get(key) != fingerprint:
            self._inputs[key] = fingerprint
            if first and self._sync_settled(body, namespace, connection):
                self._schedule_due(key, body)
            else:
                self.queue.wake(key)

    def _sync_settled(self, body: Mapping[str, Any], namespace: str, connection: str) -> bool:
        if not first_sight.sync_settled(body):
            return False
        if not first_sight.sync_waits_for_connection(body):
            return True
        known = self._connections.get((namespace, connection))
        # Waiting for a connection not seen yet: that connection's first sight wakes it if it is Ready.
        return known is None or not self._ready(known)

    def job_event(self, kind: str | None, body: Mapping[str, Any]) -> None:
        self.start()
        namespace, job_name = _ids(body)
        owner = event_triggers.job_owner(body)
        if owner is None:
            return
        progress = "gone" if kind == "DELETED" else event_triggers.job_progress(body)
        previous = self._jobs.get((namespace, job_name))
        if kind == "DELETED":
            self._jobs.pop((namespace, job_name), None)
        else:
            self._jobs[(namespace, job_name)] = progress
        if previous == progress:
            return
        self.queue.wake((SYNC, namespace, owner))
        if kind == "DELETED" or '"Finished"' in progress:
            # A Job slot may have freed up: the syncs first in line try again (one spare, in case the first
            # no longer wants it); the rest would only be told to wait again.
            self._wake_next_in_line(2)

    def _wake_next_in_line(self, count: int) -> None:
        waiting = sorted(self._queued) if self.next_queued is None else self.next_queued(count)
        for namespace, name in waiting:
            self.queue.wake((SYNC, namespace, name))

    def _wake_syncs_of(self, namespace: str, connection: str, *, only_waiting: bool = False) -> None:
        for name in sorted(self._syncs_of.get((namespace, connection), ())):
            if not only_waiting or (namespace, name) in self._waiting:
                self.queue.wake((SYNC, namespace, name))

    def _unindex(self, namespace: str, name: str) -> None:
        old = self._connection_of.pop((namespace, name), None)
        if old is not None:
            self._syncs_of.get((namespace, old), set()).discard(name)

    # reconciles -----------------------------------------------------------------------------------------
    async def _reconcile(self, key: Hashable) -> float | None:
        kind, namespace, name = (str(part) for part in key)  # type: ignore[attr-defined]
        now = datetime.fromtimestamp(self.clock(), UTC)
        if kind == CONNECTION:
            connection = await self.reconcile_connection(namespace, name)
            if connection is None:
                return GONE
            due = due_times.connection_due(
                connection, now=now, refresh_margin=self.refresh_margin, verify_interval=self.verify_interval
            )
        else:
            fys = await self.reconcile_sync(namespace, name)
            if fys is None:
                self._queued.discard((namespace, name))
                return GONE
            status = fys.get("status") or {}
            left_queue = (namespace, name) in self._queued and status.get("phase") == Phase.RUNNING
            if left_queue and self.next_queued is not None:
                # It took a slot: maybe more are free (several Jobs finished at once), so the next one asks.
                self._wake_next_in_line(1)
            if first_sight.sync_waits_for_connection(fys):
                self._waiting.add((namespace, name))
            else:
                self._waiting.discard((namespace, name))
            if status.get("phase") == Phase.QUEUED:
                self._queued.add((namespace, name))
            else:
                self._queued.discard((namespace, name))
            due = due_times.fiscal_year_sync_due(fys, now=now)
            job = self._jobs.get((namespace, str(status.get("activeJob") or "")))
            if status.get("phase") == Phase.RUNNING and job is not None and '"Finished"' in job:
                # It follows a Job that had already finished when it found it (e.g. one it re-found after a
                # crash): no event will come for that Job any more, so look again at once.
                due = now
        return due.timestamp() if due is not None else None
