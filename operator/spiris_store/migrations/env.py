"""Alembic environment: online migrations only, on the connection `spiris_store.migrate` hands over.

The version table lives in schema `spiris`, which is created first (alembic needs it before writing the
version row). Offline (SQL script) mode is not supported: migrations run against a live database.
"""

from __future__ import annotations

import sqlalchemy
from alembic import context

from spiris_store.connection import SCHEMA

config = context.config


def run_migrations_online() -> None:
    """Run the pending revisions inside one transaction on the given (or a fresh) connection."""
    connection = config.attributes.get("connection")
    if connection is None:
        engine = sqlalchemy.create_engine(
            config.get_main_option("sqlalchemy.url") or "", poolclass=sqlalchemy.pool.NullPool
        )
        with engine.connect() as fresh:
            _run(fresh)
            fresh.commit()
        engine.dispose()
    else:
        _run(connection)


def _run(connection: sqlalchemy.Connection) -> None:
    connection.execute(sqlalchemy.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    context.configure(
        connection=connection,
        version_table="alembic_version",
        version_table_schema=SCHEMA,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("spiris_store migrations run online only (spiris-sync migrate)")
run_migrations_online()
