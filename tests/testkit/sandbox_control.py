"""The typed client of the sandbox's control API (`/_sandbox/...`), the one every suite uses.

`SandboxControl(url)` (the sandbox's base URL) has a method per control route: faults, quirks, rate limit,
clock, users, companies, seeded truth, stats, tokens, revocation and voucher changes. Every call raises on a
non-2xx answer; `get`/`post` stay for the rare route without a method.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, TypedDict, cast

import httpx

from testkit.sandbox import CLIENT_ID


class FiscalYearSummary(TypedDict):
    id: str
    start: str
    end: str
    locked: bool
    vouchers: int


class CompanySummary(TypedDict):
    number: int
    id: str
    name: str
    org_number: str
    active: bool
    has_api_module: bool
    startup_guide_completed: bool
    licence_accepted: bool
    fiscal_years: list[FiscalYearSummary]
    customer_invoices: int
    supplier_invoices: int
    attachments: int
    unmatched_attachments: int
    sales_document_attachments: int


class SandboxUser(TypedDict):
    id: str
    email: str
    password: str
    name: str
    companies: list[int]
    permissions: dict[str, str]
    default_company: int | None


class RequestCount(TypedDict):
    client_id: str
    template: str
    count: int
    throttled: int


class SandboxStats(TypedDict):
    requests: list[RequestCount]
    requests_total: int
    throttled_total: int
    token_grants: dict[str, int]
    downloads: int
    download_bytes: int
    expired_downloads: int
    downloads_with_authorization: int


class SandboxControl:
    """The control API of the sandbox at `url` (its base URL, without `/_sandbox`)."""

    def __init__(self, url: str, *, timeout: float = 60) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url + "/_sandbox", timeout=timeout)

    def __enter__(self) -> SandboxControl:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    # Raw calls.
    def get(self, path: str) -> Any:
        response = self.http.get(path)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.post(path, json=body or {})
        response.raise_for_status()
        return response.json()

    # Faults, quirks, rate limit, clock.
    def faults(self, **switches: Any) -> dict[str, Any]:
        """`POST /faults` with `switches` (e.g. `slow_ms=80`, `server_errors=3`); the switches now on."""
        return cast(dict[str, Any], self.post("/faults", switches))

    def fault_switches(self) -> dict[str, Any]:
        """The fault switches now on (`GET /faults`)."""
        return cast(dict[str, Any], self.get("/faults"))

    def clear_faults(self) -> None:
        self.http.delete("/faults").raise_for_status()

    def quirks(self, **switches: Any) -> dict[str, Any]:
        """The production-quirk switches, after setting `switches` (none: only read them)."""
        if switches:
            return cast(dict[str, Any], self.post("/quirks", switches))
        return cast(dict[str, Any], self.get("/quirks"))

    def rate_limit(self, **body: Any) -> dict[str, Any]:
        return cast(dict[str, Any], self.post("/ratelimit", body))

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the sandbox clock forward by `seconds`."""
        return cast(dict[str, Any], self.post("/clock", {"advance_seconds": seconds}))

    # The seeded world.
    def users(self) -> list[SandboxUser]:
        return cast(list[SandboxUser], self.get("/users"))

    def first_user_email(self) -> str:
        return self.users()[0]["email"]

    def companies(self) -> list[CompanySummary]:
        return cast(list[CompanySummary], self.get("/companies"))

    def company(self, number: int = 1) -> CompanySummary:
        return cast(CompanySummary, self.get(f"/companies/{number}"))

    def fiscal_year_ids(self, company: int = 1) -> dict[int, str]:
        """The company's fiscal-year ids by the calendar year each starts in."""
        return {int(fy["start"][:4]): fy["id"] for fy in self.company(company)["fiscal_years"]}

    def truth(self, company: int, fiscal_year_id: str) -> dict[str, Any]:
        """The seeded truth of one fiscal year (vouchers, balances, documents) as the sandbox holds it."""
        return cast(dict[str, Any], self.get(f"/truth/{company}/{fiscal_year_id}"))

    # Stats.
    def stats(self) -> SandboxStats:
        return cast(SandboxStats, self.get("/stats"))

    def reset_stats(self) -> None:
        self.post("/stats/reset")

    def stats_count(self, fragment: str, *, client_id: str = CLIENT_ID) -> int:
        """Requests `client_id` sent to templates containing `fragment`."""
        return sum(
            r["count"]
            for r in self.stats()["requests"]
            if r["client_id"] == client_id and fragment in r["template"]
        )

    def refresh_grants(self) -> int:
        """How many refresh-token grants the identity server has answered."""
        return int(self.stats()["token_grants"].get("refresh_token", 0))

    # Identity.
    def tokens(self, company: int = 1, **extra: Any) -> dict[str, Any]:
        """A token pair without the browser (the JSON `/connect/token` returns); `extra`: scope, email,
        client_id."""
        return cast(dict[str, Any], self.post("/tokens", {"company": company, **extra}))

    def revoke(self, email: str) -> None:
        """Revoke every token of the user (their consent withdrawn at Spiris)."""
        self.post(f"/users/{email}/revoke")

    # Data changes.
    def change_vouchers(self, company: int = 1, **body: Any) -> list[str]:
        """Change vouchers (`count=`, `ids=`, `fiscal_year_id=`); the ids changed."""
        return cast(list[str], self.post(f"/companies/{company}/vouchers/change", body)["changed"])

    def add_vouchers(self, company: int = 1, **body: Any) -> list[str]:
        """Add vouchers (`count=`, `with_attachments=`, `fiscal_year_id=`); the new ids."""
        return cast(list[str], self.post(f"/companies/{company}/vouchers/add", body)["added"])

    def remove_attachment(self, company: int, attachment_id: str, *, unlink: bool = False) -> None:
        response = self.http.delete(
            f"/companies/{company}/attachments/{attachment_id}", params={"unlink": str(unlink).lower()}
        )
        response.raise_for_status()

    def reset(self) -> None:
        """Faults off, the rate limit out of the way and reset, stats cleared."""
        self.clear_faults()
        self.rate_limit(per_minute=100_000, retry_after_header=False, reset=True)
        self.reset_stats()
