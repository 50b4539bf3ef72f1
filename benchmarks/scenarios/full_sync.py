"""Scenario 1: a full sync of one fiscal year against the minimum calls, the rate-limit floor and naivety.

The worker runs under a scaled limit (sandbox and shared budget alike, e.g. 3,000/min instead of Spiris'
600/min, so the run takes minutes, not an hour); ratios to the floor do not depend on the scale. Calls are
counted three ways that must agree: the sandbox's `/_sandbox/stats`, the worker's summary and its `sync_runs`
row. The naive baseline runs unthrottled afterwards; its floor time is computed from its call count.
"""

from __future__ import annotations

from typing import Any

from call_floor import calls_by_template, floor_seconds, necessary_calls, throttled
from context import SYNC_YEAR, Context
from harness import CLIENT_ID, UNLIMITED, require_ok, run_worker
from naive import VOUCHER as VOUCHER_TEMPLATE
from naive import run_naive
from spiris_store import ledger
from spiris_store.connection import connect


def run(ctx: Context) -> dict[str, Any]:
    main = ctx.main_year()
    limit = ctx.sizes.scaled_limit
    sandbox, target = main.sandbox, main.target
    fy_id = sandbox.fiscal_year_id(1, SYNC_YEAR)
    truth = sandbox.control("GET", f"truth/1/{fy_id}")
    sandbox.set_rate_limit(limit)
    sandbox.reset_stats()
    result = run_worker(target, year=SYNC_YEAR, mode="full")
    require_ok(result, "full sync")
    main.full_sync, main.measured = result, True
    stats = sandbox.stats()
    calls = calls_by_template(stats, client_id=CLIENT_ID)
    with connect(target.database_url) as conn:
        run_row = ledger.latest_run(conn, target.company_key, SYNC_YEAR)
    documents = int(truth["voucher_attachments"]) + int(truth["voucher_customer_invoices"])
    necessary = necessary_calls(
        accounts=int(result.summary["counts"]["accounts"]),
        vouchers=int(truth["vouchers"]),
        documents=documents,
    )
    minimum = sum(necessary.values())
    total = sum(calls.values())
    floor = floor_seconds(calls, per_minute=limit)
    minimum_floor = documents / (limit / 60.0)  # the busiest necessary endpoint family: one call per document

    sandbox.set_rate_limit(UNLIMITED)
    naive = run_naive(sandbox, company=1, fiscal_year_id=fy_id, execute_vouchers=None)
    sandbox.set_rate_limit(limit)
    documents_seconds = float(result.timings.get("documents_pass_seconds", 0.0))
    fixed = result.wall_seconds - documents_seconds
    paced_ratio = documents_seconds / floor if floor and documents_seconds else None
    floor_at_600 = floor_seconds(calls, per_minute=600)
    # Before issue 17 every invoice PDF went through /print: that one endpoint's floor for the same invoices.
    invoice_pdf_calls = sum(
        calls.get(f"/v2/customerinvoices/{{invoice_id}}/{route}", 0) for route in ("print", "pdf")
    )
    single_endpoint_floor = invoice_pdf_calls / (limit / 60.0)
    ledger_templates = ("/v2/fiscalyears", "/v2/accounts/{fiscal_year_id}", "/v2/vouchers/{fiscal_year_id}")
    ledger_only_worker = sum(calls.get(t, 0) for t in ledger_templates)
    ledger_only_naive = sum(
        n for t, n in naive["calls_by_template"].items() if t in (*ledger_templates, VOUCHER_TEMPLATE)
    )
    naive_floor = floor_seconds(naive["calls_by_template"], per_minute=limit)
    naive_floor_600 = floor_seconds(naive["calls_by_template"], per_minute=600)
    return {
        "scaled_limit_per_minute": limit,
        "vouchers": int(truth["vouchers"]),
        "rows": int(truth["rows"]),
        "documents": documents,
        "outcome": result.summary.get("outcome"),
        "exit_code": result.exit_code,
        "calls": total,
        "calls_worker_summary": result.api_calls,
        "calls_sync_runs_row": run_row.api_calls if run_row is not None else None,
        "calls_by_template": calls,
        "throttled_429": throttled(stats, client_id=CLIENT_ID),
        "necessary_calls": necessary,
        "minimum_calls": minimum,
        "calls_ratio": total / minimum,
        "wall_seconds": result.wall_seconds,
        "floor_seconds": floor,
        "wall_ratio": result.wall_seconds / floor if floor else None,
        "minimum_floor_seconds": minimum_floor,
        "wall_ratio_to_minimum_floor": result.wall_seconds / minimum_floor if minimum_floor else None,
        "floor_seconds_at_600": floor_at_600,
        "invoice_pdf_calls": invoice_pdf_calls,
        "invoice_pdf_calls_by_route": {
            route: calls.get(f"/v2/customerinvoices/{{invoice_id}}/{route}", 0) for route in ("print", "pdf")
        },
        "single_endpoint_invoice_floor_seconds": single_endpoint_floor,
        "documents_pass_to_single_endpoint_floor": (
            documents_seconds / single_endpoint_floor if single_endpoint_floor and documents_seconds else None
        ),
        # Where the time above the floor goes: before the documents pass (start-up, the voucher listing) and
        # the pass itself, which is paced by the budget on the busiest endpoint.
        "fixed_seconds": fixed,
        "paced_ratio": paced_ratio,
        "projected_wall_ratio_at_600": (
            (fixed + paced_ratio * floor_at_600) / floor_at_600 if paced_ratio is not None else None
        ),
        "peak_rss_bytes": result.peak_rss_bytes,
        "timings": result.timings,
        "naive": {
            "calls": naive["calls"],
            "calls_by_template": naive["calls_by_template"],
            "unthrottled_seconds": naive["seconds"],
            "floor_seconds": naive_floor,
            "floor_seconds_at_600": naive_floor_600,
            "calls_ratio": naive["calls"] / total,
            "floor_ratio": naive_floor / floor if floor else None,
            "ran_throttled": False,
            "executed_vouchers": naive["executed_vouchers"],
            "counted_from_listing_vouchers": naive["counted_from_listing_vouchers"],
            "per_voucher_arithmetic_matches_sandbox": naive["per_voucher_arithmetic_matches_sandbox"],
            "ledger_only_calls": ledger_only_naive,
            "ledger_only_worker_calls": ledger_only_worker,
            "ledger_only_calls_ratio": ledger_only_naive / ledger_only_worker,
        },
    }
