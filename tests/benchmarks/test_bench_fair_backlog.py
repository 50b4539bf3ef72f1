"""Smoke test of `make bench` scenario 9 (backlogged companies, one class) in its quick mode, as the real
command: four companies each run their latest year's full sync with documents in the fleet process, one with
8 documents threads and three with 1, against real Postgres and the sandbox, once with the budget's round
robin between companies and once FIFO. It checks the figures are there and that the heavy company's share
over a light one's is what each scheduler promises (about its thread count under FIFO, closer to even under
round robin) in a pass of a few seconds, not that a loaded 2-core machine meets the target.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from testkit.quick_bench import run_quick_bench


@pytest.mark.timeout(150)
def test_quick_fair_backlog_scenario_measures_both_modes(tmp_path: Path) -> None:
    stdout, document = run_quick_bench("--only", "9", json_path=tmp_path / "bench.json", timeout=140)
    assert "backlogged companies" in stdout
    scenario = document["scenarios"]["9_fair_backlog"]
    assert scenario["companies"] == 4 and scenario["heavy_companies"] == 1
    shares = {}
    for mode in ("fifo", "priority"):
        figures = scenario["modes"][mode]
        assert figures["outcomes"] == ["succeeded"]
        assert 0 < figures["jain_first_half"] <= 1 and figures["throttled_429"] == 0
        shares[mode] = figures["grant_rate_heavy"] / figures["grant_rate_light"]
    # Quick mode's documents pass lasts seconds, so the ratios are noisy (full mode: 4.2 FIFO, 1.14 priority).
    assert shares["fifo"] > 1.5 and shares["priority"] < shares["fifo"], shares
