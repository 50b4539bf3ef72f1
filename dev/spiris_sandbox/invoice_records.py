"""Customer- and supplier-invoice records in the API's shape, and the PDF a customer invoice prints as.

Pure builders: the voucher factory decides the amounts, dates and links; these functions lay them out as
`CustomerInvoiceApi` / `SupplierInvoiceApi` dicts (note `DebetAmount`, sic) and the invoice's `DocumentSpec`.
Amounts come in signed integer öre and leave as 2-decimal numbers.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from spiris_sandbox.catalog import ACCOUNT_NAMES, CUSTOMERS, SUPPLIERS
from spiris_sandbox.company_data import EMPTY_GUID, Record, api_date, format_amount_sv
from spiris_sandbox.documents import DocumentSpec


def money(ore: int) -> float:
    """Integer öre as the API's 2-decimal JSON number."""
    return ore / 100


def customer_invoice_record(
    *,
    invoice_id: str,
    number: int,
    day: date,
    due: date,
    credit: bool,
    customer: str,
    company_id: str,
    net: int,
    vat: int,
    voucher: Record,
    sales_attachments: list[str],
    referring: str | None,
    reference: str,
    service: str,
    payment_date: date,
) -> Record:
    """A booked, paid customer invoice pointing at its voucher (`VoucherId`, `VoucherNumber`)."""
    total = net + vat
    return {
        "Id": invoice_id,
        "InvoiceNumber": number,
        "InvoiceDate": api_date(day),
        "DueDate": api_date(due),
        "DeliveryDate": api_date(day),
        "IsCreditInvoice": credit,
        "CustomerId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"customer:{company_id}:{customer}")),
        "CustomerNumber": str(CUSTOMERS.index(customer) + 1001) if customer in CUSTOMERS else None,
        "CustomerName": customer,
        "CurrencyCode": "SEK",
        "CurrencyRate": 1.0,
        "TotalAmount": money(total),
        "TotalVatAmount": money(vat),
        "TotalRoundings": 0.0,
        "TotalAmountInvoiceCurrency": money(total),
        "TotalVatAmountInvoiceCurrency": money(vat),
        "RemainingAmount": 0.0,
        "RemainingAmountInvoiceCurrency": 0.0,
        "VoucherId": voucher["Id"],
        "VoucherNumber": voucher["NumberAndNumberSeries"],
        "EuThirdParty": False,
        "RotReducedInvoicingType": 0,
        "SalesDocumentAttachments": sales_attachments,
        "ReferringInvoiceId": referring,
        "CreditedBy": [],
        "CreatedUtc": voucher["CreatedUtc"],
        "ModifiedUtc": voucher["ModifiedUtc"],
        "PaymentStatus": 0,
        "PaymentDate": api_date(payment_date),
        "IsQuickInvoice": False,
        "HasAutoInvoiceError": False,
        "OurReference": reference,
        "YourReference": None,
        "InvoiceCountryCode": "SE",
        "Rows": [
            {
                "LineNumber": 1,
                "ArticleNumber": None,
                "Text": service,
                "Quantity": 1.0,
                "UnitPrice": money(net),
                "AmountNoVat": money(net),
                "PercentVat": 0.25,
                "VatRate": 25.0,
            }
        ],
    }


def customer_invoice_pdf(
    *,
    company_name: str,
    org_number: str,
    number: int,
    credit: bool,
    customer: str,
    day: date,
    due: date,
    service: str,
    net: int,
    vat: int,
    voucher_number: str,
) -> DocumentSpec:
    """The one-page invoice PDF (rendered on download)."""
    return DocumentSpec(
        kind="pdf",
        lines=(
            f"{'Kreditfaktura' if credit else 'Faktura'} {number}",
            company_name,
            f"Org.nr {org_number}",
            f"Kund: {customer}",
            f"Fakturadatum: {day.isoformat()}   Förfallodatum: {due.isoformat()}",
            f"{service}: {format_amount_sv(net)}",
            f"Moms 25 %: {format_amount_sv(vat)}",
            f"Att betala: {format_amount_sv(net + vat)}",
            f"Verifikation {voucher_number}",
        ),
    )


def supplier_invoice_record(
    *,
    invoice_id: str,
    company_id: str,
    serial: int,
    supplier: str,
    number: str,
    day: date,
    total: int,
    vat: int,
    net_account: int,
    credit: bool,
    voucher: Record | None,
    attachments: list[str],
    status: int,
    ocr: str,
    created_utc: str,
    modified_utc: str,
) -> Record:
    """A supplier invoice; without a voucher it is unbooked (e.g. Status 2, deleted)."""
    net = total - vat
    return {
        "Id": invoice_id,
        "SupplierId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"supplier:{company_id}:{supplier}")),
        "SupplierName": supplier,
        "SupplierNumber": str(SUPPLIERS.index(supplier) + 201) if supplier in SUPPLIERS else None,
        "InvoiceNumber": number,
        "InvoiceDate": api_date(day),
        "DueDate": api_date(day + timedelta(days=30)),
        "PaymentDate": None,
        "TotalAmount": money(total),
        "Vat": money(vat),
        "VatHigh": money(vat),
        "CurrencyCode": "SEK",
        "CurrencyRate": 1.0,
        "IsCreditInvoice": credit,
        "OcrNumber": ocr,
        "Message": None,
        "VoucherId": voucher["Id"] if voucher else EMPTY_GUID,
        "VoucherNumber": voucher["NumberAndNumberSeries"] if voucher else None,
        "Number": serial,
        "NumberSeries": "B" if voucher else None,
        "Attachments": attachments,
        "Rows": [
            {
                "LineNumber": 1,
                "AccountNumber": net_account,
                "AccountName": ACCOUNT_NAMES.get(net_account),
                "DebetAmount": money(max(net, 0)),
                "CreditAmount": money(max(-net, 0)),
                "TransactionText": None,
                "CostCenterItemId1": None,
                "CostCenterItemId2": None,
                "CostCenterItemId3": None,
                "ProjectId": None,
                "VatCodeId": None,
                "VatAmount": money(vat),
            },
        ],
        "Status": status,
        "PaymentStatus": 0 if status == 1 else 1,
        "CreatedUtc": created_utc,
        "ModifiedUtc": modified_utc,
        "IsQuickInvoice": False,
        "SupplierInvoiceOrigin": 0,
        "AllocationPeriods": [],
        "IsIncludedInVatReport": voucher is not None,
        "VatReportId": None,
    }
