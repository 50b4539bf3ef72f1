"""NUL characters and lone surrogates in Spiris JSON are replaced with U+FFFD where the JSON is parsed, and
counted on the client (the worker writes the count into the run record)."""

from __future__ import annotations

import httpx
from spiris_client import SpirisApi, StaticTokenProvider

PAGE = (
    b'{"Meta": {"CurrentPage": 1, "PageSize": 50, "TotalNumberOfPages": 1, "TotalNumberOfResults": 1,'
    b' "ServerTimeUtc": "2026-01-01T00:00:00Z"}, "Data": [{"Id": "00000000-0000-0000-0000-000000000001",'
    b' "VoucherDate": "2025-01-01T00:00:00", "VoucherText": "Kvitto\\u0000 \\ud83d\\ude00 \\udc00",'
    b' "Rows": [{"AccountNumber": 1930, "DebitAmount": 1.0, "CreditAmount": 0.0, "TransactionText": "ok"}],'
    b' "NumberAndNumberSeries": "A1", "NumberSeries": "A", "VoucherType": 2}]}'
)


def test_voucher_text_is_cleaned_and_counted() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=PAGE))
    with SpirisApi(
        "https://api.example/v2", token_provider=StaticTokenProvider("t"), transport=transport
    ) as api:
        vouchers = [v for page in api.vouchers("fy") for v in page.items]
        assert vouchers[0].voucher_text == "Kvitto\ufffd \U0001f600 \ufffd"  # a real pair (emoji) is kept
        assert api.calls.cleaned_texts == 1
