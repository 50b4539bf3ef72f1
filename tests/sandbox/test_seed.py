"""The seeded generator: determinism, Swedish realism, balanced vouchers, document links, speed at 20,000."""

from __future__ import annotations

import time
from decimal import Decimal

from spiris_sandbox.documents import document_bytes
from spiris_sandbox.seed import generate_user_data, luhn_control_digit


def test_same_seed_same_world_other_seed_other_world() -> None:
    first = generate_user_data(5, vouchers_per_year=80).company(1)
    again = generate_user_data(5, vouchers_per_year=80).company(1)
    other = generate_user_data(6, vouchers_per_year=80).company(1)
    year = first.fiscal_years[-1].id
    assert first.vouchers[year] == again.vouchers[year]
    assert first.attachments == again.attachments
    assert first.profile.org_number == again.profile.org_number
    assert [v["Id"] for v in other.vouchers[other.fiscal_years[-1].id]] != [
        v["Id"] for v in first.vouchers[year]
    ]
    # Document bytes are reproducible too (they are rendered from the seed, not stored).
    key = next(iter(first.customer_invoices))
    assert document_bytes(first.documents[key]) == document_bytes(again.documents[key])


def test_companies_have_valid_org_numbers_and_two_fiscal_years() -> None:
    world = generate_user_data(3, vouchers_per_year=20)
    assert len(world.users[0].companies) >= 3
    for profile in world.profiles.values():
        digits = profile.org_number.replace("-", "")
        assert len(profile.org_number) == 11 and profile.org_number[6] == "-"
        assert luhn_control_digit(digits[:9]) == int(digits[9])
    books = world.company(1)
    assert [year.locked for year in books.fiscal_years] == [True, False]


def test_vouchers_are_balanced_swedish_and_linked() -> None:
    books = generate_user_data(9, vouchers_per_year=400).company(1)
    types: set[int] = set()
    for year in books.fiscal_years:
        for voucher in books.vouchers[year.id]:
            debit = sum(Decimal(str(row["DebitAmount"])) for row in voucher["Rows"])
            credit = sum(Decimal(str(row["CreditAmount"])) for row in voucher["Rows"])
            assert debit == credit > 0
            for row in voucher["Rows"]:
                assert Decimal(str(row["DebitAmount"])).as_tuple().exponent >= -2
            assert (
                voucher["NumberAndNumberSeries"]
                == f"{voucher['NumberSeries']}{voucher['NumberAndNumberSeries'][1:]}"
            )
            types.add(voucher["VoucherType"])
            if voucher["VoucherType"] in (14, 15):
                invoice = books.customer_invoices[voucher["SourceId"]]
                assert invoice["VoucherId"] == voucher["Id"]
                assert invoice["VoucherNumber"] == voucher["NumberAndNumberSeries"]
            for attachment_id in voucher["Attachments"]["AttachmentIds"]:
                attachment = books.attachments[attachment_id]
                assert attachment["AttachedDocumentType"] == voucher["Attachments"]["DocumentType"]
    assert {2, 12, 13, 14, 15}.issubset(types)
    assert types - {2, 5, 6, 7, 8, 9, 10, 11}, "expected VoucherType values beyond the 2025 enum"
    texts = " ".join(v["VoucherText"] for v in books.all_vouchers())
    assert any(char in texts for char in "åäöÅÄÖ")
    link_types = {a["AttachedDocumentType"] for a in books.attachments.values()}
    assert {0, 1, 2, 3, 8}.issubset(link_types)
    assert any(invoice["Status"] == 2 for invoice in books.supplier_invoices.values())


def test_documents_are_real_pdfs_and_pngs_and_hostile_names_exist() -> None:
    books = generate_user_data(2, vouchers_per_year=120).company(1)
    invoice_pdf = document_bytes(books.documents[next(iter(books.customer_invoices))])
    assert invoice_pdf.startswith(b"%PDF-1.4") and invoice_pdf.rstrip().endswith(b"%%EOF")
    pngs = [document_bytes(spec) for spec in books.documents.values() if spec.kind == "png"]
    assert pngs and all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in pngs[:5])
    names = {a["FileName"] for a in books.attachments.values()}
    assert "../../etc/passwd" in names
    assert any(len(name) == 300 for name in names)
    assert any(
        a["ContentType"] == "image/jpeg" and document_bytes(books.documents[a["Id"]]).startswith(b"%PDF")
        for a in books.attachments.values()
    )
    assert any(document_bytes(books.documents[a["Id"]]) == b"" for a in books.attachments.values())


def test_twenty_thousand_vouchers_build_fast_with_documents_ratio() -> None:
    started = time.perf_counter()
    world = generate_user_data(1, vouchers_per_year=20000, documents_ratio=0.3, fiscal_years=(2025,))
    books = world.company(1)
    elapsed = time.perf_counter() - started
    year = books.fiscal_years[0].id
    assert len(books.vouchers[year]) == 20000
    with_documents = sum(
        1 for v in books.vouchers[year] if v["Attachments"]["AttachmentIds"] or v["VoucherType"] in (14, 15)
    )
    assert 5400 <= with_documents <= 6600
    # About 1 s on an idle core; the bound leaves room for a loaded 2-core CI machine.
    assert elapsed < 15, f"20,000 vouchers took {elapsed:.2f}s"


def test_client_companies_have_their_own_sizes_and_leave_the_seeded_world_alone() -> None:
    plain = generate_user_data(4, vouchers_per_year=30)
    world = generate_user_data(4, vouchers_per_year=30, client_company_sizes=(3, 250))
    assert sorted(world.profiles) == [*sorted(plain.profiles), 7, 8]
    assert [u.id for u in world.users] == [u.id for u in plain.users]
    assert world.profiles[1].org_number == plain.profiles[1].org_number
    assert {7, 8} <= set(world.users[0].companies) and world.users[0].permissions[8] == "full"
    small, large = world.company(7), world.company(8)
    assert [len(small.vouchers[y.id]) for y in small.fiscal_years] == [3, 3]
    assert [len(large.vouchers[y.id]) for y in large.fiscal_years] == [250, 250]
    assert small.profile.id != large.profile.id and world.profiles[8].name == "Klient 0008 AB"
