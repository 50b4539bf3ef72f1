"""SIGKILL at five random points, then a rerun: tables and bucket end exactly as after one clean run."""

from __future__ import annotations

import random
import signal
import subprocess
import time

import psycopg
import pytest
from testkit.ledger_checks import assert_objects_match_sha256, dump, object_listing
from testkit.sync_stack import summary_of

KILLS = 5


def _progress(database_url: str) -> int:
    """Committed work: vouchers stored plus voucher→document links (both only grow during a run)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM spiris.vouchers) + (SELECT count(*) FROM spiris.voucher_documents)"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _start(stack, *args: str) -> subprocess.Popen[str]:
    return stack.start_cli(*args)  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_killed_runs_resume_to_the_clean_state(make_stack) -> None:
    clean = make_stack(vouchers_per_year=1100, documents_ratio=0.15, seed=23, fiscal_years=(2025,))
    args = clean.cli_run_args(2025)
    done = clean.run_cli(*args, "--document-workers", "2")
    assert done.returncode == 0, done.stderr
    assert summary_of(done)["outcome"] == "succeeded"

    killed = make_stack(sandbox=clean.sandbox)
    rng = random.Random(20261128)
    # Kill points are drawn over the work of a clean run (vouchers + document links), so each one lands while
    # the process is busy: in a voucher page, between pages, or in the documents pass — plus a random delay.
    total_work = _progress(clean.database_url)
    targets = sorted(rng.uniform(0.01, 0.95) * total_work for _ in range(KILLS))
    kills = 0
    for target in targets:
        process = _start(killed, *args, "--document-workers", "2")
        deadline = time.monotonic() + 90
        while (
            process.poll() is None and _progress(killed.database_url) < target and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.1))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.communicate(timeout=60)
    assert kills >= 4, "the run finished before most kill points; the test lost its point"
    final = killed.run_cli(*args)
    assert final.returncode == 0, final.stderr
    summary = summary_of(final)
    assert summary["outcome"] == "succeeded"
    assert summary["reconciliation"]["balanced"] is True

    assert dump(killed.database_url) == dump(clean.database_url)
    assert object_listing(killed.s3, killed.bucket) == object_listing(clean.s3, clean.bucket)
    assert assert_objects_match_sha256(killed.s3, killed.bucket, killed.database_url) > 0
