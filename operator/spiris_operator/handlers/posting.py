"""Writing a reconcile result back: the status patch (through the API) and its Events (through Kopf)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, cast

import kopf

from spiris_operator.events import EventNote
from spiris_operator.runtime import Runtime

__all__ = ["apply_result"]


async def apply_result(
    runtime: Runtime,
    *,
    plural: str,
    body: Mapping[str, Any],
    status: Mapping[str, Any],
    events: Sequence[EventNote],
) -> None:
    metadata = body["metadata"]
    current = body.get("status") or {}
    # Only what changed: an idle tick writes nothing, so resourceVersions and watchers stay quiet.
    changed = {key: value for key, value in status.items() if current.get(key) != value}
    if changed:
        await asyncio.to_thread(
            runtime.kube.patch_status, plural, str(metadata["namespace"]), str(metadata["name"]), changed
        )
    for note in _worth_posting(current, status, events):
        kopf.event(cast(kopf.Body, body), type=note.type, reason=note.reason, message=note.message)


def _worth_posting(
    current: Mapping[str, Any], status: Mapping[str, Any], events: Sequence[EventNote]
) -> list[EventNote]:
    """The Events to post. A new object's first status (no phase yet) posts its phase Event and what the
    reconcile did (a consent link issued, a Job created), but not one Warning per condition that starts out
    False (Ready, Authorized, TokenHealthy of a connection nobody consented to yet): those say nothing the
    phase Event and ``kubectl describe``'s conditions do not, and at a cold start of thousands of objects
    they were half of all the operator's requests."""
    if current.get("phase"):
        return list(events)
    first = {str(c.get("reason")) for c in status.get("conditions") or [] if isinstance(c, Mapping)}
    return [n for n in events if n.reason.startswith("Phase") or n.reason not in first]
