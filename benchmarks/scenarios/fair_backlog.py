"""Scenario 9, the second load of the shared budget: companies that queue different numbers of requests at
once, in one class — where round robin between companies earns its keep and first come first served does not.

Scenario 8's load (200 first syncs connecting at once) cannot show fairness between companies: each company
has one request queued at a time, so every scheduler serves them one after another and a company's rate is
the inverse of its place in line. Here a handful of companies are backlogged for minutes: each runs its
latest year's full sync with documents (all BACKFILL, the class of documents passes), a quarter of them with
8 documents threads (as a company with several years being fetched at once queues), the rest with 1. First
come first served gives each *request* the same wait, so a heavy company gets up to 8 times a light one's
share; round robin gives each waiting *company* the same. Figure: Jain's index over per-company grants per
second of waiting (`fairness.waiting_rates`), in the first half of the time from the last ledger stored
(when every company is in its documents pass) to the last run done. Same load, both modes, fresh databases.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from call_floor import throttled
from context import Context
from fairness import jain_index, waiting_rates
from harness import CLIENT_ID

from scenarios.fair_budget import FIRST_CLIENT, LATEST, MODES, run_fleet, write_tokens


@dataclasses.dataclass(frozen=True)
class BacklogSizes:
    companies: int
    heavy: int
    vouchers: int
    documents_ratio: float
    limit_per_minute: int
    heavy_workers: int = 8
    light_workers: int = 1

    @classmethod
    def of(cls, ctx: Context) -> BacklogSizes:
        if ctx.quick:
            return cls(companies=4, heavy=1, vouchers=100, documents_ratio=0.6, limit_per_minute=240)
        return cls(companies=16, heavy=4, vouchers=160, documents_ratio=0.6, limit_per_minute=240)


def run(ctx: Context) -> dict[str, Any]:
    sizes = BacklogSizes.of(ctx)
    sandbox = ctx.sandbox(
        client_company_sizes=(sizes.vouchers,) * sizes.companies,
        rate_limit_per_minute=sizes.limit_per_minute,
        vouchers_per_year=20,
        documents_ratio=sizes.documents_ratio,
    )
    clients = [FIRST_CLIENT + i for i in range(sizes.companies)]
    sandbox.control("GET", "companies")  # builds every company's books before any clock starts
    tokens = write_tokens(ctx, sandbox, clients, prefix="backlog")
    heavy = set(clients[: sizes.heavy])
    modes = {mode: _run_mode(ctx, sandbox, sizes, mode=mode, clients=clients, heavy=heavy, tokens=tokens)
             for mode in MODES}
    sandbox.stop()
    return {
        "companies": sizes.companies,
        "heavy_companies": sizes.heavy,
        "documents_threads": {"heavy": sizes.heavy_workers, "light": sizes.light_workers},
        "vouchers_per_company": sizes.vouchers,
        "limit_per_minute": sizes.limit_per_minute,
        "modes": modes,
    }


def _run_mode(
    ctx: Context,
    sandbox: Any,
    sizes: BacklogSizes,
    *,
    mode: str,
    clients: list[int],
    heavy: set[int],
    tokens: dict[int, str],
) -> dict[str, Any]:
    env = ctx.services.target(sandbox, company=clients[0], rate_limit=sizes.limit_per_minute).env()
    sandbox.set_rate_limit(sizes.limit_per_minute)  # a fresh window: the previous mode's requests are gone
    sandbox.reset_stats()
    t0 = time.time() + 2.0
    runs = [
        {
            "key": f"c{number}",
            "company_key": f"client-{number}",
            "year": LATEST,
            "priority": "backfill",
            "token_file": tokens[number],
            "start_at": t0,
            "documents": True,
            "document_workers": sizes.heavy_workers if number in heavy else sizes.light_workers,
        }
        for number in clients
    ]
    keys = {run["key"] for run in runs}

    def finished(events: list[dict[str, Any]]) -> bool:
        return keys <= {e["run"] for e in events if e["kind"] in ("done", "error")}

    events = run_fleet(ctx, name=f"backlog-{mode}", fifo=mode == "fifo", env=env, runs=runs,
                       finished=finished, timeout=1800)
    errors = {e["run"]: e["error"] for e in events if e["kind"] == "error"}
    done = {e["run"]: e for e in events if e["kind"] == "done"}
    if errors or not keys <= set(done):
        raise RuntimeError(
            f"fair backlog ({mode}): {len(errors)} runs failed, e.g. {list(errors.values())[:2]}"
        )
    ledgered = max(e["t"] for e in events if e["kind"] == "ledger")
    ended = max(e["t"] for e in done.values())
    requests: dict[str, list[tuple[float, float]]] = {}
    for e in events:
        if e["kind"] == "grant":
            requests.setdefault(e["run"], []).append((e["asked"], e["t"]))
    rates = waiting_rates(requests=requests, begin=ledgered, end=ledgered + (ended - ledgered) / 2)

    def mean_rate(group: set[str]) -> float | None:
        values = [rates[k] for k in group if k in rates]
        return sum(values) / len(values) if values else None

    heavy_keys = {f"c{n}" for n in heavy}
    return {
        "jain_first_half": jain_index(list(rates.values())),
        "documents_seconds": ended - ledgered,
        "grant_rate_heavy": mean_rate(heavy_keys),
        "grant_rate_light": mean_rate(keys - heavy_keys),
        "outcomes": sorted({e["outcome"] for e in done.values()}),
        "grants_total": sum(len(spans) for spans in requests.values()),
        "throttled_429": throttled(sandbox.stats(), client_id=CLIENT_ID),
    }
