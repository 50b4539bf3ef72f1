"""One sync run per company and fiscal year at a time: a PostgreSQL session advisory lock.

Two FiscalYearSyncs can name the same year of the same company (or one Job can outlive its deadline while the
next starts). Both would write the same checkpoint rows, and the later ``start_run`` would mark the live
earlier run "abandoned". The lock is taken on a connection of its own before the run record is opened and
held until the run ends; a crashed worker's session ends with its process, so the lock never outlives a dead
run. The key is derived from the company and the Spiris fiscal-year id (the operator's Jobs always name it);
a run started by hand with only a calendar year is keyed by that year. While the lock is held, any other
``running`` row of that fiscal year really is abandoned.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from spiris_store.connection import connect

__all__ = ["RunLockHeld", "lock_key", "run_lock"]


class RunLockHeld(Exception):
    """Another live run of the same company and fiscal year holds the lock."""


def lock_key(company_key: str, fiscal_year: int | uuid.UUID) -> int:
    """A stable signed 64-bit advisory-lock key for a company's fiscal year (its id, or a calendar year)."""
    digest = hashlib.sha256(f"spiris-sync-run:{company_key}:{fiscal_year}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def run_lock(
    dsn: str,
    *,
    company_key: str,
    fiscal_year: int,
    fiscal_year_id: uuid.UUID | None = None,
    wait_seconds: float,
    poll_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Hold the run lock for the block, waiting up to ``wait_seconds`` for a live run to finish; raises
    :class:`RunLockHeld` when it does not (``connect`` raises ``StorageUnavailable`` for Postgres)."""
    key = lock_key(company_key, fiscal_year_id if fiscal_year_id is not None else fiscal_year)
    conn = connect(dsn, autocommit=True)
    try:
        deadline = clock() + wait_seconds
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row is not None and row[0]:
                break
            if clock() >= deadline:
                year = fiscal_year_id or fiscal_year
                raise RunLockHeld(
                    f"another sync of company {company_key}, fiscal year {year} is still running"
                )
            sleep(poll_seconds)
        yield
    finally:
        # Closing the session releases the lock even if the unlock cannot be sent.
        with contextlib.suppress(Exception):
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        conn.close()
