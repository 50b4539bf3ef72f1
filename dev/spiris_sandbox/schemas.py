"""Field names of each listed resource, used to validate `$filter`, `$orderby` and `$select` (unknown → 6000).

A schema maps each field to None (a scalar) or to the schema of its elements/sub-object, so lambda variables
(`Rows/any(r: r/AccountNumber eq 1930)`) and paths (`Attachments/AttachmentIds`) can be checked too.
"""

from __future__ import annotations

Schema = dict[str, "Schema | None"]


def _scalars(*names: str) -> Schema:
    return dict.fromkeys(names)


VOUCHER_ROW = _scalars(
    "AccountNumber",
    "AccountDescription",
    "DebitAmount",
    "CreditAmount",
    "TransactionText",
    "CostCenterItemId1",
    "CostCenterItemId2",
    "CostCenterItemId3",
    "VatCodeId",
    "VatCodeAndPercent",
    "VatAmount",
    "Quantity",
    "Weight",
    "DeliveryDate",
    "HarvestYear",
    "ProjectId",
)
ATTACHMENT_LINK = _scalars("DocumentId", "DocumentType", "AttachmentIds")
VOUCHER: Schema = {
    **_scalars(
        "Id",
        "VoucherDate",
        "VoucherText",
        "NumberAndNumberSeries",
        "NumberSeries",
        "ImportedVoucherNumber",
        "ModifiedUtc",
        "VoucherType",
        "SourceId",
        "CreatedUtc",
    ),
    "Rows": VOUCHER_ROW,
    "Attachments": ATTACHMENT_LINK,
}
FISCAL_YEAR = _scalars("Id", "StartDate", "EndDate", "IsLockedForAccounting", "BookkeepingMethod")
ACCOUNT = _scalars(
    "Name",
    "Number",
    "VatCodeId",
    "VatCodeDescription",
    "FiscalYearId",
    "ReferenceCode",
    "Type",
    "TypeDescription",
    "ModifiedUtc",
    "CreatedUtc",
    "IsActive",
    "AllowTransactionText",
    "IsFirstCostCenterMandatory",
    "IsProjectAllowed",
    "IsCostCenterAllowed",
    "IsBlockedForManualBooking",
    "Description",
)
OPENING_BALANCE = _scalars("Name", "Number", "Balance")
ACCOUNT_BALANCE = _scalars("AccountNumber", "AccountName", "Balance", "AccountType", "AccountTypeDescription")
CUSTOMER_INVOICE_ROW = _scalars(
    "LineNumber",
    "ArticleNumber",
    "Text",
    "Quantity",
    "UnitPrice",
    "AmountNoVat",
    "PercentVat",
    "VatRate",
)
CUSTOMER_INVOICE: Schema = {
    **_scalars(
        "Id",
        "InvoiceNumber",
        "InvoiceDate",
        "DueDate",
        "DeliveryDate",
        "IsCreditInvoice",
        "CustomerId",
        "CustomerNumber",
        "CustomerName",
        "CurrencyCode",
        "CurrencyRate",
        "TotalAmount",
        "TotalVatAmount",
        "TotalRoundings",
        "TotalAmountInvoiceCurrency",
        "TotalVatAmountInvoiceCurrency",
        "RemainingAmount",
        "RemainingAmountInvoiceCurrency",
        "VoucherId",
        "VoucherNumber",
        "SalesDocumentAttachments",
        "ReferringInvoiceId",
        "CreditedBy",
        "CreatedUtc",
        "ModifiedUtc",
        "PaymentStatus",
        "PaymentDate",
        "IsQuickInvoice",
        "HasAutoInvoiceError",
        "OurReference",
        "YourReference",
        "InvoiceCountryCode",
    ),
    "Rows": CUSTOMER_INVOICE_ROW,
}
SUPPLIER_INVOICE_ROW = _scalars(
    "LineNumber",
    "AccountNumber",
    "AccountName",
    "DebetAmount",
    "CreditAmount",
    "TransactionText",
    "CostCenterItemId1",
    "CostCenterItemId2",
    "CostCenterItemId3",
    "ProjectId",
    "VatCodeId",
    "VatAmount",
)
SUPPLIER_INVOICE: Schema = {
    **_scalars(
        "Id",
        "SupplierId",
        "SupplierName",
        "SupplierNumber",
        "InvoiceNumber",
        "InvoiceDate",
        "DueDate",
        "PaymentDate",
        "TotalAmount",
        "Vat",
        "VatHigh",
        "CurrencyCode",
        "CurrencyRate",
        "IsCreditInvoice",
        "OcrNumber",
        "Message",
        "VoucherId",
        "VoucherNumber",
        "Number",
        "NumberSeries",
        "Attachments",
        "Status",
        "PaymentStatus",
        "CreatedUtc",
        "ModifiedUtc",
        "IsQuickInvoice",
        "SupplierInvoiceOrigin",
        "AllocationPeriods",
        "IsIncludedInVatReport",
        "VatReportId",
    ),
    "Rows": SUPPLIER_INVOICE_ROW,
}
ATTACHMENT = _scalars(
    "Id",
    "ContentType",
    "DocumentId",
    "AttachedDocumentType",
    "MessageThreads",
    "Notes",
    "PhotoSource",
    "FileName",
    "TemporaryUrl",
    "Comment",
    "SupplierName",
    "CurrencyCode",
    "AmountInvoiceCurrency",
    "Type",
    "AttachmentStatus",
    "UploadedBy",
    "ImageDate",
    "TransactionDate",
)

# The spec marks some properties as not filterable; filtering on them is a 6000 like an unknown property.
UNFILTERABLE = frozenset({"AccountTypeDescription", "TemporaryUrl", "TypeDescription"})
