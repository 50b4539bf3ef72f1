"""When a FiscalYearSync runs next: its schedule (interval or cron) with jitter, and retry backoff.

Jitter is deterministic per object (a hash of its namespace/name), so 50 syncs with ``6h`` spread over the
interval instead of all starting at once, and an operator restart does not reshuffle them. Retries back off
exponentially from the number of attempts kept in status, so the backoff survives restarts too.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import cast

from croniter import croniter

from spiris_operator.durations import is_duration, parse_duration

__all__ = ["jitter_fraction", "next_attempt_time", "next_sync_time", "validate_schedule"]


def validate_schedule(schedule: str) -> None:
    """Raise ValueError if ``schedule`` is neither empty, an interval (``6h``) nor a valid cron expression."""
    text = schedule.strip()
    if not text or is_duration(text):
        if text:
            parse_duration(text)
        return
    if not croniter.is_valid(text):
        raise ValueError(f"schedule {schedule!r} is neither an interval like 6h nor a cron expression")


def jitter_fraction(key: str) -> float:
    """A stable number in [0, 1) derived from ``key``."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def next_sync_time(*, schedule: str, after: datetime, key: str, jitter: float) -> datetime | None:
    """The next run after ``after`` (normally the last run's start); None when there is no schedule.

    For an interval the jitter is up to ``jitter`` x interval; for cron it is up to ``jitter`` x the gap
    between two consecutive cron times, so the run stays well before the following one.
    """
    text = schedule.strip()
    if not text:
        return None
    validate_schedule(text)
    spread = jitter_fraction(key) * max(0.0, min(jitter, 0.5))
    if is_duration(text):
        period = parse_duration(text)
        return after + period + period * spread
    itr = croniter(text, after)
    first = cast(datetime, itr.get_next(datetime))
    second = cast(datetime, itr.get_next(datetime))
    return first + (second - first) * spread


def next_attempt_time(*, attempts: int, now: datetime, base: timedelta, ceiling: timedelta) -> datetime:
    """When to retry after ``attempts`` failed attempts in a row: base x 2^(attempts-1), at most
    ``ceiling``."""
    exponent = max(0, attempts - 1)
    delay: timedelta = base * int(2 ** min(exponent, 20))
    return now + min(delay, ceiling)
