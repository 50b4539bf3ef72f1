"""How `kubectl spiris --year` names a fiscal year: the calendar year it starts in, or its Spiris id.

A calendar year is what people type; the fiscal-year id (a GUID, `status.fiscalYearId`) is what tells two
years apart when a company changed its fiscal year and two start in one calendar year (the read API answers
409 for the calendar year then, naming both ids). Both pass through to the read API's `{year}` as they are.
"""

from __future__ import annotations

import argparse
import re
import uuid

__all__ = ["YearRef", "parse_year_ref"]

#: A calendar year (int) or a fiscal-year id (the GUID's canonical lower-case text).
YearRef = int | str

_CALENDAR_YEAR = re.compile(r"\d{4}")


def parse_year_ref(text: str) -> YearRef:
    """`2024` -> 2024; a GUID -> its canonical text; anything else is a usage error naming both forms."""
    value = text.strip()
    if _CALENDAR_YEAR.fullmatch(value):
        return int(value)
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a calendar year (e.g. 2024) nor a fiscal-year id "
            "(a GUID such as 3f2b6c1e-0b7a-4c1e-9a51-2d4e8f0c1a77, shown by `kubectl get fys`)"
        ) from None
