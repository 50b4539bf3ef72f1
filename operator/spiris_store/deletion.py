"""Removing everything we hold about a company (SpirisConnection `deletionPolicy: Delete`).

Postgres rows go by one DELETE on `companies` (every table cascades from it). The object keys of the company's
documents are returned so the caller can remove the objects from S3 after the transaction commits (S3 is not
transactional: deleting objects first and then failing in Postgres would leave rows pointing at nothing).
"""

from __future__ import annotations

from typing import Any

import psycopg

from spiris_store.connection import atomic

Connection = psycopg.Connection[Any]


def delete_company(conn: Connection, company_key: str) -> list[str]:
    """Delete the company and all its rows (fiscal years, accounts, vouchers, rows, documents, links, runs,
    checkpoints, missing documents). Returns the distinct S3 object keys its documents used (sorted);
    pass them to `DocumentStore.delete_objects` after committing. Unknown company → empty list."""
    with atomic(conn):
        keys = [
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT object_key FROM spiris.documents WHERE company_key = %s ORDER BY 1",
                (company_key,),
            ).fetchall()
        ]
        conn.execute("DELETE FROM spiris.companies WHERE company_key = %s", (company_key,))
    return keys
