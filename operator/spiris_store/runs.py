"""The provenance record of each sync run (`spiris.sync_runs`).

`start_run` opens a row with outcome `running` (and closes any run of the same fiscal year still marked
`running`: that process died); `finish_run` records counts, API calls, the next watermark, the
reconciliation and the outcome. A run's year is its Spiris fiscal-year id when known (two years can start in
one calendar year), else the calendar year a person named; `run_of_job` is what the operator reads after its
Job ends.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from spiris_store.connection import atomic
from spiris_store.records import RUN_OUTCOMES, RunCounts, RunOutcome, RunRecord
from spiris_store.upserts import ensure_company

Connection = psycopg.Connection[Any]

_RUN_COLUMNS = """
    id, company_key, fiscal_year, fiscal_year_id, mode, trigger, host, started_at, finished_at, scopes,
    outcome, error, accounts_count, vouchers_count, rows_count, documents_count, missing_documents_count,
    vanished_count, vouchers_fetched, documents_fetched, api_calls, api_calls_by_endpoint, watermark_used,
    next_watermark, reconciliation, checksums, job_name
"""


def _year_clause(fiscal_year: int, fiscal_year_id: uuid.UUID | None) -> tuple[str, Any]:
    """The WHERE part naming a run's fiscal year: the id when known, else the calendar year."""
    if fiscal_year_id is not None:
        return "fiscal_year_id = %s", fiscal_year_id
    return "fiscal_year = %s", fiscal_year


def start_run(
    conn: Connection,
    *,
    company_key: str,
    fiscal_year: int,
    mode: str,
    trigger: str,
    scopes: Sequence[str] = (),
    fiscal_year_id: uuid.UUID | None = None,
    watermark_used: datetime | None = None,
    host: str | None = None,
    job_name: str | None = None,
) -> RunRecord:
    """Open a run (outcome `running`). `trigger` says why it started (`manual`, `scheduled`, ...),
    `job_name` which Kubernetes Job runs it (None by hand); `host` defaults to this machine's name. Creates
    the company row if needed. Any older run of the same fiscal year (by id when given, else by calendar
    year) still `running` is closed as `failed` ("abandoned")."""
    with atomic(conn):
        ensure_company(conn, company_key)
        row = conn.execute(
            f"""
            INSERT INTO spiris.sync_runs (company_key, fiscal_year, fiscal_year_id, mode, trigger, host,
                scopes, watermark_used, job_name)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            RETURNING {_RUN_COLUMNS}
            """,  # noqa: S608 (constant identifiers)
            (
                company_key,
                fiscal_year,
                fiscal_year_id,
                mode,
                trigger,
                host if host is not None else socket.gethostname(),
                list(scopes),
                watermark_used,
                job_name,
            ),
        ).fetchone()
        assert row is not None
        run = _run_record(row)
        year_clause, year = _year_clause(fiscal_year, fiscal_year_id)
        conn.execute(
            f"""
            UPDATE spiris.sync_runs SET outcome = 'failed', finished_at = now(),
                error = coalesce(error, 'abandoned: the process ended without finishing (superseded by run '
                                        || %s || ')')
            WHERE company_key = %s AND {year_clause} AND outcome = 'running' AND id <> %s
            """,  # noqa: S608 (constant identifiers)
            (str(run.id), company_key, year, run.id),
        )
    return run


