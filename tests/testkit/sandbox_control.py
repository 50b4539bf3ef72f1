"""Helpers shared by the client tests: the sandbox control API and a recording stand-in for `time.sleep`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

CLIENT_ID = "client-tests"
CLIENT_SECRET = "client-tests-secret-value"
REDIRECT_URI = "https://localhost:44300/callback"
VOUCHERS_PER_YEAR = 10_000


class Control:
    """The sandbox's control API (`/_sandbox/...`)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url + "/_sandbox", timeout=60)

    def get(self, path: str) -> Any:
        response = self.http.get(path)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.post(path, json=body or {})
        response.raise_for_status()
        return response.json()

    def faults(self, **switches: Any) -> Any:
        return self.post("/faults", switches)

    def advance(self, seconds: float) -> Any:
        return self.post("/clock", {"advance_seconds": seconds})

    def tokens(self, company: int = 1, **extra: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.post("/tokens", {"company": company, "client_id": CLIENT_ID, **extra})
        return result

    def stats_count(self, fragment: str) -> int:
        """Requests our client sent to templates containing `fragment`."""
        stats = self.get("/stats")
        return sum(
            r["count"] for r in stats["requests"] if r["client_id"] == CLIENT_ID and fragment in r["template"]
        )

    def reset(self) -> None:
        self.http.delete("/faults").raise_for_status()
        self.post("/ratelimit", {"per_minute": 100_000, "retry_after_header": False, "reset": True})
        self.post("/stats/reset")


class SleepRecorder:
    """Stands in for `time.sleep`: records each wait, optionally runs an action (e.g. advance the clock)."""

    def __init__(self, action: Callable[[float], None] | None = None) -> None:
        self.waits: list[float] = []
        self.action = action

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.action is not None:
            self.action(seconds)
