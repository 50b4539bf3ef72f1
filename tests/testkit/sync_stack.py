"""Fixtures for the sync worker's tests: a sandbox, a migrated database, a bucket and a token file.

`sync_stack` wires one company of a running sandbox to a fresh database and bucket (on the session's Postgres
and SeaweedFS) and writes `token.json` the way the operator would (a real token from the sandbox's token
shortcut, serialised with `TokenSet.to_json()`), so a test can run the worker in-process (`run_in_process`) or
as the real `spiris-sync` console script (`run_cli`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from spiris_client.oauth import TokenSet
from spiris_localstack.postgres import PostgresServer
from spiris_localstack.s3 import S3Server
from spiris_sandbox.config import SandboxConfig
from spiris_sandbox.server import SandboxServer
from spiris_store.migrate import migrate
from spiris_sync.run import RunResult, run_sync
from spiris_sync.settings import load_sync_settings

VENV_BIN = Path(sys.executable).parent
CLIENT_ID = "spiris-sandbox-client"


@dataclasses.dataclass
class SyncStack:
    """One company of a sandbox, wired to a database, a bucket and a token file."""

    sandbox: SandboxServer
    database_url: str
    s3: S3Server
    bucket: str
    token_file: Path
    company_number: int = 1
    company_key: str = "company-1"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/root"),
            "DATABASE_URL": self.database_url,
            "S3_ENDPOINT": self.s3.endpoint,
            "S3_ACCESS_KEY": self.s3.access_key,
            "S3_SECRET_KEY": self.s3.secret_key,
            "S3_BUCKET": self.bucket,
            "S3_REGION": self.s3.region,
            "S3_SECURE": "false",
            "SPIRIS_API_URL": self.sandbox.api_url,
            "SPIRIS_IDENTITY_URL": self.sandbox.url,
            "SPIRIS_TOKEN_FILE": str(self.token_file),
            "SPIRIS_CLIENT_ID": CLIENT_ID,
            "SPIRIS_RATE_LIMIT_PER_MINUTE": "100000",
        }
        env.update(extra)
        return env

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.sandbox.url}/_sandbox/{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def run_in_process(
        self,
        fiscal_year: int,
        *,
        mode: str = "incremental",
        document_workers: int = 8,
        include_documents: bool = True,
        **env: str,
    ) -> RunResult:
        settings = load_sync_settings({}, self.env(**env))
        return run_sync(
            settings,
            company_key=self.company_key,
            fiscal_year=fiscal_year,
            mode=mode,  # type: ignore[arg-type]
            document_workers=document_workers,
            include_documents=include_documents,
        )

    def run_cli(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(VENV_BIN / "spiris-sync"), *args],
            env=env if env is not None else self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def cli_run_args(self, fiscal_year: int, *, mode: str = "incremental") -> list[str]:
        return [
            "run",
            "--company-key",
            self.company_key,
            "--fiscal-year",
            str(fiscal_year),
            "--mode",
            mode,
        ]

    def fiscal_year_ids(self) -> dict[int, str]:
        summary = self.control("GET", f"companies/{self.company_number}")
        return {int(fy["start"][:4]): fy["id"] for fy in summary["fiscal_years"]}

    def truth(self, fiscal_year: int) -> dict[str, Any]:
        fy_id = self.fiscal_year_ids()[fiscal_year]
        return self.control("GET", f"truth/{self.company_number}/{fy_id}")  # type: ignore[no-any-return]


def write_token(sandbox: SandboxServer, path: Path, *, company: int = 1, **body: Any) -> None:
    response = httpx.post(f"{sandbox.url}/_sandbox/tokens", json={"company": company, **body}, timeout=30)
    response.raise_for_status()
    path.write_text(TokenSet.from_response(response.json(), now=time.time()).to_json())


@pytest.fixture
def make_stack(
    pg_server: PostgresServer, s3_server: S3Server, tmp_path: Path
) -> Iterator[Callable[..., SyncStack]]:
    """Build stacks: `make_stack(vouchers_per_year=..., company=1, **SandboxConfig fields)`."""
    started: list[SandboxServer] = []
    databases: list[str] = []

    def build(
        *,
        company: int = 1,
        database_url: str | None = None,
        s3: S3Server | None = None,
        sandbox: SandboxServer | None = None,
        **config: Any,
    ) -> SyncStack:
        if sandbox is None:
            config.setdefault("rate_limit_per_minute", 100000)
            sandbox = SandboxServer(SandboxConfig(**config)).start()
            started.append(sandbox)
        if database_url is None:
            name = f"sync_{os.urandom(6).hex()}"
            database_url = pg_server.create_database(name)
            databases.append(name)
            migrate(database_url)
        store = s3 or s3_server
        bucket = store.create_bucket(f"sync-{os.urandom(6).hex()}")
        token_file = tmp_path / f"token-{company}-{os.urandom(3).hex()}.json"
        write_token(sandbox, token_file, company=company)
        return SyncStack(
            sandbox=sandbox,
            database_url=database_url,
            s3=store,
            bucket=bucket,
            token_file=token_file,
            company_number=company,
            company_key=f"company-{company}",
        )

    yield build
    for sandbox in started:
        sandbox.stop()
    for name in databases:
        # A test's own server may have been restarted; the session cleans up at exit.
        with contextlib.suppress(Exception):
            pg_server.drop_database(name)


def summary_of(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON summary line the CLI prints last on stdout."""
    lines = [line for line in completed.stdout.splitlines() if line.strip().startswith("{")]
    assert lines, f"no JSON summary on stdout; stderr: {completed.stderr[-2000:]}"
    return json.loads(lines[-1])  # type: ignore[no-any-return]
