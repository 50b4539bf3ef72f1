"""Sync runs keyed by the Spiris fiscal-year id and by the Job that ran them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Two fiscal years can start in one calendar year (a short first year, a changed year end), so the calendar
year no longer identifies a run's year: `fiscal_year_id` does. `job_name` is the Kubernetes Job a run
belongs to, so the operator reads back the run of its own Job.
"""

from __future__ import annotations

from spiris_store.migrations.statements import execute_all

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

UPGRADE = [
    "ALTER TABLE spiris.sync_runs ADD COLUMN job_name text",
    "CREATE INDEX sync_runs_company_year_id_idx"
    " ON spiris.sync_runs (company_key, fiscal_year_id, started_at DESC)",
    "CREATE INDEX sync_runs_job_name_idx ON spiris.sync_runs (company_key, job_name, started_at DESC)",
]

DOWNGRADE = [
    "DROP INDEX spiris.sync_runs_job_name_idx",
    "DROP INDEX spiris.sync_runs_company_year_id_idx",
    "ALTER TABLE spiris.sync_runs DROP COLUMN job_name",
]


def upgrade() -> None:
    execute_all(UPGRADE)


def downgrade() -> None:
    execute_all(DOWNGRADE)
