"""Many sync runs at once in one process: the fair-budget scenario's stand-in for hundreds of worker Jobs.

Usage: `python fleet.py PLAN.json EVENTS.jsonl`. Each run of the plan is a thread that waits for its start
time and then calls the worker's own `run_sync` with the settings `spiris-sync run` would load from its Job's
environment (its own token file and `SPIRIS_SYNC_PRIORITY`): the real pipeline, the real shared budget in
Postgres, real HTTP to the sandbox. Only the process is shared — 200 worker processes would need ~300 CPU-s
of Python start-up on a 2-core machine. Appended to EVENTS.jsonl, one JSON object a line, flushed at once so
the benchmark can stop the fleet by PID the moment it has what it measures: `start`, every budget grant
(`grant`: run, endpoint, `asked` when `acquire` was called; taken when it returns, i.e. just before the
request goes out), `ledger` (the run's voucher pass is done: accounts and vouchers are stored), `done` and
`error`. A run is ledger only unless its spec says `"documents": true` (with `document_workers` threads).

With `"fifo": true` every budget is built with one company key and one class (SCHEDULED) whatever the worker
asks for: the budget before priorities, first come first served — the baseline the scenario compares with.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from httpx._transports import default as httpx_transport
from spiris_store import budget as budget_module
from spiris_store.budget_priority import Priority
from spiris_sync import rate_budget, voucher_pages
from spiris_sync import run as run_module
from spiris_sync.settings import load_sync_settings

_current = threading.local()  # the run key of the thread a run executes in


class EventLog:
    """Appends events to a JSON-lines file from any thread."""

    def __init__(self, path: Path) -> None:
        self._handle = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def emit(self, kind: str, run: str, **fields: Any) -> None:
        line = json.dumps({"t": time.time(), "kind": kind, "run": run, **fields})
        with self._lock:
            self._handle.write(line + "\n")
            self._handle.flush()


def _recording_budget(log: EventLog) -> type[rate_budget.PerThreadRateBudget]:
    class RecordingBudget(rate_budget.PerThreadRateBudget):
        """The run's own limiter, reporting each grant with the run that made it (documents threads too)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._bench_run = str(getattr(_current, "run", "?"))

        def acquire(self, endpoint_template: str) -> None:
            asked = time.time()
            super().acquire(endpoint_template)
            log.emit("grant", self._bench_run, endpoint=endpoint_template, asked=asked)

    return RecordingBudget


class FifoBudget(budget_module.PostgresRateBudget):
    """The shared budget as it was before priorities: one company key and one class for every request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(company="", priority=Priority.SCHEDULED)
        super().__init__(*args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        # The worker moves a first sync's documents pass to BACKFILL by setting the priority: ignored here.
        if name == "priority":
            value = Priority.SCHEDULED
        elif name == "company":
            value = ""
        super().__setattr__(name, value)


def _shared_tls_context() -> None:
    """One TLS context for the process's HTTP clients: a Job pays ~50 ms of CPU for each of its clients'
    contexts on its own core, here 400 runs would pay it one after another under one GIL before their first
    request. The sandbox is plain HTTP, so no context is ever used for a connection."""
    original = httpx_transport.create_ssl_context
    cached: dict[tuple[Any, ...], Any] = {}
    lock = threading.Lock()

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        key = (verify, cert, trust_env)
        with lock:
            if key not in cached:
                cached[key] = original(verify=verify, cert=cert, trust_env=trust_env)
            return cached[key]

    httpx_transport.create_ssl_context = create_ssl_context


def _after_voucher_pass(log: EventLog, original: Callable[..., Any]) -> Callable[..., Any]:
    def run(self: voucher_pages.VoucherPass) -> Any:
        result = original(self)
        log.emit("ledger", str(getattr(_current, "run", "?")))
        return result

    return run


def _run_one(log: EventLog, base_env: dict[str, str], spec: dict[str, Any]) -> None:
    _current.run = spec["key"]
    time.sleep(max(0.0, float(spec["start_at"]) - time.time()))
    env = dict(base_env, SPIRIS_TOKEN_FILE=spec["token_file"], SPIRIS_SYNC_PRIORITY=spec["priority"])
    log.emit("start", spec["key"], priority=spec["priority"], company_key=spec["company_key"])
    try:
        result = run_module.run_sync(
            load_sync_settings({}, env),
            company_key=spec["company_key"],
            fiscal_year=int(spec["year"]),
            mode=spec.get("mode", "full"),
            include_documents=bool(spec.get("documents", False)),
            document_workers=int(spec.get("document_workers", 4)),
        )
        log.emit("done", spec["key"], outcome=result.outcome, api_calls=result.api_calls)
    except BaseException as exc:  # reported to the benchmark, which decides; the fleet goes on
        log.emit("error", spec["key"], error=f"{type(exc).__name__}: {exc}"[:500])


def main(argv: list[str]) -> int:
    plan = json.loads(Path(argv[0]).read_text())
    log = EventLog(Path(argv[1]))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    warnings.simplefilter("ignore")
    _shared_tls_context()  # authlib's import-time deprecation notices, once per thread otherwise
    run_module.PerThreadRateBudget = _recording_budget(log)  # type: ignore[misc]
    if plan.get("fifo"):
        rate_budget.PostgresRateBudget = FifoBudget  # type: ignore[misc]
    voucher_pages.VoucherPass.run = _after_voucher_pass(log, voucher_pages.VoucherPass.run)  # type: ignore[method-assign]
    threads = [
        threading.Thread(target=_run_one, args=(log, plan["env"], spec), name=spec["key"], daemon=True)
        for spec in plan["runs"]
    ]
    for thread in threads:
        thread.start()
    log.emit("fleet", "-", threads=len(threads))
    for thread in threads:
        thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
