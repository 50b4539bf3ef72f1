"""Durations as people write them in our resources: ``7d``, ``36h``, ``1h30m``, ``90s``.

The CRD patterns accept exactly this form (``^([0-9]+(d|h|m|s))+$``); this module turns it into a
:class:`~datetime.timedelta` for the operator's schedules and link lifetimes.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["is_duration", "parse_duration"]

_PART = re.compile(r"([0-9]+)([dhms])")
_WHOLE = re.compile(r"^([0-9]+[dhms])+$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def is_duration(text: str) -> bool:
    """Whether ``text`` is a duration in our notation."""
    return bool(_WHOLE.match(text.strip()))


def parse_duration(text: str) -> timedelta:
    """Parse ``7d``/``1h30m``; raises ValueError for anything else or a zero duration."""
    cleaned = text.strip()
    if not _WHOLE.match(cleaned):
        raise ValueError(f"not a duration: {text!r} (expected e.g. 30m, 6h, 7d)")
    seconds = sum(int(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(cleaned))
    if seconds <= 0:
        raise ValueError(f"a duration must be positive: {text!r}")
    return timedelta(seconds=seconds)
