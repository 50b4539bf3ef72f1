"""Smoke test of `make bench` scenario 8 (the fair shared budget) in its quick mode, run as the real command.

16 client companies with two syncs each and four on-demand runs, in the fleet process, against real Postgres
and the sandbox, once with the prioritised budget and once FIFO. It checks the figures are there and
consistent (the budget's grants agree with the sandbox's count, no 429s, no run beat the rate-limit floor,
"sync now" waits less with priorities than without), not that a loaded 2-core machine meets the targets.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from testkit.quick_bench import run_quick_bench


@pytest.mark.timeout(90)
def test_quick_fair_budget_scenario_measures_both_modes(tmp_path: Path) -> None:
    stdout, document = run_quick_bench("--only", "8", json_path=tmp_path / "bench.json", timeout=80)
    assert "latest-year ledgers / their floor" in stdout
    scenario = document["scenarios"]["8_fair_budget"]
    assert scenario["companies"] == 16 and scenario["probes"] == 4
    for mode in ("fifo", "priority"):
        figures = scenario["modes"][mode]
        assert figures["errors"] == {} and figures["throttled_429"] == 0
        # Every grant is one request; the fleet is stopped with at most a few granted but not yet sent.
        assert 0.9 * figures["grants_total"] <= figures["sandbox_calls_total"] <= figures["grants_total"]
        # Fiscal years, accounts and a voucher page per latest year at least; its /companysettings call may
        # have been the other year's (details younger than a day are not read again).
        assert figures["ledger_calls"] >= 3 * scenario["companies"]
        # The budget keeps the sandbox's limit: no mode finishes faster than the floor allows (burst aside).
        assert figures["ledger_ratio"] > 0.9
        assert len(figures["on_demand_waits_seconds"]) == scenario["probes"]
        assert figures["jain_first_half"] is not None and 0 < figures["jain_first_half"] <= 1
    fair, fifo = scenario["modes"]["priority"], scenario["modes"]["fifo"]
    assert fair["on_demand_p95_seconds"] < fifo["on_demand_p95_seconds"]
    checks = {c["figure"] for c in document["checks"] if c["scenario"] == "8"}
    assert len(checks) == 4
