"""Makes one realistic, balanced voucher at a time, with the invoices and files behind it.

Each voucher kind mirrors how Spiris books it: customer invoices (series C, type 14/15, `SourceId` → invoice
with a PDF), supplier invoices (series B, type 12/13, attachments type 1), receipts (series E, attachment type
2), manual vouchers (series A, type 2, sometimes attachment type 3), bank transactions (series D, type 10/11,
attachment type 8) and the less common types (payroll, accruals, VAT report, SIE import, iZettle — several
beyond the 2025 enum). Amounts are integer öre internally and 2-decimal numbers in the records, so every
voucher balances exactly.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from spiris_sandbox.catalog import ACCOUNT_NAMES, COST_ACCOUNTS, CUSTOMERS, MONTHS, PEOPLE, SHOPS, SUPPLIERS
from spiris_sandbox.clock import format_utc_millis
from spiris_sandbox.company_data import (
    EMPTY_GUID,
    CompanyData,
    FiscalYear,
    Record,
    api_date,
    format_amount_sv,
)
from spiris_sandbox.documents import DocumentSpec
from spiris_sandbox.invoice_records import (
    customer_invoice_pdf,
    customer_invoice_record,
    supplier_invoice_record,
)

RowSpec = tuple[int, int, int, str | None]  # account, debit öre, credit öre, transaction text

# Attached-document types (AttachedDocumentType / AttachmentLinkApi.DocumentType).
SUPPLIER_INVOICE_LINK = 1
RECEIPT_LINK = 2
VOUCHER_LINK = 3
BANK_TRANSACTION_LINK = 8


def _money(ore: int) -> float:
    return ore / 100


def empty_link() -> Record:
    return {"DocumentId": EMPTY_GUID, "DocumentType": 0, "AttachmentIds": []}


class VoucherFactory:
    """Builds vouchers for one company and fiscal year from a seeded generator, registering documents."""

    def __init__(
        self, *, company: CompanyData, fiscal_year: FiscalYear, rng: random.Random, documents_ratio: float
    ) -> None:
        self._company = company
        self._year = fiscal_year
        self._rng = rng
        self._documents_ratio = documents_ratio

    # -- small helpers -------------------------------------------------------------------------------------
    def new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _amount(self, low_kronor: int, high_kronor: int) -> int:
        return self._rng.randrange(low_kronor * 100, high_kronor * 100)

    def _next_number(self, series: str) -> int:
        key = (self._year.id, series)
        number = self._company.series_counters.get(key, 0) + 1
        self._company.series_counters[key] = number
        return number

    def _created(self, day: date) -> datetime:
        rng = self._rng
        base = datetime.combine(day, time(0), tzinfo=UTC)
        return base + timedelta(
            hours=rng.randrange(7, 60),
            minutes=rng.randrange(60),
            seconds=rng.randrange(60),
            microseconds=rng.randrange(1000) * 1000,
        )

    @staticmethod
    def _rows(rows: Sequence[RowSpec]) -> list[Record]:
        return [
            {
                "AccountNumber": account,
                "AccountDescription": ACCOUNT_NAMES.get(account),
                "DebitAmount": _money(debit),
                "CreditAmount": _money(credit),
                "TransactionText": text,
                "CostCenterItemId1": None,
                "CostCenterItemId2": None,
                "CostCenterItemId3": None,
                "VatCodeId": None,
                "VatCodeAndPercent": None,
                "VatAmount": None,
                "Quantity": None,
                "Weight": None,
                "DeliveryDate": None,
                "HarvestYear": None,
                "ProjectId": None,
            }
            for account, debit, credit, text in rows
        ]

    def _voucher(
        self,
        *,
        voucher_id: str,
        series: str,
        voucher_type: int,
        text: str,
        rows: Sequence[RowSpec],
        day: date,
        created: datetime,
        source_id: str | None = None,
        link: Record | None = None,
        imported: str | None = None,
    ) -> Record:
        number = self._next_number(series)
        modified = created
        if self._rng.random() < 0.04:
            modified = created + timedelta(days=self._rng.randrange(1, 20), minutes=self._rng.randrange(600))
        return {
            "Id": voucher_id,
            "VoucherDate": api_date(day),
            "VoucherText": text,
            "Rows": self._rows(rows),
            "NumberAndNumberSeries": f"{series}{number}",
            "NumberSeries": series,
            "ImportedVoucherNumber": imported,
            "Attachments": link or empty_link(),
            "ModifiedUtc": format_utc_millis(modified),
            "VoucherType": voucher_type,
            "SourceId": source_id,
            "CreatedUtc": format_utc_millis(created),
        }

    def _attachment(
        self,
        *,
        link_type: int,
        document_id: str | None,
        file_name: str,
        spec: DocumentSpec,
        kind: int,
        day: date,
        created: datetime,
        supplier: str | None,
        amount: int,
    ) -> str:
        attachment_id = self.new_id()
        content_type = "application/pdf" if spec.kind == "pdf" else "image/png"
        self._company.attachments[attachment_id] = {
            "Id": attachment_id,
            "ContentType": content_type,
            "DocumentId": document_id,
            "AttachedDocumentType": link_type,
            "MessageThreads": [],
            "Notes": [],
            "PhotoSource": self._rng.choice((1, 2, 4, 100, 102)),
            "FileName": file_name,
            "Comment": None,
            "SupplierName": supplier,
            "CurrencyCode": "SEK",
            "AmountInvoiceCurrency": _money(amount),
            "Type": kind,
            "AttachmentStatus": 0 if document_id else 1,
            "UploadedBy": self._rng.choice(PEOPLE),
            "ImageDate": format_utc_millis(created - timedelta(hours=self._rng.randrange(1, 30))),
            "TransactionDate": api_date(day),
        }
        self._company.documents[attachment_id] = spec
        return attachment_id

    # -- voucher kinds -------------------------------------------------------------------------------------
    def make(self, *, day: date, with_document: bool | None = None) -> Record:
        """One voucher dated `day`; `with_document` forces or forbids a linked file (else the ratio)."""
        rng = self._rng
        if with_document is None:
            with_document = rng.random() < self._documents_ratio
        created = self._created(day)
        if with_document:
            pick = rng.random()
            if pick < 0.35:
                return self._customer_invoice(day, created, credit=rng.random() < 0.08)
            if pick < 0.70:
                return self._supplier_invoice(day, created, credit=rng.random() < 0.08)
            if pick < 0.85:
                return self._receipt(day, created)
            if pick < 0.93:
                return self._manual(day, created, with_attachment=True)
            return self._bank(day, created, with_attachment=True)
        pick = rng.random()
        if pick < 0.30:
            return self._manual(day, created, with_attachment=False)
        if pick < 0.75:
            return self._bank(day, created, with_attachment=False)
        return self._other(day, created)

    def _customer_invoice(self, day: date, created: datetime, *, credit: bool) -> Record:
        rng = self._rng
        company = self._company
        customer = rng.choice(CUSTOMERS)
        net = self._amount(400, 60000)
        vat = (net + 2) // 4
        total = net + vat
        sign = -1 if credit else 1
        company.invoice_counter += 1
        invoice_number = company.invoice_counter
        invoice_id = self.new_id()
        voucher_id = self.new_id()
        revenue_account = rng.choice((3001, 3041))
        service = rng.choice(
            ("Konsulttjänster", "Installation och montering", "Bokföringstjänster", "Material")
        )
        if credit:
            rows: list[RowSpec] = [
                (revenue_account, net, 0, f"Kreditfaktura {invoice_number}"),
                (2611, vat, 0, None),
                (1510, 0, total, customer[:60]),
            ]
        else:
            rows = [
                (1510, total, 0, customer[:60]),
                (revenue_account, 0, net, f"Faktura {invoice_number}"),
                (2611, 0, vat, None),
            ]
        voucher = self._voucher(
            voucher_id=voucher_id,
            series="C",
            voucher_type=15 if credit else 14,
            text=f"{'Kreditfaktura' if credit else 'Kundfaktura'} {invoice_number} {customer}",
            rows=rows,
            day=day,
            created=created,
            source_id=invoice_id,
        )
        referring = None
        if credit and company.customer_invoices:
            referring = next(reversed(company.customer_invoices))
        due = day + timedelta(days=30)
        sales_attachments: list[str] = []
        if invoice_number % 10 == 1:
            sales_attachments.append(self._sales_attachment(invoice_id, created))
        company.customer_invoices[invoice_id] = customer_invoice_record(
            invoice_id=invoice_id,
            number=invoice_number,
            day=day,
            due=due,
            credit=credit,
            customer=customer,
            company_id=company.profile.id,
            net=sign * net,
            vat=sign * vat,
            voucher=voucher,
            sales_attachments=sales_attachments,
            referring=referring,
            reference=rng.choice(PEOPLE),
            service=service,
            payment_date=min(due, self._year.end),
        )
        company.documents[invoice_id] = customer_invoice_pdf(
            company_name=company.profile.name,
            org_number=company.profile.org_number,
            number=invoice_number,
            credit=credit,
            customer=customer,
            day=day,
            due=due,
            service=service,
            net=sign * net,
            vat=sign * vat,
            voucher_number=voucher["NumberAndNumberSeries"],
        )
        document_id = self.new_id()
        company.document_records[document_id] = {
            "Id": document_id,
            "ContentType": "application/pdf",
            "CreatedUtc": voucher["CreatedUtc"],
            "Name": f"Faktura {invoice_number}.pdf",
            "NameWithoutExtension": f"Faktura {invoice_number}",
            "Type": 11,
            "Title": f"Faktura {invoice_number}",
            "_document_key": invoice_id,
        }
        return voucher

    def _sales_attachment(self, invoice_id: str, created: datetime) -> str:
        attachment_id = self.new_id()
        name = self._rng.choice(("Följesedel.pdf", "Tidrapport mars.pdf", "Offert - godkänd.pdf"))
        spec = DocumentSpec(kind="pdf", lines=(name.removesuffix(".pdf"), self._company.profile.name))
        self._company.documents[attachment_id] = spec
        self._company.sales_attachments[attachment_id] = {
            "Id": attachment_id,
            "DocumentId": invoice_id,
            "DocumentType": 1,
            "OriginalFilename": name,
            "DocumentSize": None,
            "CreatedUtc": format_utc_millis(created),
            "CreatedBy": self._rng.choice(PEOPLE),
            "Thumbnail": None,
        }
        return attachment_id

    def _supplier_invoice(self, day: date, created: datetime, *, credit: bool) -> Record:
        rng = self._rng
        company = self._company
        supplier = rng.choice(SUPPLIERS)
        account, what = rng.choice(COST_ACCOUNTS)
        net = self._amount(150, 40000)
        vat = (net + 2) // 4
        total = net + vat
        invoice_id = self.new_id()
        voucher_id = self.new_id()
        supplier_invoice_number = str(rng.randrange(10000, 999999))
        if credit:
            rows: list[RowSpec] = [
                (2440, total, 0, supplier[:60]),
                (account, 0, net, what),
                (2641, 0, vat, None),
            ]
        else:
            rows = [(account, net, 0, what), (2641, vat, 0, None), (2440, 0, total, supplier[:60])]
        link: Record = {"DocumentId": invoice_id, "DocumentType": SUPPLIER_INVOICE_LINK, "AttachmentIds": []}
        voucher = self._voucher(
            voucher_id=voucher_id,
            series="B",
            voucher_type=13 if credit else 12,
            text=f"Leverantörsfaktura {supplier_invoice_number} {supplier}",
            rows=rows,
            day=day,
            created=created,
            source_id=invoice_id,
            link=link,
        )
        scanned = rng.random() < 0.5
        spec = (
            DocumentSpec(kind="png", seed=rng.getrandbits(32))
            if scanned
            else DocumentSpec(
                kind="pdf",
                lines=(
                    f"Faktura {supplier_invoice_number}",
                    supplier,
                    f"Till: {company.profile.name}",
                    f"Avser: {what}",
                    f"Belopp att betala: {format_amount_sv(total)}",
                ),
            )
        )
        extension = "png" if scanned else "pdf"
        attachment_id = self._attachment(
            link_type=SUPPLIER_INVOICE_LINK,
            document_id=invoice_id,
            file_name=f"Faktura {supplier} {supplier_invoice_number}.{extension}",
            spec=spec,
            kind=0,
            day=day,
            created=created,
            supplier=supplier,
            amount=total,
        )
        link["AttachmentIds"].append(attachment_id)
        sign = -1 if credit else 1
        company.supplier_invoices[invoice_id] = self._supplier_invoice_record(
            invoice_id=invoice_id,
            supplier=supplier,
            number=supplier_invoice_number,
            day=day,
            total=sign * total,
            vat=sign * vat,
            net_account=account,
            credit=credit,
            voucher=voucher,
            attachments=[attachment_id],
            status=1,
        )
        return voucher

    def _supplier_invoice_record(
        self,
        *,
        invoice_id: str,
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
    ) -> Record:
        ocr = str(self._rng.randrange(10**9, 10**10))
        stamp = format_utc_millis(self._created(day)) if voucher is None else None
        return supplier_invoice_record(
            invoice_id=invoice_id,
            company_id=self._company.profile.id,
            serial=len(self._company.supplier_invoices) + 1,
            supplier=supplier,
            number=number,
            day=day,
            total=total,
            vat=vat,
            net_account=net_account,
            credit=credit,
            voucher=voucher,
            attachments=attachments,
            status=status,
            ocr=ocr,
            created_utc=voucher["CreatedUtc"] if voucher else str(stamp),
            modified_utc=voucher["ModifiedUtc"] if voucher else str(stamp),
        )

    def deleted_supplier_invoice(self, *, day: date) -> str:
        """A supplier invoice in Status 2 (Deleted): no voucher, its scan still attached."""
        supplier = self._rng.choice(SUPPLIERS)
        invoice_id = self.new_id()
        total = self._amount(200, 5000)
        created = self._created(day)
        attachment_id = self._attachment(
            link_type=SUPPLIER_INVOICE_LINK,
            document_id=invoice_id,
            file_name=f"Dubblett {supplier}.png",
            spec=DocumentSpec(kind="png", seed=self._rng.getrandbits(32)),
            kind=0,
            day=day,
            created=created,
            supplier=supplier,
            amount=total,
        )
        self._company.supplier_invoices[invoice_id] = self._supplier_invoice_record(
            invoice_id=invoice_id,
            supplier=supplier,
            number=str(self._rng.randrange(10000, 99999)),
            day=day,
            total=total,
            vat=(total + 2) // 5,
            net_account=6110,
            credit=False,
            voucher=None,
            attachments=[attachment_id],
            status=2,
        )
        return invoice_id

    def unmatched_attachment(self, *, day: date) -> str:
        """An uploaded file nobody has booked yet (AttachmentStatus 1, no document)."""
        shop = self._rng.choice(SHOPS)
        return self._attachment(
            link_type=0,
            document_id=None,
            file_name=f"Kvitto {shop} {day.isoformat()}.png",
            spec=DocumentSpec(kind="png", seed=self._rng.getrandbits(32)),
            kind=1,
            day=day,
            created=self._created(day),
            supplier=shop,
            amount=self._amount(20, 900),
        )

    def _receipt(self, day: date, created: datetime) -> Record:
        rng = self._rng
        shop = rng.choice(SHOPS)
        account, what = rng.choice(COST_ACCOUNTS)
        net = self._amount(30, 3000)
        vat = (net + 2) // 4
        receipt_id = self.new_id()
        link: Record = {"DocumentId": receipt_id, "DocumentType": RECEIPT_LINK, "AttachmentIds": []}
        voucher = self._voucher(
            voucher_id=self.new_id(),
            series="E",
            voucher_type=7,
            text=f"Kvitto {shop} - {what}",
            rows=[(account, net, 0, what), (2641, vat, 0, None), (1930, 0, net + vat, shop[:60])],
            day=day,
            created=created,
            link=link,
        )
        link["AttachmentIds"].append(
            self._attachment(
                link_type=RECEIPT_LINK,
                document_id=receipt_id,
                file_name=f"Kvitto {shop}.png",
                spec=DocumentSpec(kind="png", seed=rng.getrandbits(32)),
                kind=1,
                day=day,
                created=created,
                supplier=shop,
                amount=net + vat,
            )
        )
        return voucher

    def _manual(self, day: date, created: datetime, *, with_attachment: bool) -> Record:
        rng = self._rng
        month = MONTHS[day.month - 1]
        choice = rng.randrange(4)
        if choice == 0:
            fee = self._amount(20, 400)
            text, rows = f"Bankavgift {month}", [(6570, fee, 0, None), (1930, 0, fee, None)]
        elif choice == 1:
            amount = self._amount(500, 8000)
            text, rows = (
                f"Avskrivning inventarier {month}",
                [(7832, amount, 0, None), (1229, 0, amount, None)],
            )
        elif choice == 2:
            amount = self._amount(1000, 20000)
            text = f"Periodisering semesterlöneskuld {month}"
            rows = [(7210, amount, 0, None), (2920, 0, amount, None)]
        else:
            amount = self._amount(100, 5000)
            text = f"Ränta skattekonto {month}"
            rows = [(8410, amount, 0, None), (1630, 0, amount, None)]
        voucher_id = self.new_id()
        link = empty_link()
        if with_attachment:
            link = {"DocumentId": voucher_id, "DocumentType": VOUCHER_LINK, "AttachmentIds": []}
        voucher = self._voucher(
            voucher_id=voucher_id,
            series="A",
            voucher_type=2,
            text=text,
            rows=rows,
            day=day,
            created=created,
            link=link,
        )
        if with_attachment:
            link["AttachmentIds"].append(
                self._attachment(
                    link_type=VOUCHER_LINK,
                    document_id=voucher_id,
                    file_name=f"Underlag {text}.pdf",
                    spec=DocumentSpec(
                        kind="pdf", lines=(f"Underlag {voucher['NumberAndNumberSeries']}", text)
                    ),
                    kind=2,
                    day=day,
                    created=created,
                    supplier=None,
                    amount=rows[0][1],
                )
            )
        return voucher

    def _bank(self, day: date, created: datetime, *, with_attachment: bool) -> Record:
        rng = self._rng
        amount = self._amount(200, 60000)
        deposit = rng.random() < 0.5
        if deposit:
            customer = rng.choice(CUSTOMERS)
            text, vtype = f"Inbetalning {customer}", 10
            rows: list[RowSpec] = [(1930, amount, 0, None), (1510, 0, amount, customer[:60])]
        else:
            supplier = rng.choice(SUPPLIERS)
            text, vtype = f"Betalning leverantör {supplier}", 11
            rows = [(2440, amount, 0, supplier[:60]), (1930, 0, amount, None)]
        if rng.random() < 0.1:
            # Transfers between own accounts: types 5/6 in the 2025 enum.
            vtype = 5 if deposit else 6
            text = "Överföring mellan egna konton"
            rows = (
                [(1930, amount, 0, None), (1910, 0, amount, None)]
                if deposit
                else [(1910, amount, 0, None), (1930, 0, amount, None)]
            )
        transaction_id = self.new_id()
        link = empty_link()
        if with_attachment:
            link = {"DocumentId": transaction_id, "DocumentType": BANK_TRANSACTION_LINK, "AttachmentIds": []}
        voucher = self._voucher(
            voucher_id=self.new_id(),
            series="D",
            voucher_type=vtype,
            text=text,
            rows=rows,
            day=day,
            created=created,
            link=link,
        )
        if with_attachment:
            link["AttachmentIds"].append(
                self._attachment(
                    link_type=BANK_TRANSACTION_LINK,
                    document_id=transaction_id,
                    file_name=f"Bankutdrag {day.isoformat()}.pdf",
                    spec=DocumentSpec(kind="pdf", lines=("Kontoutdrag", text, format_amount_sv(amount))),
                    kind=2,
                    day=day,
                    created=created,
                    supplier=None,
                    amount=amount,
                )
            )
        return voucher

    def _other(self, day: date, created: datetime) -> Record:
        rng = self._rng
        month = MONTHS[day.month - 1]
        pick = rng.randrange(6)
        imported = None
        if pick == 0:
            gross = self._amount(25000, 60000)
            tax = gross * 30 // 100
            fees = gross * 3142 // 10000
            vtype, series, text = 22, "L", f"Lön {month}"
            rows: list[RowSpec] = [
                (7210, gross, 0, None),
                (7510, fees, 0, None),
                (2710, 0, tax, None),
                (2731, 0, fees, None),
                (1930, 0, gross - tax, None),
            ]
        elif pick == 1:
            amount = self._amount(1000, 15000)
            vtype, series, text = 18, "P", f"Periodisering hyra {month}"
            rows = [(1790, amount, 0, None), (5010, 0, amount, None)]
        elif pick == 2:
            amount = self._amount(1000, 15000)
            vtype, series, text = 19, "P", f"Rättelse periodisering {month}"
            rows = [(5010, amount, 0, None), (1790, 0, amount, None)]
        elif pick == 3:
            out_vat = self._amount(2000, 30000)
            in_vat = self._amount(500, out_vat // 100)
            vtype, series, text = 8, "M", f"Momsredovisning {month}"
            rows = [(2611, out_vat, 0, None), (2641, 0, in_vat, None), (2650, 0, out_vat - in_vat, None)]
        elif pick == 4:
            net = self._amount(100, 6000)
            vat = (net + 2) // 4
            vtype, series, text = 27, "Z", f"iZettle dagskassa {day.isoformat()}"
            rows = [(1580, net + vat, 0, None), (3001, 0, net, None), (2611, 0, vat, None)]
        else:
            amount = self._amount(100, 9000)
            vtype, series, text = 9, "S", f"Importerad verifikation {month}"
            imported = f"V{rng.randrange(1, 5000)}"
            rows = [(6540, amount, 0, None), (1930, 0, amount, None)]
        return self._voucher(
            voucher_id=self.new_id(),
            series=series,
            voucher_type=vtype,
            text=text,
            rows=rows,
            day=day,
            created=created,
            imported=imported,
        )
