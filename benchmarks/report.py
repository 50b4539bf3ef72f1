"""Turning the scenarios' figures into the printed table (figure, target, pass/fail) and the JSON file.

Each scenario's dict is kept whole in the JSON; `checks()` picks the figures that have a target and judges
them, so the table and the JSON's `checks` list always agree.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Check:
    scenario: str
    figure: str
    value: str
    target: str
    passed: bool | None  # None: informational, no target

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}x"


def checks(results: dict[str, Any]) -> list[Check]:
    out: list[Check] = []
    s1 = results.get("1_full_sync")
    if s1:
        out += [
            Check("1", "API calls / minimum",
                  f"{s1['calls']} / {s1['minimum_calls']} = {_ratio(s1['calls_ratio'])}",
                  "≤ 1.05x", s1["calls_ratio"] <= 1.05),
            Check("1", "wall time / rate-limit floor",
                  f"{s1['wall_seconds']:.1f} s / {s1['floor_seconds']:.1f} s = {_ratio(s1['wall_ratio'])}"
                  f" (at {s1['scaled_limit_per_minute']}/min)", "≤ 1.1x",
                  s1["wall_ratio"] is not None and s1["wall_ratio"] <= 1.1),
            Check("1", "  of which: before the documents pass | pass / floor",
                  f"{s1['fixed_seconds']:.1f} s | {_ratio(s1['paced_ratio'])}", "(info)", None),
            Check("1", "  projected wall / floor at Spiris' 600/min",
                  _ratio(s1["projected_wall_ratio_at_600"]), "(info)", None),
            *_invoice_pdf_checks(s1),
            Check("1", "naive baseline calls / worker calls",
                  f"{s1['naive']['calls']} / {s1['calls']} = {_ratio(s1['naive']['calls_ratio'])}", "≥ 10x",
                  s1["naive"]["calls_ratio"] >= 10),
            Check("1", "naive floor time / worker floor time",
                  f"{s1['naive']['floor_seconds']:.0f} s / {s1['floor_seconds']:.1f} s = "
                  f"{_ratio(s1['naive']['floor_ratio'])}", "≥ 10x",
                  s1["naive"]["floor_ratio"] is not None and s1["naive"]["floor_ratio"] >= 10),
            Check("1", "naive calls / worker calls, ledger only (no documents)",
                  f"{s1['naive']['ledger_only_calls']} / {s1['naive']['ledger_only_worker_calls']} = "
                  f"{_ratio(s1['naive']['ledger_only_calls_ratio'])}", "(info)", None),
            Check("1", "429s received", str(s1["throttled_429"]), "= 0", s1["throttled_429"] == 0),
        ]
    s2 = results.get("2_incremental")
    if s2:
        out += [
            Check("2", "no-change re-sync API calls", str(s2["no_change"]["calls"]), "≤ 10",
                  s2["no_change"]["calls"] <= 10),
            Check("2", f"re-sync after {s2['changed']['vouchers_changed']} vouchers changed: API calls",
                  str(s2["changed"]["calls"]), "(info)", None),
        ]
    s3 = results.get("3_ingest")
    if s3:
        out += [
            Check("3", "Postgres ingest, direct upserts", f"{s3['direct_rows_per_second']:,.0f} rows/s",
                  "≥ 20,000 rows/s", s3["direct_rows_per_second"] >= 20_000),
        ]
        if s3.get("in_run_rows_per_second") is not None:
            out.append(Check("3", "Postgres ingest, inside the worker's run",
                             f"{s3['in_run_rows_per_second']:,.0f} rows/s", "≥ 20,000 rows/s",
                             s3["in_run_rows_per_second"] >= 20_000))
        if s3.get("spiris_wait_share") is not None:
            out.append(Check("3", "share of the run waiting on Spiris (budget + HTTP)",
                             f"{s3['spiris_wait_share'] * 100:.1f} %", "(info)", None))
    s4 = results.get("4_memory")
    if s4:
        out += [
            Check("4", f"worker peak RSS, {s4['large_document_bytes'] // MB} MB document",
                  f"{s4['large_document_peak_rss_bytes'] / MB:.0f} MB", "< 200 MB",
                  s4["large_document_peak_rss_bytes"] < 200 * MB),
        ]
        if s4.get("full_year_peak_rss_bytes") is not None:
            out.append(Check("4", f"worker peak RSS, {s4['full_year_vouchers']:,}-voucher year",
                             f"{s4['full_year_peak_rss_bytes'] / MB:.0f} MB", "< 200 MB",
                             s4["full_year_peak_rss_bytes"] < 200 * MB))
    s5 = results.get("5_concurrent")
    if s5:
        out += [
            Check("5", f"{s5['workers']} workers: 429s received", str(s5["throttled_429"]), "= 0",
                  s5["throttled_429"] == 0),
            Check("5", f"{s5['workers']} workers: total time / floor",
                  f"{s5['wall_seconds']:.1f} s / {s5['floor_seconds']:.1f} s = {_ratio(s5['wall_ratio'])}",
                  "≤ 1.1x", s5["wall_ratio"] is not None and s5["wall_ratio"] <= 1.1),
        ]
    s7 = results.get("7_read_api")
    if s7:
        voucher = s7["voucher_with_documents"]
        out += [
            Check("7", f"read API p95, voucher with documents ({s7['vouchers_in_year']:,}-voucher year)",
                  f"{voucher['p95_ms']:.1f} ms (p50 {voucher['p50_ms']:.1f}, p99 {voucher['p99_ms']:.1f})",
                  "< 50 ms", voucher["p95_ms"] < 50),
            Check("7", "read API p95, presigned document link", f"{s7['document_link']['p95_ms']:.1f} ms",
                  "(info)", None),
            Check("7", "read API p95, filtered voucher page (50)", f"{s7['filtered_page']['p95_ms']:.1f} ms",
                  "(info)", None),
        ]
    s6 = results.get("6_operator")
    if s6:
        out += [
            Check("6", "operator peak RSS", f"{s6['peak_rss_bytes'] / MB:.0f} MB", "< 250 MB",
                  s6["peak_rss_bytes"] < 250 * MB),
            Check("6", f"time until {s6['objects']} objects steady (cold start)",
                  f"{s6['steady_seconds']:.1f} s", "≤ 60 s", s6["steady_seconds"] <= 60),
            Check("6", "Kubernetes API requests per object until steady", f"{s6['requests_per_object']:.2f}",
                  "(info)", None),
            Check("6", "idle: Kubernetes API requests per object per minute",
                  f"{s6['idle_requests_per_object_per_minute']:.3f}", "≤ 0.05",
                  s6["idle_requests_per_object_per_minute"] <= 0.05),
        ]
        if "storm_objects_changed" in s6:
            failover = s6.get("failover_seconds")
            out += [
                Check("6", f"storm of {s6['storm_objects_changed']} changes: statuses missing their spec",
                      f"{s6['storm_objects_not_answering_spec']} (after "
                      f"{s6['storm_seconds_until_status_answers_spec']:.1f} s)", "= 0",
                      s6["storm_objects_not_answering_spec"] == 0),
                Check("6", "failover after SIGKILL of the leader (until a change is reconciled)",
                      "not measured" if failover is None else f"{failover:.1f} s", "≤ 30 s",
                      failover is not None and failover <= 30),
            ]
    s8 = results.get("8_fair_budget")
    if s8:
        out += _fair_budget_checks(s8)
    s9 = results.get("9_fair_backlog")
    if s9:
        fair, fifo = s9["modes"]["priority"], s9["modes"]["fifo"]
        jain = fair["jain_first_half"]
        out.append(
            Check("9", f"{s9['companies']} backlogged companies ({s9['heavy_companies']} with "
                       f"{s9['documents_threads']['heavy']} documents threads, the rest "
                       f"{s9['documents_threads']['light']}): Jain's index, grants per s waiting, first half",
                  f"{jain:.3f} (FIFO {fifo['jain_first_half']:.3f})", "≥ 0.9", jain >= 0.9),
        )
        out.append(
            Check("9", f"{s9['companies']} backlogged companies: 429s received (priority | FIFO)",
                  f"{fair['throttled_429']} | {fifo['throttled_429']}", "= 0",
                  fair["throttled_429"] == 0 and fifo["throttled_429"] == 0),
        )
    return out


def _fair_budget_checks(s8: dict[str, Any]) -> list[Check]:
    """Prioritised, fair budget beside the FIFO baseline, for the same load in the same run."""
    fair, fifo = s8["modes"]["priority"], s8["modes"]["fifo"]
    who = f"{s8['companies']} companies"
    jain, jain_fifo = fair["jain_first_half"], fifo["jain_first_half"]
    p95, p95_fifo = fair["on_demand_p95_seconds"], fifo["on_demand_p95_seconds"]

    def seconds(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f} s"

    def index(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    return [
        Check("8", f"{who}: latest-year ledgers / their floor",
              f"{fair['ledger_seconds']:.1f} s / {fair['ledger_floor_seconds']:.1f} s = "
              f"{_ratio(fair['ledger_ratio'])} (FIFO {_ratio(fifo['ledger_ratio'])})", "≤ 1.1x",
              fair["ledger_ratio"] is not None and fair["ledger_ratio"] <= 1.1),
        Check("8", f"{who}: Jain's index, first syncs' grants per s waiting, first half",
              f"{index(jain)} (FIFO {index(jain_fifo)})", "≥ 0.9", jain is not None and jain >= 0.9),
        Check("8", f"{who}: p95 'sync now' → first API call ({s8['probes']} on-demand runs)",
              f"{seconds(p95)} (FIFO {seconds(p95_fifo)})", "≤ 10 s", p95 is not None and p95 <= 10),
        Check("8", f"{who}: 429s received (priority | FIFO)",
              f"{fair['throttled_429']} | {fifo['throttled_429']}", "= 0",
              fair["throttled_429"] == 0 and fifo["throttled_429"] == 0),
    ]


def _invoice_pdf_checks(s1: dict[str, Any]) -> list[Check]:
    """The documents pass against the floor it had when every invoice PDF went through `/print` alone."""
    ratio = s1.get("documents_pass_to_single_endpoint_floor")
    single = s1.get("single_endpoint_invoice_floor_seconds")
    routes = s1.get("invoice_pdf_calls_by_route") or {}
    if not ratio or not single:
        return []
    return [Check("1", "documents pass / single-endpoint (/print only) invoice-PDF floor",
                  f"{ratio * single:.1f} s / {single:.1f} s = {_ratio(ratio)} "
                  f"(print {routes.get('print')}, pdf {routes.get('pdf')})", "≤ 0.6x", ratio <= 0.6)]


def machine() -> dict[str, Any]:
    mem = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            mem = int(handle.readline().split()[1]) * 1024
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "memory_bytes": mem, "platform": platform.platform(),
            "python": platform.python_version(), "load_average_at_end": os.getloadavg()}


def table(found: list[Check]) -> str:
    rows = [("#", "figure", "value", "target", "result")]
    for c in found:
        verdict = "info" if c.passed is None else ("PASS" if c.passed else "FAIL")
        rows.append((c.scenario, c.figure, c.value, c.target, verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(path: Path, *, results: dict[str, Any], found: list[Check], options: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "options": options,
        "checks": [c.as_json() for c in found],
        "scenarios": results,
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
