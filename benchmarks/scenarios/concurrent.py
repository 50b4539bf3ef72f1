"""Scenario 5: five workers at once under one shared budget — 429s received and total time against the floor.

The sandbox has three full companies (1-3, each with two fiscal years), so the five workers sync five
(company, year) pairs: 1/2024, 1/2025, 2/2024, 2/2025, 3/2025. They share one database (so one
`spiris.rate_budget` row per endpoint: the one budget of one OAuth client) and one bucket, as Jobs in a
cluster do. The floor is the busiest endpoint's calls summed over all five workers at the scaled limit.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from call_floor import calls_by_template, floor_seconds, throttled
from context import Context
from harness import CLIENT_ID, RunningWorker, WorkerTarget, require_ok

PAIRS = ((1, 2024), (1, 2025), (2, 2024), (2, 2025), (3, 2025))


def run(ctx: Context) -> dict[str, Any]:
    limit = ctx.sizes.scaled_limit
    sandbox = ctx.sandbox(vouchers_per_year=ctx.sizes.concurrent_vouchers, rate_limit_per_minute=limit)
    for company in (1, 2, 3):  # build the books before the clock starts (the sandbox does it lazily)
        sandbox.control("GET", f"companies/{company}")
    shared = ctx.services.target(sandbox, company=1, rate_limit=limit)
    targets: list[WorkerTarget] = []
    for company, _year in PAIRS:
        token_file = ctx.services.work_dir / f"token-c{company}-{len(targets)}.json"
        sandbox.write_token(token_file, company=company)
        targets.append(dataclasses.replace(shared, token_file=token_file, company=company,
                                           company_key=f"company-{company}"))
    sandbox.reset_stats()
    began = time.perf_counter()
    running = [
        RunningWorker(t, year=year, mode="full", document_workers=None)
        for t, (_c, year) in zip(targets, PAIRS, strict=True)
    ]
    results = [w.wait() for w in running]
    wall = time.perf_counter() - began
    for result, pair in zip(results, PAIRS, strict=True):
        require_ok(result, f"concurrent worker {pair}")
    stats = sandbox.stats()
    calls = calls_by_template(stats, client_id=CLIENT_ID)
    floor = floor_seconds(calls, per_minute=limit)
    sandbox.stop()
    return {
        "workers": len(PAIRS),
        "pairs": [list(p) for p in PAIRS],
        "vouchers_per_year": ctx.sizes.concurrent_vouchers,
        "scaled_limit_per_minute": limit,
        "throttled_429": throttled(stats, client_id=CLIENT_ID),
        "calls": sum(calls.values()),
        "calls_by_template": calls,
        "wall_seconds": wall,
        "floor_seconds": floor,
        "wall_ratio": wall / floor if floor else None,
        "per_worker_seconds": [r.wall_seconds for r in results],
        "per_worker_calls": [r.api_calls for r in results],
        "peak_rss_bytes_max": max(r.peak_rss_bytes for r in results),
    }
