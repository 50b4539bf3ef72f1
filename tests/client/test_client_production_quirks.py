"""The client against production's believed quirks: not-found recognised by ErrorCode whatever the status, a
query refusal recognised whatever its code, empty GUIDs read as None, the paged opening balances, and the
longer read timeout where Spiris renders."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from spiris_client import BadRequest, NotFound, SpirisApi, SpirisUnavailable, StaticTokenProvider, TokenSet
from spiris_client.errors import SpirisApiError, api_error_for
from spiris_client.fields import Fields
from spiris_client.models import SupplierInvoice, Voucher
from spiris_sandbox.server import SandboxServer
from testkit.sandbox_control import SandboxControl

MISSING = "00000000-0000-4000-8000-000000000000"
ApiFor = Callable[..., tuple[SpirisApi, object]]


@pytest.fixture
def api(api_for: ApiFor, issue_token: Callable[..., TokenSet]) -> SpirisApi:
    client, _ = api_for(issue_token(1).access_token)
    return client


def test_missing_documents_are_not_found_although_spiris_answers_400(api: SpirisApi) -> None:
    for call in (
        lambda: api.attachment(MISSING),
        lambda: api.customer_invoice(MISSING),
        lambda: api.customer_invoice_pdf_url(MISSING),
        lambda: b"".join(api.customer_invoice_print(MISSING)),
        lambda: api.document(MISSING),
    ):
        with pytest.raises(NotFound) as caught:
            call()
        assert (caught.value.status, caught.value.error_code) == (400, 3000)
    with pytest.raises(NotFound) as year:
        next(iter(api.vouchers(MISSING)))
    assert (year.value.status, year.value.error_code) == (400, 3001)
    with pytest.raises(NotFound) as declared:
        api.supplier_invoice(MISSING)
    assert declared.value.status == 404


def test_error_classes_by_code_and_status() -> None:
    assert api_error_for(400, 3000) is NotFound and api_error_for(400, 5007) is NotFound
    assert api_error_for(404, None) is NotFound and api_error_for(400, 2000) is BadRequest
    assert api_error_for(403, 3000).__name__ == "Forbidden"  # a refusal stays a refusal


@pytest.mark.parametrize(
    ("code", "errors", "message", "expected"),
    [
        (6000, [], "x", True),
        (6001, [], "bad date", True),
        (2000, [{"Field": "$filter", "Message": "invalid"}], "Validation failed", True),
        (2000, [{"field": "modifiedSinceUtc"}], "Validation failed", True),
        (2000, [], "The query specified in the URI is not valid: $filter", True),
        (2000, [{"Field": "VoucherText"}], "VoucherText is required", False),
        (4013, [], "cannot bookkeep", False),
    ],
)
def test_query_refusals_are_recognised_by_what_they_name(
    code: int, errors: list[dict[str, Any]], message: str, expected: bool
) -> None:
    error = BadRequest(
        status=400, endpoint="/v2/vouchers", error_code=code, developer_message=message, errors=errors
    )
    assert error.is_query_error is expected


def test_empty_guids_are_none() -> None:
    empty = "00000000-0000-0000-0000-000000000000"
    voucher = Voucher.from_api(
        {
            "Id": "6f2c1b5e-0d1c-4a57-9e3d-0a4b2f3c4d5e",
            "VoucherText": "x",
            "Rows": [{"AccountNumber": 1930, "DebitAmount": 1, "CreditAmount": 0, "ProjectId": empty}],
            "SourceId": empty,
            "Attachments": {"DocumentId": empty, "DocumentType": 0, "AttachmentIds": [empty]},
        }
    )
    assert voucher.source_id is None and voucher.attachments is not None
    assert voucher.attachments.document_id is None and voucher.attachment_ids == ()
    assert voucher.rows[0].project_id is None
    invoice = SupplierInvoice.from_api({"Id": "6f2c1b5e-0d1c-4a57-9e3d-0a4b2f3c4d5f", "VoucherId": empty})
    assert invoice.voucher_id is None
    assert Fields({"X": "{00000000-0000-0000-0000-000000000000}"}).guid("X") is None
    assert (
        Fields({"X": " 6F2C1B5E-0D1C-4A57-9E3D-0A4B2F3C4D5E "}).guid("X")
        == "6F2C1B5E-0D1C-4A57-9E3D-0A4B2F3C4D5E"
    )


def test_opening_balances_are_read_across_pages(api: SpirisApi) -> None:
    pages = list(api.opening_balances(page_size=2))
    assert len(pages) >= 3 and pages[-1].is_last
    balances = {item.number: item.balance for page in pages for item in page.items}
    assert len(balances) == pages[0].meta.total_results
    assert sum(balances.values(), Decimal(0)) == Decimal(0)  # the opening balance sheet balances
    assert all(item.name for page in pages for item in page.items)


def test_rendering_endpoints_wait_longer_than_the_normal_timeout(
    sandbox: SandboxServer, control: SandboxControl, issue_token: Any
) -> None:
    token = issue_token().access_token
    invoice = None
    control.quirks(render_latency_ms=1500)
    try:
        with SpirisApi(
            sandbox.api_url,
            token_provider=StaticTokenProvider(token),
            timeout=httpx.Timeout(0.5),
            render_timeout=10.0,
            max_retries=0,
        ) as api:
            invoice = next(iter(api.customer_invoices(page_size=1))).items[0].id
            started = time.monotonic()
            assert api.customer_invoice_pdf_url(invoice)
            assert time.monotonic() - started >= 1.5
        with (
            SpirisApi(
                sandbox.api_url,
                token_provider=StaticTokenProvider(token),
                timeout=httpx.Timeout(0.5),
                render_timeout=0.5,
                max_retries=0,
            ) as short,
            pytest.raises(SpirisUnavailable),
        ):
            short.customer_invoice_pdf_url(invoice)
    finally:
        control.quirks(render_latency_ms=150)


def test_not_found_quirk_off_still_not_found(api: SpirisApi, control: SandboxControl) -> None:
    control.quirks(not_found_as_400=False)
    try:
        with pytest.raises(NotFound) as caught:
            api.attachment(MISSING)
    finally:
        control.quirks(not_found_as_400=True)
    assert caught.value.status == 404 and isinstance(caught.value, SpirisApiError)
