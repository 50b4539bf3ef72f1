"""Scenario 2: incremental re-syncs of the main year — with no change, then with 1 % of its vouchers changed.

Changes are made through the sandbox's control API (`/_sandbox/companies/1/vouchers/change`: text, amounts and
`ModifiedUtc`), which is what a bookkeeper's edits look like to the API. Calls are counted by the sandbox.
"""

from __future__ import annotations

from typing import Any

from call_floor import calls_by_template
from context import SYNC_YEAR, Context
from harness import CLIENT_ID, require_ok, run_worker


def _measured(ctx: Context) -> dict[str, Any]:
    main = ctx.synced_main_year()
    main.sandbox.reset_stats()
    result = run_worker(main.target, year=SYNC_YEAR, mode="incremental")
    require_ok(result, "incremental re-sync")
    calls = calls_by_template(main.sandbox.stats(), client_id=CLIENT_ID)
    listing = result.summary.get("listing") or {}
    return {
        "calls": sum(calls.values()),
        "calls_by_template": calls,
        "mode_used": result.summary.get("mode"),
        "vouchers_fetched": listing.get("vouchersFetched"),
        "vouchers_updated": listing.get("vouchersUpdated"),
        "documents_fetched": listing.get("documentsFetched"),
        "wall_seconds": result.wall_seconds,
    }


def run(ctx: Context) -> dict[str, Any]:
    main = ctx.synced_main_year()
    no_change = _measured(ctx)
    fy_id = main.sandbox.fiscal_year_id(1, SYNC_YEAR)
    count = max(1, ctx.sizes.vouchers // 100)
    main.sandbox.control("POST", "clock", json={"advance_seconds": 5})
    changed = main.sandbox.control(
        "POST", "companies/1/vouchers/change", json={"count": count, "fiscal_year_id": fy_id}
    )["changed"]
    after_change = _measured(ctx)
    after_change["vouchers_changed"] = len(changed)
    return {"no_change": no_change, "changed": after_change}
