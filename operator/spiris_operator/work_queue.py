"""The operator's scheduler: one due time per object, woken by watch events, run by a few concurrent workers.

Replaces per-object polling timers. Each object key has at most one pending due time (the earliest wins) and
is never reconciled twice at once: a wake that arrives while its reconcile runs makes it run once more right
after, so no event is missed. A reconcile returns the object's next due time (None: only events or the safety
resync wake it) or raises, which retries it with capped exponential backoff. Every object still gets a long
safety resync, spread over the period by a per-key fraction so a restart does not make them all due at once.
Plain asyncio with an injectable clock, so it is tested without Kubernetes.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

__all__ = ["GONE", "WorkQueue"]

logger = logging.getLogger(__name__)

Reconcile = Callable[[Hashable], Awaitable[float | None]]
#: What a reconcile returns when its object is gone: no due time at all, not even the safety resync.
GONE = float("inf")
#: Never re-run one object sooner than this after its reconcile, whatever it asks (guards against hot loops).
MIN_GAP = 1.0
#: Retry backoff after a reconcile raised: base, doubling, capped.
ERROR_BASE = 2.0
ERROR_MAX = 300.0


def _spread(key: Hashable) -> float:
    """A stable fraction in [0, 1) for ``key``: where in the resync period its safety resync falls."""
    digest = hashlib.sha256(repr(key).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


@dataclass
class WorkQueue:
    """Due times per key; :meth:`run` reconciles keys as they fall due, ``workers`` at a time."""

    reconcile: Reconcile
    workers: int = 8
    resync: float = 6 * 3600.0
    clock: Callable[[], float] = time.time
    _due: dict[Hashable, float] = field(default_factory=dict)
    _heap: list[tuple[float, int, Hashable]] = field(default_factory=list)
    _seq: int = 0
    _running: set[Hashable] = field(default_factory=set)
    _again: set[Hashable] = field(default_factory=set)
    _failures: dict[Hashable, int] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    reconciles: int = 0

    def wake(self, key: Hashable, delay: float = 0.0) -> None:
        """Reconcile ``key`` after ``delay`` seconds (or sooner if already due sooner)."""
        if key in self._running:
            self._again.add(key)
            return
        self._schedule(key, self.clock() + delay)

    def schedule_at(self, key: Hashable, moment: float) -> None:
        """Reconcile ``key`` at ``moment`` (seconds since the epoch) unless it is due sooner."""
        self._schedule(key, moment)

    def forget(self, key: Hashable) -> None:
        """The object is gone: drop its due time (a reconcile in flight still finishes)."""
        self._due.pop(key, None)
        self._again.discard(key)
        self._failures.pop(key, None)

    def safety_resync(self, key: Hashable, after: float | None = None) -> float:
        """When ``key``'s safety resync falls after ``after`` (default now): half to 1.5 periods, per key."""
        return (self.clock() if after is None else after) + self.resync * (0.5 + _spread(key))

    def due_of(self, key: Hashable) -> float | None:
        return self._due.get(key)

    @property
    def pending(self) -> int:
        return len(self._due)

    @property
    def busy(self) -> int:
        return len(self._running)

    def _schedule(self, key: Hashable, moment: float) -> None:
        current = self._due.get(key)
        if current is not None and current <= moment:
            return
        self._due[key] = moment
        self._seq += 1
        heapq.heappush(self._heap, (moment, self._seq, key))
        self._changed.set()

    def _pop_due(self, now: float) -> Hashable | None:
        while self._heap and self._heap[0][0] <= now:
            moment, _, key = heapq.heappop(self._heap)
            if self._due.get(key) != moment:
                continue  # superseded by an earlier due time, or forgotten
            if key in self._running:
                # Cannot run twice at once: run again when the current pass ends.
                del self._due[key]
                self._again.add(key)
                continue
            del self._due[key]
            return key
        return None

    def _next_wait(self, now: float) -> float | None:
        while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return max(0.0, self._heap[0][0] - now) if self._heap else None

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Dispatch due keys until ``stop`` is set (or the task is cancelled)."""
        stop = stop or asyncio.Event()
        try:
            while not stop.is_set():
                now = self.clock()
                while len(self._running) < self.workers:
                    key = self._pop_due(now)
                    if key is None:
                        break
                    self._start(key)
                self._changed.clear()
                wait = self._next_wait(self.clock())
                if len(self._running) >= self.workers:
                    wait = None  # a finishing worker sets _changed
                waiter = asyncio.ensure_future(self._changed.wait())
                stopper = asyncio.ensure_future(stop.wait())
                try:
                    await asyncio.wait({waiter, stopper}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                    stopper.cancel()
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start(self, key: Hashable) -> None:
        self._running.add(key)
        task = asyncio.create_task(self._one(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _one(self, key: Hashable) -> None:
        started = self.clock()
        next_due: float | None
        try:
            next_due = await self.reconcile(key)
            self._failures.pop(key, None)
        except asyncio.CancelledError:
            raise
        except Exception:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            next_due = started + min(ERROR_MAX, ERROR_BASE * 2 ** (failures - 1))
            logger.exception("reconcile of %s failed (attempt %d); retrying", key, failures)
        finally:
            self._running.discard(key)
            self.reconciles += 1
            self._changed.set()
        now = self.clock()
        if next_due == GONE:
            self._again.discard(key)
            return
        if key in self._again:
            self._again.discard(key)
            self._schedule(key, now)
            return
        safety = self.safety_resync(key, started)
        moment = safety if next_due is None else min(next_due, safety)
        self._schedule(key, max(moment, now + MIN_GAP) if moment <= now else moment)
