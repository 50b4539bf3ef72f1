"""SIE 4 export of a date range inside one fiscal year, encoded in CP437 (PC8) as the SIE standard says.

A whole-year range carries `#RAR`, `#IB`, `#UB` and `#RES`; partial ranges omit them, like Spiris' export.
"""

from __future__ import annotations

from datetime import date

from spiris_sandbox.balances import balances_at
from spiris_sandbox.catalog import BAS_ACCOUNTS
from spiris_sandbox.company_data import CompanyData, FiscalYear, api_date


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _amount(ore: int) -> str:
    return f"{ore / 100:.2f}"


def sie4_export(books: CompanyData, year: FiscalYear, *, start: date, end: date, generated: date) -> bytes:
    whole_year = start == year.start and end == year.end
    profile = books.profile
    lines = [
        "#FLAGGA 0",
        "#FORMAT PC8",
        "#SIETYP 4",
        '#PROGRAM "Spiris sandlåda" 1.0',
        f"#GEN {generated.strftime('%Y%m%d')}",
        f"#FNAMN {_quote(profile.name)}",
        f"#ORGNR {profile.org_number}",
    ]
    if whole_year:
        lines.append(f"#RAR 0 {year.start:%Y%m%d} {year.end:%Y%m%d}")
        previous = [other for other in books.fiscal_years if other.end < year.start]
        if previous:
            lines.append(f"#RAR -1 {previous[-1].start:%Y%m%d} {previous[-1].end:%Y%m%d}")
    lines += [f"#KONTO {number} {_quote(name)}" for number, name, _, _ in BAS_ACCOUNTS]
    if whole_year:
        opening = books.opening_balances.get(year.id, {})
        closing = balances_at(books, year, year.end)
        lines += [
            f"#IB 0 {account} {_amount(value)}"
            for account, value in sorted(opening.items())
            if account < 3000
        ]
        lines += [
            f"#UB 0 {account} {_amount(value)}"
            for account, value in sorted(closing.items())
            if account < 3000
        ]
        lines += [
            f"#RES 0 {account} {_amount(value)}"
            for account, value in sorted(closing.items())
            if account >= 3000
        ]
    low, high = api_date(start), api_date(end)
    for voucher in books.vouchers.get(year.id, []):
        if not low <= voucher["VoucherDate"] <= high:
            continue
        number = voucher["NumberAndNumberSeries"][len(voucher["NumberSeries"]) :]
        day = voucher["VoucherDate"][:10].replace("-", "")
        lines.append(
            f"#VER {_quote(voucher['NumberSeries'])} {_quote(number)} {day} {_quote(voucher['VoucherText'])}"
        )
        lines.append("{")
        for row in voucher["Rows"]:
            amount = round(row["DebitAmount"] * 100) - round(row["CreditAmount"] * 100)
            lines.append(f"   #TRANS {row['AccountNumber']} {{}} {_amount(amount)}")
        lines.append("}")
    return ("\r\n".join(lines) + "\r\n").encode("cp437", errors="replace")
