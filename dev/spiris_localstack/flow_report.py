"""What a synced fiscal year looks like in the stores, read back for `make run`/`make demo` and the e2e test.

The summary is read from the Postgres read contract (schema `spiris`) and from S3 — the same places the
Senseworks UI reads — never from the worker's own output, so a summary that matches the sandbox's truth
proves the data landed. `compare_with_truth` lists every disagreement with the sandbox's seeded truth.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
from minio import Minio

__all__ = [
    "DocumentSummary",
    "ExampleVoucher",
    "YearSummary",
    "compare_with_truth",
    "summarise_year",
    "verify_objects",
]


@dataclass(frozen=True)
class DocumentSummary:
    file_name: str | None
    source: str
    content_type: str
    size_bytes: int
    sha256: str
    object_key: str


@dataclass(frozen=True)
class ExampleVoucher:
    number: str | None
    date: str
    text: str | None
    rows: list[tuple[int, Decimal, Decimal]]
    documents: list[DocumentSummary]


@dataclass(frozen=True)
class YearSummary:
    fiscal_year_id: str
    start: str
    end: str
    vouchers: int
    rows: int
    total_debit: Decimal
    total_credit: Decimal
    linked_documents: int
    vouchers_with_documents: int
    missing_documents: int
    run_outcome: str | None
    balanced: bool | None
    reconciliation: Any
    api_calls: int | None
    per_account: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    example: ExampleVoucher | None = None

    def lines(self) -> list[str]:
        """The human summary printed as a year finishes."""
        out = [
            f"  fiscal year {self.start} to {self.end} (run: {self.run_outcome}, {self.api_calls} API calls)",
            f"    vouchers {self.vouchers}, rows {self.rows}, "
            f"debit {self.total_debit} = credit {self.total_credit}",
            f"    documents linked {self.linked_documents} on {self.vouchers_with_documents} vouchers, "
            f"missing {self.missing_documents}",
            f"    reconciliation: {'balanced' if self.balanced else 'DIFFERENCES'}",
        ]
        if self.example is not None:
            ex = self.example
            out.append(f"    example voucher {ex.number} {ex.date} «{ex.text}»")
            for account, debit, credit in ex.rows:
                out.append(f"      {account:>6}  debit {debit:>12}  credit {credit:>12}")
            for doc in ex.documents:
                out.append(
                    f"      document {doc.file_name!r} ({doc.source}, {doc.content_type}, {doc.size_bytes} B)"
                    f" sha256 {doc.sha256[:16]}… at s3://…/{doc.object_key}"
                )
        return out


def summarise_year(dsn: str, *, company_key: str, fiscal_year_id: str) -> YearSummary:
    """Read one fiscal year's ledger, links and latest run from Postgres."""
    with psycopg.connect(dsn) as conn:
        fy = conn.execute(
            "SELECT start_date, end_date FROM spiris.fiscal_years WHERE company_key = %s AND id = %s",
            (company_key, fiscal_year_id),
        ).fetchone()
        if fy is None:
            raise LookupError(f"fiscal year {fiscal_year_id} of {company_key} is not in Postgres")
        vouchers, debit, credit = conn.execute(
            """SELECT count(*), coalesce(sum(debit_total), 0), coalesce(sum(credit_total), 0)
               FROM spiris.vouchers WHERE company_key = %s AND fiscal_year_id = %s AND vanished_at IS NULL""",
            (company_key, fiscal_year_id),
        ).fetchone() or (0, Decimal(0), Decimal(0))
        account_rows = conn.execute(
            """SELECT r.account_number, sum(r.debit), sum(r.credit), count(*)
               FROM spiris.voucher_rows r JOIN spiris.vouchers v
                 ON v.company_key = r.company_key AND v.id = r.voucher_id
               WHERE v.company_key = %s AND v.fiscal_year_id = %s AND v.vanished_at IS NULL
               GROUP BY r.account_number""",
            (company_key, fiscal_year_id),
        ).fetchall()
        per_account = {str(account): (d, c) for account, d, c, _ in account_rows}
        rows = sum(int(n) for *_, n in account_rows)
        linked, with_docs = conn.execute(
            """SELECT count(DISTINCT vd.document_id), count(DISTINCT vd.voucher_id)
               FROM spiris.voucher_documents vd JOIN spiris.vouchers v
                 ON v.company_key = vd.company_key AND v.id = vd.voucher_id
               WHERE v.company_key = %s AND v.fiscal_year_id = %s""",
            (company_key, fiscal_year_id),
        ).fetchone() or (0, 0)
        missing = conn.execute(
            """SELECT count(*) FROM spiris.missing_documents m JOIN spiris.vouchers v
                 ON v.company_key = m.company_key AND v.id = m.voucher_id
               WHERE v.company_key = %s AND v.fiscal_year_id = %s""",
            (company_key, fiscal_year_id),
        ).fetchone()
        run = conn.execute(
            """SELECT outcome, balanced, reconciliation, api_calls FROM spiris.sync_runs
               WHERE company_key = %s AND fiscal_year_id = %s ORDER BY id DESC LIMIT 1""",
            (company_key, fiscal_year_id),
        ).fetchone()
        example = _example_voucher(conn, company_key=company_key, fiscal_year_id=fiscal_year_id)
    return YearSummary(
        fiscal_year_id=fiscal_year_id,
        start=fy[0].isoformat(),
        end=fy[1].isoformat(),
        vouchers=int(vouchers),
        rows=rows,
        total_debit=Decimal(debit),
        total_credit=Decimal(credit),
        linked_documents=int(linked),
        vouchers_with_documents=int(with_docs),
        missing_documents=int(missing[0]) if missing else 0,
        run_outcome=run[0] if run else None,
        balanced=run[1] if run else None,
        reconciliation=run[2] if run else None,
        api_calls=run[3] if run else None,
        per_account=per_account,
        example=example,
    )


