"""Opening Postgres connections for the ledger.

One place that turns a `DATABASE_URL` into a psycopg 3 connection: it accepts both `postgresql://…` and the
SQLAlchemy spelling `postgresql+psycopg://…`, and reports an unreachable server as `StorageUnavailable`
instead of a driver traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import pq

from spiris_store.errors import StorageUnavailable

SCHEMA = "spiris"


def libpq_dsn(dsn: str) -> str:
    """Return `dsn` in the form libpq understands (drops a SQLAlchemy `+driver` suffix)."""
    scheme, sep, rest = dsn.partition("://")
    if sep and "+" in scheme:
        scheme = scheme.split("+", 1)[0]
    if scheme == "postgres":
        scheme = "postgresql"
    return f"{scheme}{sep}{rest}" if sep else dsn


def sqlalchemy_url(dsn: str) -> str:
    """Return `dsn` as a SQLAlchemy URL using the psycopg 3 driver (`postgresql+psycopg://`)."""
    plain = libpq_dsn(dsn)
    if plain.startswith("postgresql://"):
        return "postgresql+psycopg://" + plain[len("postgresql://") :]
    return plain


def connect(
    dsn: str, *, autocommit: bool = False, connect_timeout: float = 10.0
) -> psycopg.Connection[tuple[object, ...]]:
    """Open a connection. Transactions are the caller's: with `autocommit=False` (default) use
    `with conn.transaction():` or `conn.commit()`. Raises `StorageUnavailable` when Postgres is
    unreachable."""
    try:
        return psycopg.connect(
            libpq_dsn(dsn),
            autocommit=autocommit,
            connect_timeout=max(1, int(connect_timeout)),
            application_name="spiris",
        )
    except psycopg.OperationalError as exc:
        raise StorageUnavailable(f"Postgres is unavailable: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def atomic(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """An all-or-nothing block inside the caller's transaction: a savepoint that never commits the caller's
    work. (psycopg's `conn.transaction()` on an idle connection would start *and commit* a transaction of its
    own; here an idle non-autocommit connection first opens the caller's implicit transaction, so the caller
    still decides when to commit. With an autocommit connection the block is its own transaction.)"""
    if not conn.autocommit and conn.info.transaction_status == pq.TransactionStatus.IDLE:
        conn.execute("SELECT 1")
    with conn.transaction():
        yield
