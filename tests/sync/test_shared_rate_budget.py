"""Two workers syncing two companies at once under a small per-endpoint limit never receive a 429."""

from __future__ import annotations

import subprocess

import pytest
from testkit.sandbox import CLIENT_ID
from testkit.sync_stack import VENV_BIN, summary_of

# Small enough that the busiest endpoint gets more calls than a minute allows: the customer-invoice PDFs,
# now that attachments come from list pages, and split over /print and /pdf, each with its own budget.
LIMIT = 9


@pytest.mark.slow
@pytest.mark.timeout(200)
def test_two_workers_share_one_budget(make_stack) -> None:
    first = make_stack(
        vouchers_per_year=40, documents_ratio=0.7, seed=5, fiscal_years=(2025,), rate_limit_per_minute=LIMIT
    )
    second = make_stack(company=2, sandbox=first.sandbox, database_url=first.database_url)
    processes = [
        subprocess.Popen(
            [str(VENV_BIN / "spiris-sync"), *stack.cli_run_args(2025)],
            env=stack.env(SPIRIS_RATE_LIMIT_PER_MINUTE=str(LIMIT)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for stack in (first, second)
    ]
    for process in processes:
        stdout, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stderr
        summary = summary_of(subprocess.CompletedProcess(process.args, 0, stdout, stderr))
        assert summary["outcome"] == "succeeded"

    stats = first.control.stats()
    ours = [r for r in stats["requests"] if r["client_id"] == CLIENT_ID]
    assert stats["throttled_total"] == 0
    assert all(r["throttled"] == 0 for r in ours)
    # The limit was really in play: one endpoint took more requests than a minute allows.
    assert max(r["count"] for r in ours) > LIMIT
