"""Status conditions in the Kubernetes style (type, status, reason, message, lastTransitionTime,
observedGeneration).

``lastTransitionTime`` only moves when the condition's status changes, so ``kubectl wait`` and dashboards can
tell how long something has been broken; reason and message may change freely.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from spiris_operator.timestamps import format_time

__all__ = ["Condition", "find", "is_true", "merge"]


@dataclass(frozen=True)
class Condition:
    """A desired condition: ``status`` is "True", "False" or "Unknown"; ``reason`` is CamelCase."""

    type: str
    status: str
    reason: str
    message: str

    @staticmethod
    def true(type_: str, reason: str, message: str) -> Condition:
        return Condition(type_, "True", reason, message)

    @staticmethod
    def false(type_: str, reason: str, message: str) -> Condition:
        return Condition(type_, "False", reason, message)


def find(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> Mapping[str, Any] | None:
    """The condition of ``type_`` in a status' list, or None."""
    for condition in conditions or []:
        if condition.get("type") == type_:
            return condition
    return None


def is_true(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> bool:
    """Whether the condition ``type_`` is present with status "True"."""
    found = find(conditions, type_)
    return found is not None and found.get("status") == "True"


def merge(
    current: Sequence[Mapping[str, Any]] | None,
    desired: Sequence[Condition],
    *,
    generation: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """The new conditions list: ``desired`` applied over ``current``, other types kept as they were."""
    result = [dict(c) for c in current or []]
    for want in desired:
        existing = next((c for c in result if c.get("type") == want.type), None)
        transition = (
            existing["lastTransitionTime"]
            if existing and existing.get("status") == want.status and existing.get("lastTransitionTime")
            else format_time(now)
        )
        entry = {
            "type": want.type,
            "status": want.status,
            "reason": want.reason,
            "message": want.message,
            "lastTransitionTime": transition,
            "observedGeneration": generation,
        }
        if existing is None:
            result.append(entry)
        else:
            existing.clear()
            existing.update(entry)
    return result
