"""Smoke test of `make bench` scenario 9 (backlogged companies, one class) in its quick mode, as the real
command: four companies each run their latest year's full sync with documents in the fleet process, one with
8 documents threads and three with 1, against real Postgres and the sandbox, once with the budget's round
robin between companies and once FIFO. It checks the figures are there and that the heavy company's share
over a light one's is what each scheduler promises (about its thread count under FIFO, closer to even under
round robin) in a pass of a few seconds, not that a loaded 2-core machine meets the target.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(150)
def test_quick_fair_backlog_scenario_measures_both_modes(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--only", "9", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=140,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "backlogged companies" in completed.stdout
    document = json.loads(out.read_text())
    assert document["options"]["errors"] == {}
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
