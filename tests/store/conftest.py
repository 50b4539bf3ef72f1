"""Fixtures for the store tests: a migrated database, a connection, a document store on a fresh bucket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from spiris_localstack.s3 import S3Server
from spiris_store.connection import connect
from spiris_store.documents import DocumentStore
from spiris_store.migrate import migrate
from testkit.store_samples import s3_settings


@pytest.fixture
def ledger_dsn(fresh_database: str) -> str:
    """A fresh database with schema `spiris` applied."""
    migrate(fresh_database)
    return fresh_database


@pytest.fixture
def conn(ledger_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    with connect(ledger_dsn) as connection:
        yield connection


@pytest.fixture
def document_store(s3_server: S3Server, fresh_bucket: str) -> DocumentStore:
    return DocumentStore(
        s3_settings(s3_server, fresh_bucket),
        spool_memory_bytes=1024 * 1024,
        part_size=5 * 1024 * 1024,
    )
