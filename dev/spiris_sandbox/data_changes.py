"""Changes to the seeded books for incremental-sync tests: edit vouchers, add vouchers, delete attachments.

Edits keep every voucher balanced and stamp `ModifiedUtc` with the sandbox clock; added vouchers continue the
number series and are generated from a seed derived from the run seed and a counter, so runs stay
reproducible.
"""

from __future__ import annotations

import random
from typing import Any

from spiris_sandbox.clock import SandboxClock, format_utc_millis
from spiris_sandbox.company_data import CompanyData, FiscalYear, Record
from spiris_sandbox.voucher_factory import VoucherFactory


def _target_year(books: CompanyData, fiscal_year_id: str | None) -> FiscalYear:
    if fiscal_year_id:
        year = books.fiscal_year(fiscal_year_id)
        if year is None:
            raise KeyError(fiscal_year_id)
        return year
    return books.fiscal_years[-1]


def change_vouchers(
    books: CompanyData,
    *,
    clock: SandboxClock,
    count: int = 0,
    ids: list[str] | None = None,
    fiscal_year_id: str | None = None,
) -> list[str]:
    """Edit `ids` (or the first `count` vouchers of the year): text and amounts change, balance holds."""
    stamp = format_utc_millis(clock.now())
    changed: list[str] = []
    with books.lock:
        if ids:
            targets = [voucher_id.lower() for voucher_id in ids]
        else:
            year = _target_year(books, fiscal_year_id)
            targets = [voucher["Id"] for voucher in books.vouchers.get(year.id, [])[:count]]
        for voucher_id in targets:
            found = books.voucher_index.get(voucher_id)
            if found is None:
                raise KeyError(voucher_id)
            year_id, old = found
            rows = [dict(row) for row in old["Rows"]]
            debit_row = next(row for row in rows if row["DebitAmount"] > 0)
            credit_row = next(row for row in rows if row["CreditAmount"] > 0)
            debit_row["DebitAmount"] = round(debit_row["DebitAmount"] + 1.25, 2)
            credit_row["CreditAmount"] = round(credit_row["CreditAmount"] + 1.25, 2)
            text = old["VoucherText"]
            new = {
                **old,
                "Rows": rows,
                "ModifiedUtc": stamp,
                "VoucherText": text if text.endswith(" (ändrad)") else f"{text} (ändrad)",
            }
            vouchers = books.vouchers[year_id]
            vouchers[vouchers.index(old)] = new
            books.voucher_index[voucher_id] = (year_id, new)
            changed.append(voucher_id)
        books.version += 1
    return changed


def add_vouchers(
    books: CompanyData,
    *,
    clock: SandboxClock,
    seed: int,
    count: int,
    with_attachments: bool | None = None,
    fiscal_year_id: str | None = None,
    documents_ratio: float = 0.3,
) -> list[str]:
    """Append `count` new vouchers dated today (clamped into the year), created and modified now."""
    now = clock.now()
    stamp = format_utc_millis(now)
    added: list[str] = []
    with books.lock:
        year = _target_year(books, fiscal_year_id)
        day = min(max(now.date(), year.start), year.end)
        serial = sum(books.series_counters.values())
        rng = random.Random(f"spiris-sandbox:{seed}:company:{books.profile.number}:add:{year.id}:{serial}")
        factory = VoucherFactory(company=books, fiscal_year=year, rng=rng, documents_ratio=documents_ratio)
        for _ in range(count):
            voucher = factory.make(day=day, with_document=with_attachments)
            voucher["CreatedUtc"] = voucher["ModifiedUtc"] = stamp
            for invoices in (books.customer_invoices, books.supplier_invoices):
                invoice = invoices.get(voucher["SourceId"] or "")
                if invoice is not None:
                    invoice["CreatedUtc"] = invoice["ModifiedUtc"] = stamp
                    books.version += 1
            books.add_voucher(year.id, voucher)
            added.append(voucher["Id"])
    return added


def delete_attachment(books: CompanyData, attachment_id: str, *, unlink: bool, clock: SandboxClock) -> bool:
    """Remove an attachment (later GETs 404); with `unlink`, also drop it from the vouchers that list it."""
    attachment_id = attachment_id.lower()
    with books.lock:
        if books.attachments.pop(attachment_id, None) is None:
            return False
        books.documents.pop(attachment_id, None)
        books.version += 1
        if unlink:
            stamp = format_utc_millis(clock.now())
            for year_id, vouchers in books.vouchers.items():
                for index, voucher in enumerate(vouchers):
                    ids = voucher["Attachments"]["AttachmentIds"]
                    if attachment_id in ids:
                        link = {
                            **voucher["Attachments"],
                            "AttachmentIds": [i for i in ids if i != attachment_id],
                        }
                        new: Record = {**voucher, "Attachments": link, "ModifiedUtc": stamp}
                        vouchers[index] = new
                        books.voucher_index[voucher["Id"]] = (year_id, new)
    return True


def company_summary(books: CompanyData) -> dict[str, Any]:
    """The seeded truth about one company for `GET /_sandbox/companies`."""
    profile = books.profile
    with books.lock:
        years = [
            {
                "id": year.id,
                "start": year.start.isoformat(),
                "end": year.end.isoformat(),
                "locked": year.locked,
                "vouchers": len(books.vouchers.get(year.id, [])),
            }
            for year in books.fiscal_years
        ]
        return {
            "number": profile.number,
            "id": profile.id,
            "name": profile.name,
            "org_number": profile.org_number,
            "active": profile.active,
            "has_api_module": profile.has_api_module,
            "startup_guide_completed": profile.startup_guide_completed,
            "licence_accepted": profile.licence_accepted,
            "fiscal_years": years,
            "customer_invoices": len(books.customer_invoices),
            "supplier_invoices": len(books.supplier_invoices),
            "attachments": len(books.attachments),
            "unmatched_attachments": sum(1 for a in books.attachments.values() if a["AttachmentStatus"] == 1),
            "sales_document_attachments": len(books.sales_attachments),
        }