def update_run(
    conn: Connection,
    *,
    run_id: int,
    fiscal_year_id: uuid.UUID | None = None,
    fiscal_year: int | None = None,
    watermark_used: datetime | None = None,
    counts: RunCounts | None = None,
    api_calls: int | None = None,
    api_calls_by_endpoint: Mapping[str, int] | None = None,
) -> None:
    """Record what is known while the run is going (fields left None are not changed)."""
    sets: list[str] = []
    params: list[Any] = []
    if fiscal_year_id is not None:
        sets.append("fiscal_year_id = %s")
        params.append(fiscal_year_id)
    if fiscal_year is not None:
        sets.append("fiscal_year = %s")
        params.append(fiscal_year)
    if watermark_used is not None:
        sets.append("watermark_used = %s")
        params.append(watermark_used)
    if counts is not None:
        sets.extend(f"{column} = %s" for column in _COUNT_COLUMNS)
        params.extend(_count_values(counts))
    if api_calls is not None:
        sets.append("api_calls = %s")
        params.append(api_calls)
    if api_calls_by_endpoint is not None:
        sets.append("api_calls_by_endpoint = %s")
        params.append(Jsonb(dict(api_calls_by_endpoint)))
    if not sets:
        return
    with atomic(conn):
        conn.execute(f"UPDATE spiris.sync_runs SET {', '.join(sets)} WHERE id = %s", (*params, run_id))  # noqa: S608 (constant identifiers)


def finish_run(
    conn: Connection,
    *,
    run_id: int,
    outcome: RunOutcome,
    counts: RunCounts,
    api_calls: int = 0,
    api_calls_by_endpoint: Mapping[str, int] | None = None,
    error: str | None = None,
    next_watermark: datetime | None = None,
    reconciliation: Mapping[str, Any] | None = None,
    checksums: Mapping[str, Any] | None = None,
    fiscal_year_id: uuid.UUID | None = None,
) -> RunRecord:
    """Close a run with its outcome (`succeeded`, `degraded`, `failed` or `yielded`), counts, API calls, the
    watermark the next incremental run starts from, the reconciliation result (a JSON object; its `balanced`
    key is also stored in column `balanced`) and checksums. Returns the stored record."""
    if outcome not in RUN_OUTCOMES or outcome == "running":
        raise ValueError(f"not a final outcome: {outcome!r}")
    balanced = reconciliation.get("balanced") if reconciliation is not None else None
    with atomic(conn):
        row = conn.execute(
            f"""
            UPDATE spiris.sync_runs SET outcome = %s, finished_at = now(), error = %s,
                {", ".join(f"{column} = %s" for column in _COUNT_COLUMNS)},
                api_calls = %s, api_calls_by_endpoint = %s, next_watermark = %s,
                reconciliation = %s, balanced = %s, checksums = %s,
                fiscal_year_id = coalesce(%s, fiscal_year_id)
            WHERE id = %s
            RETURNING {_RUN_COLUMNS}
            """,  # noqa: S608 (constant identifiers)
            (
                outcome,
                error,
                *_count_values(counts),
                api_calls,
                Jsonb(dict(api_calls_by_endpoint or {})),
                next_watermark,
                Jsonb(_jsonable(reconciliation)) if reconciliation is not None else None,
                bool(balanced) if balanced is not None else None,
                Jsonb(_jsonable(checksums)) if checksums is not None else None,
                fiscal_year_id,
                run_id,
            ),
        ).fetchone()
    if row is None:
        raise LookupError(f"no sync run {run_id}")
    return _run_record(row)


def get_run(conn: Connection, run_id: int) -> RunRecord | None:
    """The run with this id, or None."""
    row = conn.execute(f"SELECT {_RUN_COLUMNS} FROM spiris.sync_runs WHERE id = %s", (run_id,)).fetchone()  # noqa: S608 (constant identifiers)
    return _run_record(row) if row is not None else None


def latest_run(
    conn: Connection, company_key: str, fiscal_year: int, *, fiscal_year_id: uuid.UUID | None = None
) -> RunRecord | None:
    """The most recently started run of this company's fiscal year (by id when given, else by calendar
    year; any outcome, including `running`), or None if it was never synced."""
    year_clause, year = _year_clause(fiscal_year, fiscal_year_id)
    row = conn.execute(
        f"""
        SELECT {_RUN_COLUMNS} FROM spiris.sync_runs
        WHERE company_key = %s AND {year_clause} ORDER BY started_at DESC, id DESC LIMIT 1
        """,  # noqa: S608 (constant identifiers)
        (company_key, year),
    ).fetchone()
    return _run_record(row) if row is not None else None


