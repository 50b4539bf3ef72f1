"""Batched, idempotent writes of vouchers and their rows — the hot path of a sync (COPY, content hashes).

Each voucher of a batch is rendered once into PostgreSQL COPY text (its own line and one line per row); the
sha256 of that text (without the run id) is the voucher's content hash. One query fetches the stored hashes of
the batch; then unchanged vouchers only get `synced_at`/`run_id` touched, new ones are COPYed straight into
`spiris.vouchers`, changed ones go through a session temp table and one UPDATE, and the rows of new and
changed vouchers are (deleted and) COPYed into `spiris.voucher_rows` — all inside one savepoint, so a voucher
is never visible with half its rows. Rendering the text ourselves once (instead of adapting every value per
COPY row and hashing a second representation) is what keeps ingest above 20,000 rows/s
(benchmarks/store_ingest.py).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg

from spiris_store.connection import atomic
from spiris_store.records import VoucherRecord, VoucherUpsertResult

Connection = psycopg.Connection[Any]

VOUCHER_COLUMNS = (
    "company_key",
    "id",
    "fiscal_year_id",
    "number",
    "number_series",
    "imported_voucher_number",
    "voucher_date",
    "text",
    "voucher_type",
    "source_id",
    "attachment_document_id",
    "attachment_document_type",
    "attachment_ids",
    "created_utc",
    "modified_utc",
    "row_count",
    "debit_total",
    "credit_total",
    "content_sha256",
    "run_id",
)
ROW_COLUMNS = (
    "company_key",
    "voucher_id",
    "row_no",
    "account_number",
    "account_description",
    "debit",
    "credit",
    "transaction_text",
    "cost_center_item_id1",
    "cost_center_item_id2",
    "cost_center_item_id3",
    "project_id",
    "vat_code_id",
    "vat_code_and_percent",
)
# COPY text format: backslash, tab, newline and carriage return must be escaped inside values.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"
_VOUCHER_LOCK_CLASS = 0x5350  # advisory-lock namespace of voucher writers (with hashtext(company_key))


@dataclass(frozen=True)
class _Rendered:
    """One voucher as COPY text. `head` is its vouchers line up to (excluding) the run id column."""

    voucher: VoucherRecord
    head: str
    rows: str
    sha256: str


def voucher_content_sha256(voucher: VoucherRecord) -> str:
    """A stable hash of everything stored about a voucher and its rows (detects changes; used as checksum)."""
    return _render("", voucher).sha256


def upsert_vouchers(
    conn: Connection, *, company_key: str, vouchers: Sequence[VoucherRecord], run_id: int | None
) -> VoucherUpsertResult:
    """Insert or update a batch of vouchers with their rows (fiscal years must exist). Idempotent: a voucher
    whose content hash is unchanged is not rewritten. Every voucher given is marked seen (`synced_at = now()`,
    `run_id`, `vanished_at` cleared). A voucher given twice in one batch: the last one wins."""
    batch = list({v.id: v for v in vouchers}.values())
    if not batch:
        return VoucherUpsertResult(inserted=0, updated=0, unchanged=0, rows_written=0)
    rendered = [_render(company_key, v) for v in batch]
    run_text = _NULL if run_id is None else str(run_id)
    with atomic(conn), conn.cursor() as cur:
        # Serialise writers of one company's vouchers until the caller commits: two workers that overlap by
        # mistake then see each other's committed rows instead of both inserting (or deleting) the same ones.
        cur.execute(
            "SELECT pg_advisory_xact_lock(%s::int4, hashtext(%s))", (_VOUCHER_LOCK_CLASS, company_key)
        )
        cur.execute(
            "SELECT id, content_sha256 FROM spiris.vouchers WHERE company_key = %s AND id = ANY(%s)",
            (company_key, [v.id for v in batch]),
        )
        existing: dict[uuid.UUID, str] = {row[0]: row[1] for row in cur.fetchall()}
        new = [r for r in rendered if r.voucher.id not in existing]
        changed = [r for r in rendered if r.voucher.id in existing and existing[r.voucher.id] != r.sha256]
        unchanged_ids = [r.voucher.id for r in rendered if existing.get(r.voucher.id) == r.sha256]
        if unchanged_ids:
            cur.execute(
                """
                UPDATE spiris.vouchers SET synced_at = now(), run_id = %s, vanished_at = NULL
                WHERE company_key = %s AND id = ANY(%s)
                """,
                (run_id, company_key, unchanged_ids),
            )
        if new:
            with cur.copy(f"COPY spiris.vouchers ({', '.join(VOUCHER_COLUMNS)}) FROM STDIN") as copy:
                copy.write("".join(f"{r.head}\t{run_text}\n" for r in new))
        if changed:
            _update_changed(cur, changed, run_text)
            cur.execute(
                "DELETE FROM spiris.voucher_rows WHERE company_key = %s AND voucher_id = ANY(%s)",
                (company_key, [r.voucher.id for r in changed]),
            )
        written = new + changed
        if written:
            with cur.copy(f"COPY spiris.voucher_rows ({', '.join(ROW_COLUMNS)}) FROM STDIN") as copy:
                copy.write("".join(r.rows for r in written))
    return VoucherUpsertResult(
        inserted=len(new),
        updated=len(changed),
        unchanged=len(unchanged_ids),
        rows_written=sum(len(r.voucher.rows) for r in written),
    )


def mark_vanished(
    conn: Connection, *, company_key: str, fiscal_year_id: uuid.UUID, seen_since: datetime
) -> int:
    """After a complete full re-list: mark vouchers of the fiscal year not seen since `seen_since` (the
    time the listing began, e.g. `Checkpoint.started_at`, which survives a resume) as vanished. Returns how
    many were newly marked. Vanished vouchers stay in the table (with their rows) for the audit trail."""
    with atomic(conn):
        cur = conn.execute(
            """
            UPDATE spiris.vouchers SET vanished_at = now()
            WHERE company_key = %s AND fiscal_year_id = %s AND vanished_at IS NULL AND synced_at < %s
            """,
            (company_key, fiscal_year_id, seen_since),
        )
        return cur.rowcount


def _update_changed(cur: psycopg.Cursor[Any], changed: list[_Rendered], run_text: str) -> None:
    columns = ", ".join(VOUCHER_COLUMNS)
    cur.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS voucher_batch AS SELECT {columns} "  # noqa: S608 (constant identifiers)
        "FROM spiris.vouchers WITH NO DATA"
    )
    cur.execute("TRUNCATE voucher_batch")
    with cur.copy(f"COPY voucher_batch ({columns}) FROM STDIN") as copy:
        copy.write("".join(f"{r.head}\t{run_text}\n" for r in changed))
    assignments = ", ".join(f"{c} = b.{c}" for c in VOUCHER_COLUMNS if c not in ("company_key", "id"))
    cur.execute(
        f"""
        UPDATE spiris.vouchers AS v SET {assignments},
            synced_at = now(), changed_at = now(), vanished_at = NULL
        FROM voucher_batch AS b WHERE v.company_key = b.company_key AND v.id = b.id
        """  # noqa: S608 (constant identifiers)
    )
    cur.execute("TRUNCATE voucher_batch")


def _render(company_key: str, v: VoucherRecord) -> _Rendered:
    key = _text(company_key)
    vid = str(v.id)
    prefix = f"{key}\t{vid}\t"
    row_lines: list[str] = []
    debit_total = Decimal(0)
    credit_total = Decimal(0)
    for row_no, r in enumerate(v.rows, start=1):
        debit = f"{r.debit:.2f}"
        credit = f"{r.credit:.2f}"
        debit_total += Decimal(debit)
        credit_total += Decimal(credit)
        row_lines.append(
            f"{row_no}\t{r.account_number}\t{_text(r.account_description)}\t{debit}\t{credit}\t"
            f"{_text(r.transaction_text)}\t{_id(r.cost_center_item_id1)}\t{_id(r.cost_center_item_id2)}\t"
            f"{_id(r.cost_center_item_id3)}\t{_id(r.project_id)}\t{_id(r.vat_code_id)}\t"
            f"{_text(r.vat_code_and_percent)}\n"
        )
    body = (
        f"{v.fiscal_year_id}\t{_text(v.number)}\t{_text(v.number_series)}\t{_text(v.imported_voucher_number)}\t"
        f"{_day(v.voucher_date)}\t{_text(v.text)}\t{_int(v.voucher_type)}\t{_id(v.source_id)}\t"
        f"{_id(v.attachment_document_id)}\t{_int(v.attachment_document_type)}\t"
        f"{{{','.join(str(a) for a in v.attachment_ids)}}}\t"
        f"{_moment(v.created_utc)}\t{_moment(v.modified_utc)}\t"
        f"{len(v.rows)}\t{debit_total:.2f}\t{credit_total:.2f}"
    )
    digest = hashlib.sha256(vid.encode())
    digest.update(body.encode())
    for line in row_lines:
        digest.update(line.encode())
    sha256 = digest.hexdigest()
    return _Rendered(
        voucher=v,
        head=f"{prefix}{body}\t{sha256}",
        rows="".join(prefix + line for line in row_lines),
        sha256=sha256,
    )


def _text(value: str | None) -> str:
    return _NULL if value is None else value.translate(_ESCAPES)


def _id(value: uuid.UUID | None) -> str:
    return _NULL if value is None else str(value)


def _int(value: int | None) -> str:
    return _NULL if value is None else str(int(value))


def _day(value: date) -> str:
    return value.isoformat()


def _moment(value: datetime | None) -> str:
    if value is None:
        return _NULL
    if value.tzinfo is None:
        raise ValueError("*_utc timestamps must be timezone-aware")
    return value.isoformat()
