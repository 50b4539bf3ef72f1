"""Per-phase checkpoints so a killed sync resumes where it stopped.

A checkpoint belongs to (company, fiscal year, phase) — phases are the worker's names, e.g. `accounts`,
`vouchers`, `documents`. The worker writes it in the same transaction as the page it covers, so after a crash
the checkpoint never claims more than what was committed. `started_at` is kept when a checkpoint is updated or
taken over by a later run: it marks when the listing began (the cut-off for `mark_vanished`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from spiris_store.connection import atomic
from spiris_store.records import Checkpoint

Connection = psycopg.Connection[Any]

_COLUMNS = "company_key, fiscal_year_id, phase, page, run_id, started_at, updated_at, watermark, state"


def get_checkpoint(
    conn: Connection, *, company_key: str, fiscal_year_id: uuid.UUID, phase: str
) -> Checkpoint | None:
    """The checkpoint of this phase, or None when the phase has not started (or was cleared)."""
    row = conn.execute(
        f"""SELECT {_COLUMNS} FROM spiris.sync_checkpoints
        WHERE company_key = %s AND fiscal_year_id = %s AND phase = %s""",  # noqa: S608 (constant identifiers)
        (company_key, fiscal_year_id, phase),
    ).fetchone()
    return _checkpoint(row) if row is not None else None


def set_checkpoint(
    conn: Connection,
    *,
    company_key: str,
    fiscal_year_id: uuid.UUID,
    phase: str,
    page: int,
    run_id: int,
    watermark: datetime | None = None,
    state: Mapping[str, Any] | None = None,
    started_at: datetime | None = None,
) -> Checkpoint:
    """Record that `page` (1-based; 0 = phase begun, nothing committed) is complete. Call it in the
    transaction that wrote the page. `started_at` is set on first write (default: the transaction's time)
    and kept afterwards. The company row must exist."""
    with atomic(conn):
        row = conn.execute(
            f"""
            INSERT INTO spiris.sync_checkpoints AS c (company_key, fiscal_year_id, phase, page, run_id,
                watermark, state, started_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()))
            ON CONFLICT (company_key, fiscal_year_id, phase) DO UPDATE SET
                page = excluded.page, run_id = excluded.run_id, watermark = excluded.watermark,
                state = excluded.state, updated_at = now()
            RETURNING {_COLUMNS}
            """,  # noqa: S608 (constant identifiers)
            (
                company_key,
                fiscal_year_id,
                phase,
                page,
                run_id,
                watermark,
                Jsonb(dict(state or {})),
                started_at,
            ),
        ).fetchone()
    assert row is not None
    return _checkpoint(row)


def clear_checkpoints(
    conn: Connection, *, company_key: str, fiscal_year_id: uuid.UUID, phase: str | None = None
) -> int:
    """Remove the checkpoint of one phase (or all phases when `phase` is None), e.g. when a run completed.
    Returns how many were removed."""
    with atomic(conn):
        if phase is None:
            cur = conn.execute(
                "DELETE FROM spiris.sync_checkpoints WHERE company_key = %s AND fiscal_year_id = %s",
                (company_key, fiscal_year_id),
            )
        else:
            cur = conn.execute(
                """DELETE FROM spiris.sync_checkpoints
                WHERE company_key = %s AND fiscal_year_id = %s AND phase = %s""",
                (company_key, fiscal_year_id, phase),
            )
        return cur.rowcount


def _checkpoint(row: Sequence[Any]) -> Checkpoint:
    return Checkpoint(
        company_key=row[0],
        fiscal_year_id=row[1],
        phase=row[2],
        page=row[3],
        run_id=row[4],
        started_at=row[5],
        updated_at=row[6],
        watermark=row[7],
        state=dict(row[8] or {}),
    )
