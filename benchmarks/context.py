"""What the scenarios share in one benchmark run: sizes, the scaled rate limit, services and the main year.

The main sandbox (company 1 with `vouchers` per year) and its full sync are made once and reused: scenario 1
times that sync, scenario 2 re-syncs the same database, scenario 3 reads its timings and re-ingests its
vouchers. Run alone (`--only 2` or `--only 3`), a scenario gets the same year synced as unmeasured setup.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from harness import CLIENT_ID, BenchSandbox, BenchServices, WorkerResult, WorkerTarget, require_ok, run_worker
from spiris_sandbox.config import SandboxConfig

SYNC_YEAR = 2025


@dataclasses.dataclass(frozen=True)
class Sizes:
    """Everything that differs between the full run and `--quick`."""

    vouchers: int
    scaled_limit: int
    concurrent_vouchers: int
    large_document_bytes: int
    connections: int
    fiscal_year_syncs: int
    connected: int

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            vouchers=20_000,
            scaled_limit=1_200,
            concurrent_vouchers=3_000,
            large_document_bytes=200 * 1024 * 1024,
            connections=1_000,
            fiscal_year_syncs=2_000,
            connected=50,
        )

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            vouchers=1_000,
            scaled_limit=3_000,
            concurrent_vouchers=300,
            large_document_bytes=20 * 1024 * 1024,
            connections=40,
            fiscal_year_syncs=80,
            connected=5,
        )


@dataclasses.dataclass
class MainYear:
    """The sandbox of scenarios 1-3 and the worker target its year was fully synced into."""

    sandbox: BenchSandbox
    target: WorkerTarget
    full_sync: WorkerResult | None = None
    measured: bool = False


class Context:
    """Services and lazily made shared state; `close()` stops what was started, by PID."""

    def __init__(self, services: BenchServices, sizes: Sizes, *, quick: bool) -> None:
        self.services = services
        self.sizes = sizes
        self.quick = quick
        self.results: dict[str, Any] = {}
        self._main: MainYear | None = None
        self._sandboxes: list[BenchSandbox] = []

    def sandbox(self, **config: Any) -> BenchSandbox:
        config.setdefault("client_id", CLIENT_ID)
        sandbox = BenchSandbox(SandboxConfig(**config))
        self._sandboxes.append(sandbox)
        return sandbox

    def main_year(self) -> MainYear:
        """The main sandbox and a target for company 1 (not yet synced unless scenario 1 ran)."""
        if self._main is None:
            sandbox = self.sandbox(
                vouchers_per_year=self.sizes.vouchers, rate_limit_per_minute=self.sizes.scaled_limit
            )
            target = self.services.target(sandbox, company=1, rate_limit=self.sizes.scaled_limit)
            self._main = MainYear(sandbox=sandbox, target=target)
        return self._main

    def synced_main_year(self) -> MainYear:
        """The main year after one full sync (done here, unthrottled and unmeasured, if scenario 1 didn't)."""
        main = self.main_year()
        if main.full_sync is None:
            main.sandbox.set_rate_limit(1_000_000)
            target = dataclasses.replace(main.target, rate_limit=1_000_000)
            main.full_sync = run_worker(target, year=SYNC_YEAR, mode="full")
            require_ok(main.full_sync, "setup full sync")
            main.sandbox.set_rate_limit(self.sizes.scaled_limit)
        return main

    def close(self) -> None:
        for sandbox in self._sandboxes:
            sandbox.stop()
        self._sandboxes.clear()
