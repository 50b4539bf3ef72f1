"""`/v2` conformance (spiris-api.md §2, §3, §6): envelope and paging, query options and their errors, scopes,
company-state errors, every endpoint the sync needs, temporary links and case-insensitive paths."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from spiris_sandbox.server import SandboxServer
from testkit.sandbox_oauth import ControlFor, api, control_token, token_for

Factory = Callable[..., SandboxServer]


@pytest.fixture(scope="module")
def session(shared_sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with api(shared_sandbox, token_for(shared_sandbox)) as client:
        yield client


@pytest.fixture(scope="module")
def years(session: httpx.Client) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = session.get("/v2/fiscalyears").json()["Data"]
    return data


def test_paging_envelope_defaults_and_past_the_end(
    session: httpx.Client, years: list[dict[str, Any]]
) -> None:
    year = years[-1]["Id"]
    first = session.get(f"/v2/vouchers/{year}")
    assert first.headers["content-type"].startswith("application/json")
    body = first.json()
    assert set(body) == {"Meta", "Data"}
    meta = body["Meta"]
    assert set(meta) == {
        "CurrentPage",
        "PageSize",
        "TotalNumberOfPages",
        "TotalNumberOfResults",
        "ServerTimeUtc",
    }
    assert meta["CurrentPage"] == 1 and meta["PageSize"] == 50 and meta["TotalNumberOfResults"] == 60
    assert meta["TotalNumberOfPages"] == 2 and len(body["Data"]) == 50
    assert meta["ServerTimeUtc"].endswith("Z")
    second = session.get(f"/v2/vouchers/{year}", params={"$page": 2}).json()
    assert len(second["Data"]) == 10
    past = session.get(f"/v2/vouchers/{year}", params={"$page": 9}).json()
    assert past["Data"] == [] and past["Meta"]["CurrentPage"] == 9
    clamped = session.get(f"/v2/vouchers/{year}", params={"$pagesize": 5000}).json()["Meta"]
    assert clamped["PageSize"] == 1000
    bad = session.get(f"/v2/vouchers/{year}", params={"$page": "zero"})
    assert bad.status_code == 400 and bad.json()["ErrorCode"] == 2000
    assert bad.json()["Errors"][0]["Field"] == "$page"


def test_ten_thousand_vouchers_are_ten_pages_of_1000(sandbox_factory: Factory) -> None:
    server = sandbox_factory(vouchers_per_year=5000)
    ids: set[str] = set()
    with api(server, token_for(server)) as client:
        for page in range(1, 12):
            body = client.get("/v2/vouchers", params={"$page": page, "$pagesize": 1000}).json()
            assert body["Meta"]["TotalNumberOfResults"] == 10000 and body["Meta"]["TotalNumberOfPages"] == 10
            ids.update(voucher["Id"] for voucher in body["Data"])
            if page == 11:
                assert body["Data"] == []
    assert len(ids) == 10000


def test_filters_valid(session: httpx.Client, years: list[dict[str, Any]]) -> None:
    year = years[-1]["Id"]
    everything = session.get(f"/v2/vouchers/{year}", params={"$pagesize": 1000}).json()["Data"]

    def ids(expression: str) -> set[str]:
        response = session.get(f"/v2/vouchers/{year}", params={"$filter": expression, "$pagesize": 1000})
        assert response.status_code == 200, response.text
        return {voucher["Id"] for voucher in response.json()["Data"]}

    def expect(predicate: Callable[[dict[str, Any]], bool]) -> set[str]:
        return {voucher["Id"] for voucher in everything if predicate(voucher)}

    assert ids("VoucherDate ge 2025-03-01 and VoucherDate le 2025-06-30") == expect(
        lambda v: "2025-03-01" <= v["VoucherDate"][:10] <= "2025-06-30"
    )
    assert ids("year(VoucherDate) eq 2025 and month(VoucherDate) eq 12") == expect(
        lambda v: v["VoucherDate"][:7] == "2025-12"
    )
    assert ids("VoucherDate ge 2025-03-01T00:00:00.00Z") == expect(
        lambda v: v["VoucherDate"][:10] >= "2025-03-01"
    )
    assert ids("NumberSeries eq 'C' or (VoucherType eq 12 and not (VoucherType ne 12))") == expect(
        lambda v: v["NumberSeries"] == "C" or v["VoucherType"] == 12
    )
    target = everything[7]
    assert ids(f"Id eq {target['Id'].upper()}") == {target["Id"]}
    modified = sorted(v["ModifiedUtc"] for v in everything)[30]
    assert ids(f"ModifiedUtc gt {modified}") == expect(lambda v: v["ModifiedUtc"] > modified)
    assert ids("CreatedUtc lt 2026-01-01T00:00:00") == expect(
        lambda v: v["CreatedUtc"] < "2026-01-01T00:00:00"
    )
    assert ids("Rows/any(r: r/AccountNumber eq 1930)") == expect(
        lambda v: any(r["AccountNumber"] == 1930 for r in v["Rows"])
    )
    assert ids("contains(VoucherText,'faktura')") == expect(lambda v: "faktura" in v["VoucherText"].lower())
    assert ids("VoucherType gt 11") == expect(lambda v: v["VoucherType"] > 11)
    assert ids("day(VoucherDate) eq 1 and NumberSeries ne 'A'") == expect(
        lambda v: v["VoucherDate"][8:10] == "01" and v["NumberSeries"] != "A"
    )
    assert ids("SourceId eq null and VoucherType lt 3") == expect(
        lambda v: v["SourceId"] is None and v["VoucherType"] < 3
    )
    invoices = session.get(
        "/v2/customerinvoices",
        params={"$filter": "IsCreditInvoice eq false and InvoiceDate ge 2025-01-01", "$pagesize": 1000},
    ).json()["Data"]
    assert invoices and all(not i["IsCreditInvoice"] and i["InvoiceDate"] >= "2025" for i in invoices)


@pytest.mark.parametrize(
    ("expression", "code"),
    [
        ("Nonexistent eq 1", 6000),
        ("VoucherDate eq", 6000),
        ("(VoucherType eq 2", 6000),
        ("VoucherType eq 2 VoucherType", 6000),
        ("VoucherType === 2", 6000),
        ("Rows/any(r: r/Nope eq 1)", 6000),
        ("VoucherDate ge 2025-13-45", 6001),
        ("VoucherDate ge '2025-02-30'", 6001),
    ],
)
def test_filter_errors(
    shared_sandbox: SandboxServer,
    session: httpx.Client,
    years: list[dict[str, Any]],
    expression: str,
    code: int, control_for: ControlFor,
) -> None:
    # Production quirk (on by default): 2000 DataModelValidationError naming the option in Errors[].Field.
    response = session.get(f"/v2/vouchers/{years[-1]['Id']}", params={"$filter": expression})
    assert response.status_code == 400
    body = response.json()
    assert body["ErrorCode"] == 2000 and body["DeveloperErrorMessage"] and body["ErrorId"]
    assert [error["Field"] for error in body["Errors"]] == ["$filter"]
    # Switched off: the documented 6000 QueryParameterError (6001 for a bad date literal).
    control = control_for(shared_sandbox)
    control.quirks(filter_error_code=6000)
    try:
        response = session.get(f"/v2/vouchers/{years[-1]['Id']}", params={"$filter": expression})
    finally:
        control.quirks(filter_error_code=2000)
    assert response.status_code == 400 and response.json()["ErrorCode"] == code


def test_orderby_and_select(session: httpx.Client, years: list[dict[str, Any]]) -> None:
    year = years[-1]["Id"]
    data = session.get(
        f"/v2/vouchers/{year}",
        params={
            "$orderby": "VoucherDate desc, NumberAndNumberSeries",
            "$select": "Id,VoucherDate,NumberAndNumberSeries",
            "$pagesize": 1000,
        },
    ).json()["Data"]
    assert set(data[0]) == {"Id", "VoucherDate", "NumberAndNumberSeries"}
    dates = [row["VoucherDate"] for row in data]
    assert dates == sorted(dates, reverse=True)
    bogus_order = session.get(f"/v2/vouchers/{year}", params={"$orderby": "Bogus"}).json()
    assert bogus_order["ErrorCode"] == 2000 and bogus_order["Errors"][0]["Field"] == "$orderby"
    bogus_select = session.get(f"/v2/vouchers/{year}", params={"$select": "Id,Bogus"}).json()
    assert bogus_select["ErrorCode"] == 2000 and bogus_select["Errors"][0]["Field"] == "$select"


def test_single_resources_and_404s(session: httpx.Client, years: list[dict[str, Any]]) -> None:
    year = years[-1]["Id"]
    assert session.get(f"/v2/fiscalyears/{year}").json()["Id"] == year
    voucher = session.get(f"/v2/vouchers/{year}").json()["Data"][0]
    assert session.get(f"/v2/vouchers/{year}/{voucher['Id']}").json() == voucher
    missing = session.get(f"/v2/vouchers/{year}/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.json()["DeveloperErrorMessage"] == "Voucher not found."
    other_year = session.get(f"/v2/vouchers/{years[0]['Id']}/{voucher['Id']}")
    assert other_year.status_code == 404
    accounts = session.get(f"/v2/accounts/{year}", params={"$pagesize": 1000}).json()["Data"]
    assert all(isinstance(a["Number"], str) for a in accounts)
    assert any("ö" in a["Name"] or "å" in a["Name"] or "ä" in a["Name"] for a in accounts)
    assert session.get(f"/v2/accounts/{year}/1930").json()["Name"].startswith("Företagskonto")
    assert session.get("/v2/accounts").json()["Meta"]["TotalNumberOfResults"] == 2 * len(accounts)
    assert session.get(f"/v2/accounts/{year}/9998").status_code == 404


def test_case_insensitive_paths_and_unknown_routes(
    session: httpx.Client, years: list[dict[str, Any]]
) -> None:
    assert session.get("/v2/CompanySettings").json()["CorporateIdentityNumber"]
    assert session.get(f"/V2/Vouchers/{years[0]['Id'].upper()}").status_code == 200
    unknown = session.get("/v2/nosuchthing")
    assert unknown.status_code == 404 and unknown.json()["ErrorCode"] == 3000


def test_account_balances_match_the_seeded_truth(
    shared_sandbox: SandboxServer, session: httpx.Client, years: list[dict[str, Any]], control_for: ControlFor
) -> None:
    year = years[-1]
    truth = control_for(shared_sandbox).truth(1, year["Id"])
    balances = session.get(f"/v2/accountbalances/{year['EndDate'][:10]}", params={"$pagesize": 1000}).json()[
        "Data"
    ]
    by_account = {str(b["AccountNumber"]): Decimal(str(b["Balance"])) for b in balances}
    for account, sums in truth["accounts"].items():
        assert by_account[account] == Decimal(sums["closing"]), account
    single = session.get(f"/v2/accountbalances/1930/{year['EndDate'][:10]}").json()
    assert Decimal(str(single["Balance"])) == Decimal(truth["accounts"]["1930"]["closing"])
    assert Decimal(truth["total_debit"]) == Decimal(truth["total_credit"])
    vouchers = session.get(f"/v2/vouchers/{year['Id']}", params={"$pagesize": 1000}).json()["Data"]
    debit_1930 = sum(
        Decimal(str(r["DebitAmount"])) for v in vouchers for r in v["Rows"] if r["AccountNumber"] == 1930
    )
    assert debit_1930 == Decimal(truth["accounts"]["1930"]["debit"])
    assert session.get("/v2/accountbalances/2031-01-01").status_code == 400
    assert session.get("/v2/accountbalances/not-a-date").json()["ErrorCode"] == 6001


def test_documents_attachments_invoices(session: httpx.Client, years: list[dict[str, Any]]) -> None:
    listing = session.get("/v2/attachments", params={"$pagesize": 1000}).json()["Data"]
    assert all(a["TemporaryUrl"].startswith("http") for a in listing)
    unmatched = session.get("/v2/attachments", params={"includeMatched": "false"}).json()["Data"]
    assert unmatched and all(a["AttachmentStatus"] == 1 and a["DocumentId"] is None for a in unmatched)
    no_urls = session.get("/v2/attachments", params={"includeTemporaryUrl": "false"}).json()["Data"]
    assert all(a["TemporaryUrl"] is None for a in no_urls)
    voucher = next(
        v
        for v in session.get(f"/v2/vouchers/{years[-1]['Id']}", params={"$pagesize": 1000}).json()["Data"]
        if v["Attachments"]["AttachmentIds"]
    )
    attachment_id = voucher["Attachments"]["AttachmentIds"][0]
    first = session.get(f"/v2/attachments/{attachment_id}").json()
    second = session.get(f"/v2/attachments/{attachment_id}").json()
    assert first["TemporaryUrl"] != second["TemporaryUrl"]
    download = httpx.get(second["TemporaryUrl"])
    assert download.status_code == 200 and int(download.headers["content-length"]) == len(download.content)
    invoice = session.get("/v2/customerinvoices", params={"$pagesize": 1}).json()["Data"][0]
    assert session.get(f"/v2/customerinvoices/{invoice['Id']}").json()["VoucherId"] == invoice["VoucherId"]
    url = session.get(f"/v2/customerinvoices/{invoice['Id']}/pdf").json()["Url"]
    pdf = httpx.get(url).content
    printed = session.get(f"/v2/customerinvoices/{invoice['Id']}/print")
    assert (
        printed.headers["content-type"] == "application/pdf"
        and printed.content == pdf
        and pdf.startswith(b"%PDF")
    )
    supplier = session.get("/v2/supplierinvoices", params={"$pagesize": 1000}).json()["Data"]
    assert any(s["Status"] == 2 for s in supplier)
    booked = next(s for s in supplier if s["VoucherId"])
    assert session.get(f"/v2/supplierinvoices/{booked['Id']}").json()["Attachments"] == booked["Attachments"]
    latest = max(
        i["ModifiedUtc"]
        for i in session.get("/v2/customerinvoices", params={"$pagesize": 1000}).json()["Data"]
    )
    recent = session.get("/v2/customerinvoices", params={"modifiedSinceUtc": latest}).json()["Data"]
    assert [i["ModifiedUtc"] for i in recent] == [latest]
    assert (
        session.get("/v2/customerinvoices", params={"modifiedSinceUtc": "igår"}).json()["ErrorCode"] == 6001
    )


def test_sie4_export_and_documents(session: httpx.Client, years: list[dict[str, Any]]) -> None:
    export = session.get("/v2/sie4export/2025-01-01/2025-12-31").json()
    content = httpx.get(export["TemporaryUrl"]).content
    assert content.startswith(b"#FLAGGA 0") and b"#RAR 0 20250101 20251231" in content and b"#IB 0" in content
    assert len(content) == export["Size"]
    partial = httpx.get(session.get("/v2/sie4export/2025-02-01/2025-02-28").json()["TemporaryUrl"]).content
    assert b"#IB" not in partial and b"#VER" in partial
    assert session.get("/v2/sie4export/2024-12-01/2025-01-31").status_code == 400
    document = session.get(f"/v2/documents/{export['Id']}").json()
    assert document["Name"] == export["Name"] and httpx.get(document["TemporaryUrl"]).content == content
    # The spec declares no 404 for /documents/{id}: not found is a 400 with ErrorCode 3000 (quirk).
    missing = session.get("/v2/documents/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 400 and missing.json()["ErrorCode"] == 3000


def test_scope_enforcement(shared_sandbox: SandboxServer, years: list[dict[str, Any]]) -> None:
    accounting = control_token(shared_sandbox, company=1, scope="ea:api ea:accounting_readonly")
    with api(shared_sandbox, accounting) as client:
        forbidden = client.get("/v2/companysettings")
        assert forbidden.status_code == 403 and forbidden.json()["ErrorCode"] == 4006
        assert client.get("/v2/fiscalyears").status_code == 200
        assert client.get("/v2/customerinvoices").json()["ErrorCode"] == 4006
        assert client.get("/v2/supplierinvoices").json()["ErrorCode"] == 4006
        assert client.get("/v2/attachments").status_code == 200
    readonly_sales = control_token(shared_sandbox, company=1)
    full_sales = control_token(shared_sandbox, company=1, scope="ea:api ea:sales")
    with api(shared_sandbox, full_sales) as client:
        invoices = client.get("/v2/customerinvoices", params={"$pagesize": 1000}).json()["Data"]
        attachment_id = next(
            i["SalesDocumentAttachments"][0] for i in invoices if i["SalesDocumentAttachments"]
        )
        meta = client.get(f"/v2/salesdocumentattachments/{attachment_id}").json()
        raw = client.get(f"/v2/salesdocumentattachments/{attachment_id}.pdf")
        assert raw.content.startswith(b"%PDF") and meta["DocumentSize"] == len(raw.content)
        assert client.get("/v2/vouchers").json()["ErrorCode"] == 4006
    with api(shared_sandbox, readonly_sales) as client:
        assert client.get(f"/v2/salesdocumentattachments/{attachment_id}").json()["ErrorCode"] == 4006
    no_api = control_token(shared_sandbox, company=1, scope="ea:accounting_readonly")
    with api(shared_sandbox, no_api) as client:
        assert client.get("/v2/fiscalyears").json()["ErrorCode"] == 4006


@pytest.mark.parametrize(("company", "code"), [(4, 4007), (5, 4002), (6, 4004)])
def test_company_state_errors(shared_sandbox: SandboxServer, company: int, code: int) -> None:
    with api(shared_sandbox, control_token(shared_sandbox, company=company)) as client:
        response = client.get("/v2/fiscalyears")
        assert response.status_code == 403 and response.json()["ErrorCode"] == code


def test_company_state_switches_at_runtime(sandbox_factory: Factory, control_for: ControlFor) -> None:
    server = sandbox_factory()
    with api(server, token_for(server)) as client:
        for change, code in [
            ({"permission": "none"}, 4011),
            ({"permission": "full", "startup_guide_completed": False}, 4003),
            ({"startup_guide_completed": True, "licence_accepted": False}, 4012),
            ({"licence_accepted": True, "active": False}, 4004),
        ]:
            control_for(server).faults(company={"number": 1, **change})
            assert client.get("/v2/vouchers").json()["ErrorCode"] == code
        control_for(server).faults(company={"number": 1, "active": True})
        assert client.get("/v2/vouchers").status_code == 200


def test_same_seed_serves_the_same_books_over_http(sandbox_factory: Factory) -> None:
    first, second = sandbox_factory(seed=42), sandbox_factory(seed=42)
    pages = []
    for server in (first, second):
        with api(server, token_for(server)) as client:
            pages.append(
                client.get("/v2/vouchers", params={"$pagesize": 1000, "$orderby": "Id"}).json()["Data"]
            )
            pages.append(client.get("/v2/customerinvoices", params={"$pagesize": 1000}).json()["Data"])
    assert pages[0] == pages[2] and pages[1] == pages[3] and len(pages[0]) == 120


def test_wrong_method_answers_in_the_error_envelope(session: httpx.Client) -> None:
    response = session.post("/v2/vouchers", json={})
    assert response.status_code == 405 and response.json()["ErrorId"]
