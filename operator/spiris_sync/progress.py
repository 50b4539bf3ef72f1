"""Progress of one run, and the callback protocol that publishes it.

The run counts vouchers and documents as it goes and hands a :class:`ProgressSnapshot` to every registered
:class:`ProgressListener`: a tqdm bar on a terminal, and (in a Job) the FiscalYearSync status publisher in
``kube_progress``. The snapshot also carries where the run stands in the shared rate budget
(:class:`BudgetStatus`: its priority, its last queue position, how long it has waited), so a run held back by
others is visibly waiting, not stuck. Listeners must never fail the run; :class:`ProgressReporter` shields it
from their errors and, because the documents pass's threads report budget waits, serialises them.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
from collections.abc import Sequence
from typing import Any, Protocol, TextIO

from tqdm import tqdm

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class BudgetStatus:
    """The run in the shared rate budget: the FiscalYearSync ``status.budget``."""

    #: The class the run's requests are granted in now (``Priority.env_value``: "first-sync", ...).
    priority: str
    #: Where its last wait started in the endpoint's queue (1 = next); None before it ever waited.
    queue_position: int | None = None
    #: Seconds this run has waited for the budget so far, over all of its threads.
    wait_seconds: float = 0.0

    def as_status(self) -> dict[str, Any]:
        return {
            "priority": self.priority,
            "queuePosition": self.queue_position,
            "waitSeconds": round(self.wait_seconds, 3),
        }


@dataclasses.dataclass(frozen=True)
class ProgressSnapshot:
    """Where a run stands; totals are best knowledge so far (they grow as pages reveal them)."""

    vouchers_done: int = 0
    vouchers_total: int = 0
    documents_done: int = 0
    documents_total: int = 0
    budget: BudgetStatus | None = None

    @property
    def percent(self) -> int:
        """Whole percent over vouchers and documents together (documents weigh as much as vouchers)."""
        total = self.vouchers_total + self.documents_total
        if total == 0:
            return 0
        done = min(self.vouchers_done, self.vouchers_total) + min(self.documents_done, self.documents_total)
        return min(100, (100 * done) // total)

    def as_status(self) -> dict[str, Any]:
        """The FiscalYearSync ``status.progress`` shape."""
        return {
            "vouchers": {"done": self.vouchers_done, "total": self.vouchers_total},
            "documents": {"done": self.documents_done, "total": self.documents_total},
            "percent": self.percent,
        }


class ProgressListener(Protocol):
    """Receives progress while a run goes; ``finish`` is called exactly once at the end."""

    def update(self, snapshot: ProgressSnapshot) -> None: ...

    def finish(self, snapshot: ProgressSnapshot, *, outcome: str) -> None: ...


class TerminalProgress:
    """Two tqdm bars (vouchers, documents) on stderr."""

    def __init__(self, *, stream: TextIO | None = None) -> None:
        out = stream if stream is not None else sys.stderr
        self._vouchers = tqdm(total=0, desc="vouchers", unit="voucher", file=out, position=0, leave=True)
        self._documents = tqdm(total=0, desc="documents", unit="doc", file=out, position=1, leave=True)

    @staticmethod
    def _move(bar: Any, *, done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    def update(self, snapshot: ProgressSnapshot) -> None:
        self._move(self._vouchers, done=snapshot.vouchers_done, total=snapshot.vouchers_total)
        self._move(self._documents, done=snapshot.documents_done, total=snapshot.documents_total)

    def finish(self, snapshot: ProgressSnapshot, *, outcome: str) -> None:
        self.update(snapshot)
        self._vouchers.close()
        self._documents.close()


class ProgressReporter:
    """Keeps the counters of a run and fans snapshots out to listeners, swallowing their failures."""

    def __init__(self, listeners: Sequence[ProgressListener] = ()) -> None:
        self._listeners = list(listeners)
        self._snapshot = ProgressSnapshot()
        self._lock = threading.RLock()

    @property
    def snapshot(self) -> ProgressSnapshot:
        return self._snapshot

    def set(
        self,
        *,
        vouchers_done: int | None = None,
        vouchers_total: int | None = None,
        documents_done: int | None = None,
        documents_total: int | None = None,
    ) -> None:
        """Replace any of the four counters and notify listeners."""
        with self._lock:
            current = self._snapshot
            self._publish(
                dataclasses.replace(
                    current,
                    vouchers_done=current.vouchers_done if vouchers_done is None else vouchers_done,
                    vouchers_total=current.vouchers_total if vouchers_total is None else vouchers_total,
                    documents_done=current.documents_done if documents_done is None else documents_done,
                    documents_total=current.documents_total if documents_total is None else documents_total,
                )
            )

    def set_budget(self, budget: BudgetStatus) -> None:
        """Replace the budget status (from any thread) and notify listeners."""
        with self._lock:
            self._publish(dataclasses.replace(self._snapshot, budget=budget))

    def _publish(self, snapshot: ProgressSnapshot) -> None:
        self._snapshot = snapshot
        for listener in self._listeners:
            try:
                listener.update(snapshot)
            except Exception:  # a broken progress display must never fail a sync
                logger.warning("progress listener %r failed", listener, exc_info=True)

    def advance(self, *, vouchers: int = 0, documents: int = 0) -> None:
        """Add to the done counters."""
        with self._lock:
            self.set(
                vouchers_done=self._snapshot.vouchers_done + vouchers,
                documents_done=self._snapshot.documents_done + documents,
            )

    def finish(self, *, outcome: str) -> None:
        with self._lock:
            for listener in self._listeners:
                try:
                    listener.finish(self._snapshot, outcome=outcome)
                except Exception:
                    logger.warning("progress listener %r failed at finish", listener, exc_info=True)
