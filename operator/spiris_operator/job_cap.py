"""The operator-wide cap on concurrently running sync Jobs.

Every FiscalYearSync asks for a slot before it creates a Job. The count comes from the Jobs that exist (so it
survives restarts), and the check-and-create happens under one lock (so two FiscalYearSyncs deciding at the
same moment cannot both take the last slot).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["JobCap"]


class JobCap:
    """At most ``limit`` running sync Jobs; ``count_running`` tells how many run now."""

    def __init__(self, *, limit: int, count_running: Callable[[], int]) -> None:
        if limit < 1:
            raise ValueError("the Job cap must be at least 1")
        self.limit = limit
        self._count_running = count_running
        self._lock = threading.Lock()

    def running(self) -> int:
        """How many sync Jobs run now."""
        return self._count_running()

    @contextmanager
    def slot(self) -> Iterator[bool]:
        """Hold the cap's lock; yields True when a Job may be created now (create it inside the block)."""
        with self._lock:
            yield self._count_running() < self.limit
