"""Parsing Spiris JSON into the typed models: casing, exact decimals, dates, UTC stamps, unknown enums."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from spiris_client import (
    Account,
    Attachment,
    CompanySettings,
    DocumentInfo,
    SupplierInvoice,
    Voucher,
)
from spiris_client.fields import loads
from spiris_client.paging import iterate_pages, parse_page
from spiris_client.transport import QueryParams

VOUCHER_JSON = """{
  "Id": "0b0e9a3c-7c1a-4b8e-9d47-3f3b7a1c2d10",
  "VoucherDate": "2025-03-31T00:00:00",
  "VoucherText": "Kvitto Ölhallen — städning åäö ÅÄÖ",
  "NumberAndNumberSeries": "A12",
  "NumberSeries": "A",
  "VoucherType": 99,
  "SourceId": null,
  "ModifiedUtc": "2025-04-01T08:09:10.1234567Z",
  "CreatedUtc": "2025-04-01T08:09:10",
  "Attachments": {"DocumentId": "0b0e9a3c-7c1a-4b8e-9d47-3f3b7a1c2d10", "DocumentType": 3,
                  "AttachmentIds": ["a1", "a2"]},
  "Rows": [
    {"AccountNumber": 6110, "DebitAmount": 0.1, "CreditAmount": 0, "TransactionText": "Kontorsmaterial"},
    {"AccountNumber": 2640, "DebitAmount": 0.2, "CreditAmount": 0.0},
    {"AccountNumber": 1930, "DebitAmount": 0, "CreditAmount": 0.3}
  ]
}"""


def test_voucher_amounts_are_exact_decimals_and_rows_keep_their_order() -> None:
    voucher = Voucher.from_api(loads(VOUCHER_JSON))
    assert [r.account_number for r in voucher.rows] == [6110, 2640, 1930]
    assert voucher.rows[0].debit_amount == Decimal("0.1")
    assert isinstance(voucher.rows[1].debit_amount, Decimal)
    # 0.1 + 0.2 != 0.3 in binary floats; the parsed amounts must balance exactly.
    assert voucher.total_debit == Decimal("0.3") == voucher.total_credit
    assert voucher.is_balanced


def test_voucher_dates_texts_and_unknown_type_survive() -> None:
    voucher = Voucher.from_api(loads(VOUCHER_JSON.encode("utf-8")))
    assert voucher.voucher_date == date(2025, 3, 31)
    assert voucher.voucher_text == "Kvitto Ölhallen — städning åäö ÅÄÖ"
    assert voucher.voucher_type == 99
    assert voucher.voucher_type_name is None
    assert voucher.modified_utc == datetime(2025, 4, 1, 8, 9, 10, 123456, tzinfo=UTC)
    assert voucher.created_utc == datetime(2025, 4, 1, 8, 9, 10, tzinfo=UTC)
    assert voucher.attachments is not None
    assert voucher.attachments.document_type == 3
    assert voucher.attachment_ids == ("a1", "a2")
    assert voucher.rows[0].transaction_text == "Kontorsmaterial"


def test_camel_case_keys_parse_like_pascal_case() -> None:
    pascal = Voucher.from_api(loads(VOUCHER_JSON))
    camel_text = VOUCHER_JSON
    for key in ("Id", "VoucherDate", "VoucherText", "Rows", "AccountNumber", "DebitAmount", "CreditAmount"):
        camel_text = camel_text.replace(f'"{key}"', f'"{key[0].lower()}{key[1:]}"')
    camel = Voucher.from_api(loads(camel_text))
    assert camel == pascal
    assert camel.voucher_type_name is None


def test_known_voucher_type_has_a_name() -> None:
    voucher = Voucher.from_api({"Id": "x", "VoucherType": 14, "Rows": []})
    assert voucher.voucher_type_name == "CustomerInvoiceDebit"


def test_offset_and_naive_utc_stamps_become_aware_utc() -> None:
    account = Account.from_api(
        {
            "Number": "1930",
            "Name": "Företagskonto",
            "ModifiedUtc": "2025-01-02T03:04:05+02:00",
            "CreatedUtc": "2025-01-02T03:04:05",
        }
    )
    assert account.number == "1930"
    assert account.modified_utc == datetime(2025, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert account.created_utc == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_business_dates_are_never_shifted() -> None:
    # A date-time with an offset still means that calendar day in Spiris' own books.
    voucher = Voucher.from_api({"Id": "x", "VoucherDate": "2025-01-01T00:00:00+01:00", "Rows": []})
    assert voucher.voucher_date == date(2025, 1, 1)


def test_supplier_invoice_rows_read_the_debet_spelling() -> None:
    invoice = SupplierInvoice.from_api(
        loads(
            '{"Id": "s1", "Status": 2, "TotalAmount": 1250.50, "Attachments": ["att-1"],'
            ' "Rows": [{"AccountNumber": 4010, "DebetAmount": 1000.40, "CreditAmount": 0},'
            ' {"AccountNumber": 2640, "DebetAmount": 250.10, "CreditAmount": 0}]}'
        )
    )
    assert [r.debit_amount for r in invoice.rows] == [Decimal("1000.40"), Decimal("250.10")]
    assert sum(r.debit_amount for r in invoice.rows) == invoice.total_amount
    assert invoice.is_deleted
    assert invoice.attachments == ("att-1",)


def test_temporary_urls_stay_out_of_repr() -> None:
    attachment = Attachment.from_api(
        {"Id": "a", "FileName": "Kvitto_ÅÄÖ.pdf", "TemporaryUrl": "https://s/temp/fileanonymous/SECRET1234"}
    )
    document = DocumentInfo.from_api({"Id": "d", "TemporaryUrl": "https://s/temp/fileanonymous/SECRET1234"})
    assert attachment.temporary_url is not None
    assert "SECRET1234" not in repr(attachment)
    assert "SECRET1234" not in repr(document)
    assert attachment.file_name == "Kvitto_ÅÄÖ.pdf"


def test_company_settings_keep_raw_and_swedish_name() -> None:
    settings = CompanySettings.from_api(
        loads('{"Name": "Åkeriet i Göteborg AB", "CorporateIdentityNumber": "556677-8899"}')
    )
    assert settings.name == "Åkeriet i Göteborg AB"
    assert settings.raw["CorporateIdentityNumber"] == "556677-8899"


def _envelope(page: int, pages: int, items: list[dict[str, object]]) -> dict[str, object]:
    return {
        "Meta": {
            "CurrentPage": page,
            "PageSize": 2,
            "TotalNumberOfPages": pages,
            "TotalNumberOfResults": 5,
            "ServerTimeUtc": "2025-05-05T05:05:05Z",
        },
        "Data": items,
    }


def test_paging_trusts_meta_and_stops_on_the_last_page() -> None:
    requested: list[dict[str, object]] = []

    def get_json(query: QueryParams) -> object:
        requested.append(dict(query))
        n = int(query["$page"] or 0)
        return _envelope(n, 3, [{"Id": f"{n}-{i}", "Rows": []} for i in range(2 if n < 3 else 1)])

    pages = list(iterate_pages(get_json, Voucher.from_api, params={"$filter": "x"}, page_size=2))
    assert [p.meta.current_page for p in pages] == [1, 2, 3]
    assert sum(len(p.items) for p in pages) == 5
    assert [q["$page"] for q in requested] == [1, 2, 3]
    assert all(q["$pagesize"] == 2 and q["$filter"] == "x" for q in requested)
    assert pages[0].meta.server_time_utc == datetime(2025, 5, 5, 5, 5, 5, tzinfo=UTC)


def test_paging_stops_on_an_empty_page_even_if_meta_promises_more() -> None:
    calls = []

    def get_json(query: QueryParams) -> object:
        calls.append(query["$page"])
        return _envelope(int(query["$page"] or 0), 99, [])

    assert len(list(iterate_pages(get_json, Voucher.from_api, start_page=4))) == 1
    assert calls == [4]


def test_a_list_answer_without_meta_is_an_error() -> None:
    from spiris_client import SpirisError

    with pytest.raises(SpirisError):
        parse_page({"Data": []}, Voucher.from_api)
