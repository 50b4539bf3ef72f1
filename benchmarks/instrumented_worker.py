"""`spiris-sync` with stopwatches: the real worker's `main` plus timers around the budget, HTTP and upserts.

Usage: `python instrumented_worker.py TIMINGS.json run --company-key ... --fiscal-year ...` (the arguments
after the timings path are the worker's own). Wraps, without changing behaviour: `PostgresRateBudget.acquire`
(time spent waiting for the shared budget), `httpx.Client.send` + reading the body (time spent talking to
Spiris and to its storage host — S3 traffic goes through urllib3, not httpx, so it is not counted),
`ledger.upsert_vouchers` (the Postgres ingest: its rows and seconds, the page transaction's commit included
via the listing's `_commit_page`), and the documents pass (its duration and thread count). Sums are per
process, over all threads; the JSON is written at exit whatever the outcome.
"""

from __future__ import annotations

import atexit
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from spiris_store import budget as budget_module
from spiris_store import ledger
from spiris_sync import cli, document_pass, voucher_pages

_lock = threading.Lock()
_sums: dict[str, float] = {
    "budget_wait_seconds": 0.0,
    "budget_acquires": 0,
    "http_seconds": 0.0,
    "http_requests": 0,
    "upsert_seconds": 0.0,
    "page_commit_seconds": 0.0,
    "upserted_vouchers": 0,
    "upserted_rows": 0,
    "documents_pass_seconds": 0.0,
    "document_workers": 0,
    "voucher_pass_seconds": 0.0,
}
_started = time.perf_counter()


def _add(**values: float) -> None:
    with _lock:
        for key, value in values.items():
            _sums[key] += value


def _timed(original: Callable[..., Any], key: str, count_key: str | None = None) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            values = {key: time.perf_counter() - began}
            if count_key:
                values[count_key] = 1
            _add(**values)

    return wrapper


def _send(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        began = time.perf_counter()
        response: httpx.Response = original(self, request, **kwargs)
        _add(http_seconds=time.perf_counter() - began, http_requests=1)
        return response

    return wrapper


def _upsert(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        vouchers = list(kwargs.get("vouchers", ()))
        kwargs["vouchers"] = vouchers
        began = time.perf_counter()
        result = original(*args, **kwargs)
        _add(
            upsert_seconds=time.perf_counter() - began,
            upserted_vouchers=len(vouchers),
            upserted_rows=sum(len(v.rows) for v in vouchers),
        )
        return result

    return wrapper


def _documents_run(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self: document_pass.DocumentPass) -> Any:
        began = time.perf_counter()
        try:
            return original(self)
        finally:
            _add(documents_pass_seconds=time.perf_counter() - began, document_workers=self._workers)

    return wrapper


def _write(path: str) -> None:
    with _lock:
        data = dict(_sums, process_seconds=time.perf_counter() - _started)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle)


def main() -> int:
    timings_path, argv = sys.argv[1], sys.argv[2:]
    atexit.register(_write, timings_path)
    budget_module.PostgresRateBudget.acquire = _timed(  # type: ignore[method-assign]
        budget_module.PostgresRateBudget.acquire, "budget_wait_seconds", "budget_acquires"
    )
    httpx.Client.send = _send(httpx.Client.send)  # type: ignore[method-assign]
    ledger.upsert_vouchers = _upsert(ledger.upsert_vouchers)
    voucher_pages.VoucherPass._commit_page = _timed(  # type: ignore[method-assign]
        voucher_pages.VoucherPass._commit_page, "page_commit_seconds"
    )
    voucher_pages.VoucherPass.run = _timed(  # type: ignore[method-assign]
        voucher_pages.VoucherPass.run, "voucher_pass_seconds"
    )
    document_pass.DocumentPass.run = _documents_run(document_pass.DocumentPass.run)  # type: ignore[method-assign]
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
