"""Sync runs may end ``yielded``: the documents pass stopped at its time slice with its checkpoint kept.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08

A background run gives the shared Spiris budget back after its time slice (issue 17): its ledger is complete
and reconciled, everything fetched so far is stored and linked, and the next run continues the documents pass
from the checkpoint. That is neither a success nor a failure, so it gets its own outcome; its
``next_watermark`` counts for the next incremental run like a succeeded one's. Downgrading turns yielded runs
into degraded ones (a complete ledger, documents not all there), the nearest outcome the old check allows.
"""

from __future__ import annotations

from spiris_store.migrations.statements import execute_all

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_OUTCOMES = "'running', 'succeeded', 'degraded', 'failed'"

UPGRADE = [
    "ALTER TABLE spiris.sync_runs DROP CONSTRAINT sync_runs_outcome_check",
    "ALTER TABLE spiris.sync_runs ADD CONSTRAINT sync_runs_outcome_check"
    f" CHECK (outcome IN ({_OUTCOMES}, 'yielded'))",
]

DOWNGRADE = [
    "UPDATE spiris.sync_runs SET outcome = 'degraded' WHERE outcome = 'yielded'",
    "ALTER TABLE spiris.sync_runs DROP CONSTRAINT sync_runs_outcome_check",
    f"ALTER TABLE spiris.sync_runs ADD CONSTRAINT sync_runs_outcome_check CHECK (outcome IN ({_OUTCOMES}))",
]


def upgrade() -> None:
    execute_all(UPGRADE)


def downgrade() -> None:
    execute_all(DOWNGRADE)
