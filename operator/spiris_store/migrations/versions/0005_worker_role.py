"""The worker's role `spiris_writer`: reads and writes the rows of schema `spiris`, changes none of its DDL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Three roles keep each component to what it needs. The role that runs `spiris-sync migrate` owns schema
`spiris` and its objects (DDL); the sync Jobs and the operator log in as a member of `spiris_writer`
(SELECT, INSERT, UPDATE, DELETE on the tables, USAGE on the sequences — `bigserial` ids need it — and
EXECUTE on the functions, e.g. the rate budget's `rate_budget_wait` of 0004; no CREATE, DROP, ALTER or
TRUNCATE, and no writes to `alembic_version`, which only migrations move); the read API logs in as a member
of `spiris_reader` (SELECT, migration 0002). PUBLIC keeps Postgres' default EXECUTE on functions: they run
with the caller's rights, so a reader calling one can change nothing its own privileges forbid. Creating
roles needs CREATEROLE, which the owner role should not have, so a DBA creates them once, before the first
migration (README, "Database roles"):

    CREATE ROLE spiris_writer NOLOGIN;
    CREATE ROLE spiris_reader NOLOGIN;
    CREATE ROLE spiris_worker LOGIN PASSWORD '…' IN ROLE spiris_writer;
    CREATE ROLE spiris_api LOGIN PASSWORD '…' IN ROLE spiris_reader;

When `spiris_writer` exists this migration grants it those privileges on every table, sequence and
function, now and (default privileges of the migrating role) on those later migrations create; when it
does not, nothing is granted and `GRANT_WRITER` below is the SQL to run, as the owner role, once it does.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

GRANT_WRITER = """
GRANT USAGE ON SCHEMA spiris TO spiris_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA spiris TO spiris_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA spiris TO spiris_writer;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA spiris TO spiris_writer;
REVOKE INSERT, UPDATE, DELETE ON spiris.alembic_version FROM spiris_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA spiris GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO spiris_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA spiris GRANT USAGE ON SEQUENCES TO spiris_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA spiris GRANT EXECUTE ON FUNCTIONS TO spiris_writer;
"""

REVOKE_WRITER = """
ALTER DEFAULT PRIVILEGES IN SCHEMA spiris REVOKE EXECUTE ON FUNCTIONS FROM spiris_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA spiris REVOKE USAGE ON SEQUENCES FROM spiris_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA spiris REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM spiris_writer;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA spiris FROM spiris_writer;
REVOKE USAGE ON ALL SEQUENCES IN SCHEMA spiris FROM spiris_writer;
REVOKE SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA spiris FROM spiris_writer;
REVOKE USAGE ON SCHEMA spiris FROM spiris_writer;
"""


# The statements are constants of this file; nothing user-supplied is joined into them.
IF_WRITER_EXISTS = (
    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'spiris_writer') THEN {} END IF; END $$"
)


def upgrade() -> None:
    op.execute(IF_WRITER_EXISTS.format(GRANT_WRITER.replace("\n", " ")))


def downgrade() -> None:
    op.execute(IF_WRITER_EXISTS.format(REVOKE_WRITER.replace("\n", " ")))
