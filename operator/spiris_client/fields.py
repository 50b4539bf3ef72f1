"""Reading Spiris JSON objects case-insensitively into Python types.

Spiris sends PascalCase, an earlier published spec used camelCase; `Fields` looks keys up without regard to
case. Amounts become `Decimal` (the JSON is parsed with `parse_float=Decimal`; a stray float is converted
through its shortest repr, never its binary value), business dates become `date` (the calendar date as
written, no time-zone shift), `*Utc` stamps become aware UTC datetimes whether or not they end in `Z`, and
.NET's 7-digit fractions are accepted. Ids go through `guid`: the empty GUID
(`00000000-0000-0000-0000-000000000000`), which Spiris sends where a non-nullable id has no value (an unbooked
invoice's `VoucherId`), becomes None like a missing id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

_FRACTION = re.compile(r"(\.\d{6})\d+")
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"


def to_guid(value: Any) -> str | None:
    """An id as Spiris sent it, or None for a missing, blank or empty (all-zero) GUID."""
    if value is None:
        return None
    text = value if isinstance(value, str) else format(value)
    text = text.strip()
    if not text or text.strip("{}").replace("-", "").strip("0") == "":
        return None
    return text


def loads(content: bytes | str) -> Any:
    """Parse Spiris JSON with every non-integer number as an exact `Decimal`."""
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    return json.loads(text, parse_float=Decimal)


def to_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def to_date(value: Any) -> date | None:
    """The calendar date of `2024-01-31` or `2024-01-31T00:00:00[...]`, exactly as written."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def to_local_datetime(value: Any) -> datetime | None:
    """A date-time as written (naive unless it carries an offset); no conversion."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(_FRACTION.sub(r"\1", value))
    except ValueError:
        return None


def to_utc(value: Any) -> datetime | None:
    """An aware UTC datetime from a `*Utc` field, with or without `Z` or an offset."""
    parsed = to_local_datetime(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class Fields:
    """Case-insensitive, type-converting view of one JSON object."""

    __slots__ = ("_values",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._values = {str(k).lower(): v for k, v in raw.items()}

    def get(self, name: str) -> Any:
        return self._values.get(name.lower())

    def has(self, name: str) -> bool:
        return name.lower() in self._values

    def text(self, name: str) -> str | None:
        value = self.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else format(value)

    def req_text(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise ValueError(f"Spiris object lacks {name}")
        return value

    def integer(self, name: str) -> int | None:
        value = self.get(name)
        if value is None or isinstance(value, bool):
            return None
        try:
            return int(value)
        except (TypeError, ValueError, ArithmeticError):
            return None

    def flag(self, name: str) -> bool | None:
        value = self.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return None

    def amount(self, name: str) -> Decimal | None:
        return to_decimal(self.get(name))

    def amount_or_zero(self, name: str) -> Decimal:
        value = self.amount(name)
        return Decimal(0) if value is None else value

    def day(self, name: str) -> date | None:
        return to_date(self.get(name))

    def local_time(self, name: str) -> datetime | None:
        return to_local_datetime(self.get(name))

    def utc(self, name: str) -> datetime | None:
        return to_utc(self.get(name))

    def array(self, name: str) -> list[Any]:
        value = self.get(name)
        return list(value) if isinstance(value, list) else []

    def guid(self, name: str) -> str | None:
        """An id field; the empty GUID means "none" (see `to_guid`)."""
        return to_guid(self.get(name))

    def guid_tuple(self, name: str) -> tuple[str, ...]:
        """An array of ids, without empty GUIDs."""
        return tuple(g for g in (to_guid(v) for v in self.array(name)) if g is not None)

    def text_tuple(self, name: str) -> tuple[str, ...]:
        return tuple(format(v) for v in self.array(name) if v is not None)

    def child(self, name: str) -> Fields | None:
        value = self.get(name)
        return Fields(value) if isinstance(value, Mapping) else None

    def mappings(self, name: str) -> list[Mapping[str, Any]]:
        """The JSON objects of an array field, in order."""
        return [v for v in self.array(name) if isinstance(v, Mapping)]
