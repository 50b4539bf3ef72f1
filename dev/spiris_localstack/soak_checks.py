"""What the soak test checks at the end, per company: equal to the sandbox's truth, Ready, no duplicates.

Equality reuses ``flow_report``: every fiscal year's vouchers, rows, sums per account and linked documents
against `/_sandbox/truth/{company}/{fiscal_year_id}`, and every stored object's bytes against its recorded
sha256. Ready is the connection's `Ready` condition (a lost consent turns it False). Duplicates are counted
in Postgres as rows minus distinct natural keys (vouchers by Spiris id and by series and number, rows by
voucher and row number, documents by source and Spiris id, voucher-document links by voucher and Spiris
document) and in S3 as objects under the company's prefix that no document row names: content-addressed keys
mean a second copy of the same bytes cannot exist, so anything unreferenced is a stray.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from minio import Minio

from spiris_localstack.flow_report import compare_with_truth, summarise_year, verify_objects

__all__ = ["CompanyCheck", "check_company", "count_duplicates", "stray_objects"]

#: Each query returns (rows, distinct natural keys) for one company; the difference is the duplicates.
DUPLICATE_QUERIES: dict[str, str] = {
    "vouchers": "SELECT count(*), count(DISTINCT id) FROM spiris.vouchers WHERE company_key = %(ck)s",
    "voucher numbers": """SELECT count(*),
          count(DISTINCT (fiscal_year_id, coalesce(number_series, ''), number))
        FROM spiris.vouchers WHERE company_key = %(ck)s AND number IS NOT NULL AND vanished_at IS NULL""",
    "voucher rows": """SELECT count(*), count(DISTINCT (voucher_id, row_no))
        FROM spiris.voucher_rows WHERE company_key = %(ck)s""",
    "documents": """SELECT count(*), count(DISTINCT (source, spiris_id))
        FROM spiris.documents WHERE company_key = %(ck)s""",
    "voucher documents": """SELECT count(*), count(DISTINCT (vd.voucher_id, d.source, d.spiris_id))
        FROM spiris.voucher_documents vd JOIN spiris.documents d
          ON d.company_key = vd.company_key AND d.id = vd.document_id
        WHERE vd.company_key = %(ck)s""",
}


@dataclass
class CompanyCheck:
    """The verdict on one connected company."""

    number: int
    connection: str
    company_key: str
    equal: bool = False
    ready: bool = False
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)


def count_duplicates(dsn: str, *, company_key: str) -> dict[str, int]:
    """Rows minus distinct natural keys, per table (only the non-zero ones)."""
    found: dict[str, int] = {}
    with psycopg.connect(dsn) as conn:
        for name, query in DUPLICATE_QUERIES.items():
            total, distinct = conn.execute(query, {"ck": company_key}).fetchone() or (0, 0)
            if int(total) != int(distinct):
                found[name] = int(total) - int(distinct)
    return found


def stray_objects(dsn: str, client: Minio, *, bucket: str, company_key: str) -> list[str]:
    """Object keys under the company's prefix that no document row references."""
    with psycopg.connect(dsn) as conn:
        referenced = {
            str(key)
            for (key,) in conn.execute(
                "SELECT object_key FROM spiris.documents WHERE company_key = %s", (company_key,)
            )
        }
    listed = client.list_objects(bucket, prefix=f"companies/{company_key}/", recursive=True)
    return sorted(str(o.object_name) for o in listed if str(o.object_name) not in referenced)


def check_company(
    check: CompanyCheck,
    *,
    dsn: str,
    client: Minio,
    bucket: str,
    connection: dict[str, Any] | None,
    fiscal_year_ids: list[str],
    truth: dict[str, dict[str, Any]],
) -> CompanyCheck:
    """Fill in `check` from Postgres, S3 and the connection object; `truth` is keyed by fiscal-year id."""
    problems: list[str] = []
    if not fiscal_year_ids:
        problems.append("no fiscal years synced")
    for fiscal_year_id in fiscal_year_ids:
        try:
            summary = summarise_year(dsn, company_key=check.company_key, fiscal_year_id=fiscal_year_id)
        except LookupError as exc:
            problems.append(str(exc))
            continue
        problems += [f"{summary.start[:4]}: {p}" for p in compare_with_truth(summary, truth[fiscal_year_id])]
    problems += verify_objects(dsn, client, bucket=bucket, company_key=check.company_key)
    check.equal = not problems
    conditions = {c.get("type"): c.get("status") for c in ((connection or {}).get("status") or {}).get(
        "conditions") or []}
    check.ready = conditions.get("Ready") == "True"
    if not check.ready:
        problems.append(f"connection not Ready: {conditions}")
    duplicates = count_duplicates(dsn, company_key=check.company_key)
    strays = stray_objects(dsn, client, bucket=bucket, company_key=check.company_key)
    check.duplicates = sum(duplicates.values()) + len(strays)
    problems += [f"duplicate {name}: {n}" for name, n in duplicates.items()]
    problems += [f"stray object {key}" for key in strays[:5]]
    check.problems = problems
    return check
