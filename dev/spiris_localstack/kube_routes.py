"""Addressing and errors of the Kubernetes API: resource URLs split into their parts, and `Status` failures.

Resource paths are `/api/v1/...` (the core group) or `/apis/{group}/{version}/...`, optionally under
`namespaces/{ns}/`, then `{plural}[/{name}[/{subresource}]]`. `/api/v1/namespaces/{name}[/status]` addresses
a Namespace itself, not a namespaced resource (kmock's own parser gets this wrong and answers 500).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JsonObj = dict[str, Any]


class ApiError(Exception):
    """An API failure rendered as a `Status` object with the given HTTP code and reason."""

    def __init__(self, code: int, reason: str, message: str, *, details: JsonObj | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    def status(self) -> JsonObj:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "details": self.details, "code": self.code}


@dataclass(frozen=True)
class Route:
    """A resource URL: /api/v1/... or /apis/{group}/{version}/..., split into its parts."""

    group: str
    version: str
    plural: str
    namespace: str | None
    name: str | None
    subresource: str | None


def parse_route(path: str) -> Route | None:
    """Split a resource path; None for discovery and other non-resource paths."""
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace: str | None = None
    namespace_subresource = len(rest) == 3 and rest[2] in ("status", "finalize")
    if rest[0] == "namespaces" and len(rest) >= 3 and not namespace_subresource:
        namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else None
    subresource = "/".join(rest[2:]) or None
    return Route(group, version, plural, namespace, name, subresource)
