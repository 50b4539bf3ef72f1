"""One run per company and fiscal year: a second run waits for the live one (never marks it abandoned) and,
if it is still running after the wait, exits 7 without touching the live run's record or checkpoints."""

from __future__ import annotations

import threading

import psycopg
import pytest
from spiris_store import ledger
from spiris_store.run_lock import run_lock
from spiris_sync.exit_codes import ExitCode, RunInProgress

pytestmark = pytest.mark.timeout(180)


def test_a_second_run_exits_cleanly_while_the_first_is_live(make_stack) -> None:
    stack = make_stack(vouchers_per_year=20, fiscal_years=(2025,))
    # The live first run, as its worker holds it: lock taken, run record open.
    held = run_lock(stack.database_url, company_key=stack.company_key, fiscal_year=2025, wait_seconds=0)
    with psycopg.connect(stack.database_url, autocommit=True) as conn, held:
        live = ledger.start_run(
            conn, company_key=stack.company_key, fiscal_year=2025, mode="full", trigger="first"
        )
        with pytest.raises(RunInProgress) as refused:
            stack.run_in_process(2025, SPIRIS_SYNC_LOCK_WAIT_SECONDS="1")
        assert refused.value.exit_code == ExitCode.RUN_IN_PROGRESS == 7
        still = ledger.get_run(conn, live.id)
        assert still is not None and still.outcome == "running" and still.error is None
        runs = conn.execute("SELECT count(*) FROM spiris.sync_runs").fetchone()
        assert runs == (1,)  # the refused run opened no record


def test_concurrent_runs_of_one_year_do_not_overlap(make_stack) -> None:
    stack = make_stack(vouchers_per_year=60, documents_ratio=0.3, fiscal_years=(2025,), fault_slow_ms=20)
    outcomes: list[str] = []

    def run() -> None:
        outcomes.append(stack.run_in_process(2025, mode="full").outcome)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=150)
    assert sorted(outcomes) == ["succeeded", "succeeded"]
    with psycopg.connect(stack.database_url) as conn:
        rows = conn.execute(
            "SELECT started_at, finished_at, outcome, error FROM spiris.sync_runs ORDER BY started_at"
        ).fetchall()
    assert [r[2] for r in rows] == ["succeeded", "succeeded"] and all(r[3] is None for r in rows)
    assert rows[1][0] >= rows[0][1], "the second run started before the first finished"
