"""Schema migrations: applied by alembic from the package, idempotent, safe when processes race."""

from __future__ import annotations

import multiprocessing

import psycopg
import pytest
from alembic import command
from spiris_store.connection import connect
from spiris_store.errors import StorageUnavailable
from spiris_store.migrate import alembic_config, current_revision, head_revision, migrate
from testkit.store_samples import CONTRACT_TABLES

SUPPORT_TABLES = {
    "sync_checkpoints",
    "missing_documents",
    "rate_budget",
    "rate_budget_waiters",
    "rate_budget_turns",
    "alembic_version",
}


def _tables(dsn: str) -> set[str]:
    with connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'spiris'"
        ).fetchall()
    return {r[0] for r in rows}


def test_migrate_creates_the_contract_tables_and_is_idempotent(fresh_database: str) -> None:
    assert current_revision(fresh_database) is None
    assert migrate(fresh_database) == head_revision()
    assert _tables(fresh_database) == CONTRACT_TABLES | SUPPORT_TABLES
    with connect(fresh_database) as conn:
        conn.execute("INSERT INTO spiris.companies (company_key) VALUES ('kept')")
        conn.commit()
    assert migrate(fresh_database) == head_revision()
    assert current_revision(fresh_database) == head_revision()
    with connect(fresh_database) as conn:
        assert conn.execute("SELECT count(*) FROM spiris.companies").fetchone() == (1,)
        # the version table lives inside schema spiris, not in public
        assert conn.execute("SELECT to_regclass('public.alembic_version')").fetchone() == (None,)
        assert conn.execute("SELECT version_num FROM spiris.alembic_version").fetchall() == [
            (head_revision(),)
        ]


def _migrate_in_process(dsn: str) -> str:
    return migrate(dsn)


@pytest.mark.timeout(60)
def test_concurrent_migrations_all_succeed(fresh_database: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        revisions = pool.map(_migrate_in_process, [fresh_database] * 4)
    assert revisions == [head_revision()] * 4
    assert _tables(fresh_database) >= CONTRACT_TABLES
    with connect(fresh_database) as conn:
        assert conn.execute("SELECT count(*) FROM spiris.alembic_version").fetchone() == (1,)


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StorageUnavailable, match="Postgres is unavailable"):
        migrate("postgresql://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(StorageUnavailable):
        connect("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")


def test_documents_source_is_constrained(fresh_database: str) -> None:
    migrate(fresh_database)
    with connect(fresh_database) as conn:
        conn.execute("INSERT INTO spiris.companies (company_key) VALUES ('c')")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                """INSERT INTO spiris.documents (company_key, source, spiris_id, sha256, object_key,
                content_type, size_bytes) VALUES ('c', 'somewhere', gen_random_uuid(), repeat('a', 64), 'k',
                'application/pdf', 1)"""
            )


def test_downgrade_to_base_and_upgrade_again(fresh_database: str) -> None:
    migrate(fresh_database)
    command.downgrade(alembic_config(fresh_database), "base")
    assert _tables(fresh_database) == {"alembic_version"}
    assert current_revision(fresh_database) is None
    assert migrate(fresh_database) == head_revision()
    assert _tables(fresh_database) == CONTRACT_TABLES | SUPPORT_TABLES
