"""API-call arithmetic: requests per endpoint template from the sandbox's stats, and the rate-limit floor.

Spiris limits requests per (OAuth client, endpoint), so the shortest possible time for a set of calls is set
by its busiest endpoint: floor = max over templates t of calls_t / (limit per second). Endpoints run in
parallel as far as the limit is concerned, so the floor is a maximum, not a sum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MAX_PAGE_SIZE = 1000


def calls_by_template(stats: Mapping[str, Any], *, client_id: str) -> dict[str, int]:
    """Requests the sandbox counted for `client_id`, by endpoint template (throttled ones included)."""
    calls: dict[str, int] = {}
    for entry in stats.get("requests", []):
        if entry.get("client_id") == client_id:
            calls[entry["template"]] = calls.get(entry["template"], 0) + int(entry["count"])
    return dict(sorted(calls.items()))


def throttled(stats: Mapping[str, Any], *, client_id: str) -> int:
    entries = stats.get("requests", [])
    return sum(int(e.get("throttled", 0)) for e in entries if e.get("client_id") == client_id)


def floor_seconds(calls: Mapping[str, int], *, per_minute: int) -> float:
    """The rate-limit floor: the busiest endpoint's calls at the limit."""
    return max(calls.values(), default=0) / (per_minute / 60.0)


def pages(items: int) -> int:
    """List pages needed at the maximum page size (an empty list still costs one call)."""
    return max(1, math.ceil(items / MAX_PAGE_SIZE))


def necessary_calls(*, accounts: int, vouchers: int, documents: int) -> dict[str, int]:
    """The minimum a full sync of one fiscal year must spend, by what it is for.

    Counted as necessary: one fiscal-years call (to resolve the year's id), the accounts pages and the voucher
    pages at the maximum page size, and one call per document (an attachment's metadata, which carries the
    download link, or a customer invoice's print). Downloads from the storage host are not API calls.
    """
    return {
        "fiscal_years": 1,
        "account_pages": pages(accounts),
        "voucher_pages": pages(vouchers),
        "documents": documents,
    }
