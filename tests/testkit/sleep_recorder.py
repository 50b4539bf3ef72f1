"""A stand-in for `time.sleep` that records each wait instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable


class SleepRecorder:
    """Stands in for `time.sleep`: records each wait, optionally runs an action (e.g. advance the clock)."""

    def __init__(self, action: Callable[[float], None] | None = None) -> None:
        self.waits: list[float] = []
        self.action = action

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.action is not None:
            self.action(seconds)
