"""Account balances and the "seeded truth" computed from the voucher rows (integer öre, exact).

Balance-sheet accounts (< 3000) start from the fiscal year's opening balance; result accounts start at zero
each year. `/v2/accountbalances/{date}` and `GET /_sandbox/truth/...` both come from here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from spiris_sandbox.company_data import CompanyData, FiscalYear, api_date


def _ore(amount: float) -> int:
    return round(amount * 100)


def balances_at(books: CompanyData, year: FiscalYear, day: date) -> dict[int, int]:
    """Balance per account (debit positive) at the end of `day` within `year`."""
    balances = {
        account: value for account, value in books.opening_balances.get(year.id, {}).items() if account < 3000
    }
    limit = api_date(day)
    for voucher in books.vouchers.get(year.id, []):
        if voucher["VoucherDate"] > limit:
            continue
        for row in voucher["Rows"]:
            account = row["AccountNumber"]
            balances[account] = (
                balances.get(account, 0) + _ore(row["DebitAmount"]) - _ore(row["CreditAmount"])
            )
    return balances


def truth(books: CompanyData, year: FiscalYear) -> dict[str, Any]:
    """Per-account sums and counts for a fiscal year, plus voucher and document counts."""
    per_account: dict[int, dict[str, int]] = {}
    vouchers = books.vouchers.get(year.id, [])
    attachment_ids: set[str] = set()
    source_ids: set[str] = set()
    for voucher in vouchers:
        attachment_ids.update(voucher["Attachments"]["AttachmentIds"])
        if voucher["SourceId"] and voucher["SourceId"] in books.customer_invoices:
            source_ids.add(voucher["SourceId"])
        for row in voucher["Rows"]:
            entry = per_account.setdefault(row["AccountNumber"], {"debit": 0, "credit": 0, "rows": 0})
            entry["debit"] += _ore(row["DebitAmount"])
            entry["credit"] += _ore(row["CreditAmount"])
            entry["rows"] += 1
    opening = books.opening_balances.get(year.id, {})
    accounts = {}
    for account in sorted(set(per_account) | set(opening)):
        entry = per_account.get(account, {"debit": 0, "credit": 0, "rows": 0})
        start = opening.get(account, 0) if account < 3000 else 0
        accounts[str(account)] = {
            "debit": f"{entry['debit'] / 100:.2f}",
            "credit": f"{entry['credit'] / 100:.2f}",
            "rows": entry["rows"],
            "opening": f"{start / 100:.2f}",
            "closing": f"{(start + entry['debit'] - entry['credit']) / 100:.2f}",
        }
    total_debit = sum(entry["debit"] for entry in per_account.values())
    total_credit = sum(entry["credit"] for entry in per_account.values())
    return {
        "fiscal_year_id": year.id,
        "start": year.start.isoformat(),
        "end": year.end.isoformat(),
        "vouchers": len(vouchers),
        "rows": sum(entry["rows"] for entry in per_account.values()),
        "total_debit": f"{total_debit / 100:.2f}",
        "total_credit": f"{total_credit / 100:.2f}",
        "voucher_attachments": len(attachment_ids),
        "voucher_customer_invoices": len(source_ids),
        "accounts": accounts,
    }
