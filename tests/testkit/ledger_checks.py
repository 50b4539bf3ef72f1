"""Assertions over what a sync left behind: table dumps, object listings, sha256 of every object."""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
from spiris_localstack.s3 import S3Server

# Everything a clean run determines, without timestamps, run ids or generated document ids.
DUMP_QUERIES = {
    "fiscal_years": (
        "SELECT company_key, id, start_date, end_date, is_locked FROM spiris.fiscal_years ORDER BY 1, 2"
    ),
    "accounts": "SELECT company_key, fiscal_year_id, number, name FROM spiris.accounts ORDER BY 1, 2, 3",
    "vouchers": (
        "SELECT company_key, id, fiscal_year_id, number, content_sha256, vanished_at IS NULL"
        " FROM spiris.vouchers ORDER BY 1, 2"
    ),
    "voucher_rows": (
        "SELECT company_key, voucher_id, row_no, account_number, debit, credit, transaction_text"
        " FROM spiris.voucher_rows ORDER BY 1, 2, 3"
    ),
    "documents": (
        "SELECT company_key, source, spiris_id, sha256, object_key, content_type, size_bytes,"
        " original_file_name, spiris_attachment_id, spiris_invoice_id FROM spiris.documents ORDER BY 1, 2, 3"
    ),
    "voucher_documents": (
        "SELECT vd.company_key, vd.voucher_id, d.source, d.spiris_id, vd.relation"
        " FROM spiris.voucher_documents vd JOIN spiris.documents d"
        " ON d.company_key = vd.company_key AND d.id = vd.document_id ORDER BY 1, 2, 3, 4"
    ),
    "missing_documents": (
        "SELECT company_key, voucher_id, source, spiris_id, reason FROM spiris.missing_documents"
        " ORDER BY 1, 2, 3, 4"
    ),
}


def dump(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(database_url) as conn:
        return {name: conn.execute(query).fetchall() for name, query in DUMP_QUERIES.items()}


def object_listing(s3: S3Server, bucket: str) -> dict[str, int]:
    client = s3.client()
    return {o.object_name: o.size for o in client.list_objects(bucket, recursive=True)}


def assert_objects_match_sha256(s3: S3Server, bucket: str, database_url: str) -> int:
    """Every stored document's object exists and its bytes hash to its sha256; returns how many were read."""
    client = s3.client()
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT DISTINCT object_key, sha256, size_bytes FROM spiris.documents").fetchall()
    for key, sha256, size in rows:
        response = client.get_object(bucket, key)
        try:
            digest = hashlib.sha256()
            received = 0
            for chunk in response.stream(1024 * 1024):
                digest.update(chunk)
                received += len(chunk)
        finally:
            response.close()
            response.release_conn()
        assert digest.hexdigest() == sha256, key
        assert received == size, key
        assert key.endswith(sha256)
    return len(rows)


def latest_run(database_url: str) -> dict[str, Any]:
    with psycopg.connect(database_url) as conn:
        cur = conn.execute("SELECT * FROM spiris.sync_runs ORDER BY id DESC LIMIT 1")
        row = cur.fetchone()
        assert row is not None
        assert cur.description is not None
        return {c.name: v for c, v in zip(cur.description, row, strict=True)}