def run_of_job(conn: Connection, *, company_key: str, job_name: str) -> RunRecord | None:
    """The latest run of this company that the Kubernetes Job `job_name` started (a retried pod starts
    another; Job names are unique per namespace, the company key across them), or None."""
    row = conn.execute(
        f"""
        SELECT {_RUN_COLUMNS} FROM spiris.sync_runs
        WHERE company_key = %s AND job_name = %s ORDER BY started_at DESC, id DESC LIMIT 1
        """,  # noqa: S608 (constant identifiers)
        (company_key, job_name),
    ).fetchone()
    return _run_record(row) if row is not None else None


def last_watermark(
    conn: Connection, *, company_key: str, fiscal_year: int, fiscal_year_id: uuid.UUID | None = None
) -> datetime | None:
    """`next_watermark` of the latest succeeded, degraded or yielded run of the year that recorded one (a
    yielded run's ledger is complete): where an incremental run starts (minus its look-back window). None
    means "no usable history: sync everything"."""
    year_clause, year = _year_clause(fiscal_year, fiscal_year_id)
    row = conn.execute(
        f"""
        SELECT next_watermark FROM spiris.sync_runs
        WHERE company_key = %s AND {year_clause} AND outcome IN ('succeeded', 'degraded', 'yielded')
            AND next_watermark IS NOT NULL
        ORDER BY started_at DESC, id DESC LIMIT 1
        """,  # noqa: S608 (constant identifiers)
        (company_key, year),
    ).fetchone()
    return row[0] if row is not None else None


def last_full_pass(
    conn: Connection, *, company_key: str, fiscal_year: int, fiscal_year_id: uuid.UUID | None = None
) -> datetime | None:
    """When the latest succeeded, degraded or yielded run of the year that listed the whole year (a full
    voucher pass, planned or fallen back to) started; None if there was none. Decides when a full pass is
    due."""
    year_clause, year = _year_clause(fiscal_year, fiscal_year_id)
    row = conn.execute(
        f"""
        SELECT started_at FROM spiris.sync_runs
        WHERE company_key = %s AND {year_clause} AND outcome IN ('succeeded', 'degraded', 'yielded')
            AND coalesce(checksums->'listing'->>'modeUsed', mode) = 'full'
        ORDER BY started_at DESC, id DESC LIMIT 1
        """,  # noqa: S608 (constant identifiers)
        (company_key, year),
    ).fetchone()
    return row[0] if row is not None else None


_COUNT_COLUMNS = (
    "accounts_count",
    "vouchers_count",
    "rows_count",
    "documents_count",
    "missing_documents_count",
    "vanished_count",
    "vouchers_fetched",
    "documents_fetched",
)


def _count_values(counts: RunCounts) -> tuple[int, ...]:
    return (
        counts.accounts,
        counts.vouchers,
        counts.rows,
        counts.documents,
        counts.missing_documents,
        counts.vanished,
        counts.vouchers_fetched,
        counts.documents_fetched,
    )


def _jsonable(value: Mapping[str, Any]) -> Any:
    # Decimals, dates and UUIDs in a reconciliation report become strings (exact, no float rounding).
    return json.loads(json.dumps(dict(value), default=str))


def _run_record(row: Sequence[Any]) -> RunRecord:
    return RunRecord(
        id=row[0],
        company_key=row[1],
        fiscal_year=row[2],
        fiscal_year_id=row[3],
        mode=row[4],
        trigger=row[5],
        host=row[6],
        started_at=row[7],
        finished_at=row[8],
        scopes=tuple(row[9] or ()),
        outcome=row[10],
        error=row[11],
        counts=RunCounts(*row[12:20]),
        api_calls=row[20],
        api_calls_by_endpoint=dict(row[21] or {}),
        watermark_used=row[22],
        next_watermark=row[23],
        reconciliation=row[24],
        checksums=row[25],
        job_name=row[26],
    )
