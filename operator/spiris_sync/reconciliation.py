"""Reconciliation: do the synced rows add up to what Spiris says, and does every voucher balance?

Spiris ``/accountbalances/{date}`` gives each account's balance *at* a date within the fiscal year holding
that date: a balance sheet account (< 3000) carries its opening balance, a result account (>= 3000) starts
every year at zero. Our ledger holds only the year's vouchers, so we compare **the movement within the fiscal
year**, exactly, in Decimals:

    synced(account) = Σ debit - Σ credit of the rows of live vouchers dated up to the end date (or today)
    spiris(account) = accountbalances(end date or today) - opening(account)

opening(account) is 0 for result accounts; for balance sheet accounts it is the previous fiscal year's closing
balance (``accountbalances`` at its end date) with that year's result (the sum of its result accounts) carried
to 2098 "Vinst eller förlust från föregående år", and in the company's first fiscal year it is
``/fiscalyears/openingbalances``. Accounts on one side only count with zero on the other; every voucher must
balance on its own (Σ debit = Σ credit). The report is stored on the run record and printed in the summary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

ZERO = Decimal("0")


@dataclasses.dataclass(frozen=True)
class AccountDifference:
    """An account whose synced movement differs from Spiris's."""

    account_number: int
    synced: Decimal
    spiris: Decimal

    @property
    def difference(self) -> Decimal:
        return self.synced - self.spiris


@dataclasses.dataclass(frozen=True)
class UnbalancedVoucher:
    """A voucher whose debits and credits differ."""

    voucher_id: str
    number: str | None
    debit: Decimal
    credit: Decimal


@dataclasses.dataclass(frozen=True)
class ReconciliationReport:
    """The outcome of reconciling one fiscal year; ``balanced`` only when nothing differs."""

    rule: str
    accounts_compared: int
    differences: tuple[AccountDifference, ...]
    unbalanced_vouchers: tuple[UnbalancedVoucher, ...]
    vouchers_checked: int
    error: str | None = None
    opening: Mapping[int, Decimal] = dataclasses.field(default_factory=dict)
    """The opening balance per balance sheet account used by the rule; stored on the run record so the read
    side's SIE 4 export can write `#IB`/`#UB` from the copy alone."""

    @property
    def balanced(self) -> bool:
        return self.error is None and not self.differences and not self.unbalanced_vouchers

    def as_json(self) -> dict[str, Any]:
        """JSON-safe form (Decimals as strings, so nothing is rounded through floats)."""
        return {
            "balanced": self.balanced,
            "rule": self.rule,
            "accountsCompared": self.accounts_compared,
            "vouchersChecked": self.vouchers_checked,
            "differences": [
                {
                    "account": d.account_number,
                    "synced": str(d.synced),
                    "spiris": str(d.spiris),
                    "difference": str(d.difference),
                }
                for d in self.differences
            ],
            "unbalancedVouchers": [
                {"id": v.voucher_id, "number": v.number, "debit": str(v.debit), "credit": str(v.credit)}
                for v in self.unbalanced_vouchers
            ],
            "error": self.error,
            "openingBalances": {str(a): str(v) for a, v in sorted(self.opening.items())},
        }


def spiris_movements(*, closing: Mapping[int, Decimal], opening: Mapping[int, Decimal]) -> dict[int, Decimal]:
    """Movement within the year per account from Spiris's cumulative balances."""
    accounts = set(closing) | set(opening)
    return {a: closing.get(a, ZERO) - opening.get(a, ZERO) for a in accounts}


def compare_movements(
    *, synced: Mapping[int, Decimal], spiris: Mapping[int, Decimal]
) -> tuple[int, tuple[AccountDifference, ...]]:
    """Compare per-account movements; returns (accounts compared, differences sorted by account)."""
    accounts = sorted(set(synced) | set(spiris))
    differences = tuple(
        AccountDifference(account_number=a, synced=synced.get(a, ZERO), spiris=spiris.get(a, ZERO))
        for a in accounts
        if synced.get(a, ZERO) != spiris.get(a, ZERO)
    )
    return len(accounts), differences


