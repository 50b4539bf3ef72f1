"""The in-memory "database" of one sandbox company: fiscal years, accounts, vouchers, invoices, attachments.

Records are kept in the API's own shape (PascalCase dicts, exactly what `/v2` returns) so listing, filtering
and `$select` need no mapping; file contents are `DocumentSpec`s rendered only when downloaded. A lock guards
changes made by the control API while requests read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from spiris_sandbox.documents import DocumentSpec

Record = dict[str, Any]

# Where the spec types an id as a non-nullable uuid but there is none (an unbooked invoice's VoucherId, a
# voucher without linked document), Spiris sends the empty GUID (spiris-api.md §0a).
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"


def api_date(day: date) -> str:
    """Business dates as the API writes them: midnight without offset."""
    return day.isoformat() + "T00:00:00"


def format_amount_sv(ore: int) -> str:
    """Swedish money format for documents: `12 345,50 kr`."""
    sign = "-" if ore < 0 else ""
    kronor, cents = divmod(abs(ore), 100)
    return f"{sign}{kronor:,}".replace(",", "\u00a0") + f",{cents:02d} kr"


@dataclass
class FiscalYear:
    """One räkenskapsår."""

    id: str
    start: date
    end: date
    locked: bool
    bookkeeping_method: int = 0

    def to_api(self) -> Record:
        return {
            "Id": self.id,
            "StartDate": api_date(self.start),
            "EndDate": api_date(self.end),
            "IsLockedForAccounting": self.locked,
            "BookkeepingMethod": self.bookkeeping_method,
        }


# CompanySettingsApi.ProductVariant (CONFIRMED-SPEC) and what each lacks. Customer invoices are not in
# Bookkeeping, supplier invoices not in Invoicing (CONFIRMED-DOC, ErrorCode 4009); that the invoicing-only
# variants lack the ledger too is INFERRED from their names.
PRODUCT_VARIANTS: dict[int, str] = {
    1: "Standard",
    2: "Invoicing",
    3: "Bookkeeping",
    4: "Solo",
    5: "Pro",
    6: "InvoicingCollaboration",
}
VARIANT_LACKS: dict[int, frozenset[str]] = {
    2: frozenset({"purchase", "ledger"}),
    3: frozenset({"sales"}),
    6: frozenset({"purchase", "ledger"}),
}


@dataclass
class CompanyProfile:
    """Who the company is and which state switches are on (flipped at runtime by faults)."""

    number: int
    id: str
    name: str
    org_number: str
    settings: Record
    has_api_module: bool = True
    active: bool = True
    startup_guide_completed: bool = True
    licence_accepted: bool = True
    vouchers_per_year: int = 0
    # CompanyStatus 2: readable, nothing can be booked (INFERRED: a lapsed subscription's archive).
    read_only: bool = False
    product_variant: int = 5

    def lacks(self, feature: str) -> bool:
        """Whether the product variant lacks `feature` ("sales", "purchase" or "ledger")."""
        return feature in VARIANT_LACKS.get(self.product_variant, frozenset())

    def sync_settings(self) -> None:
        """Mirror the switches into `/companysettings` (CompanyStatus, ProductVariant, ActivatedModules)."""
        self.settings["CompanyStatus"] = 2 if self.read_only and self.active else int(self.active)
        self.settings["ProductVariant"] = self.product_variant
        modules = []
        if not self.lacks("ledger"):
            modules.append("bookkeeping")
        if not self.lacks("sales") or not self.lacks("purchase"):
            modules.append("invoicing")
        if self.has_api_module:
            modules.append("api_standard")
        self.settings["ActivatedModules"] = modules


@dataclass
class CompanyData:
    """Everything `/v2` serves for one company. Mutations happen under `lock`."""

    profile: CompanyProfile
    fiscal_years: list[FiscalYear]
    accounts: dict[str, list[Record]] = field(default_factory=dict)
    vouchers: dict[str, list[Record]] = field(default_factory=dict)
    voucher_index: dict[str, tuple[str, Record]] = field(default_factory=dict)
    customer_invoices: dict[str, Record] = field(default_factory=dict)
    supplier_invoices: dict[str, Record] = field(default_factory=dict)
    attachments: dict[str, Record] = field(default_factory=dict)
    sales_attachments: dict[str, Record] = field(default_factory=dict)
    documents: dict[str, DocumentSpec] = field(default_factory=dict)
    document_records: dict[str, Record] = field(default_factory=dict)
    opening_balances: dict[str, dict[int, int]] = field(default_factory=dict)
    series_counters: dict[tuple[str, str], int] = field(default_factory=dict)
    invoice_counter: int = 0
    # Bumped on every change so cached query results (see paging.SelectionCache) go stale.
    version: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)

    def fiscal_year(self, fiscal_year_id: str) -> FiscalYear | None:
        for year in self.fiscal_years:
            if year.id == fiscal_year_id:
                return year
        return None

    def fiscal_year_for(self, day: date) -> FiscalYear | None:
        for year in self.fiscal_years:
            if year.start <= day <= year.end:
                return year
        return None

    def all_vouchers(self) -> list[Record]:
        out: list[Record] = []
        for year in self.fiscal_years:
            out.extend(self.vouchers.get(year.id, []))
        return out

    def add_voucher(self, fiscal_year_id: str, voucher: Record) -> None:
        self.vouchers.setdefault(fiscal_year_id, []).append(voucher)
        self.voucher_index[voucher["Id"]] = (fiscal_year_id, voucher)
        self.version += 1


def parse_api_datetime(text: str) -> datetime:
    """Parse the API's date-time strings (with or without `Z`/fraction) into naive UTC datetimes."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value
