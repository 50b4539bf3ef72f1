"""Accounting endpoints: fiscal years, accounts, account balances, vouchers and the SIE 4 export.

Scopes per spiris-api.md §1.6: fiscal years accept sales or accounting scopes; the rest need an accounting
scope.
"""

from __future__ import annotations

import uuid
from datetime import date

from starlette.responses import Response
from starlette.routing import Route

from spiris_sandbox import errors
from spiris_sandbox.api_guard import ACCOUNTING, SALES, ApiContext, api_route
from spiris_sandbox.balances import balances_at
from spiris_sandbox.catalog import BAS_ACCOUNTS
from spiris_sandbox.clock import format_utc_millis
from spiris_sandbox.company_data import FiscalYear, Record
from spiris_sandbox.documents import DocumentSpec, document_size
from spiris_sandbox.downloads import temporary_url
from spiris_sandbox.json_response import ApiJSONResponse
from spiris_sandbox.paging import list_response
from spiris_sandbox.schemas import ACCOUNT, ACCOUNT_BALANCE, FISCAL_YEAR, OPENING_BALANCE, VOUCHER
from spiris_sandbox.sie_export import sie4_export

LEDGER = "ledger"
_ACCOUNT_TYPES = {number: (account_type, text) for number, _, account_type, text in BAS_ACCOUNTS}


def _fiscal_year(ctx: ApiContext, *, declared_404: bool) -> FiscalYear | Response:
    """The path's fiscal year; missing → 404 where the spec declares one, else 400 3001 (quirk)."""
    fiscal_year_id = str(ctx.request.path_params["fiscal_year_id"]).lower()
    year = ctx.books.fiscal_year(fiscal_year_id)
    if year is None:
        return errors.not_found(
            errors.FISCAL_YEAR_DOES_NOT_EXIST,
            "Fiscal year not found.",
            declared_404=declared_404,
            as_400=ctx.state.quirks.not_found_as_400,
        )
    return year


def _path_date(ctx: ApiContext, name: str) -> date | Response:
    raw = str(ctx.request.path_params[name])
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return errors.api_error(
            400, errors.INVALID_INPUT, f"Invalid date format '{raw}', expected yyyy-MM-dd."
        )


async def fiscal_years(ctx: ApiContext) -> Response:
    records = [year.to_api() for year in ctx.books.fiscal_years]
    return list_response(ctx.request, ctx.state, records, FISCAL_YEAR)


async def fiscal_year(ctx: ApiContext) -> Response:
    year = _fiscal_year(ctx, declared_404=True)
    return year if isinstance(year, Response) else ApiJSONResponse(year.to_api())


async def opening_balances(ctx: ApiContext) -> Response:
    """The company's first fiscal year's opening balances, in the paged envelope of
    `PaginatedResponseOfOpeningBalancesApi` (`{Name, Number, Balance}`; `{AccountNumber, Balance}` is only
    the PUT body)."""
    first = ctx.books.fiscal_years[0]
    names = {int(record["Number"]): record["Name"] for record in ctx.books.accounts.get(first.id, [])}
    records = [
        {"Name": names.get(account), "Number": account, "Balance": value / 100}
        for account, value in sorted(ctx.books.opening_balances.get(first.id, {}).items())
    ]
    return list_response(ctx.request, ctx.state, records, OPENING_BALANCE)


async def accounts_all(ctx: ApiContext) -> Response:
    records = [account for year in ctx.books.fiscal_years for account in ctx.books.accounts.get(year.id, [])]
    return list_response(ctx.request, ctx.state, records, ACCOUNT)


async def accounts_of_year(ctx: ApiContext) -> Response:
    year = _fiscal_year(ctx, declared_404=False)
    if isinstance(year, Response):
        return year
    return list_response(ctx.request, ctx.state, ctx.books.accounts.get(year.id, []), ACCOUNT)


async def account(ctx: ApiContext) -> Response:
    year = _fiscal_year(ctx, declared_404=True)
    if isinstance(year, Response):
        return year
    number = str(ctx.request.path_params["account_number"])
    for record in ctx.books.accounts.get(year.id, []):
        if record["Number"] == number:
            return ApiJSONResponse(record)
    return errors.api_error(404, errors.ACCOUNT_NOT_FOUND, "Account not found.")


def _balance_records(ctx: ApiContext) -> list[Record] | Response:
    """Every account's balance at the path's `{day}` (within the fiscal year containing it)."""
    day = _path_date(ctx, "day")
    if isinstance(day, Response):
        return day
    year = ctx.books.fiscal_year_for(day)
    if year is None:
        return errors.api_error(400, errors.FISCAL_YEAR_DOES_NOT_EXIST, "No fiscal year contains that date.")
    with ctx.books.lock:
        balances = balances_at(ctx.books, year, day)
    names = {int(record["Number"]): record["Name"] for record in ctx.books.accounts.get(year.id, [])}
    records = []
    for number in sorted(set(names) | set(balances)):
        account_type, type_text = _ACCOUNT_TYPES.get(number, (0, None))
        records.append(
            {
                "AccountNumber": number,
                "AccountName": names.get(number),
                "Balance": balances.get(number, 0) / 100,
                "AccountType": account_type,
                "AccountTypeDescription": type_text,
            }
        )
    return records


