"""The priority class of one sync run, decided once when the run becomes due, from its trigger and status.

A sync a person asked for (``requested``) is on demand; the first run of a connection's latest fiscal year is
its first sync, the first run of an older year backfill; scheduled runs and retries are scheduled, except the
weekly full pass (the worker turns an incremental run into a full one when the last full pass is older than
``DEFAULT_FULL_PASS_EVERY``, or the spec asks for full runs), which is backfill. A run resumed after its Job
yielded its time slice keeps the class the yielded run had, but never above scheduled: its urgent part is
done. Plain functions, tested without Kubernetes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from spiris_store.budget_priority import Priority
from spiris_sync.job_contract import JobOutcome
from spiris_sync.settings import DEFAULT_FULL_PASS_EVERY

from spiris_operator.timestamps import parse_time

__all__ = ["RESUMED", "is_latest_year", "resumes_after_yield", "run_priority", "status_priority"]

#: The trigger of the run that continues after a Job yielded its time slice.
RESUMED = "resumed"


def is_latest_year(fiscal_year_id: str, fiscal_years: Sequence[Mapping[str, Any]]) -> bool:
    """Whether ``fiscal_year_id`` is the connection's latest fiscal year (the one starting last)."""
    dated = sorted(fiscal_years, key=lambda y: str(y.get("startDate", ""))[:10])
    return bool(dated) and str(dated[-1].get("id")) == fiscal_year_id


def status_priority(status: Mapping[str, Any]) -> Priority | None:
    """The class ``status.priority`` names (None: none recorded, or a word this operator does not know)."""
    try:
        return Priority.parse(str(status.get("priority") or ""))
    except ValueError:
        return None


def _full_pass_due(spec: Mapping[str, Any], status: Mapping[str, Any], now: datetime) -> bool:
    if str(spec.get("mode") or "").lower() == "full":
        return True
    # Unknown (no full pass recorded, e.g. the operator cannot read runs back): the worker decides, and an
    # incremental run is the likelier guess.
    last_full = parse_time(status.get("lastFullSyncTime"))
    return last_full is not None and now - last_full >= DEFAULT_FULL_PASS_EVERY


def run_priority(*, trigger: str, fys: Mapping[str, Any], latest_year: bool, now: datetime) -> Priority:
    """The class of the run ``trigger`` starts for ``fys`` (``latest_year``: it syncs its connection's latest
    fiscal year)."""
    spec = fys.get("spec") or {}
    status = fys.get("status") or {}
    if trigger == "requested":
        return Priority.ON_DEMAND
    if trigger == "initial":
        return Priority.FIRST_SYNC if latest_year else Priority.BACKFILL
    if trigger == RESUMED:
        yielded = status_priority(status) or Priority.SCHEDULED
        return max(yielded, Priority.SCHEDULED)
    return Priority.BACKFILL if _full_pass_due(spec, status, now) else Priority.SCHEDULED


def resumes_after_yield(status: Mapping[str, Any]) -> bool:
    """The last Job stopped at its time slice: the run goes on at once (or queues), with no backoff."""
    return status.get("lastJobOutcome") == JobOutcome.YIELDED and not status.get("activeJob")
