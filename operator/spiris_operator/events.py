"""Kubernetes Events for status transitions: one Event per phase change and per condition status change.

The reconcilers compute the new status; :func:`transition_events` compares it with the old one so that every
transition is visible in ``kubectl describe`` without the handlers having to remember to post anything. Event
messages are built from condition messages, which never carry tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spiris_sync.job_contract import Phase

from spiris_operator import conditions

__all__ = ["EventNote", "transition_events"]

_WARNING_PHASES = {Phase.RECONSENT_REQUIRED, Phase.FAILED, Phase.DEGRADED}


@dataclass(frozen=True)
class EventNote:
    """An Event to post on the object: ``type`` is Normal or Warning; ``reason`` CamelCase."""

    type: str
    reason: str
    message: str


def transition_events(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[EventNote]:
    """Events for what changed between two statuses (fields absent from ``new`` count as unchanged)."""
    notes: list[EventNote] = []
    old_phase, new_phase = old.get("phase"), new.get("phase")
    if new_phase and new_phase != old_phase:
        kind = "Warning" if new_phase in _WARNING_PHASES else "Normal"
        notes.append(EventNote(kind, f"Phase{new_phase}", f"phase {old_phase or '(none)'} → {new_phase}"))
    for condition in new.get("conditions") or []:
        before = conditions.find(old.get("conditions"), condition["type"])
        if before is not None and before.get("status") == condition.get("status"):
            continue
        kind = "Normal" if condition.get("status") == "True" else "Warning"
        if before is None and condition.get("status") == "Unknown":
            continue
        notes.append(
            EventNote(
                kind,
                str(condition.get("reason") or condition["type"]),
                f"{condition['type']}={condition['status']}: {condition.get('message', '')}",
            )
        )
    return notes
