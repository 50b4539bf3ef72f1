"""`SpirisApi` against a real sandbox over HTTP: paging cost, exact sums, filters, typed errors, Swedish."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import httpx
import pytest
from spiris_client import (
    BadRequest,
    Forbidden,
    ForbiddenReason,
    NotFound,
    SpirisApi,
    TokenSet,
)
from spiris_sandbox.server import SandboxServer
from testkit.sandbox_control import SandboxControl

ApiFor = Callable[..., tuple[SpirisApi, object]]


@pytest.fixture
def api(api_for: ApiFor, issue_token: Callable[..., TokenSet]) -> SpirisApi:
    client, _ = api_for(issue_token(1).access_token)
    return client


def _last_year_id(api: SpirisApi) -> str:
    years = sorted(api.fiscal_years(), key=lambda y: y.start_date or date.min)
    return years[-1].id


@pytest.mark.timeout(120)
def test_paging_ten_thousand_vouchers_costs_ten_calls_and_sums_exactly(
    api: SpirisApi, control: SandboxControl
) -> None:
    year_id = _last_year_id(api)
    control.reset_stats()
    api.calls.reset()

    debit: dict[int, Decimal] = defaultdict(Decimal)
    credit: dict[int, Decimal] = defaultdict(Decimal)
    ids: set[str] = set()
    pages = 0
    # `Id` breaks ties: the sandbox (like a SQL-backed OData server) orders equal dates anew each request.
    for page in api.vouchers(year_id, orderby="VoucherDate,Id"):
        pages += 1
        assert page.meta.page_size == 1000
        assert page.meta.server_time_utc is not None
        for voucher in page.items:
            ids.add(voucher.id)
            assert voucher.is_balanced, voucher.id
            for row in voucher.rows:
                assert isinstance(row.debit_amount, Decimal)
                debit[row.account_number] += row.debit_amount
                credit[row.account_number] += row.credit_amount

    assert pages == 10
    assert len(ids) == 10_000
    assert api.calls.endpoint("/v2/vouchers/{fiscalyearId}").requests == 10
    assert api.calls.total.requests == 10 and api.calls.total.retries == 0
    assert control.stats_count("/v2/vouchers/") == 10

    truth = control.truth(1, year_id)
    assert sum(debit.values()) == Decimal(truth["total_debit"]) == sum(credit.values())
    for account, sums in truth["accounts"].items():
        assert debit[int(account)] == Decimal(sums["debit"]), account
        assert credit[int(account)] == Decimal(sums["credit"]), account


def test_resuming_from_a_start_page_reads_only_the_rest(api: SpirisApi) -> None:
    year_id = _last_year_id(api)
    api.calls.reset()
    pages = list(api.vouchers(year_id, orderby="VoucherDate", page_size=1000, start_page=9))
    assert [p.meta.current_page for p in pages] == [9, 10]
    assert api.calls.total.requests == 2


def test_company_settings_and_swedish_characters_survive(
    api: SpirisApi, control: SandboxControl, sandbox: SandboxServer, issue_token: Callable[..., TokenSet]
) -> None:
    settings = api.company_settings()
    summary = control.company(1)
    assert settings.name == summary["name"]
    assert settings.corporate_identity_number == summary["org_number"]

    year_id = _last_year_id(api)
    first_page = next(iter(api.vouchers(year_id, page_size=500, orderby="VoucherDate")))
    swedish = next(v for v in first_page.items if any(ch in v.voucher_text for ch in "åäöÅÄÖ"))
    # The same voucher read without our client, straight from the UTF-8 bytes, must be identical text.
    raw = httpx.get(
        f"{sandbox.api_url}/vouchers/{year_id}/{swedish.id}",
        headers={"Authorization": f"Bearer {issue_token(1).access_token}"},
    )
    assert json.loads(raw.content.decode("utf-8"))["VoucherText"] == swedish.voucher_text
    # Non-ASCII text inside a $filter literal survives the URL encoding both ways.
    found = [
        v.id
        for p in api.vouchers(year_id, filter=f"VoucherText eq '{swedish.voucher_text}'")
        for v in p.items
    ]
    assert swedish.id in found

    names = [a.name for p in api.accounts(year_id) for a in p.items]
    assert any(ch in "".join(names) for ch in "åäö")
    file_names = [a.file_name or "" for a in next(iter(api.attachments(page_size=1000))).items]
    assert any(ch in "".join(file_names) for ch in "åäöÅÄÖ")


def test_filter_and_orderby_reach_spiris_and_come_back_consistent(api: SpirisApi) -> None:
    year_id = _last_year_id(api)
    march = [
        v
        for page in api.vouchers(
            year_id,
            filter="VoucherDate ge 2025-03-01 and VoucherDate le 2025-03-31",
            orderby="VoucherDate desc",
        )
        for v in page.items
    ]
    assert march
    assert all(v.voucher_date is not None and v.voucher_date.month == 3 for v in march)
    dates = [v.voucher_date for v in march]
    assert dates == sorted(dates, reverse=True)  # type: ignore[type-var]

    # A quoted string with Swedish characters and an ampersand-free space must survive encoding.
    sample = march[0]
    same_text = [
        v
        for page in api.vouchers(year_id, filter=f"VoucherText eq '{sample.voucher_text}'")
        for v in page.items
    ]
    assert sample.id in {v.id for v in same_text}


def test_single_voucher_matches_its_list_copy_and_missing_is_not_found(api: SpirisApi) -> None:
    year_id = _last_year_id(api)
    listed = next(iter(api.vouchers(year_id, page_size=5))).items[0]
    fetched = api.voucher(year_id, listed.id)
    assert fetched == listed
    with pytest.raises(NotFound) as caught:
        api.voucher(year_id, "00000000-0000-0000-0000-000000000000")
    assert caught.value.status == 404


def test_a_bad_filter_is_a_query_refusal_whatever_its_error_code(
    api: SpirisApi, control: SandboxControl
) -> None:
    year_id = _last_year_id(api)
    with pytest.raises(BadRequest) as caught:
        next(iter(api.vouchers(year_id, filter="NoSuchProperty eq 1")))
    # As production is believed to answer: 2000 DataModelValidationError naming the option in Errors[].Field.
    assert caught.value.error_code == 2000
    assert caught.value.is_query_error
    assert caught.value.error_id
    control.quirks(filter_error_code=6000)
    try:
        with pytest.raises(BadRequest) as documented:
            next(iter(api.vouchers(year_id, filter="NoSuchProperty eq 1")))
    finally:
        control.quirks(filter_error_code=2000)
    assert documented.value.error_code == 6000 and documented.value.is_query_error


def test_balances_at_year_end_match_the_seeded_truth(api: SpirisApi, control: SandboxControl) -> None:
    year = sorted(api.fiscal_years(), key=lambda y: y.start_date or date.min)[-1]
    assert year.end_date is not None
    balances = {b.account_number: b.balance for p in api.account_balances(year.end_date) for b in p.items}
    truth = control.truth(1, year.id)["accounts"]
    for account, sums in truth.items():
        assert balances.get(int(account), Decimal(0)) == Decimal(sums["closing"]), account


@pytest.mark.parametrize(
    ("company", "reason", "code"),
    [
        (4, ForbiddenReason.PERMISSION, 4007),
        (5, ForbiddenReason.MODULE, None),
        (6, ForbiddenReason.COMPANY_STATE, 4004),
    ],
)
def test_company_refusals_are_typed(
    api_for: ApiFor,
    issue_token: Callable[..., TokenSet],
    company: int,
    reason: ForbiddenReason,
    code: int | None,
) -> None:
    client, _ = api_for(issue_token(company).access_token)
    with pytest.raises(Forbidden) as caught:
        client.fiscal_years()
    assert caught.value.reason is reason
    if code is not None:
        assert caught.value.error_code == code
    assert caught.value.guidance


def test_missing_sales_scope_is_a_scope_refusal(
    api_for: ApiFor, issue_token: Callable[..., TokenSet]
) -> None:
    token = issue_token(1, scope="ea:api offline_access ea:accounting_readonly")
    client, _ = api_for(token.access_token)
    assert client.fiscal_years()  # accounting scope suffices here
    with pytest.raises(Forbidden) as caught:
        client.company_settings()
    assert caught.value.error_code == 4006
    assert caught.value.is_scope


def test_rate_limiter_hook_sees_every_request_by_template(
    api_for: ApiFor, issue_token: Callable[..., TokenSet], control: SandboxControl
) -> None:
    seen: list[str] = []

    class Recording:
        def acquire(self, endpoint_template: str) -> None:
            seen.append(endpoint_template)

    client, _ = api_for(issue_token(1).access_token, rate_limiter=Recording(), backoff_cap=0.01)
    control.faults(server_errors=1)
    client.company_settings()
    year_id = client.fiscal_years()[0].id
    list(client.accounts(year_id))
    assert seen == [
        "/v2/companysettings",
        "/v2/companysettings",
        "/v2/fiscalyears",
        "/v2/accounts/{fiscalyearId}",
    ]


def test_invoices_and_their_documents(api: SpirisApi) -> None:
    supplier = next(iter(api.supplier_invoices(page_size=50))).items
    assert supplier and all(inv.id for inv in supplier)
    with_rows = next(inv for inv in supplier if inv.rows)
    fetched = api.supplier_invoice(with_rows.id)
    assert fetched.rows == with_rows.rows
    # Spiris spells it DebetAmount on supplier-invoice rows: the amounts must still arrive.
    assert any(r.debit_amount > 0 for r in fetched.rows)
    assert all(isinstance(r.debit_amount, Decimal) for r in fetched.rows)

    customer = next(iter(api.customer_invoices(page_size=20))).items[0]
    pdf = b"".join(api.customer_invoice_print(customer.id))
    assert pdf.startswith(b"%PDF")
    assert api.customer_invoice_pdf_url(customer.id).startswith("http")
    assert api.customer_invoice(customer.id) == customer
