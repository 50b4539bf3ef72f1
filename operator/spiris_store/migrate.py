"""Applying the `spiris` schema with alembic.

The migrations live inside this package (`spiris_store/migrations`), so the Job image needs no `alembic.ini`:
the alembic `Config` is built in code. Alembic's version table lives inside schema `spiris`
(`spiris.alembic_version`). `migrate()` takes a Postgres advisory lock for the whole upgrade, so two processes
(two Jobs starting together, or the operator and a Job) can run it at once: the second waits, then finds the
schema current and does nothing.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from spiris_store.connection import SCHEMA, sqlalchemy_url
from spiris_store.errors import StorageUnavailable

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
# An arbitrary constant shared by every process that migrates this schema (pg_advisory_lock key space).
MIGRATION_LOCK_KEY = 0x5350_4952_4953  # "SPIRIS"


def alembic_config(dsn: str) -> Config:
    """The alembic configuration for `dsn`, built in code (usable with any `alembic.command`)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # `%` must be escaped for alembic's ConfigParser interpolation (passwords may contain it).
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(dsn).replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision shipped in this package."""
    head = ScriptDirectory.from_config(alembic_config("postgresql://unused/unused")).get_current_head()
    assert head is not None
    return head


def migrate(dsn: str) -> str:
    """Bring schema `spiris` to the newest revision; idempotent and safe to run concurrently.
    Returns the revision now current. Raises `StorageUnavailable` when Postgres cannot be reached."""
    config = alembic_config(dsn)
    engine = sqlalchemy.create_engine(sqlalchemy_url(dsn), poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
            try:
                # env.py reuses this connection, so the migration runs under the lock we hold.
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
                return _current(connection) or ""
            finally:
                connection.rollback()
                connection.execute(
                    sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                connection.commit()
    except sqlalchemy.exc.OperationalError as exc:
        raise StorageUnavailable(f"Postgres is unavailable: {str(exc.orig).strip().splitlines()[0]}") from exc
    finally:
        engine.dispose()


def current_revision(dsn: str) -> str | None:
    """The revision the database is at, or None before the first migration."""
    engine = sqlalchemy.create_engine(sqlalchemy_url(dsn), poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            return _current(connection)
    except sqlalchemy.exc.OperationalError as exc:
        raise StorageUnavailable(f"Postgres is unavailable: {str(exc.orig).strip().splitlines()[0]}") from exc
    finally:
        engine.dispose()


def _current(connection: sqlalchemy.Connection) -> str | None:
    context = MigrationContext.configure(
        connection, opts={"version_table": VERSION_TABLE, "version_table_schema": SCHEMA}
    )
    return context.get_current_revision()
