"""A small pool of read-only Postgres connections for the read API's worker threads.

Starlette runs the read queries (`read_queries`) in its thread pool; each borrows one connection for one
request. Every session is autocommit and `default_transaction_read_only`, so even a role with more rights than
the chart's read-only one cannot write through the read side. A connection that failed is dropped, not reused;
Postgres down, a failed connection or no free slot is `StorageUnavailable`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from spiris_store.connection import libpq_dsn
from spiris_store.errors import StorageUnavailable

Connection = psycopg.Connection[Any]


class ReadOnlyPool:
    def __init__(self, dsn: str, *, size: int = 8, wait_seconds: float = 10.0) -> None:
        self._dsn = libpq_dsn(dsn)
        self._idle: queue.LifoQueue[Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._wait = wait_seconds

    def _open(self) -> Connection:
        try:
            return psycopg.connect(
                self._dsn,
                autocommit=True,
                connect_timeout=5,
                application_name="spiris-api",
                options="-c default_transaction_read_only=on -c statement_timeout=30000",
            )
        except psycopg.OperationalError as exc:
            raise StorageUnavailable("Postgres is unavailable.") from exc

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        if not self._slots.acquire(timeout=self._wait):
            raise StorageUnavailable("All database connections are busy; retry.")
        conn: Connection | None = None
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._open()
            try:
                yield conn
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                conn.close()
                conn = None
                raise StorageUnavailable("Postgres is unavailable.") from exc
            except BaseException:
                if conn.closed or conn.broken:
                    conn = None
                raise
        finally:
            if conn is not None and not conn.closed:
                self._idle.put(conn)
            self._slots.release()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
