"""Errors the stores raise for expected failures.

The sync worker maps `StorageUnavailable` to its "storage unavailable" exit code; `DocumentIntegrityError`
means the bytes received do not match what the caller said they must be (nothing is stored then).
`NotInCopy` and `AmbiguousFiscalYear` are the read queries' answers to a reference the copy cannot resolve.
A Postgres connection lost in the middle of a caller's transaction surfaces as `psycopg.OperationalError`.
"""

from __future__ import annotations

import uuid


class StoreError(Exception):
    """Base class of the store's errors."""


class StorageUnavailable(StoreError):
    """Postgres or the S3 endpoint cannot be reached (or refused our credentials)."""


class DocumentIntegrityError(StoreError):
    """The streamed bytes' sha256 or size differs from the expected value; nothing was stored."""


class NotInCopy(StoreError):
    """What a read asked for (a fiscal year, voucher, row or document) is not in the company's copy."""


class AmbiguousFiscalYear(StoreError):
    """More than one fiscal year of the copy starts in the calendar year asked for; `ids` names them all
    (oldest first), so the caller can ask again by id."""

    def __init__(self, year: int, ids: tuple[uuid.UUID, ...]) -> None:
        super().__init__(
            f"{len(ids)} fiscal years start in {year}: " + ", ".join(str(i) for i in ids) + "; ask by id."
        )
        self.year = year
        self.ids = ids
