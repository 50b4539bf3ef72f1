"""The SIE 4 writer (`spiris_store.sie4.write_sie4`): what it writes our reader reads back unchanged, with the
standard's quoting, CP437 and one record per line whatever the texts contain."""

from __future__ import annotations

import datetime
from decimal import Decimal

from spiris_store.sie4 import Sie4File, Sie4Transaction, Sie4Voucher, read_sie4, write_sie4

D = datetime.date


def _sample(text: str = 'Kvitto "Åhléns" \\ 50%') -> Sie4File:
    return Sie4File(
        format="PC8",
        sie_type="4",
        program="Spiris operator",
        company_name="Ölands Café & Bageri HB",
        org_number="969123-4567",
        fiscal_years={0: (D(2025, 1, 1), D(2025, 12, 31)), -1: (D(2024, 1, 1), D(2024, 12, 31))},
        accounts={1930: "Företagskonto", 3001: "Försäljning inom Sverige, 25 % moms", 2611: "Utgående moms"},
        opening_balances={(0, 1930): Decimal("25000.00")},
        closing_balances={(0, 1930): Decimal("26250.00")},
        results={(0, 3001): Decimal("-1000")},
        vouchers=(
            Sie4Voucher(
                series="A",
                number="1",
                date=D(2025, 1, 2),
                text=text,
                line=0,
                transactions=(
                    Sie4Transaction(account=1930, amount=Decimal("1250"), text="Insättning {kontant}"),
                    Sie4Transaction(account=3001, amount=Decimal("-1000.00"), objects=(("1", "100"),)),
                    Sie4Transaction(account=2611, amount=Decimal("-250.00"), date=D(2025, 1, 3)),
                ),
            ),
            Sie4Voucher(series="C", number="14", date=D(2025, 2, 1), text=None, line=0, transactions=()),
        ),
    )


def test_round_trip_through_our_reader() -> None:
    original = _sample()
    content = write_sie4(original, generated=D(2026, 12, 1))
    back = read_sie4(content)
    assert back.company_name == original.company_name and back.org_number == original.org_number
    assert back.fiscal_years == original.fiscal_years and back.accounts == original.accounts
    assert back.opening_balances == original.opening_balances
    assert back.closing_balances == original.closing_balances and back.results == original.results
    assert [(v.key, v.date, v.text) for v in back.vouchers] == [
        (("A", "1"), D(2025, 1, 2), 'Kvitto "Åhléns" \\ 50%'),
        (("C", "14"), D(2025, 2, 1), None),
    ]
    rows = back.vouchers[0].transactions
    assert [(t.account, t.amount, t.text, t.date, t.objects) for t in rows] == [
        (1930, Decimal("1250.00"), "Insättning {kontant}", None, ()),
        (3001, Decimal("-1000.00"), None, None, (("1", "100"),)),
        (2611, Decimal("-250.00"), None, D(2025, 1, 3), ()),
    ]


def test_header_order_encoding_and_line_ends() -> None:
    content = write_sie4(_sample(), generated=D(2026, 12, 1))
    lines = content.split(b"\r\n")
    assert lines[:5] == [
        b"#FLAGGA 0",
        b"#FORMAT PC8",
        b"#SIETYP 4",
        b'#PROGRAM "Spiris operator" "1.0"',
        b"#GEN 20261201",
    ]
    assert '#FNAMN "Ölands Café & Bageri HB"'.encode("cp437") in lines
    assert content.endswith(b"}\r\n") and b"\n" not in content.replace(b"\r\n", b"")
    assert b"#RAR 0 20250101 20251231" in lines and lines.index(b"#RAR 0 20250101 20251231") < lines.index(
        b"#RAR -1 20240101 20241231"
    )
    assert b"#UB 0 1930 26250.00" in lines and b"#RES 0 3001 -1000.00" in lines


def test_controls_and_characters_outside_cp437_never_break_a_record() -> None:
    content = write_sie4(_sample("Rad ett\r\nRad två\t€ ✓"), generated=D(2026, 12, 1))
    back = read_sie4(content)
    assert back.vouchers[0].text == "Rad ett Rad två ? ?"
    assert len(back.vouchers) == 2
