"""Scenario 8: 200 client companies of mixed sizes connect at once and share one budget — prioritised and fair
against first come first served.

The sandbox serves 200 client companies (`client_company_sizes`, log-normal voucher counts: most small, a few
with thousands) with two fiscal years each, under a scaled rate limit. At t0 every company's two syncs start,
as the operator starts them for a new connection: the latest year (FIRST_SYNC) and the year before
(BACKFILL), ledger only, so both compete for the same ledger endpoints. While the budget is saturated a person
clicks "sync now" for other (small) companies: ON_DEMAND runs started at spread times. The runs are threads
of one process (`fleet.py`) calling the worker's own `run_sync` with the real shared budget in this
benchmark's Postgres and real HTTP to the sandbox; 400 worker processes would not fit 2 cores. The same load
runs twice, in fresh databases: with the budget as the worker uses it (classes, round robin between companies)
and as the FIFO baseline (every request one class and one company key, the old behaviour). Figures, per mode:
(a) time until every company's latest-year ledger is stored / the rate-limit floor of those runs' ledger
calls (the busiest endpoint's calls at the sandbox's limit); (b) Jain's index over per-company progress in
the first half of that time, progress being what the scheduler gives a company's first sync: the grants of
its latest-year run (every endpoint) per second of the time that run had a request waiting in the budget's
queue (`fairness.waiting_rates`). One class, so the classes' order is not counted as unfairness; the time a
run spends on its own (start-up, storing a page, a CPU-starved thread) is neither credited nor held against
it. Round robin gives every waiting company the same rate; FIFO gives every request the same wait, which is
as fair only while each company has one request queued: it loses as soon as one company queues several at
once (a multi-threaded documents pass), which this ledger-only load does not do. (c) p95 time from "sync now"
to that run's first API call (its first grant). Calls are counted per run from the budget's grants in the
fleet, and checked against the sandbox's `/_sandbox/stats`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from call_floor import calls_by_template, floor_seconds, pages, throttled
from context import Context
from fairness import jain_index, percentile, waiting_rates
from harness import BIN, CLIENT_ID, HERE

LATEST, PREVIOUS = 2025, 2024
FIRST_CLIENT = 7  # the sandbox's client companies come after its six seeded ones
MODES = ("fifo", "priority")


@dataclasses.dataclass(frozen=True)
class FairSizes:
    companies: int
    median_vouchers: int
    sigma: float
    max_vouchers: int
    limit_per_minute: int
    probes: int
    probe_vouchers: int

    @classmethod
    def of(cls, ctx: Context) -> FairSizes:
        if ctx.quick:
            return cls(
                companies=16,
                median_vouchers=80,
                sigma=1.2,
                max_vouchers=1_500,
                limit_per_minute=240,
                probes=4,
                probe_vouchers=10,
            )
        return cls(
            companies=200,
            median_vouchers=150,
            sigma=1.3,
            max_vouchers=6_000,
            limit_per_minute=240,
            probes=20,
            probe_vouchers=10,
        )

    def voucher_counts(self) -> list[int]:
        rng = random.Random(17)
        mu = math.log(self.median_vouchers)
        return [
            max(3, min(self.max_vouchers, round(rng.lognormvariate(mu, self.sigma))))
            for _ in range(self.companies)
        ]


def run(ctx: Context) -> dict[str, Any]:
    sizes = FairSizes.of(ctx)
    counts = sizes.voucher_counts()
    sandbox = ctx.sandbox(
        client_company_sizes=(*counts, *[sizes.probe_vouchers] * sizes.probes),
        rate_limit_per_minute=sizes.limit_per_minute,
        vouchers_per_year=20,
    )
    clients = [FIRST_CLIENT + i for i in range(sizes.companies)]
    probes = [FIRST_CLIENT + sizes.companies + i for i in range(sizes.probes)]
    began = time.perf_counter()
    sandbox.control("GET", "companies")  # builds every company's books before any clock starts
    build_seconds = time.perf_counter() - began
    tokens = write_tokens(ctx, sandbox, (*clients, *probes), prefix="fair")
    # The latest year's ledger calls if every page is full: company settings, fiscal years and accounts once
    # each, then the voucher pages. Probes are spread over the first half of the time this allows.
    estimate = max(sizes.companies, sum(pages(c) for c in counts)) / (sizes.limit_per_minute / 60.0)
    modes = {
        mode: _run_mode(
            ctx, sandbox, sizes, mode=mode, clients=clients, probes=probes, tokens=tokens, estimate=estimate
        )
        for mode in MODES
    }
    sandbox.stop()
    fifo, fair = modes["fifo"], modes["priority"]
    return {
        "companies": sizes.companies,
        "runs_per_company": 2,
        "voucher_counts": {
            "total": sum(counts),
            "median": sorted(counts)[len(counts) // 2],
            "max": max(counts),
            "over_1000": sum(1 for c in counts if c > 1000),
        },
        "limit_per_minute": sizes.limit_per_minute,
        "probes": sizes.probes,
        "books_build_seconds": build_seconds,
        "modes": modes,
        "ledger_ratio_improvement": (
            fifo["ledger_ratio"] / fair["ledger_ratio"]
            if fifo["ledger_ratio"] and fair["ledger_ratio"]
            else None
        ),
        "on_demand_p95_improvement": (
            fifo["on_demand_p95_seconds"] / fair["on_demand_p95_seconds"]
            if fifo["on_demand_p95_seconds"] and fair["on_demand_p95_seconds"]
            else None
        ),
    }


def _run_mode(
    ctx: Context,
    sandbox: Any,
    sizes: FairSizes,
    *,
    mode: str,
    clients: list[int],
    probes: list[int],
    tokens: dict[int, str],
    estimate: float,
) -> dict[str, Any]:
    target = ctx.services.target(sandbox, company=clients[0], rate_limit=sizes.limit_per_minute)
    env = target.env()
    sandbox.set_rate_limit(sizes.limit_per_minute)  # a fresh window: the previous mode's requests are gone
    sandbox.reset_stats()
    t0 = time.time() + 3.0  # every thread is started and waiting when the clock starts
    runs: list[dict[str, Any]] = []
    for number in clients:
        for year, priority in ((LATEST, "first-sync"), (PREVIOUS, "backfill")):
            runs.append(
                {
                    "key": f"c{number}-{year}",
                    "company_key": f"client-{number}",
                    "year": year,
                    "priority": priority,
                    "token_file": tokens[number],
                    "start_at": t0,
                }
            )
    for index, number in enumerate(probes):
        at = t0 + estimate * (0.05 + 0.45 * index / max(1, len(probes) - 1))
        runs.append(
            {
                "key": f"on-demand-{number}",
                "company_key": f"on-demand-{number}",
                "year": LATEST,
                "priority": "on-demand",
                "token_file": tokens[number],
                "start_at": at,
            }
        )
    latest = {f"c{n}-{LATEST}" for n in clients}
    probe_keys = {f"on-demand-{n}" for n in probes}

    def finished(events: list[dict[str, Any]]) -> bool:
        ledgered = {e["run"] for e in events if e["kind"] in ("ledger", "error")}
        granted = {e["run"] for e in events if e["kind"] in ("grant", "error")}
        return latest <= ledgered and probe_keys <= granted

    events = run_fleet(
        ctx, name=f"fair-{mode}", fifo=mode == "fifo", env=env, runs=runs, finished=finished,
        timeout=3.0 + 8 * estimate + 60,
    )
    stats = sandbox.stats()
    errors = {e["run"]: e["error"] for e in events if e["kind"] == "error"}
    ledgered = {e["run"] for e in events if e["kind"] == "ledger"}
    if errors or not latest <= ledgered:
        raise RuntimeError(
            f"fair budget ({mode}): {len(latest - ledgered)} ledgers missing, "
            f"{len(errors)} runs failed, e.g. {list(errors.values())[:2]}"
        )
    return _figures(events, stats, sizes=sizes, t0=t0, latest=latest, probe_keys=probe_keys, errors=errors)


def write_tokens(ctx: Context, sandbox: Any, numbers: Iterable[int], *, prefix: str) -> dict[int, str]:
    """A token file for each sandbox company in `numbers`, as the operator would mount it: number → path."""
    tokens: dict[int, str] = {}
    for number in numbers:
        path = ctx.services.work_dir / f"{prefix}-token-{number}.json"
        sandbox.write_token(path, company=number)
        tokens[number] = str(path)
    return tokens


def run_fleet(
    ctx: Context,
    *,
    name: str,
    fifo: bool,
    env: dict[str, str],
    runs: list[dict[str, Any]],
    finished: Callable[[list[dict[str, Any]]], bool],
    timeout: float,
) -> list[dict[str, Any]]:
    """Run `runs` as threads of one `fleet.py` process until `finished(events)` (or the fleet ends), stop it
    by PID and return its events; past `timeout` seconds it is a failure naming the fleet's log."""
    work = ctx.services.work_dir
    plan_path, events_path = work / f"{name}-plan.json", work / f"{name}-events.jsonl"
    plan_path.write_text(json.dumps({"fifo": fifo, "env": env, "runs": runs}))
    events_path.write_text("")
    stderr = (work / f"{name}-fleet.log").open("wb")
    fleet = subprocess.Popen(
        [sys.executable, str(HERE / "fleet.py"), str(plan_path), str(events_path)],
        env=dict(
            env, PATH=f"{BIN}:{os.environ.get('PATH', '')}", PYTHONPATH=os.environ.get("PYTHONPATH", "")
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    deadline = time.time() + timeout
    try:
        while not finished(_read_events(events_path)) and fleet.poll() is None:
            if time.time() > deadline:
                raise RuntimeError(f"{name}: not done after {timeout:.0f} s; see {stderr.name}")
            time.sleep(0.5)
    finally:
        _stop(fleet)
        stderr.close()
    return _read_events(events_path)


def _read_events(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def _stop(fleet: subprocess.Popen[bytes]) -> None:
    if fleet.poll() is None:
        fleet.send_signal(signal.SIGTERM)
        try:
            fleet.wait(timeout=10)
        except subprocess.TimeoutExpired:
            fleet.kill()
            fleet.wait()


def _figures(
    events: list[dict[str, Any]],
    stats: dict[str, Any],
    *,
    sizes: FairSizes,
    t0: float,
    latest: set[str],
    probe_keys: set[str],
    errors: dict[str, str],
) -> dict[str, Any]:
    ledger_at = {e["run"]: e["t"] for e in events if e["kind"] == "ledger"}
    started = {e["run"]: e["t"] for e in events if e["kind"] == "start"}
    grants: dict[str, list[tuple[float, str]]] = defaultdict(list)
    requests: dict[str, list[tuple[float, float]]] = defaultdict(list)  # per company: (asked, granted)
    for e in events:
        if e["kind"] == "grant":
            grants[e["run"]].append((e["t"], e["endpoint"]))
            if e["run"] in latest:
                requests[e["run"].rsplit("-", 1)[0]].append((e["asked"], e["t"]))
    ledger_calls: dict[str, int] = defaultdict(int)
    for run in latest:
        for t, endpoint in grants[run]:
            if t <= ledger_at[run]:
                ledger_calls[endpoint] += 1
    ledger_seconds = max(ledger_at[run] for run in latest) - t0
    floor = floor_seconds(ledger_calls, per_minute=sizes.limit_per_minute)
    rates = waiting_rates(requests=requests, begin=t0, end=t0 + ledger_seconds / 2)
    waits = sorted(min(t for t, _ in grants[run]) - started[run] for run in probe_keys)
    probe_ledgers = [ledger_at[run] - started[run] for run in probe_keys if run in ledger_at]
    granted_total = sum(len(v) for v in grants.values())
    sandbox_calls = calls_by_template(stats, client_id=CLIENT_ID)
    return {
        "ledger_seconds": ledger_seconds,
        "ledger_calls": sum(ledger_calls.values()),
        "ledger_calls_by_endpoint": dict(sorted(ledger_calls.items())),
        "ledger_floor_seconds": floor,
        "ledger_ratio": ledger_seconds / floor if floor else None,
        "grants_until_ledgers_done_by_endpoint": _grants_until(grants, ledger_seconds + t0),
        "jain_first_half": jain_index(list(rates.values())),
        "waiting_grant_rates": {
            "min": min(rates.values(), default=None),
            "max": max(rates.values(), default=None),
            "companies": len(rates),
        },
        "on_demand_waits_seconds": waits,
        "on_demand_p95_seconds": percentile(waits, 0.95),
        "on_demand_p50_seconds": percentile(waits, 0.5),
        "on_demand_ledger_p95_seconds": percentile(probe_ledgers, 0.95),
        "grants_total": granted_total,
        "sandbox_calls_total": sum(sandbox_calls.values()),
        "sandbox_calls_by_template": sandbox_calls,
        "throttled_429": throttled(stats, client_id=CLIENT_ID),
        "errors": errors,
    }


def _grants_until(grants: dict[str, list[tuple[float, str]]], until: float) -> dict[str, int]:
    """All runs' grants per endpoint until the last latest-year ledger: what the budget handed out then."""
    out: dict[str, int] = defaultdict(int)
    for taken in grants.values():
        for t, endpoint in taken:
            if t <= until:
                out[endpoint] += 1
    return dict(sorted(out.items()))
