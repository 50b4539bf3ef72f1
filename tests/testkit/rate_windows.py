"""Counting rate-limited events in sliding windows (the shared budget's bound tests)."""

from __future__ import annotations


def max_in_window(stamps: list[float], window: float) -> int:
    """The most of `stamps` (seconds) inside any half-open window of `window` seconds."""
    ordered = sorted(stamps)
    best, left = 0, 0
    for right, stamp in enumerate(ordered):
        while stamp - ordered[left] >= window:
            left += 1
        best = max(best, right - left + 1)
    return best
