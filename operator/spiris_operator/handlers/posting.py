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
    for note in events:
        kopf.event(cast(kopf.Body, body), type=note.type, reason=note.reason, message=note.message)
