"""When an object next needs a reconcile that no watch event will announce, computed from its status alone.

The operator is event driven: spec, annotation, token Secret and Job changes arrive as watch events. What
no event announces is the passage of time — an access token nearing expiry, the hourly check at Spiris, a
consent link about to lapse, a scheduled sync, a retry's ``nextAttemptTime``, a sync waiting for a free Job
slot. These functions say when that moment is (None: nothing is due until an event or the long safety
resync). Plain functions of the object, so they are tested without Kubernetes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from spiris_sync.job_contract import ConditionType, Phase, Reason

from spiris_operator import conditions
from spiris_operator.timestamps import parse_time

__all__ = ["connection_due", "earliest", "fiscal_year_sync_due"]

#: A consent link is renewed this long before it expires (connection_reconciler._LINK_RENEW_BEFORE).
LINK_RENEW_BEFORE = timedelta(hours=1)
#: How soon a connection whose refresh or verification failed transiently is tried again.
TRANSIENT_RETRY = timedelta(seconds=30)
#: Past the refresh threshold by this much, so the reconcile that wakes then finds the token due (status
#: timestamps are whole seconds, rounded down).
THRESHOLD_SLACK = timedelta(seconds=5)
#: A sync waiting for a Job slot is woken when a Job finishes; this is the fallback if that event is lost.
QUEUED_RECHECK = timedelta(seconds=60)
#: A running sync is woken by its Job's events; this is the fallback if one is lost (only running syncs,
#: at most the Job cap of them, pay for it).
RUNNING_RECHECK = timedelta(minutes=5)


def earliest(*moments: datetime | None) -> datetime | None:
    """The earliest of the given moments, ignoring None."""
    present = [moment for moment in moments if moment is not None]
    return min(present) if present else None


def connection_due(
    connection: Mapping[str, Any], *, now: datetime, refresh_margin: timedelta, verify_interval: timedelta
) -> datetime | None:
    """The next time a SpirisConnection must be reconciled although nothing about it changed."""
    spec = connection.get("spec") or {}
    status = connection.get("status") or {}
    if spec.get("suspend"):
        return None
    token_health = conditions.find(status.get("conditions"), ConditionType.TOKEN_HEALTHY) or {}
    retry = now + TRANSIENT_RETRY if token_health.get("reason") == Reason.REFRESH_FAILED else None
    phase = status.get("phase")
    if phase == Phase.CONNECTED:
        expires = parse_time(status.get("accessTokenExpiresAt"))
        verified = parse_time(status.get("lastVerifiedTime"))
        threshold = expires - refresh_margin + THRESHOLD_SLACK if expires else now
        if threshold <= now:
            # Just reconciled and still inside the margin (a token living shorter than the margin): refresh
            # again no sooner than a transient retry, not in a loop.
            threshold = now + TRANSIENT_RETRY
        return earliest(
            threshold,
            verified + verify_interval + THRESHOLD_SLACK if verified else now,
            retry,
        )
    if phase in {Phase.PENDING_CONSENT, Phase.RECONSENT_REQUIRED}:
        link_expires = parse_time(status.get("consentExpiresAt"))
        return earliest(link_expires - LINK_RENEW_BEFORE if link_expires else None, retry)
    return retry


def fiscal_year_sync_due(fys: Mapping[str, Any], *, now: datetime) -> datetime | None:
    """The next time a FiscalYearSync must be reconciled although nothing about it changed.

    A running sync is woken by its Job's watch events (a slow recheck is only the fallback); a sync waiting
    for its connection has none: the connection's status change wakes it.
    """
    spec = fys.get("spec") or {}
    status = fys.get("status") or {}
    phase = status.get("phase")
    if phase == Phase.QUEUED:
        return now + QUEUED_RECHECK
    if phase == Phase.RUNNING:
        return now + RUNNING_RECHECK
    if spec.get("suspend"):
        return None
    if phase == Phase.FAILED:
        return parse_time(status.get("nextAttemptTime"))
    if phase in {Phase.SUCCEEDED, Phase.DEGRADED}:
        return parse_time(status.get("nextSyncTime"))
    return None
