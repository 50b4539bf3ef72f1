"""RFC 3339 timestamps as Kubernetes writes them (UTC, second precision, ``Z``), and back."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_time", "parse_time"]


def format_time(moment: datetime) -> str:
    """``2026-03-01T12:00:00Z`` for an aware datetime."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    """Parse a timestamp written by :func:`format_time` (or any ISO 8601 form); None for empty input."""
    if not text:
        return None
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
