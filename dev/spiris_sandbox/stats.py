"""Request statistics for tests and benchmarks: calls and 429s per client and path template, downloads."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class SandboxStats:
    """Thread-safe counters, read through `GET /_sandbox/stats`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str]] = Counter()
        self._throttled: Counter[tuple[str, str]] = Counter()
        self._token_grants: Counter[str] = Counter()
        self._downloads = 0
        self._download_bytes = 0
        self._expired_downloads = 0
        self._downloads_with_authorization = 0

    def request(self, client_id: str, template: str) -> None:
        with self._lock:
            self._requests[(client_id, template)] += 1

    def throttled(self, client_id: str, template: str) -> None:
        with self._lock:
            self._throttled[(client_id, template)] += 1

    def token_grant(self, grant_type: str) -> None:
        with self._lock:
            self._token_grants[grant_type] += 1

    def download(self, size: int) -> None:
        with self._lock:
            self._downloads += 1
            self._download_bytes += size

    def download_with_authorization(self) -> None:
        with self._lock:
            self._downloads_with_authorization += 1

    def expired_download(self) -> None:
        with self._lock:
            self._expired_downloads += 1

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._throttled.clear()
            self._token_grants.clear()
            self._downloads = self._download_bytes = self._expired_downloads = 0
            self._downloads_with_authorization = 0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            keys = sorted(set(self._requests) | set(self._throttled))
            return {
                "requests": [
                    {
                        "client_id": client,
                        "template": template,
                        "count": self._requests[(client, template)],
                        "throttled": self._throttled[(client, template)],
                    }
                    for client, template in keys
                ],
                "requests_total": sum(self._requests.values()),
                "throttled_total": sum(self._throttled.values()),
                "token_grants": dict(self._token_grants),
                "downloads": self._downloads,
                "download_bytes": self._download_bytes,
                "expired_downloads": self._expired_downloads,
                "downloads_with_authorization": self._downloads_with_authorization,
            }
