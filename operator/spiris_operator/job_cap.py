"""The operator-wide cap on concurrently running sync Jobs, and the priority order of the runs waiting for it.

Every FiscalYearSync asks for a slot before it creates a Job. The count comes from the Jobs that exist (so it
survives restarts), and the check-and-create happens under one lock (so two FiscalYearSyncs deciding at the
same moment cannot both take the last slot). When the cap is full, the run waits in order of (priority,
queued since): a freed slot goes to the best waiting run, and no worse run takes a slot while a better one
waits — whichever reconciles first. On-demand runs may go past the cap by ``headroom`` Jobs, so a "sync now"
never waits behind background runs. The order is kept in memory by the one active leader and rebuilt from
the Queued syncs' status (``priority``, ``queuedSince``) after a start or failover (:meth:`JobCap.remember`);
a waiting run that stops asking (its passes stop coming) drops out after :data:`STALE_AFTER`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from spiris_store.budget_priority import Priority
from spiris_sync.job_contract import Phase

from spiris_operator.run_priority import status_priority
from spiris_operator.timestamps import parse_time

__all__ = ["STALE_AFTER", "JobCap", "QueuedRun", "SlotAnswer"]

#: A waiting run re-asks at least every minute (due_times.QUEUED_RECHECK); three missed rounds mean its
#: sync went away without a pass telling us (a lost delete event), so it no longer holds others back.
STALE_AFTER = timedelta(minutes=3)
SyncKey = tuple[str, str]


@dataclass(frozen=True, order=True)
class QueuedRun:
    """A run waiting for a slot; ordered best first (the key only breaks exact ties, deterministically)."""

    priority: Priority
    queued_since: datetime
    key: SyncKey

    @classmethod
    def from_status(cls, key: SyncKey, status: Mapping[str, Any]) -> QueuedRun | None:
        """The waiting run a FiscalYearSync's status describes (None: not Queued, or it says too little)."""
        priority = status_priority(status)
        since = parse_time(status.get("queuedSince"))
        if status.get("phase") != Phase.QUEUED or priority is None or since is None:
            return None
        return cls(priority=priority, queued_since=since, key=key)


@dataclass(frozen=True)
class SlotAnswer:
    """True when a Job may be created now; otherwise the run's ``position`` among the waiting (1 = next)."""

    allowed: bool
    position: int | None = None

    def __bool__(self) -> bool:
        return self.allowed


class JobCap:
    """At most ``limit`` running sync Jobs (``limit + headroom`` for on-demand runs); ``count_running`` tells
    how many run now."""

    def __init__(
        self,
        *,
        limit: int,
        count_running: Callable[[], int],
        headroom: int = 0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if limit < 1:
            raise ValueError("the Job cap must be at least 1")
        if headroom < 0:
            raise ValueError("the on-demand headroom cannot be negative")
        self.limit = limit
        self.headroom = headroom
        self._count_running = count_running
        self._clock = clock
        self._lock = threading.Lock()
        self._waiting: dict[SyncKey, QueuedRun] = {}
        self._seen: dict[SyncKey, datetime] = {}

    def running(self) -> int:
        """How many sync Jobs run now."""
        return self._count_running()

    @contextmanager
    def slot(self, run: QueuedRun | None = None) -> Iterator[SlotAnswer]:
        """Hold the cap's lock; yields a true answer when ``run`` may create its Job now (create it inside the
        block). A run told to wait is remembered in the order; one let through leaves it. Without ``run``,
        only the cap counts."""
        with self._lock:
            if run is None:
                yield SlotAnswer(self._count_running() < self.limit)
                return
            self._drop_stale()
            ahead = sum(1 for other in self._waiting.values() if other < run and other.key != run.key)
            limit = self.limit + (self.headroom if run.priority == Priority.ON_DEMAND else 0)
            if ahead == 0 and self._count_running() < limit:
                self._leave(run.key)
                yield SlotAnswer(True)
                return
            self._enter(run)
            yield SlotAnswer(False, position=ahead + 1)

    def remember(self, run: QueuedRun) -> None:
        """A run seen waiting in status (the watch's view after a start or failover) joins the order."""
        with self._lock:
            self._enter(run)

    def withdraw(self, key: SyncKey) -> None:
        """The sync no longer waits (it started, was suspended, is gone, ...)."""
        with self._lock:
            self._leave(key)

    def next_in_line(self, count: int) -> list[SyncKey]:
        """The ``count`` best waiting syncs: the ones to wake when a slot frees up."""
        with self._lock:
            self._drop_stale()
            return [run.key for run in sorted(self._waiting.values())[:count]]

    def waiting(self) -> list[QueuedRun]:
        """Every waiting run, best first."""
        with self._lock:
            return sorted(self._waiting.values())

    def _enter(self, run: QueuedRun) -> None:
        self._waiting[run.key] = run
        self._seen[run.key] = self._clock()

    def _leave(self, key: SyncKey) -> None:
        self._waiting.pop(key, None)
        self._seen.pop(key, None)

    def _drop_stale(self) -> None:
        oldest = self._clock() - STALE_AFTER
        for key in [key for key, seen in self._seen.items() if seen < oldest]:
            self._leave(key)
