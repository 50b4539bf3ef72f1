"""Fairness arithmetic of the shared budget: Jain's index over per-company progress, and percentiles.

Progress is measured where the scheduler acts: the budget's queue. A company *waits* while at least one of
its requests (any run, any endpoint) is between asking the budget and being granted; its rate in a window is
the grants its requests received there per second of that waiting time. That is the scheduler's treatment
alone: the time a company spends on its own (start-up, parsing and storing a page, a CPU-starved thread)
is neither credited nor held against it, and a small company that leaves early is compared by its rate. A
scheduler that serves companies round robin gives every waiting company the same rate; first come first
served gives each *request* the same wait, so a company with more requests queued at once gets more. Jain's
index J = (Σx)² / (n·Σx²) over those rates is 1 when every waiting company got the same rate and 1/n when
one got everything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def jain_index(values: Sequence[float]) -> float | None:
    """Jain's fairness index of `values` (None for no values; 1.0 when all are zero)."""
    if not values:
        return None
    squares = sum(v * v for v in values)
    if squares == 0:
        return 1.0
    return sum(values) ** 2 / (len(values) * squares)


def percentile(values: Sequence[float], share: float) -> float | None:
    """The `share` (0-1) percentile by the nearest-rank method (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def waiting_rates(
    *, requests: Mapping[str, Sequence[tuple[float, float]]], begin: float, end: float
) -> dict[str, float]:
    """Each company's grants per second of waiting within [begin, end).

    `requests` are each company's (asked, granted) times, one pair a request; a company waits during the union
    of its requests' intervals. Companies that did not wait in the window are left out."""
    rates: dict[str, float] = {}
    for company, spans in requests.items():
        waited, reach = 0.0, begin
        for asked, granted in sorted(spans):
            low, high = max(asked, reach, begin), min(granted, end)
            if high > low:
                waited += high - low
            reach = max(reach, granted)
        if waited > 0:
            taken = sum(1 for _, granted in spans if begin <= granted < end)
            rates[company] = taken / waited
    return rates
