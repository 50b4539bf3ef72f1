"""Smoke test of `make bench`: the quick mode of scenarios 1 and 2 at a tiny size, run as the real command.

It starts its own Postgres, SeaweedFS and sandbox, runs the worker as subprocesses and writes the JSON; the
test checks the figures are there and consistent (the three call counts agree, no 429s, a no-change re-sync
costs a handful of calls), not that a 2-core CI machine meets the performance targets.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from testkit.quick_bench import run_quick_bench


@pytest.mark.timeout(150)
def test_quick_bench_writes_consistent_figures(tmp_path: Path) -> None:
    stdout, document = run_quick_bench(
        "--only", "1,2", "--vouchers", "200", json_path=tmp_path / "bench.json", timeout=140
    )
    assert "API calls / minimum" in stdout and "PASS" in stdout
    assert set(document) >= {"date", "machine", "options", "checks", "scenarios"}
    full = document["scenarios"]["1_full_sync"]
    assert full["vouchers"] == 200 and full["outcome"] == "succeeded"
    assert full["calls"] == full["calls_worker_summary"] == full["calls_sync_runs_row"]
    # List pages carry attachment metadata, so a documents-heavy year can cost less than one call a document.
    assert 0 < full["calls"] <= 1.05 * full["minimum_calls"] and full["minimum_calls"] > full["documents"] > 0
    assert full["throttled_429"] == 0
    assert 0 < full["floor_seconds"] < full["wall_seconds"]
    assert full["naive"]["calls"] > full["calls"]
    assert full["naive"]["per_voucher_arithmetic_matches_sandbox"] is True
    assert full["timings"]["upserted_rows"] == full["rows"]
    assert 0 < full["peak_rss_bytes"] < 1024**3
    incremental = document["scenarios"]["2_incremental"]
    assert incremental["no_change"]["calls"] <= 10
    assert incremental["no_change"]["vouchers_fetched"] == 0
    assert incremental["changed"]["vouchers_changed"] == 2
    assert incremental["changed"]["vouchers_fetched"] >= 2
    checks = {c["figure"]: c for c in document["checks"]}
    assert checks["no-change re-sync API calls"]["passed"] is True
    assert checks["429s received"]["passed"] is True
