"""The read side: a keyset index for voucher pages and SELECT for the read-only role `spiris_reader`.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

`spiris-api` pages a year's live vouchers by (voucher_date, number, id); the partial index makes every page
an index range scan. The read-only role is created by whoever administers the database (creating roles
needs CREATEROLE, which the application's owner role should not have): `CREATE ROLE spiris_reader NOLOGIN`
and a login role `IN ROLE spiris_reader` for the API. When `spiris_reader` exists this migration grants it
USAGE on the schema and SELECT on every table, now and (default privileges of the migrating role) for tables
later migrations create; when it does not exist, nothing is granted and `GRANT_READER` below is the SQL to
run once it does.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

GRANT_READER = """
GRANT USAGE ON SCHEMA spiris TO spiris_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA spiris TO spiris_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA spiris GRANT SELECT ON TABLES TO spiris_reader;
"""


def upgrade() -> None:
    op.execute(
        """CREATE INDEX IF NOT EXISTS vouchers_page_idx ON spiris.vouchers
        (company_key, fiscal_year_id, voucher_date, (coalesce(number, '')), id) WHERE vanished_at IS NULL"""
    )
    # GRANT_READER is a constant of this file; nothing user-supplied is joined into the statement.
    statement = (
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'spiris_reader')"
        " THEN {} END IF; END $$"
    )
    op.execute(statement.format(GRANT_READER.replace("\n", " ")))


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS spiris.vouchers_page_idx")
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'spiris_reader') THEN "
        "ALTER DEFAULT PRIVILEGES IN SCHEMA spiris REVOKE SELECT ON TABLES FROM spiris_reader; "
        "REVOKE SELECT ON ALL TABLES IN SCHEMA spiris FROM spiris_reader; "
        "REVOKE USAGE ON SCHEMA spiris FROM spiris_reader; END IF; END $$"
    )
