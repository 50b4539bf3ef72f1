"""The benchmark's real services and how the worker is run against them.

`BenchServices` starts one PostgreSQL 15 and one SeaweedFS S3 (spiris_localstack) for the whole benchmark and
hands out a fresh migrated database and bucket per scenario; `BenchSandbox` is one Spiris sandbox (in this
process, uvicorn in a thread) whose control API the scenarios use for tokens, changes and request stats. The
worker always runs as a real subprocess — `spiris-sync run ...` through `instrumented_worker.py`, which adds
timers and nothing else — and `run_worker` returns its exit code, JSON summary, timings and peak RSS.

Peak RSS is the kernel's high-water mark of the worker's own address space, `VmHWM` in `/proc/PID/status`,
read every 50 ms until the process exits (the mark only grows, so the last read is the peak up to the last
50 ms, when the worker is writing its run record). `wait4`'s `ru_maxrss` is NOT used: Linux carries the
pre-exec address space's mark over `exec`, i.e. a child forked from a large benchmark process reports the
parent's size.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from spiris_client.oauth import TokenSet
from spiris_localstack.postgres import PostgresServer
from spiris_localstack.s3 import S3Server
from spiris_sandbox.config import SandboxConfig
from spiris_sandbox.server import SandboxServer
from spiris_store.migrate import migrate

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
CLIENT_ID = "spiris-bench"
UNLIMITED = 1_000_000


class BenchServices:
    """Postgres + S3 shared by every scenario of one benchmark run; stopped by PID in `stop()`."""

    def __init__(self) -> None:
        self.postgres: PostgresServer | None = None
        self.s3: S3Server | None = None
        self.work_dir = Path(tempfile.mkdtemp(prefix="spiris-bench-"))
        self._counter = 0

    def start(self) -> BenchServices:
        # Scenario 8 runs 400 syncs at once as threads, three connections each (run, run lock, budget).
        self.postgres = PostgresServer(max_connections=1_500).start()
        self.s3 = S3Server().start()
        return self

    def stop(self) -> None:
        for service in (self.s3, self.postgres):
            if service is not None:
                service.stop()
        self.s3 = self.postgres = None

    def fresh_database(self) -> str:
        assert self.postgres is not None
        self._counter += 1
        dsn = self.postgres.create_database(f"bench_{self._counter}_{os.urandom(3).hex()}")
        migrate(dsn)
        return str(dsn)

    def fresh_bucket(self) -> str:
        assert self.s3 is not None
        return str(self.s3.create_bucket(f"bench-{os.urandom(6).hex()}"))

    def target(self, sandbox: BenchSandbox, *, company: int, rate_limit: int) -> WorkerTarget:
        """A new database + bucket + token file for syncing `company` of `sandbox`."""
        token_file = self.work_dir / f"token-{company}-{os.urandom(3).hex()}.json"
        sandbox.write_token(token_file, company=company)
        return WorkerTarget(
            services=self,
            sandbox=sandbox,
            database_url=self.fresh_database(),
            bucket=self.fresh_bucket(),
            token_file=token_file,
            company=company,
            company_key=f"company-{company}",
            rate_limit=rate_limit,
        )


class BenchSandbox:
    """One Spiris sandbox (in this process) and its control API."""

    def __init__(self, config: SandboxConfig) -> None:
        self.server = SandboxServer(config).start()
        self.url = self.server.url
        self.api_url = self.server.api_url

    def stop(self) -> None:
        self.server.stop()

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox/{path}", timeout=120, **kwargs)
        response.raise_for_status()
        return response.json()

    def write_token(self, path: Path, *, company: int) -> None:
        body = self.control("POST", "tokens", json={"company": company, "client_id": CLIENT_ID})
        path.write_text(TokenSet.from_response(body, now=time.time()).to_json())

    def stats(self) -> dict[str, Any]:
        return self.control("GET", "stats")  # type: ignore[no-any-return]

    def reset_stats(self) -> None:
        self.control("POST", "stats/reset")

    def set_rate_limit(self, per_minute: int) -> None:
        self.control("POST", "ratelimit", json={"per_minute": per_minute, "reset": True})

    def fiscal_year_id(self, company: int, year: int) -> str:
        summary = self.control("GET", f"companies/{company}")
        return str(next(fy["id"] for fy in summary["fiscal_years"] if int(fy["start"][:4]) == year))


@dataclasses.dataclass
class WorkerTarget:
    """Everything one worker needs: where to read (sandbox + token) and where to write (database + bucket)."""

    services: BenchServices
    sandbox: BenchSandbox
    database_url: str
    bucket: str
    token_file: Path
    company: int
    company_key: str
    rate_limit: int

    def env(self) -> dict[str, str]:
        s3 = self.services.s3
        assert s3 is not None
        return {
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/root"),
            "DATABASE_URL": self.database_url,
            "S3_ENDPOINT": s3.endpoint,
            "S3_ACCESS_KEY": s3.access_key,
            "S3_SECRET_KEY": s3.secret_key,
            "S3_BUCKET": self.bucket,
            "S3_REGION": s3.region,
            "S3_SECURE": "false",
            "SPIRIS_API_URL": self.sandbox.api_url,
            "SPIRIS_IDENTITY_URL": self.sandbox.url,
            "SPIRIS_TOKEN_FILE": str(self.token_file),
            "SPIRIS_CLIENT_ID": CLIENT_ID,
            "SPIRIS_RATE_LIMIT_PER_MINUTE": str(self.rate_limit),
        }


@dataclasses.dataclass
class WorkerResult:
    """One finished worker process."""

    exit_code: int
    wall_seconds: float
    peak_rss_bytes: int
    summary: dict[str, Any]
    timings: dict[str, Any]
    stderr_tail: str

    @property
    def api_calls(self) -> int:
        return int(self.summary.get("apiCalls", {}).get("total", 0))


def read_hwm(pid: int) -> int | None:
    """`VmHWM` of `pid` in bytes, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class PeakRss:
    """Samples a process's `VmHWM` in a thread until it exits; `peak` is the last value read."""

    def __init__(self, pid: int, *, interval: float = 0.05) -> None:
        self.peak = 0
        self._pid = pid
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name=f"rss-{pid}", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            value = read_hwm(self._pid)
            if value is None:
                return
            self.peak = max(self.peak, value)
            self._stop.wait(self._interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


class RunningWorker:
    """A started worker process; `wait()` reaps it and reports its peak RSS sampled from `/proc`."""

    def __init__(self, target: WorkerTarget, *, year: int, mode: str, document_workers: int | None) -> None:
        self.timings_path = target.services.work_dir / f"timings-{os.urandom(4).hex()}.json"
        self.stderr_path = target.services.work_dir / f"worker-{os.urandom(4).hex()}.log"
        argv = [
            sys.executable,
            str(HERE / "instrumented_worker.py"),
            str(self.timings_path),
            "run",
            "--company-key",
            target.company_key,
            "--fiscal-year",
            str(year),
            "--mode",
            mode,
        ]
        if document_workers is not None:
            argv += ["--document-workers", str(document_workers)]
        self._stderr = self.stderr_path.open("wb")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            argv, env=target.env(), stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL
        )
        self.rss = PeakRss(self.process.pid)

    def wait(self, timeout: float = 1800.0) -> WorkerResult:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        stdout = self.process.stdout.read()  # the summary is one line; EOF comes with the exit
        try:
            self.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        wall = time.perf_counter() - self.started
        peak = self.rss.stop()
        self._stderr.close()
        lines = [line for line in stdout.decode().splitlines() if line.strip().startswith("{")]
        summary = json.loads(lines[-1]) if lines else {}
        timings = json.loads(self.timings_path.read_text()) if self.timings_path.exists() else {}
        stderr = self.stderr_path.read_text(errors="replace")
        return WorkerResult(
            exit_code=self.process.returncode,
            wall_seconds=wall,
            peak_rss_bytes=peak,
            summary=summary,
            timings=timings,
            stderr_tail=stderr[-3000:],
        )


def run_worker(
    target: WorkerTarget, *, year: int, mode: str = "incremental", document_workers: int | None = None
) -> WorkerResult:
    """Run one `spiris-sync run` to the end."""
    return RunningWorker(target, year=year, mode=mode, document_workers=document_workers).wait()


def require_ok(result: WorkerResult, what: str) -> None:
    """A benchmark of a failed sync measures nothing: stop with the worker's own words."""
    if result.exit_code not in (0, 6):
        raise RuntimeError(f"{what}: worker exited {result.exit_code}: {result.stderr_tail}")
