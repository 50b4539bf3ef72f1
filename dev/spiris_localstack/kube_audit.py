"""The API server's audit log read back: who asked for what, and what they were told.

The local control plane can write one JSON line per request (``ControlPlane(audit=True)``). Every component
runs under its own ServiceAccount, so the log attributes each request to the operator, the web or a sync Job:
the tests fail a test in which a component was refused anything (a verb the chart does not grant), and the
benchmarks count a component's requests by its identity. Reading starts at a byte offset, so a reader marks
where a test or a measurement began; a line cut by the mark or still being written is not read.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def service_account_user(namespace: str, name: str) -> str:
    """The username the API server gives a ServiceAccount token."""
    return f"system:serviceaccount:{namespace}:{name}"


@dataclass
class AuditReader:
    """Audit events of ``path`` from ``offset`` on."""

    path: Path
    offset: int = 0

    def mark(self) -> AuditReader:
        """Read only what is logged from now on."""
        self.offset = self.path.stat().st_size if self.path.exists() else 0
        return self

    def events(self, users: set[str] | None = None) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with self.path.open("rb") as log:
            log.seek(max(self.offset - 1, 0))
            if self.offset and log.read(1) != b"\n":
                # The mark fell inside a line the server was writing: that request began before the mark.
                log.readline()
            for line in log:
                if not line.endswith(b"\n"):
                    break  # a line still being written
                event: dict[str, Any] = json.loads(line)
                if users is None or event.get("user", {}).get("username") in users:
                    yield event

    def refused(self, users: set[str]) -> list[str]:
        """``verb resource (code): URI`` of every request of ``users`` the server refused (401/403)."""
        found = []
        for event in self.events(users):
            code = int((event.get("responseStatus") or {}).get("code") or 0)
            if code in (401, 403):
                who, verb, uri = event["user"]["username"], event.get("verb"), event.get("requestURI")
                found.append(f"{who}: {verb} {resource_of(event)} ({code}): {uri}")
        return found

    def counts(self, users: set[str]) -> collections.Counter[str]:
        """``VERB resource`` → how many requests ``users`` made."""
        found: collections.Counter[str] = collections.Counter()
        for event in self.events(users):
            found[f"{str(event.get('verb', '?')).upper()} {resource_of(event)}"] += 1
        return found


def resource_of(event: dict[str, Any]) -> str:
    ref = event.get("objectRef") or {}
    return str(ref.get("resource", "other")) + (f"/{ref['subresource']}" if ref.get("subresource") else "")
