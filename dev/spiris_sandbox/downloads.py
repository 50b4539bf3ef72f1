"""Temporary anonymous download links (`/temp/fileanonymous/{guid}`), like Spiris' storage host.

Each metadata GET that shows a `TemporaryUrl` creates a fresh link that expires after the configured TTL (the
sandbox clock decides); a test can also expire every link at once. A link names a company and a document key,
so the bytes are rendered only when the link is fetched.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class DownloadLink:
    company: int
    document_key: str
    content_type: str
    file_name: str
    expires_at: float


class DownloadLinks:
    """The registry of live links."""

    def __init__(self, *, ttl_seconds: int) -> None:
        self.ttl_seconds = ttl_seconds
        self._links: dict[str, DownloadLink] = {}
        self._lock = threading.Lock()

    def create(
        self, *, company: int, document_key: str, content_type: str, file_name: str, now: float
    ) -> str:
        link_id = str(uuid.uuid4())
        with self._lock:
            self._links[link_id] = DownloadLink(
                company=company,
                document_key=document_key,
                content_type=content_type,
                file_name=file_name,
                expires_at=now + self.ttl_seconds,
            )
        return link_id

    def get(self, link_id: str) -> DownloadLink | None:
        with self._lock:
            return self._links.get(link_id.lower())

    def expire_all(self, *, now: float) -> int:
        """Make every existing link dead now; returns how many there were."""
        with self._lock:
            for link_id, link in self._links.items():
                self._links[link_id] = DownloadLink(
                    company=link.company,
                    document_key=link.document_key,
                    content_type=link.content_type,
                    file_name=link.file_name,
                    expires_at=min(link.expires_at, now),
                )
            return len(self._links)


def temporary_url(base_url: str, link_id: str, *, storage_host: str | None = None) -> str:
    """The link's URL on this server; `storage_host` swaps the host name (same port) so the storage looks like
    another host, as in production (clients must not send the bearer token there)."""
    parts = urlsplit(base_url)
    netloc = parts.netloc
    if storage_host:
        netloc = storage_host + (f":{parts.port}" if parts.port else "")
    return f"{parts.scheme}://{netloc}/temp/fileanonymous/{link_id}"
