"""The SIE 4 reader (`spiris_store.sie4`): CP437, quoting, object lists, #VER/#TRANS blocks, the rows that do
not count (#RTRANS duplicates, #BTRANS removals), balances, and clear errors for broken files."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from spiris_store.sie4 import Sie4Error, quote, read_sie4, tokens

SAMPLE = (
    "\r\n".join(
        [
            "#FLAGGA 0",
            "#FORMAT PC8",
            "#SIETYP 4",
            '#PROGRAM "Spiris" 1.0',
            '#FNAMN "Ölands Café & Bageri HB"',
            "#ORGNR 969123-4567",
            "#RAR 0 20250101 20251231",
            "#RAR -1 20240101 20241231",
            '#KONTO 1930 "Företagskonto"',
            '#KONTO 3001 "Försäljning inom Sverige, 25 % moms"',
            "#IB 0 1930 25000.00",
            "#UB 0 1930 26250.00",
            "#RES 0 3001 -1000.00",
            '#VER "A" "1" 20250102 "Kvitto \\"Åhléns\\"" 20250103',
            "{",
            '   #TRANS 1930 {} 1250.00 20250102 "Insättning"',
            '   #TRANS 3001 {1 "100" 6 "P1"} -1000.00',
            "   #TRANS 2611 {} -250.00",
            "   #BTRANS 1910 {} 10.00",
            "   #RTRANS 1920 {} 5.00",
            "   #TRANS 1920 {} 5.00",
            "   #TRANS 1910 {} -5.00",
            "}",
            '#VER C 14 20250201 ""',
            "{",
            "#TRANS 1510 {} 100",
            "#TRANS 3001 {} -100",
            "}",
            "#OKÄND etikett ignoreras",
        ]
    )
    + "\r\n"
)


def test_reads_header_accounts_balances_and_vouchers() -> None:
    sie = read_sie4(SAMPLE.encode("cp437"))
    assert sie.format == "PC8" and sie.sie_type == "4" and sie.company_name == "Ölands Café & Bageri HB"
    assert sie.org_number == "969123-4567"
    assert sie.fiscal_years[0] == (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
    assert sie.accounts[1930] == "Företagskonto" and sie.accounts[3001].endswith("25 % moms")
    assert sie.opening_balances[(0, 1930)] == Decimal("25000.00")
    assert sie.closing_balances[(0, 1930)] == Decimal("26250.00") and sie.results[(0, 3001)] == Decimal(
        "-1000"
    )
    first, second = sie.vouchers
    assert first.key == ("A", "1") and first.date == datetime.date(2025, 1, 2)
    assert first.text == 'Kvitto "Åhléns"'
    # #BTRANS (removed) and #RTRANS (its #TRANS twin follows) do not count.
    assert [(t.account, t.amount) for t in first.transactions] == [
        (1930, Decimal("1250.00")),
        (3001, Decimal("-1000.00")),
        (2611, Decimal("-250.00")),
        (1920, Decimal("5.00")),
        (1910, Decimal("-5.00")),
    ]
    assert first.transactions[0].date == datetime.date(2025, 1, 2)
    assert first.transactions[0].text == "Insättning"
    assert first.transactions[1].objects == (("1", "100"), ("6", "P1"))
    assert sum(t.amount for t in first.transactions) == 0
    assert second.key == ("C", "14") and second.text is None
    assert [t.amount for t in second.transactions] == [Decimal(100), Decimal(-100)]


def test_tokens_and_quote_round_trip() -> None:
    text = 'Faktura "12" \\ backslash'
    assert tokens(f"#VER A 1 20250101 {quote(text)}") == ["#VER", "A", "1", "20250101", text]
    assert tokens('#TRANS 1930 {1 "a b"} 1.00') == ["#TRANS", "1930", ["1", "a b"], "1.00"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("#VER A 1 20250101\n#TRANS 1930 {} 1\n", "without its '{' block"),
        ("#VER A 1 20250101\n{\n#TRANS 1930 {} 1\n", "never closed"),
        ("#VER A 1 2025-01-01\n{\n}\n", "bad date"),
        ("#VER A 1 20250101\n{\n#TRANS 1930 {} abc\n}\n", "bad amount"),
        ("#VER A 1 20250101\n{\n#KONTO 1 x\n}\n", "inside a verification"),
        ('#FNAMN "unterminated\n', "unreadable"),
        ("}\n", "without"),
    ],
)
def test_broken_files_say_where(content: str, fragment: str) -> None:
    with pytest.raises(Sie4Error, match=fragment):
        read_sie4(content.encode("cp437"))
