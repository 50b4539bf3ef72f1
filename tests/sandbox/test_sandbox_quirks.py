"""Production quirks of the sandbox (spiris_sandbox.quirks), on by default and switchable: not-found as 400
with ErrorCode 3000 where the spec declares no 404, unstable order of `$orderby` ties, latency where Spiris
renders, product variants and company states, the paged opening balances — and that the conformance suite's
schema check covers every response the product reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from spec_validation import ROUTES, ResponseRecorder
from spiris_sandbox.server import SandboxServer
from testkit.sandbox_oauth import ControlFor, api, control_token, token_for

Factory = Callable[..., SandboxServer]
MISSING = "00000000-0000-4000-8000-000000000000"


def _first_year(client: httpx.Client) -> dict[str, Any]:
    year: dict[str, Any] = client.get("/v2/fiscalyears").json()["Data"][0]
    return year


def test_opening_balances_are_a_paged_envelope_of_name_number_balance(sandbox_factory: Factory) -> None:
    server = sandbox_factory()
    with api(server, token_for(server)) as client:
        first = client.get("/v2/fiscalyears/openingbalances", params={"$pagesize": 2}).json()
        assert set(first) == {"Meta", "Data"} and first["Meta"]["TotalNumberOfPages"] >= 3
        assert set(first["Data"][0]) == {"Name", "Number", "Balance"}
        assert isinstance(first["Data"][0]["Number"], int) and first["Data"][0]["Name"]
        numbers = [
            row["Number"]
            for page in range(1, first["Meta"]["TotalNumberOfPages"] + 1)
            for row in client.get(
                "/v2/fiscalyears/openingbalances", params={"$pagesize": 2, "$page": page}
            ).json()["Data"]
        ]
        assert len(numbers) == first["Meta"]["TotalNumberOfResults"] == len(set(numbers))


def test_not_found_is_400_3000_where_the_spec_declares_no_404(
    sandbox_factory: Factory, control_for: ControlFor
) -> None:
    server = sandbox_factory()
    with api(server, token_for(server)) as client:
        year = _first_year(client)["Id"]
        for path, code in (
            (f"/v2/attachments/{MISSING}", 3000),
            (f"/v2/customerinvoices/{MISSING}", 3000),
            (f"/v2/customerinvoices/{MISSING}/pdf", 3000),
            (f"/v2/customerinvoices/{MISSING}/print", 3000),
            (f"/v2/documents/{MISSING}", 3000),
            (f"/v2/vouchers/{MISSING}", 3001),
            (f"/v2/accounts/{MISSING}", 3001),
        ):
            response = client.get(path)
            assert (response.status_code, response.json()["ErrorCode"]) == (400, code), path
        # Where the spec declares a 404, it stays one.
        assert client.get(f"/v2/supplierinvoices/{MISSING}").status_code == 404
        assert client.get(f"/v2/vouchers/{year}/{MISSING}").status_code == 404
        assert client.get(f"/v2/fiscalyears/{MISSING}").status_code == 404
        control_for(server).quirks(not_found_as_400=False)
        assert client.get(f"/v2/attachments/{MISSING}").status_code == 404


def _walk(client: httpx.Client, year: str, orderby: str, size: int = 7) -> list[str]:
    ids: list[str] = []
    page = 1
    while True:
        body = client.get(
            f"/v2/vouchers/{year}", params={"$orderby": orderby, "$pagesize": size, "$page": page}
        ).json()
        ids += [v["Id"] for v in body["Data"]]
        if page >= body["Meta"]["TotalNumberOfPages"]:
            return ids
        page += 1


def test_ties_come_back_in_a_new_order_each_time_unless_the_order_is_total(
    sandbox_factory: Factory, control_for: ControlFor
) -> None:
    server = sandbox_factory(vouchers_per_year=120)
    with api(server, token_for(server)) as client:
        year = _first_year(client)["Id"]
        total = client.get(f"/v2/vouchers/{year}").json()["Meta"]["TotalNumberOfResults"]
        broken = [
            ids for ids in (_walk(client, year, "VoucherDate") for _ in range(5)) if len(set(ids)) != total
        ]
        assert broken, "paging over a non-unique key never repeated or skipped a voucher"
        for _ in range(3):
            ids = _walk(client, year, "VoucherDate,Id")
            assert len(ids) == len(set(ids)) == total
        control_for(server).quirks(unstable_ties=False)
        assert len(set(_walk(client, year, "VoucherDate"))) == total


def test_rendering_and_temporary_url_listing_take_time(
    sandbox_factory: Factory, control_for: ControlFor
) -> None:
    server = sandbox_factory(vouchers_per_year=200)
    control_for(server).quirks(render_latency_ms=300, temporary_url_latency_ms=5)
    with api(server, token_for(server)) as client:
        invoice = client.get("/v2/customerinvoices", params={"$pagesize": 1}).json()["Data"][0]["Id"]
        for path in (f"/v2/customerinvoices/{invoice}/pdf", f"/v2/customerinvoices/{invoice}/print"):
            started = time.monotonic()
            assert client.get(path).status_code == 200
            assert time.monotonic() - started >= 0.3, path
        params = {"$pagesize": 40}
        started = time.monotonic()
        client.get("/v2/attachments", params={**params, "includeTemporaryUrl": "false"})
        without = time.monotonic() - started
        started = time.monotonic()
        listed = client.get("/v2/attachments", params={**params, "includeTemporaryUrl": "true"}).json()
        with_urls = time.monotonic() - started
        assert len(listed["Data"]) == 40 and with_urls >= 0.2 > without


def test_product_variants_and_company_states(sandbox_factory: Factory, control_for: ControlFor) -> None:
    server = sandbox_factory()
    faults = f"{server.url}/_sandbox/faults"
    with api(server, control_token(server, company=2)) as client:
        settings = client.get("/v2/companysettings").json()
        assert settings["ProductVariant"] == 5 and settings["CompanyStatus"] == 1
        assert {"bookkeeping", "api_standard"} <= set(settings["ActivatedModules"])
        year = _first_year(client)["Id"]

        control_for(server).faults(company={"number": 2, "product_variant": 3})
        assert client.get("/v2/companysettings").json()["ProductVariant"] == 3
        refused = client.get("/v2/customerinvoices")
        assert (refused.status_code, refused.json()["ErrorCode"]) == (403, 4009)
        assert client.get(f"/v2/vouchers/{year}").status_code == 200
        assert client.get("/v2/supplierinvoices").status_code == 200

        control_for(server).faults(company={"number": 2, "product_variant": 2})
        assert "bookkeeping" not in client.get("/v2/companysettings").json()["ActivatedModules"]
        assert client.get(f"/v2/vouchers/{year}").json()["ErrorCode"] == 4009
        assert client.get("/v2/supplierinvoices").json()["ErrorCode"] == 4009
        assert client.get("/v2/customerinvoices").status_code == 200

        httpx.post(
            faults, json={"company": {"number": 2, "product_variant": 5, "company_status": 2}}
        ).raise_for_status()
        assert client.get("/v2/companysettings").json()["CompanyStatus"] == 2
        assert client.get(f"/v2/vouchers/{year}").status_code == 200  # read-only companies can be read
        control_for(server).faults(company={"number": 2, "company_status": 0})
        inactive = client.get(f"/v2/vouchers/{year}")
        assert (inactive.status_code, inactive.json()["ErrorCode"]) == (403, 4004)
        assert httpx.post(faults, json={"company": {"number": 2, "product_variant": 9}}).status_code == 400


def test_every_response_the_product_reads_is_schema_checked(
    sandbox_factory: Factory, spec_conformance: ResponseRecorder
) -> None:
    server = sandbox_factory()
    with api(server, token_for(server)) as client:
        client.get("/v2/companysettings")
        client.get("/v2/fiscalyears/openingbalances")
        client.get("/v2/accounts")
        client.get("/v2/vouchers", params={"$pagesize": 5})
        for year in client.get("/v2/fiscalyears").json()["Data"]:
            fy, end = year["Id"], year["EndDate"][:10]
            client.get(f"/v2/fiscalyears/{fy}")
            number = client.get(f"/v2/accounts/{fy}").json()["Data"][0]["Number"]
            client.get(f"/v2/accounts/{fy}/{number}")
            client.get(f"/v2/accountbalances/{end}")
            client.get(f"/v2/accountbalances/1930/{end}")
            voucher = client.get(f"/v2/vouchers/{fy}").json()["Data"][0]["Id"]
            client.get(f"/v2/vouchers/{fy}/{voucher}")
            export = client.get(f"/v2/sie4export/{year['StartDate'][:10]}/{end}").json()
            client.get(f"/v2/documents/{export['Id']}")
        attachment = client.get("/v2/attachments").json()["Data"][0]["Id"]
        client.get(f"/v2/attachments/{attachment}")
        invoice = client.get("/v2/customerinvoices").json()["Data"][0]["Id"]
        client.get(f"/v2/customerinvoices/{invoice}")
        client.get(f"/v2/customerinvoices/{invoice}/pdf")
        client.get(f"/v2/customerinvoices/{invoice}/print")
        supplier = client.get("/v2/supplierinvoices").json()["Data"][0]["Id"]
        client.get(f"/v2/supplierinvoices/{supplier}")
        client.get(f"/v2/attachments/{MISSING}")  # an error body: CommonExtendedBadRequest
    wanted = {name for _, name in ROUTES if name is not None}
    assert wanted <= spec_conformance.routes_seen, wanted - spec_conformance.routes_seen