def _example_voucher(
    conn: psycopg.Connection[Any], *, company_key: str, fiscal_year_id: str
) -> ExampleVoucher | None:
    """The voucher with the most documents behind it (ties: the lowest number), with rows and documents."""
    found = conn.execute(
        """SELECT v.id, v.number, v.voucher_date, v.text
           FROM spiris.vouchers v JOIN spiris.voucher_documents vd
             ON vd.company_key = v.company_key AND vd.voucher_id = v.id
           WHERE v.company_key = %s AND v.fiscal_year_id = %s
           GROUP BY v.id, v.number, v.voucher_date, v.text
           ORDER BY count(*) DESC, v.number LIMIT 1""",
        (company_key, fiscal_year_id),
    ).fetchone()
    if found is None:
        return None
    voucher_id, number, voucher_date, text = found
    rows = [
        (int(a), Decimal(d), Decimal(c))
        for a, d, c in conn.execute(
            """SELECT account_number, debit, credit FROM spiris.voucher_rows
               WHERE company_key = %s AND voucher_id = %s ORDER BY row_no""",
            (company_key, voucher_id),
        )
    ]
    documents = [
        DocumentSummary(
            file_name=name,
            source=source,
            content_type=ctype,
            size_bytes=int(size),
            sha256=sha,
            object_key=key,
        )
        for name, source, ctype, size, sha, key in conn.execute(
            """SELECT d.original_file_name, d.source, d.content_type, d.size_bytes, d.sha256, d.object_key
               FROM spiris.voucher_documents vd JOIN spiris.documents d
                 ON d.company_key = vd.company_key AND d.id = vd.document_id
               WHERE vd.company_key = %s AND vd.voucher_id = %s ORDER BY d.original_file_name""",
            (company_key, voucher_id),
        )
    ]
    return ExampleVoucher(
        number=number, date=voucher_date.isoformat(), text=text, rows=rows, documents=documents
    )


def compare_with_truth(summary: YearSummary, truth: dict[str, Any]) -> list[str]:
    """Every way the stored year differs from the sandbox's seeded truth (empty = identical)."""
    problems: list[str] = []
    if summary.vouchers != truth["vouchers"]:
        problems.append(f"vouchers: stored {summary.vouchers}, Spiris {truth['vouchers']}")
    if summary.rows != truth["rows"]:
        problems.append(f"rows: stored {summary.rows}, Spiris {truth['rows']}")
    if summary.total_debit != Decimal(truth["total_debit"]):
        problems.append(f"total debit: stored {summary.total_debit}, Spiris {truth['total_debit']}")
    if summary.total_credit != Decimal(truth["total_credit"]):
        problems.append(f"total credit: stored {summary.total_credit}, Spiris {truth['total_credit']}")
    for account, entry in truth["accounts"].items():
        if entry["rows"] == 0:
            continue
        stored = summary.per_account.get(account)
        expected = (Decimal(entry["debit"]), Decimal(entry["credit"]))
        if stored != expected:
            problems.append(f"account {account}: stored {stored}, Spiris {expected}")
    expected_documents = truth["voucher_attachments"] + truth["voucher_customer_invoices"]
    if summary.linked_documents != expected_documents:
        problems.append(
            f"documents linked: stored {summary.linked_documents}, Spiris {expected_documents} "
            f"({truth['voucher_attachments']} attachments, {truth['voucher_customer_invoices']} invoices)"
        )
    if summary.missing_documents:
        problems.append(f"{summary.missing_documents} documents missing")
    if summary.balanced is not True:
        problems.append(f"reconciliation not balanced: {summary.reconciliation}")
    return problems


def verify_objects(dsn: str, client: Minio, *, bucket: str, company_key: str) -> list[str]:
    """Download every stored document of the company and check its bytes against its recorded sha256."""
    problems: list[str] = []
    with psycopg.connect(dsn) as conn:
        documents = conn.execute(
            "SELECT object_key, sha256, size_bytes FROM spiris.documents WHERE company_key = %s",
            (company_key,),
        ).fetchall()
    for key, sha, size in documents:
        response = client.get_object(bucket, key)
        try:
            digest = hashlib.sha256()
            total = 0
            for chunk in response.stream(256 * 1024):
                digest.update(chunk)
                total += len(chunk)
        finally:
            response.close()
            response.release_conn()
        if digest.hexdigest() != sha or total != size:
            problems.append(f"object {key}: {total} bytes sha256 {digest.hexdigest()}, recorded {size} {sha}")
    return problems
