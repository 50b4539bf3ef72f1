"""Typed, immutable views of the Spiris resources the sync reads.

Each model is a frozen dataclass built with `Model.from_api(obj)` from one JSON object (keys in any casing,
see `spiris_client.fields`). Amounts are `Decimal`, business dates `date`, `*Utc` stamps aware UTC datetimes,
ids the GUID strings as sent. Enum-like integers stay plain `int` so values Spiris adds later are kept
(`VoucherType` beyond the 2025 list, `AttachedDocumentType` 8); the known names are in mappings beside them.
Every model keeps the object it was parsed from in `raw` (excluded from comparison and repr) for storing it
verbatim.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from spiris_client.fields import Fields

VOUCHER_TYPE_NAMES: Mapping[int, str] = {
    2: "ManualVoucher",
    5: "BankAccountTransferDeposit",
    6: "BankAccountTransferWithDrawal",
    7: "PurchaseReceipt",
    8: "VatReport",
    9: "SieImport",
    10: "BankTransactionDeposit",
    11: "BankTransactionWithdraw",
    12: "SupplierInvoiceDebit",
    13: "SupplierInvoiceCredit",
    14: "CustomerInvoiceDebit",
    15: "CustomerInvoiceCredit",
    16: "ClaimOnCardAcquirer",
    17: "TaxReturn",
    18: "AllocationPeriod",
    19: "AllocationPeriodCorrection",
    20: "InventoryEvent",
    21: "EmployerReport",
    22: "Payslip",
    23: "CustomerQuickInvoiceDebit",
    24: "CustomerQuickInvoiceCredit",
    25: "SupplierQuickInvoiceDebit",
    26: "SupplierQuickInvoiceCredit",
    27: "IZettleVoucher",
}
CUSTOMER_INVOICE_VOUCHER_TYPES = frozenset({14, 15, 23, 24})
SUPPLIER_INVOICE_VOUCHER_TYPES = frozenset({12, 13, 25, 26})

ATTACHED_DOCUMENT_TYPE_NAMES: Mapping[int, str] = {
    0: "None",
    1: "SupplierInvoice",
    2: "Receipt",
    3: "Voucher",
    4: "SupplierInvoiceDraft",
    5: "AllocationPeriod",
    6: "Transfer",
    8: "BankTransaction",
}


def _raw() -> Any:
    return dataclasses.field(default_factory=dict, repr=False, compare=False, hash=False)


@dataclasses.dataclass(frozen=True)
class Meta:
    """The paging envelope's `Meta`."""

    current_page: int
    page_size: int
    total_pages: int
    total_results: int
    server_time_utc: datetime | None

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> Meta:
        f = Fields(obj)
        return cls(
            current_page=f.integer("CurrentPage") or 0,
            page_size=f.integer("PageSize") or 0,
            total_pages=f.integer("TotalNumberOfPages") or 0,
            total_results=f.integer("TotalNumberOfResults") or 0,
            server_time_utc=f.utc("ServerTimeUtc"),
        )