async def account_balances(ctx: ApiContext) -> Response:
    records = _balance_records(ctx)
    if isinstance(records, Response):
        return records
    return list_response(ctx.request, ctx.state, records, ACCOUNT_BALANCE)


async def account_balance(ctx: ApiContext) -> Response:
    records = _balance_records(ctx)
    if isinstance(records, Response):
        return records
    wanted = str(ctx.request.path_params["account_number"])
    for record in records:
        if str(record["AccountNumber"]) == wanted:
            return ApiJSONResponse(record)
    return errors.api_error(404, errors.ACCOUNT_NOT_FOUND, "Account not found.")


async def vouchers_all(ctx: ApiContext) -> Response:
    with ctx.books.lock:
        records = ctx.books.all_vouchers()
        key = ("vouchers", ctx.company_number, None, ctx.books.version)
    return list_response(ctx.request, ctx.state, records, VOUCHER, cache_key=key)


async def vouchers_of_year(ctx: ApiContext) -> Response:
    year = _fiscal_year(ctx, declared_404=False)
    if isinstance(year, Response):
        return year
    with ctx.books.lock:
        records = list(ctx.books.vouchers.get(year.id, []))
        key = ("vouchers", ctx.company_number, year.id, ctx.books.version)
    return list_response(ctx.request, ctx.state, records, VOUCHER, cache_key=key)


async def voucher(ctx: ApiContext) -> Response:
    year = _fiscal_year(ctx, declared_404=True)
    if isinstance(year, Response):
        return year
    found = ctx.books.voucher_index.get(str(ctx.request.path_params["voucher_id"]).lower())
    if found is None or found[0] != year.id:
        return errors.api_error(404, errors.RESOURCE_NOT_FOUND, "Voucher not found.")
    return ApiJSONResponse(found[1])


async def sie4(ctx: ApiContext) -> Response:
    start = _path_date(ctx, "from_date")
    if isinstance(start, Response):
        return start
    end = _path_date(ctx, "to_date")
    if isinstance(end, Response):
        return end
    year = ctx.books.fiscal_year_for(start)
    if year is None or end < start or end > year.end:
        return errors.api_error(400, errors.INVALID_INPUT, "The date range must lie within one fiscal year.")
    now = ctx.state.clock.now()
    with ctx.books.lock:
        content = sie4_export(ctx.books, year, start=start, end=end, generated=now.date())
        document_id = str(uuid.uuid4())
        ctx.books.documents[document_id] = DocumentSpec(kind="bytes", content=content)
    name = f"SIE4 {start.isoformat()} - {end.isoformat()}"
    record = {
        "Id": document_id,
        "ContentType": "text/plain",
        "CreatedUtc": format_utc_millis(now),
        "Name": f"{name}.se",
        "NameWithoutExtension": name,
        "Size": document_size(ctx.books.documents[document_id]),
        "Type": 0,
        "Title": name,
        "_document_key": document_id,
    }
    ctx.books.document_records[document_id] = record
    link = ctx.state.links.create(
        company=ctx.company_number,
        document_key=document_id,
        content_type="text/plain",
        file_name=str(record["Name"]),
        now=ctx.state.clock.time(),
    )
    public = {key: value for key, value in record.items() if not key.startswith("_")}
    public["TemporaryUrl"] = temporary_url(
        str(ctx.request.base_url), link, storage_host=ctx.state.config.storage_host
    )
    return ApiJSONResponse(public)


def accounting_routes() -> list[Route]:
    fy_scopes = ACCOUNTING | SALES
    return [
        api_route("/v2/fiscalyears", fiscal_years, scopes=fy_scopes),
        api_route("/v2/fiscalyears/openingbalances", opening_balances, scopes=fy_scopes),
        api_route("/v2/fiscalyears/{fiscal_year_id}", fiscal_year, scopes=fy_scopes),
        api_route("/v2/accounts", accounts_all, scopes=ACCOUNTING, feature=LEDGER),
        api_route("/v2/accounts/{fiscal_year_id}", accounts_of_year, scopes=ACCOUNTING, feature=LEDGER),
        api_route(
            "/v2/accounts/{fiscal_year_id}/{account_number}", account, scopes=ACCOUNTING, feature=LEDGER
        ),
        api_route("/v2/accountbalances/{day}", account_balances, scopes=ACCOUNTING, feature=LEDGER),
        api_route(
            "/v2/accountbalances/{account_number}/{day}", account_balance, scopes=ACCOUNTING, feature=LEDGER
        ),
        api_route("/v2/vouchers", vouchers_all, scopes=ACCOUNTING, feature=LEDGER),
        api_route("/v2/vouchers/{fiscal_year_id}", vouchers_of_year, scopes=ACCOUNTING, feature=LEDGER),
        api_route("/v2/vouchers/{fiscal_year_id}/{voucher_id}", voucher, scopes=ACCOUNTING, feature=LEDGER),
        api_route("/v2/sie4export/{from_date}/{to_date}", sie4, scopes=ACCOUNTING, feature=LEDGER),
    ]
