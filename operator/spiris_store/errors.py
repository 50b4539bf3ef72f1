"""Errors the stores raise for expected failures.

The sync worker maps `StorageUnavailable` to its "storage unavailable" exit code; `DocumentIntegrityError`
means the bytes received do not match what the caller said they must be (nothing is stored then).
A Postgres connection lost in the middle of a caller's transaction surfaces as `psycopg.OperationalError`.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of the store's errors."""


class StorageUnavailable(StoreError):
    """Postgres or the S3 endpoint cannot be reached (or refused our credentials)."""


class DocumentIntegrityError(StoreError):
    """The streamed bytes' sha256 or size differs from the expected value; nothing was stored."""
