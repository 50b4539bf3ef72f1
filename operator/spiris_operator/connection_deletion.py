"""``deletionPolicy: Delete``: removing a company's rows from Postgres and its documents from S3.

Rows go first in one transaction (``spiris_store.ledger.delete_company``), then the objects they pointed to
and anything else under the company's prefix. Without database or S3 settings the deletion is refused with a
clear message (the finalizer stays, the condition says why): never a silent Retain.
"""

from __future__ import annotations

from dataclasses import dataclass

from spiris_operator.settings import StoreAccess

__all__ = ["DeletionBlocked", "DeletionReport", "delete_company_data"]


class DeletionBlocked(Exception):
    """The data cannot be deleted now; the message says what to fix (never a credential)."""


@dataclass(frozen=True)
class DeletionReport:
    """What was removed."""

    object_keys: int
    objects: int

    @property
    def rows_note(self) -> str:
        return "the company's rows"


def delete_company_data(store: StoreAccess, company_key: str) -> DeletionReport:
    """Delete everything stored for ``company_key`` (the connection's uid)."""
    if not store.database_url:
        raise DeletionBlocked("deletionPolicy Delete needs DATABASE_URL in the operator's environment")
    if store.s3 is None:
        raise DeletionBlocked(
            "deletionPolicy Delete needs S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY and S3_BUCKET "
            "in the operator's environment"
        )
    from spiris_store import ledger
    from spiris_store.connection import connect
    from spiris_store.documents import DocumentStore
    from spiris_store.errors import StorageUnavailable

    try:
        with connect(store.database_url) as conn:
            keys = ledger.delete_company(conn, company_key)
            conn.commit()
        documents = DocumentStore(store.s3)
        documents.delete_objects(keys)
        extra = documents.delete_company_objects(company_key)
    except StorageUnavailable as exc:
        raise DeletionBlocked(f"could not delete the company's data yet: {exc}") from None
    return DeletionReport(object_keys=len(keys), objects=len(keys) + extra)
