"""Fairness arithmetic of the shared budget: Jain's index over per-company progress, and percentiles.

Progress is measured where the scheduler acts: the budget's grants. A company is *backlogged* from the start
of its latest year's sync until that year's ledger is stored (it wants grants all along), and its progress in
a window is the grants its runs received while it was backlogged there (on any endpoint, all of its runs
together) per second of that backlogged time. A rate, not a count: a small company whose ledger is done
after ten seconds is compared by its rate, not penalised for leaving. Jain's index J = (Σx)² / (n·Σx²) over
those rates is 1 when every backlogged company got the same rate and 1/n when one got everything.
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


def backlogged_rates(
    *,
    grants: Mapping[str, Sequence[float]],
    started: Mapping[str, float],
    ledger_done: Mapping[str, float],
    begin: float,
    end: float,
) -> dict[str, float]:
    """Each company's grants per second while it was backlogged within [begin, end).

    `grants` are each company's grant times, `started` when its latest year's run started, `ledger_done` when
    that run's ledger was stored (absent: not within the measurement)."""
    rates: dict[str, float] = {}
    for company, start in started.items():
        low, high = max(begin, start), min(end, ledger_done.get(company, math.inf))
        if high - low > 0:
            taken = sum(1 for t in grants.get(company, ()) if low <= t < high)
            rates[company] = taken / (high - low)
    return rates