T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list endpoint: its `Meta` and its parsed items, in the order Spiris sent them."""

    meta: Meta
    items: tuple[T, ...]

    @property
    def is_last(self) -> bool:
        return not self.items or self.meta.current_page >= self.meta.total_pages


@dataclasses.dataclass(frozen=True)
class CompanySettings:
    name: str
    corporate_identity_number: str | None
    company_identifier: str | None
    country_code: str | None
    currency_code: str | None
    address1: str | None
    postal_code: str | None
    city: str | None
    email: str | None
    vat_code: str | None
    account_number_digits: int | None
    accounting_locked_to: date | None
    product_variant: int | None
    type_of_business: int | None
    company_status: int | None
    activated_modules: tuple[str, ...]
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> CompanySettings:
        f = Fields(obj)
        return cls(
            name=f.text("Name") or "",
            corporate_identity_number=f.text("CorporateIdentityNumber"),
            company_identifier=f.text("CompanyIdentifier"),
            country_code=f.text("CountryCode"),
            currency_code=f.text("CurrencyCode"),
            address1=f.text("Address1"),
            postal_code=f.text("PostalCode"),
            city=f.text("City"),
            email=f.text("Email"),
            vat_code=f.text("VatCode"),
            account_number_digits=f.integer("AccountNumberDigits"),
            accounting_locked_to=f.day("AccountingLockedTo"),
            product_variant=f.integer("ProductVariant"),
            type_of_business=f.integer("TypeOfBusiness"),
            company_status=f.integer("CompanyStatus"),
            activated_modules=f.text_tuple("ActivatedModules"),
            raw=dict(obj),
        )


@dataclasses.dataclass(frozen=True)
class FiscalYear:
    id: str
    start_date: date | None
    end_date: date | None
    is_locked_for_accounting: bool
    bookkeeping_method: int | None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> FiscalYear:
        f = Fields(obj)
        return cls(
            id=f.req_text("Id"),
            start_date=f.day("StartDate"),
            end_date=f.day("EndDate"),
            is_locked_for_accounting=bool(f.flag("IsLockedForAccounting")),
            bookkeeping_method=f.integer("BookkeepingMethod"),
            raw=dict(obj),
        )

    def contains(self, day: date) -> bool:
        return (
            self.start_date is not None
            and self.end_date is not None
            and self.start_date <= day <= self.end_date
        )


@dataclasses.dataclass(frozen=True)
class Account:
    number: str
    name: str
    fiscal_year_id: str | None
    is_active: bool | None
    type: int | None
    type_description: str | None
    vat_code_id: str | None
    modified_utc: datetime | None
    created_utc: datetime | None
    raw: Mapping[str, Any] = _raw()
    vat_code_description: str | None = None

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> Account:
        f = Fields(obj)
        return cls(
            number=f.req_text("Number"),
            name=f.text("Name") or "",
            fiscal_year_id=f.guid("FiscalYearId"),
            is_active=f.flag("IsActive"),
            type=f.integer("Type"),
            type_description=f.text("TypeDescription"),
            vat_code_id=f.guid("VatCodeId"),
            modified_utc=f.utc("ModifiedUtc"),
            created_utc=f.utc("CreatedUtc"),
            raw=dict(obj),
            vat_code_description=f.text("VatCodeDescription"),
        )


@dataclasses.dataclass(frozen=True)
class AccountBalance:
    account_number: int
    account_name: str | None
    balance: Decimal
    account_type: int | None
    account_type_description: str | None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> AccountBalance:
        f = Fields(obj)
        number = f.integer("AccountNumber")
        if number is None:
            raise ValueError("Spiris account balance lacks AccountNumber")
        return cls(
            account_number=number,
            account_name=f.text("AccountName"),
            balance=f.amount_or_zero("Balance"),
            account_type=f.integer("AccountType"),
            account_type_description=f.text("AccountTypeDescription"),
            raw=dict(obj),
        )


@dataclasses.dataclass(frozen=True)
class OpeningBalance:
    """One item of `GET /fiscalyears/openingbalances` (`OpeningBalancesApi`: the company's first fiscal
    year). The `{AccountNumber, Balance}` shape is only the PUT body; older answers using it are read too."""

    number: int
    name: str | None
    balance: Decimal
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> OpeningBalance:
        f = Fields(obj)
        number = f.integer("Number")
        if number is None:
            number = f.integer("AccountNumber")
        if number is None:
            raise ValueError("Spiris opening balance lacks Number")
        return cls(number=number, name=f.text("Name"), balance=f.amount_or_zero("Balance"), raw=dict(obj))


@dataclasses.dataclass(frozen=True)
class VoucherRow:
    account_number: int
    account_description: str | None
    debit_amount: Decimal
    credit_amount: Decimal
    transaction_text: str | None
    cost_center_item_ids: tuple[str | None, str | None, str | None]
    vat_code_id: str | None
    vat_code_and_percent: str | None
    vat_amount: Decimal | None
    project_id: str | None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> VoucherRow:
        f = Fields(obj)
        number = f.integer("AccountNumber")
        if number is None:
            raise ValueError("Spiris voucher row lacks AccountNumber")
        return cls(
            account_number=number,
            account_description=f.text("AccountDescription"),
            debit_amount=f.amount_or_zero("DebitAmount"),
            credit_amount=f.amount_or_zero("CreditAmount"),
            transaction_text=f.text("TransactionText"),
            cost_center_item_ids=(
                f.guid("CostCenterItemId1"),
                f.guid("CostCenterItemId2"),
                f.guid("CostCenterItemId3"),
            ),
            vat_code_id=f.guid("VatCodeId"),
            vat_code_and_percent=f.text("VatCodeAndPercent"),
            vat_amount=f.amount("VatAmount"),
            project_id=f.guid("ProjectId"),
            raw=dict(obj),
        )


@dataclasses.dataclass(frozen=True)
class AttachmentLink:
    """`VoucherApi.Attachments`: which document the attachments hang on, and their ids."""

    document_id: str | None
    document_type: int | None
    attachment_ids: tuple[str, ...]

    @classmethod
    def from_fields(cls, f: Fields) -> AttachmentLink:
        return cls(
            document_id=f.guid("DocumentId"),
            document_type=f.integer("DocumentType"),
            attachment_ids=f.guid_tuple("AttachmentIds"),
        )


@dataclasses.dataclass(frozen=True)
class Voucher:
    id: str
    voucher_date: date | None
    voucher_text: str
    rows: tuple[VoucherRow, ...]
    number_and_number_series: str | None
    number_series: str | None
    imported_voucher_number: str | None
    attachments: AttachmentLink | None
    voucher_type: int | None
    source_id: str | None
    modified_utc: datetime | None
    created_utc: datetime | None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> Voucher:
        f = Fields(obj)
        link = f.child("Attachments")
        return cls(
            id=f.req_text("Id"),
            voucher_date=f.day("VoucherDate"),
            voucher_text=f.text("VoucherText") or "",
            rows=tuple(VoucherRow.from_api(r) for r in f.mappings("Rows")),
            number_and_number_series=f.text("NumberAndNumberSeries"),
            number_series=f.text("NumberSeries"),
            imported_voucher_number=f.text("ImportedVoucherNumber"),
            attachments=AttachmentLink.from_fields(link) if link is not None else None,
            voucher_type=f.integer("VoucherType"),
            source_id=f.guid("SourceId"),
            modified_utc=f.utc("ModifiedUtc"),
            created_utc=f.utc("CreatedUtc"),
            raw=dict(obj),
        )

    @property
    def voucher_type_name(self) -> str | None:
        """The known name of `voucher_type`, or None for values Spiris has added since."""
        return None if self.voucher_type is None else VOUCHER_TYPE_NAMES.get(self.voucher_type)

    @property
    def attachment_ids(self) -> tuple[str, ...]:
        return self.attachments.attachment_ids if self.attachments else ()

    @property
    def total_debit(self) -> Decimal:
        return sum((r.debit_amount for r in self.rows), Decimal(0))

    @property
    def total_credit(self) -> Decimal:
        return sum((r.credit_amount for r in self.rows), Decimal(0))

    @property
    def is_balanced(self) -> bool:
        return self.total_debit == self.total_credit


@dataclasses.dataclass(frozen=True)
class Attachment:
    id: str
    content_type: str | None
    document_id: str | None
    attached_document_type: int | None
    file_name: str | None
    temporary_url: str | None = dataclasses.field(repr=False)
    comment: str | None
    supplier_name: str | None
    currency_code: str | None
    amount_invoice_currency: Decimal | None
    type: int | None
    attachment_status: int | None
    photo_source: int | None
    uploaded_by: str | None
    image_date: datetime | None
    transaction_date: date | None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> Attachment:
        f = Fields(obj)
        return cls(
            id=f.req_text("Id"),
            content_type=f.text("ContentType"),
            document_id=f.guid("DocumentId"),
            attached_document_type=f.integer("AttachedDocumentType"),
            file_name=f.text("FileName"),
            temporary_url=f.text("TemporaryUrl"),
            comment=f.text("Comment"),
            supplier_name=f.text("SupplierName"),
            currency_code=f.text("CurrencyCode"),
            amount_invoice_currency=f.amount("AmountInvoiceCurrency"),
            type=f.integer("Type"),
            attachment_status=f.integer("AttachmentStatus"),
            photo_source=f.integer("PhotoSource"),
            uploaded_by=f.text("UploadedBy"),
            image_date=f.local_time("ImageDate"),
            transaction_date=f.day("TransactionDate"),
            raw=dict(obj),
        )

    @property
    def is_matched(self) -> bool:
        return self.attachment_status == 0


@dataclasses.dataclass(frozen=True)
class CustomerInvoiceRow:
    article_number: str | None
    text: str | None
    quantity: Decimal | None
    unit_price: Decimal | None
    amount_no_vat: Decimal | None
    percent_vat: Decimal | None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> CustomerInvoiceRow:
        f = Fields(obj)
        return cls(
            article_number=f.text("ArticleNumber"),
            text=f.text("Text"),
            quantity=f.amount("Quantity"),
            unit_price=f.amount("UnitPrice"),
            amount_no_vat=f.amount("AmountNoVat"),
            percent_vat=f.amount("PercentVat"),
            raw=dict(obj),
        )


@dataclasses.dataclass(frozen=True)
class CustomerInvoice:
    id: str
    invoice_number: int | None
    invoice_date: date | None
    due_date: date | None
    delivery_date: date | None
    is_credit_invoice: bool
    customer_id: str | None
    customer_number: str | None
    customer_name: str | None
    currency_code: str | None
    currency_rate: Decimal | None
    total_amount: Decimal | None
    total_vat_amount: Decimal | None
    total_roundings: Decimal | None
    total_amount_invoice_currency: Decimal | None
    remaining_amount: Decimal | None
    voucher_id: str | None
    voucher_number: str | None
    sales_document_attachments: tuple[str, ...]
    referring_invoice_id: str | None
    payment_status: int | None
    payment_date: date | None
    is_quick_invoice: bool | None
    rows: tuple[CustomerInvoiceRow, ...]
    created_utc: datetime | None
    modified_utc: datetime | None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> CustomerInvoice:
        f = Fields(obj)
        return cls(
            id=f.req_text("Id"),
            invoice_number=f.integer("InvoiceNumber"),
            invoice_date=f.day("InvoiceDate"),
            due_date=f.day("DueDate"),
            delivery_date=f.day("DeliveryDate"),
            is_credit_invoice=bool(f.flag("IsCreditInvoice")),
            customer_id=f.guid("CustomerId"),
            customer_number=f.text("CustomerNumber"),
            customer_name=f.text("CustomerName"),
            currency_code=f.text("CurrencyCode"),
            currency_rate=f.amount("CurrencyRate"),
            total_amount=f.amount("TotalAmount"),
            total_vat_amount=f.amount("TotalVatAmount"),
            total_roundings=f.amount("TotalRoundings"),
            total_amount_invoice_currency=f.amount("TotalAmountInvoiceCurrency"),
            remaining_amount=f.amount("RemainingAmount"),
            voucher_id=f.guid("VoucherId"),
            voucher_number=f.text("VoucherNumber"),
            sales_document_attachments=f.guid_tuple("SalesDocumentAttachments"),
            referring_invoice_id=f.guid("ReferringInvoiceId"),
            payment_status=f.integer("PaymentStatus"),
            payment_date=f.day("PaymentDate"),
            is_quick_invoice=f.flag("IsQuickInvoice"),
            rows=tuple(CustomerInvoiceRow.from_api(r) for r in f.mappings("Rows")),
            created_utc=f.utc("CreatedUtc"),
            modified_utc=f.utc("ModifiedUtc"),
            raw=dict(obj),
        )


@dataclasses.dataclass(frozen=True)
class SupplierInvoiceRow:
    account_number: int | None
    account_name: str | None
    debit_amount: Decimal
    credit_amount: Decimal
    transaction_text: str | None
    line_number: int | None
    vat_code_id: str | None
    vat_amount: Decimal | None
    project_id: str | None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> SupplierInvoiceRow:
        f = Fields(obj)
        # Spiris spells it "DebetAmount" on supplier-invoice rows; accept the voucher-row spelling too.
        debit = f.amount("DebetAmount")
        if debit is None:
            debit = f.amount("DebitAmount")
        return cls(
            account_number=f.integer("AccountNumber"),
            account_name=f.text("AccountName"),
            debit_amount=Decimal(0) if debit is None else debit,
            credit_amount=f.amount_or_zero("CreditAmount"),
            transaction_text=f.text("TransactionText"),
            line_number=f.integer("LineNumber"),
            vat_code_id=f.guid("VatCodeId"),
            vat_amount=f.amount("VatAmount"),
            project_id=f.guid("ProjectId"),
            raw=dict(obj),
        )


SUPPLIER_INVOICE_STATUS_DELETED = 2


@dataclasses.dataclass(frozen=True)
class SupplierInvoice:
    id: str
    supplier_id: str | None
    supplier_name: str | None
    supplier_number: str | None
    invoice_number: str | None
    invoice_date: date | None
    due_date: date | None
    payment_date: date | None
    total_amount: Decimal | None
    vat: Decimal | None
    currency_code: str | None
    currency_rate: Decimal | None
    is_credit_invoice: bool
    ocr_number: str | None
    message: str | None
    voucher_id: str | None
    voucher_number: str | None
    number: int | None
    number_series: str | None
    attachments: tuple[str, ...]
    rows: tuple[SupplierInvoiceRow, ...]
    status: int | None
    payment_status: int | None
    is_quick_invoice: bool | None
    supplier_invoice_origin: int | None
    created_utc: datetime | None
    modified_utc: datetime | None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> SupplierInvoice:
        f = Fields(obj)
        return cls(
            id=f.req_text("Id"),
            supplier_id=f.guid("SupplierId"),
            supplier_name=f.text("SupplierName"),
            supplier_number=f.text("SupplierNumber"),
            invoice_number=f.text("InvoiceNumber"),
            invoice_date=f.day("InvoiceDate"),
            due_date=f.day("DueDate"),
            payment_date=f.day("PaymentDate"),
            total_amount=f.amount("TotalAmount"),
            vat=f.amount("Vat"),
            currency_code=f.text("CurrencyCode"),
            currency_rate=f.amount("CurrencyRate"),
            is_credit_invoice=bool(f.flag("IsCreditInvoice")),
            ocr_number=f.text("OcrNumber"),
            message=f.text("Message"),
            voucher_id=f.guid("VoucherId"),
            voucher_number=f.text("VoucherNumber"),
            number=f.integer("Number"),
            number_series=f.text("NumberSeries"),
            attachments=f.guid_tuple("Attachments"),
            rows=tuple(SupplierInvoiceRow.from_api(r) for r in f.mappings("Rows")),
            status=f.integer("Status"),
            payment_status=f.integer("PaymentStatus"),
            is_quick_invoice=f.flag("IsQuickInvoice"),
            supplier_invoice_origin=f.integer("SupplierInvoiceOrigin"),
            created_utc=f.utc("CreatedUtc"),
            modified_utc=f.utc("ModifiedUtc"),
            raw=dict(obj),
        )

    @property
    def is_deleted(self) -> bool:
        return self.status == SUPPLIER_INVOICE_STATUS_DELETED


@dataclasses.dataclass(frozen=True)
class DocumentInfo:
    """`DocumentApi`: a generated file (SIE export, VAT report PDF, ...) behind a temporary URL."""

    id: str | None
    content_type: str | None
    created_utc: datetime | None
    name: str | None
    name_without_extension: str | None
    size: int | None
    type: int | None
    temporary_url: str | None = dataclasses.field(repr=False)
    title: str | None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> DocumentInfo:
        f = Fields(obj)
        return cls(
            id=f.guid("Id"),
            content_type=f.text("ContentType"),
            created_utc=f.utc("CreatedUtc"),
            name=f.text("Name"),
            name_without_extension=f.text("NameWithoutExtension"),
            size=f.integer("Size"),
            type=f.integer("Type"),
            temporary_url=f.text("TemporaryUrl"),
            title=f.text("Title"),
            raw=dict(obj),
        )
