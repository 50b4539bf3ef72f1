"""How long to wait before retrying: exponential backoff with full jitter, and Spiris' 429 advice.

5xx answers, timeouts and connection failures are retried after `random(0, min(cap, base * 2**attempt))`
seconds (full jitter, so many workers do not retry in lockstep). A 429 is waited out for the time Spiris
advises: the `Retry-After` header when present, else the "Try again in N seconds" of `DeveloperErrorMessage`,
else backoff.
"""

from __future__ import annotations

import dataclasses
import email.utils
import random
import re
import time

_TRY_AGAIN = re.compile(r"try\s+again\s+in\s+(\d+(?:\.\d+)?)\s*(?:seconds?|secs?|s)\b", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retry loop of one API call.

    `max_retries` bounds retries after 5xx/timeouts/connection errors; `max_rate_limit_waits` bounds how many
    429s one call waits out; `max_rate_limit_wait` caps a single 429 wait (Spiris' windows are a minute).
    """

    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_rate_limit_waits: int = 5
    max_rate_limit_wait: float = 120.0

    def backoff(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """Full-jitter delay before retry number `attempt` (0-based)."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return (rng or random).uniform(0.0, ceiling)


def parse_try_again_seconds(message: str | None) -> float | None:
    """The N of "... Try again in N seconds." (None when absent)."""
    if not message:
        return None
    match = _TRY_AGAIN.search(message)
    return float(match.group(1)) if match else None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """A `Retry-After` header as seconds: delta-seconds or an HTTP date (None when absent or unparsable)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def rate_limit_wait(
    *, retry_after_header: str | None, developer_message: str | None, policy: RetryPolicy, attempt: int
) -> float:
    """Seconds to wait after a 429: the header wins, then the message, then backoff; capped by the policy."""
    advised = parse_retry_after(retry_after_header)
    if advised is None:
        advised = parse_try_again_seconds(developer_message)
    if advised is None:
        advised = policy.backoff(attempt)
    return min(advised, policy.max_rate_limit_wait)
