"""The sandbox clock: real UTC time plus an offset that tests advance through `POST /_sandbox/clock`.

Everything time-dependent (token and code expiry, download-link expiry, rate-limit windows, `ServerTimeUtc`,
`ModifiedUtc` of changed data) reads this clock, so a test can jump an hour ahead instead of waiting.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class SandboxClock:
    """Monotonic-enough wall clock with a movable offset (seconds)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        """Seconds since the epoch, shifted by the offset."""
        with self._lock:
            return time.time() + self._offset

    def now(self) -> datetime:
        """The shifted current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward (never backward) and return the new now."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()


def format_utc(moment: datetime) -> str:
    """RFC 3339 with a `Z`, second precision — the shape of `Meta.ServerTimeUtc`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_utc_millis(moment: datetime) -> str:
    """Millisecond precision with `Z`: the sandbox's shape of vouchers' `CreatedUtc`/`ModifiedUtc`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