def unbalanced(vouchers: Iterable[tuple[str, str | None, Decimal, Decimal]]) -> tuple[UnbalancedVoucher, ...]:
    """The vouchers (id, number, Σdebit, Σcredit) whose two sides differ."""
    return tuple(
        UnbalancedVoucher(voucher_id=vid, number=number, debit=debit, credit=credit)
        for vid, number, debit, credit in vouchers
        if debit != credit
    )


# -- against Spiris --------------------------------------------------------------------------------

RESULT_ACCOUNTS_FROM = 3000
"""BAS: accounts 1xxx-2xxx are the balance sheet (carried over), 3xxx-8xxx the result (restart at zero)."""

RESULT_CARRY_ACCOUNT = 2098
"""BAS 2098 "Vinst eller förlust från föregående år": where a closed year's result opens the next year."""

RULE = (
    "movement within the fiscal year per account: synced sum(debit - credit) of live vouchers == Spiris "
    "accountbalances(end date) - opening balance; opening balance = 0 for result accounts (>= 3000); "
    "for balance sheet accounts (< 3000) the previous fiscal year's closing balance (accountbalances at "
    "its end date), with that year's result (sum of its result accounts) carried to account 2098; in the "
    "company's first fiscal year, /fiscalyears/openingbalances"
)


def _balances(api: Any, day: date) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = {}
    for page in api.account_balances(day):
        for item in page.items:
            totals[item.account_number] = totals.get(item.account_number, ZERO) + item.balance
    return totals


def opening_balances(api: Any, *, previous_end: date | None) -> dict[int, Decimal]:
    """The opening balance per balance sheet account of a fiscal year (``previous_end``: its predecessor's end
    date, None for the company's first fiscal year)."""
    if previous_end is not None:
        closing = _balances(api, previous_end)
        opening = {a: v for a, v in closing.items() if a < RESULT_ACCOUNTS_FROM}
        result = sum((v for a, v in closing.items() if a >= RESULT_ACCOUNTS_FROM), ZERO)
        opening[RESULT_CARRY_ACCOUNT] = opening.get(RESULT_CARRY_ACCOUNT, ZERO) + result
        return {a: v for a, v in opening.items() if v != ZERO}
    return first_year_opening_balances(api)


def first_year_opening_balances(api: Any, *, page_size: int | None = None) -> dict[int, Decimal]:
    """``GET /fiscalyears/openingbalances``, every page (``{Meta, Data: [{Name, Number, Balance}]}``; the
    company's first fiscal year only)."""
    opening: dict[int, Decimal] = {}
    pages = api.opening_balances() if page_size is None else api.opening_balances(page_size=page_size)
    for page in pages:
        for item in page.items:
            opening[item.number] = opening.get(item.number, ZERO) + item.balance
    return {a: v for a, v in opening.items() if a < RESULT_ACCOUNTS_FROM and v != ZERO}


def reconcile(
    *,
    api: Any,
    synced: Mapping[int, Decimal],
    voucher_sums: Iterable[tuple[str, str | None, Decimal, Decimal]],
    vouchers_checked: int,
    end_date: date,
    previous_end: date | None,
) -> ReconciliationReport:
    """Compare the synced year with Spiris (two or three ``accountbalances`` listings)."""
    closing = _balances(api, end_date)
    opening = opening_balances(api, previous_end=previous_end)
    expected = spiris_movements(
        closing={a: v for a, v in closing.items()},
        opening={a: v for a, v in opening.items() if a < RESULT_ACCOUNTS_FROM},
    )
    expected = {a: v for a, v in expected.items() if v != ZERO or a in synced}
    compared, differences = compare_movements(synced=synced, spiris=expected)
    return ReconciliationReport(
        rule=RULE,
        accounts_compared=compared,
        differences=differences,
        unbalanced_vouchers=unbalanced(voucher_sums),
        vouchers_checked=vouchers_checked,
        opening={a: v for a, v in opening.items() if a < RESULT_ACCOUNTS_FROM},
    )
