"""A sliding one-minute window per (client id, path template), like Spiris' 600 requests/minute per endpoint.

Rejected requests do not count, so normal answers resume as soon as the window drops below the limit; the wait
reported in the 429 message is the time until the oldest counted request leaves the window.
"""

from __future__ import annotations

import math
import threading
from collections import deque

from spiris_sandbox.clock import SandboxClock

WINDOW_SECONDS = 60.0


class RateLimiter:
    """Counts requests per key in a sliding window read from the sandbox clock."""

    def __init__(self, *, per_minute: int, clock: SandboxClock) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, *, client_id: str, template: str) -> int | None:
        """Record the request and return None, or return the seconds to wait when over the limit."""
        now = self._clock.time()
        with self._lock:
            window = self._windows.setdefault((client_id, template), deque())
            while window and window[0] <= now - WINDOW_SECONDS:
                window.popleft()
            if len(window) >= self.per_minute:
                return max(1, math.ceil(window[0] + WINDOW_SECONDS - now))
            window.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
