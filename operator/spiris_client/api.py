"""`SpirisApi`: the typed, read-only Spiris API the sync uses.

One method per endpoint. Single resources return a model; list endpoints return an iterator of `Page`s (walked
by `spiris_client.paging`, `$pagesize` 1000 by default) so callers can checkpoint per page; `$filter` and
`$orderby` are passed through verbatim (encoded properly on the wire). All requests go through
`spiris_client.transport` (retries, 429 waits, one token renewal on 401) and are counted in `calls`. Where
Spiris renders or signs on request — invoice PDFs (`/pdf`, `/print`), the SIE 4 export and attachment pages
with temporary URLs — reads wait `render_timeout` (default 120 s) instead of the normal `timeout`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from spiris_client.backoff import RetryPolicy
from spiris_client.call_counter import CallCounter
from spiris_client.downloads import checked_chunks
from spiris_client.errors import SpirisError
from spiris_client.fields import Fields
from spiris_client.models import (
    Account,
    AccountBalance,
    Attachment,
    CompanySettings,
    CustomerInvoice,
    DocumentInfo,
    FiscalYear,
    OpeningBalance,
    Page,
    SupplierInvoice,
    Voucher,
)
from spiris_client.paging import MAX_PAGE_SIZE, iterate_pages
from spiris_client.ratelimit import NoRateLimit, RateLimiter
from spiris_client.tokens import TokenProvider
from spiris_client.transport import ApiTransport, QueryParams

PRODUCTION_API_URL = "https://eaccountingapi.vismaonline.com/v2"
SANDBOX_API_URL = "https://eaccountingapi-sandbox.test.vismaonline.com/v2"
DEFAULT_USER_AGENT = "spiris-operator/0.1 (+https://github.com/senseworks)"
DEFAULT_RENDER_TIMEOUT = 120.0

T = TypeVar("T")


def _segment(value: str | date) -> str:
    text = value.isoformat() if isinstance(value, date) else str(value)
    return quote(text, safe="")


def _utc_literal(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class SpirisApi:
    """A Spiris API client for one connection (one company's token).

    `base_url` includes `/v2`. `sleep` and `rng` are injectable so tests can record waits; `transport` lets
    tests or callers swap the httpx transport. `max_retries`, `backoff_base`/`backoff_cap`,
    `max_rate_limit_waits` bound the retry loop (see `spiris_client.backoff.RetryPolicy`).
    """

    def __init__(
        self,
        base_url: str = PRODUCTION_API_URL,
        *,
        token_provider: TokenProvider,
        rate_limiter: RateLimiter | None = None,
        timeout: float | httpx.Timeout = 30.0,
        render_timeout: float = DEFAULT_RENDER_TIMEOUT,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_rate_limit_waits: int = 5,
        max_rate_limit_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.calls = CallCounter()
        connect = timeout.connect if isinstance(timeout, httpx.Timeout) else timeout
        # Only the wait for the answer grows; connecting to a host that is down still fails fast.
        self._render_timeout = httpx.Timeout(render_timeout, connect=connect)
        self.policy = RetryPolicy(
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            max_rate_limit_waits=max_rate_limit_waits,
            max_rate_limit_wait=max_rate_limit_wait,
        )
        self._transport = ApiTransport(
            base_url=base_url,
            token_provider=token_provider,
            rate_limiter=rate_limiter or NoRateLimit(),
            counter=self.calls,
            policy=self.policy,
            timeout=timeout,
            sleep=sleep,
            rng=rng,
            user_agent=user_agent,
            transport=transport,
        )

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def __repr__(self) -> str:
        return f"SpirisApi({self.base_url!r})"

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> SpirisApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing
    # ---------------------------------------------------------------------------------------------

    def _object(
        self,
        path: str,
        parse: Callable[[Mapping[str, Any]], T],
        params: QueryParams | None = None,
        *,
        timeout: httpx.Timeout | None = None,
    ) -> T:
        body = self._transport.get_json(path, params, timeout=timeout)
        if not isinstance(body, Mapping):
            raise SpirisError(f"Spiris answered {path.split('/')[0]} with something other than an object")
        return parse(body)

    def _pages(
        self,
        path: str,
        parse: Callable[[Mapping[str, Any]], T],
        *,
        params: QueryParams | None = None,
        page_size: int = MAX_PAGE_SIZE,
        start_page: int = 1,
        timeout: httpx.Timeout | None = None,
    ) -> Iterator[Page[T]]:
        return iterate_pages(
            lambda query: self._transport.get_json(path, query, timeout=timeout),
            parse,
            params=params,
            page_size=page_size,
            start_page=start_page,
        )

    # -- company and fiscal years
    # -----------------------------------------------------------------------------

    def company_settings(self) -> CompanySettings:
        """`GET /companysettings` (needs a sales scope)."""
        return self._object("companysettings", CompanySettings.from_api)

    def fiscal_years(self) -> list[FiscalYear]:
        """All fiscal years (every page of `GET /fiscalyears`)."""
        return [year for page in self._pages("fiscalyears", FiscalYear.from_api) for year in page.items]

    def fiscal_year(self, fiscal_year_id: str) -> FiscalYear:
        return self._object(f"fiscalyears/{_segment(fiscal_year_id)}", FiscalYear.from_api)

    def opening_balances(
        self, *, page_size: int = MAX_PAGE_SIZE, start_page: int = 1
    ) -> Iterator[Page[OpeningBalance]]:
        """Pages of `GET /fiscalyears/openingbalances`: the opening balances of the company's first fiscal
        year (`{Meta, Data: [{Name, Number, Balance}]}`)."""
        return self._pages(
            "fiscalyears/openingbalances",
            OpeningBalance.from_api,
            page_size=page_size,
            start_page=start_page,
        )

    # -- ledger
    # -----------------------------------------------------------------------------------------------

    def accounts(
        self, fiscal_year_id: str, *, page_size: int = MAX_PAGE_SIZE, start_page: int = 1
    ) -> Iterator[Page[Account]]:
        """Pages of `GET /accounts/{fiscalyearId}`."""
        return self._pages(
            f"accounts/{_segment(fiscal_year_id)}",
            Account.from_api,
            page_size=page_size,
            start_page=start_page,
        )

    def account_balances(
        self, on: date, *, page_size: int = MAX_PAGE_SIZE, start_page: int = 1
    ) -> Iterator[Page[AccountBalance]]:
        """Pages of `GET /accountbalances/{date}`: every account's balance at that date."""
        return self._pages(
            f"accountbalances/{_segment(on)}",
            AccountBalance.from_api,
            page_size=page_size,
            start_page=start_page,
        )

    def vouchers(
        self,
        fiscal_year_id: str,
        *,
        filter: str | None = None,
        orderby: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        start_page: int = 1,
    ) -> Iterator[Page[Voucher]]:
        """Pages of `GET /vouchers/{fiscalyearId}`, optionally `$filter`ed and `$orderby`-ed.

        Without `orderby` Spiris does not promise a stable order across pages; pass one when paging large
        sets.
        """
        return self._pages(
            f"vouchers/{_segment(fiscal_year_id)}",
            Voucher.from_api,
            params={"$filter": filter, "$orderby": orderby},
            page_size=page_size,
            start_page=start_page,
        )

    def voucher(self, fiscal_year_id: str, voucher_id: str) -> Voucher:
        """`GET /vouchers/{fiscalyearId}/{voucherId}` (`NotFound` when absent)."""
        return self._object(f"vouchers/{_segment(fiscal_year_id)}/{_segment(voucher_id)}", Voucher.from_api)

    # -- documents
    # --------------------------------------------------------------------------------------------

    def attachment(self, attachment_id: str) -> Attachment:
        """`GET /attachments/{id}`, with a fresh `temporary_url` each time."""
        return self._object(f"attachments/{_segment(attachment_id)}", Attachment.from_api)

    def attachments(
        self,
        *,
        include_matched: bool = True,
        include_temporary_url: bool = False,
        filter: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        start_page: int = 1,
    ) -> Iterator[Page[Attachment]]:
        """Pages of `GET /attachments` (`include_matched=False`: only unmatched ones).

        Temporary URLs are left out by default: they expire long before a large listing is processed.
        """
        return self._pages(
            "attachments",
            Attachment.from_api,
            params={
                "includeMatched": include_matched,
                "includeTemporaryUrl": include_temporary_url,
                "$filter": filter,
            },
            page_size=page_size,
            start_page=start_page,
            # Signing a temporary URL per item makes these pages slow (spiris-api.md §0a).
            timeout=self._render_timeout if include_temporary_url else None,
        )

    def customer_invoice(self, invoice_id: str) -> CustomerInvoice:
        return self._object(f"customerinvoices/{_segment(invoice_id)}", CustomerInvoice.from_api)

    def customer_invoices(
        self,
        *,
        modified_since_utc: datetime | None = None,
        filter: str | None = None,
        orderby: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        start_page: int = 1,
    ) -> Iterator[Page[CustomerInvoice]]:
        """Pages of `GET /customerinvoices` (`modifiedSinceUtc` is Spiris' own incremental filter)."""
        return self._pages(
            "customerinvoices",
            CustomerInvoice.from_api,
            params={
                "modifiedSinceUtc": _utc_literal(modified_since_utc) if modified_since_utc else None,
                "$filter": filter,
                "$orderby": orderby,
            },
            page_size=page_size,
            start_page=start_page,
        )

    def customer_invoice_pdf_url(self, invoice_id: str) -> str:
        """The temporary URL of the invoice PDF (`GET /customerinvoices/{id}/pdf` → `{Url}`); download at
        once."""
        body = self._transport.get_json(
            f"customerinvoices/{_segment(invoice_id)}/pdf", timeout=self._render_timeout
        )
        url = Fields(body).text("Url") if isinstance(body, Mapping) else None
        if not url:
            raise SpirisError("Spiris answered customerinvoices/{invoiceId}/pdf without a Url")
        return url

    def customer_invoice_print(self, invoice_id: str, *, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The invoice PDF's bytes, streamed (`GET /customerinvoices/{id}/print`).

        A `Content-Length` that the body does not reach raises `DownloadError` instead of ending short.
        """
        with self._transport.stream(
            f"customerinvoices/{_segment(invoice_id)}/print", timeout=self._render_timeout
        ) as response:
            yield from checked_chunks(response, chunk_size=chunk_size)

    def supplier_invoice(self, invoice_id: str) -> SupplierInvoice:
        return self._object(f"supplierinvoices/{_segment(invoice_id)}", SupplierInvoice.from_api)

    def supplier_invoices(
        self,
        *,
        filter: str | None = None,
        orderby: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        start_page: int = 1,
    ) -> Iterator[Page[SupplierInvoice]]:
        return self._pages(
            "supplierinvoices",
            SupplierInvoice.from_api,
            params={"$filter": filter, "$orderby": orderby},
            page_size=page_size,
            start_page=start_page,
        )

    def document(self, document_id: str) -> DocumentInfo:
        return self._object(f"documents/{_segment(document_id)}", DocumentInfo.from_api)

    def sie4export(self, from_date: date, to_date: date) -> DocumentInfo:
        """`GET /sie4export/{from}/{to}`: a SIE4 file behind `temporary_url` (range within one fiscal
        year)."""
        return self._object(
            f"sie4export/{_segment(from_date)}/{_segment(to_date)}",
            DocumentInfo.from_api,
            timeout=self._render_timeout,
        )
