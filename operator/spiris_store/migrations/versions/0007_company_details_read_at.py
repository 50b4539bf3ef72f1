"""Companies remember when their details were last asked of Spiris, answered or refused.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09

A run reads ``/companysettings`` only when the company's details are more than a day old. Freshness was
judged by ``name IS NOT NULL``, so a company whose settings Spiris refuses (403: the grant has no sales scope)
was asked again on every run: one wasted call per run on an endpoint every company shares.
``details_read_at`` is set whenever the question was put, whatever the answer; existing rows with details
count from their last update.
"""

from __future__ import annotations

from spiris_store.migrations.statements import execute_all

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

UPGRADE = [
    "ALTER TABLE spiris.companies ADD COLUMN details_read_at timestamptz",
    "UPDATE spiris.companies SET details_read_at = updated_at WHERE name IS NOT NULL",
]

DOWNGRADE = ["ALTER TABLE spiris.companies DROP COLUMN details_read_at"]


def upgrade() -> None:
    execute_all(UPGRADE)


def downgrade() -> None:
    execute_all(DOWNGRADE)
