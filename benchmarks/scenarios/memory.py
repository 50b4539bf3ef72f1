"""Scenario 4: the worker's peak memory while streaming one large document, and for the main year's full sync.

The large document is one attachment of company 1's last year, a padded PDF of exactly `large_document_bytes`
that the sandbox streams; the worker must pass it through to S3 without holding it. Peak RSS is the kernel's
high-water mark of the worker process itself (`wait4` rusage `ru_maxrss`), not a sample.
"""

from __future__ import annotations

from typing import Any

from context import SYNC_YEAR, Context
from harness import UNLIMITED, require_ok, run_worker


def run(ctx: Context) -> dict[str, Any]:
    size = ctx.sizes.large_document_bytes
    sandbox = ctx.sandbox(vouchers_per_year=300, large_document_bytes=size, rate_limit_per_minute=UNLIMITED)
    target = ctx.services.target(sandbox, company=1, rate_limit=UNLIMITED)
    result = run_worker(target, year=SYNC_YEAR, mode="full")
    require_ok(result, "large-document sync")
    stats = sandbox.stats()
    sandbox.stop()
    figures: dict[str, Any] = {
        "large_document_bytes": size,
        "large_document_peak_rss_bytes": result.peak_rss_bytes,
        "large_document_wall_seconds": result.wall_seconds,
        "download_bytes": stats.get("download_bytes"),
    }
    main = ctx.synced_main_year()
    assert main.full_sync is not None
    figures["full_year_vouchers"] = ctx.sizes.vouchers
    figures["full_year_peak_rss_bytes"] = main.full_sync.peak_rss_bytes
    return figures
