"""The three database roles get exactly their privileges from the migrations the owner runs.

The local Postgres has the production roles (README "Database roles"): the app role owns the database and
migrates; `spiris_worker` is a member of `spiris_writer` (migration 0005: rows only), `spiris_api` of
`spiris_reader` (migration 0002: SELECT). Each privilege is checked for every table, and the refusals by
running the statements as the login roles themselves.
"""

from __future__ import annotations

import psycopg
import pytest
from alembic import command
from spiris_localstack.postgres import READER_GROUP, WRITER_GROUP, RoleDsns
from spiris_store.migrate import alembic_config, migrate

TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
ROWS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})


@pytest.fixture
def roles(fresh_role_dsns: RoleDsns) -> RoleDsns:
    migrate(fresh_role_dsns.owner)
    return fresh_role_dsns


def _privileges(owner_dsn: str, role: str) -> dict[str, set[str]]:
    """Table name → the privileges `role` holds on it (through its group, as its logins will)."""
    with psycopg.connect(owner_dsn) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'spiris' ORDER BY 1"
            ).fetchall()
        ]
        return {
            table: {
                privilege
                for privilege in TABLE_PRIVILEGES
                if conn.execute(
                    "SELECT has_table_privilege(%s, %s, %s)", (role, f"spiris.{table}", privilege)
                ).fetchone()
                == (True,)
            }
            for table in tables
        }


def _refused(dsn: str, statement: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            return True
    return False


def test_the_worker_may_change_rows_and_the_reader_only_read_them(roles: RoleDsns) -> None:
    worker, reader = _privileges(roles.owner, WRITER_GROUP), _privileges(roles.owner, READER_GROUP)
    assert len(worker) > 10
    # Only migrations move the schema's version.
    assert worker.pop("alembic_version") == {"SELECT"}
    assert worker == {table: ROWS for table in worker}
    assert reader == {table: {"SELECT"} for table in reader}
    with psycopg.connect(roles.owner) as conn:
        sequences = conn.execute(
            "SELECT sequencename, has_sequence_privilege(%s, schemaname || '.' || sequencename, 'USAGE')"
            " FROM pg_sequences WHERE schemaname = 'spiris'",
            (WRITER_GROUP,),
        ).fetchall()
        functions = conn.execute(
            "SELECT p.proname, has_function_privilege(%s, p.oid, 'EXECUTE') FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'spiris'",
            (WRITER_GROUP,),
        ).fetchall()
    assert sequences and all(usage for _, usage in sequences)
    assert functions and all(execute for _, execute in functions)


@pytest.mark.parametrize(
    "statement",
    [
        "DROP TABLE spiris.vouchers",
        "ALTER TABLE spiris.vouchers ADD COLUMN note text",
        "CREATE TABLE spiris.extra (id int)",
        "CREATE INDEX ON spiris.vouchers (voucher_date)",
        "TRUNCATE spiris.sync_runs",
        "UPDATE spiris.alembic_version SET version_num = 'x'",
        "CREATE TABLE public.extra (id int)",
        "CREATE SCHEMA extra",
        "DROP SCHEMA spiris CASCADE",
    ],
)
def test_the_worker_cannot_change_the_schema(roles: RoleDsns, statement: str) -> None:
    assert _refused(roles.worker, statement)


def test_the_reader_cannot_write(roles: RoleDsns) -> None:
    with psycopg.connect(roles.worker) as conn:
        conn.execute("INSERT INTO spiris.companies (company_key, name) VALUES ('c', 'Demo AB')")
    for statement in (
        "INSERT INTO spiris.companies (company_key) VALUES ('other')",
        "UPDATE spiris.companies SET name = 'Changed'",
        "DELETE FROM spiris.companies",
        "TRUNCATE spiris.companies",
        "DROP TABLE spiris.companies",
    ):
        assert _refused(roles.reader, statement), statement
    with psycopg.connect(roles.reader) as conn:
        assert conn.execute("SELECT name FROM spiris.companies").fetchall() == [("Demo AB",)]


def test_tables_a_later_migration_creates_are_granted_alike(roles: RoleDsns) -> None:
    # What a later revision does, as the owner that runs migrations: the default privileges grant it.
    with psycopg.connect(roles.owner) as conn:
        conn.execute("CREATE TABLE spiris.later (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text)")
        conn.execute("CREATE SEQUENCE spiris.later_numbers")
    with psycopg.connect(roles.worker) as conn:
        conn.execute("INSERT INTO spiris.later (v) VALUES ('a'), ('b')")
        conn.execute("UPDATE spiris.later SET v = 'c' WHERE id = 2")
        conn.execute("DELETE FROM spiris.later WHERE id = 1")
        assert conn.execute("SELECT nextval('spiris.later_numbers')").fetchone() == (1,)
    with psycopg.connect(roles.reader) as conn:
        assert conn.execute("SELECT id, v FROM spiris.later").fetchall() == [(2, "c")]
    assert _refused(roles.worker, "DROP TABLE spiris.later")
    assert _refused(roles.reader, "INSERT INTO spiris.later (v) VALUES ('d')")


def test_downgrading_0005_takes_the_workers_grants_back(roles: RoleDsns) -> None:
    config = alembic_config(roles.owner)
    command.downgrade(config, "0005-1")
    assert set().union(*_privileges(roles.owner, WRITER_GROUP).values()) == set()
    assert _refused(roles.worker, "SELECT 1 FROM spiris.companies")
    # The reader's grants belong to 0002 and stay.
    assert all(p == {"SELECT"} for p in _privileges(roles.owner, READER_GROUP).values())
    migrate(roles.owner)
    assert _privileges(roles.owner, WRITER_GROUP)["vouchers"] == ROWS
