"""Which Spiris fiscal year a run syncs, and how: the year's id and period, its predecessor, the listing mode.

The operator resolves the fiscal year once and names it by its Spiris id (``--fiscal-year-id``); the worker
syncs exactly that id. A person may name a year by the calendar year it starts in (``--fiscal-year 2025``;
of two years starting in one calendar year, the later one). A year Spiris does not have is a configuration
error (exit 2) whose message lists the years that exist. An incremental run without a usable watermark (the
first run of a year) is planned as a full one.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence
from typing import Literal

from spiris_client.models import FiscalYear

from spiris_sync.exit_codes import ConfigurationError

Mode = Literal["incremental", "full"]


@dataclasses.dataclass(frozen=True)
class FiscalYearPlan:
    """The resolved target of one run."""

    fiscal_year: int
    fiscal_year_id: str
    start_date: datetime.date
    end_date: datetime.date
    previous: FiscalYear | None
    is_first: bool

    @property
    def period(self) -> str:
        return f"{self.start_date.isoformat()}..{self.end_date.isoformat()}"


def resolve_fiscal_year(
    years: Sequence[FiscalYear], *, fiscal_year: int | None, fiscal_year_id: str | None = None
) -> FiscalYearPlan:
    """The fiscal year with id ``fiscal_year_id`` when given, else the one starting in calendar year
    ``fiscal_year``; raises ConfigurationError when Spiris has no such year."""
    dated = sorted(
        (y for y in years if y.start_date is not None and y.end_date is not None),
        key=lambda y: y.start_date or datetime.date.min,
    )
    if fiscal_year_id is not None:
        matches = [y for y in dated if y.id.lower() == fiscal_year_id.lower()]
        if not matches:
            available = ", ".join(f"{y.id} ({y.start_date})" for y in dated) or "none"
            raise ConfigurationError(
                f"fiscal year id {fiscal_year_id} does not exist in Spiris for this company "
                f"(fiscal years there: {available})"
            )
    else:
        matches = [y for y in dated if y.start_date is not None and y.start_date.year == fiscal_year]
    if not matches:
        available = ", ".join(str(y.start_date.year) for y in dated if y.start_date is not None) or "none"
        raise ConfigurationError(
            f"fiscal year {fiscal_year} does not exist in Spiris for this company "
            f"(fiscal years there: {available})"
        )
    # Two years starting in one calendar year happen only around a changed fiscal period: take the later one,
    # the one that goes on.
    target = matches[-1]
    index = dated.index(target)
    assert target.start_date is not None and target.end_date is not None
    return FiscalYearPlan(
        fiscal_year=target.start_date.year,
        fiscal_year_id=target.id,
        start_date=target.start_date,
        end_date=target.end_date,
        previous=dated[index - 1] if index > 0 else None,
        is_first=index == 0,
    )


def listing_mode(requested: Mode, *, watermark: datetime.datetime | None) -> Mode:
    """The mode the voucher listing really uses: incremental needs a watermark from an earlier good run."""
    if requested == "incremental" and watermark is None:
        return "full"
    return requested
