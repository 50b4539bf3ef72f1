"""Fault switches for tests: 5xx bursts, slow answers (API and token endpoint), forced 429s and cut-off
downloads.

Counters are "the next N requests"; each `take_*` consumes one. Set per run from `SandboxConfig` and at
runtime through `POST /_sandbox/faults`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class Faults:
    """The current fault switches (all off by default)."""

    server_errors: int = 0
    server_error_code: int = 5000
    server_error_status: int = 500
    slow_ms: int = 0
    #: Delay of every token-endpoint answer (ms), applied before the grant is processed.
    token_slow_ms: int = 0
    force_429: int = 0
    truncate_downloads: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _take(self, name: str) -> bool:
        with self._lock:
            remaining = int(getattr(self, name))
            if remaining <= 0:
                return False
            setattr(self, name, remaining - 1)
            return True

    def take_server_error(self) -> bool:
        return self._take("server_errors")

    def take_forced_429(self) -> bool:
        return self._take("force_429")

    def take_truncated_download(self) -> bool:
        return self._take("truncate_downloads")

    def snapshot(self) -> dict[str, Any]:
        return {item.name: getattr(self, item.name) for item in fields(self) if not item.name.startswith("_")}

    def update(self, changes: dict[str, Any]) -> None:
        with self._lock:
            for name in (
                "server_errors",
                "server_error_code",
                "server_error_status",
                "slow_ms",
                "token_slow_ms",
                "force_429",
                "truncate_downloads",
            ):
                if name in changes:
                    setattr(self, name, int(changes[name]))

    def clear(self) -> None:
        self.update(
            {
                "server_errors": 0,
                "server_error_code": 5000,
                "server_error_status": 500,
                "slow_ms": 0,
                "token_slow_ms": 0,
                "force_429": 0,
                "truncate_downloads": 0,
            }
        )
