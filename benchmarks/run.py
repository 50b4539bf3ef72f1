"""`make bench`: how close the product comes to Spiris' rate limit, its physical limit.

Starts its own PostgreSQL 15, SeaweedFS S3 and Spiris sandbox (and the Kubernetes API emulator for scenario
6), runs the worker (and the operator) as real subprocesses, prints a table of figures with pass/fail beside
every target and writes all figures as JSON. `--quick` is a scaled-down smoke run, `--only 1,2` runs some
scenarios. Everything started is stopped by PID at the end, also on failure.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from context import Context, Sizes
from harness import BenchServices
from report import checks, table, write_json
from scenarios import (
    concurrent,
    fair_backlog,
    fair_budget,
    full_sync,
    incremental,
    ingest,
    memory,
    operator_scale,
    read_api,
)

SCENARIOS: dict[int, tuple[str, Callable[[Context], dict[str, Any]]]] = {
    1: ("1_full_sync", full_sync.run),
    2: ("2_incremental", incremental.run),
    3: ("3_ingest", ingest.run),
    4: ("4_memory", memory.run),
    5: ("5_concurrent", concurrent.run),
    6: ("6_operator", operator_scale.run),
    7: ("7_read_api", read_api.run),
    8: ("8_fair_budget", fair_budget.run),
    9: ("9_fair_backlog", fair_backlog.run),
}
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="scaled-down smoke run (~3 minutes)")
    parser.add_argument("--only", default="", help="comma-separated scenario numbers (default: all)")
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"figures as JSON (default {DEFAULT_JSON})"
    )
    parser.add_argument("--vouchers", type=int, help="override the main year's voucher count")
    parser.add_argument("--limit", type=int, help="override the scaled rate limit (requests/minute/endpoint)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    chosen = sorted({int(n) for n in args.only.split(",") if n.strip()}) or sorted(SCENARIOS)
    sizes = Sizes.quick() if args.quick else Sizes.full()
    if args.vouchers:
        sizes = dataclasses.replace(sizes, vouchers=args.vouchers)
    if args.limit:
        sizes = dataclasses.replace(sizes, scaled_limit=args.limit)
    print(f"spiris benchmark ({'quick' if args.quick else 'full'}): scenarios {chosen}; main year "
          f"{sizes.vouchers:,} vouchers; rate limit scaled to {sizes.scaled_limit}/min per endpoint "
          f"(Spiris: 600/min) for sandbox and shared budget alike", flush=True)
    load_at_start = os.getloadavg()  # other work on the machine skews the timings; the JSON says how much
    services = BenchServices()
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    began = time.perf_counter()
    ctx: Context | None = None
    try:
        services.start()
        ctx = Context(services, sizes, quick=args.quick)
        for number in chosen:
            key, scenario = SCENARIOS[number]
            print(f"-- scenario {number} ...", flush=True)
            started = time.perf_counter()
            try:
                results[key] = scenario(ctx)
                results[key]["scenario_seconds"] = time.perf_counter() - started
            except Exception as exc:  # one broken scenario must not hide the others' figures
                traceback.print_exc()
                errors[key] = f"{type(exc).__name__}: {exc}"
            print(f"   scenario {number} took {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        if ctx is not None:
            ctx.close()
        services.stop()
    found = checks(results)
    print()
    print(table(found))
    for key, error in errors.items():
        print(f"ERROR in {key}: {error}")
    total = time.perf_counter() - began
    print(f"\ntotal {total:.0f} s; figures in {args.json}")
    write_json(args.json, results=results, found=found,
               options={"load_average_at_start": load_at_start, "quick": args.quick, "scenarios": chosen,
                        "sizes": sizes.__dict__, "errors": errors, "total_seconds": total})
    # A missed target is a finding (printed FAIL, explained in the README's Performance section),
    # not a broken benchmark.
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
