"""The priority classes of the shared Spiris budget, defined once for the operator, the worker and the store.

A run's class decides who gets a Job slot first (the operator) and whose requests the shared token bucket
grants first (the store): a smaller number is served first. The words of :attr:`Priority.env_value` are what
the operator passes to a Job as ``SPIRIS_SYNC_PRIORITY`` and what status shows. Imports nothing.
"""

from __future__ import annotations

import enum

__all__ = ["Priority"]


class Priority(enum.IntEnum):
    """(1) a sync a person asked for, (2) a new connection's latest year, (3) scheduled incremental runs,
    (4) backfill of older years and full passes."""

    ON_DEMAND = 1
    FIRST_SYNC = 2
    SCHEDULED = 3
    BACKFILL = 4

    @property
    def env_value(self) -> str:
        """The word for this class: ``on-demand``, ``first-sync``, ``scheduled`` or ``backfill``."""
        return self.name.lower().replace("_", "-")

    @classmethod
    def parse(cls, text: str) -> Priority:
        """The class named by ``text`` (its word or its member name, any case); ValueError otherwise."""
        wanted = text.strip().lower().replace("_", "-")
        for member in cls:
            if member.env_value == wanted:
                return member
        raise ValueError(f"unknown priority {text!r} (one of: {', '.join(m.env_value for m in cls)})")
