"""The sync worker's test stack: one company of a sandbox wired to a database, a bucket and a token file.

`SyncStack` (built by tests/sync/conftest.py's `make_stack`) holds what the worker needs and a `control`
client of the sandbox, so a test can run the worker in-process (`run_in_process`) or as the real `spiris-sync`
console script (`run_cli`); `write_token` writes `token.json` the way the operator would (a real token from
the sandbox's token shortcut, serialised with `TokenSet.to_json()`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from spiris_client.oauth import TokenSet
from spiris_localstack.s3 import S3Server
from spiris_sandbox.server import SandboxServer
from spiris_sync.run import RunResult, run_sync
from spiris_sync.settings import load_sync_settings

from testkit.sandbox import CLIENT_ID
from testkit.sandbox_control import SandboxControl

VENV_BIN = Path(sys.executable).parent


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
    control: SandboxControl = dataclasses.field(init=False)
    started: list[subprocess.Popen[str]] = dataclasses.field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.control = SandboxControl(self.sandbox.url, timeout=30)

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

    def start_cli(self, *args: str) -> subprocess.Popen[str]:
        """The real `spiris-sync` console script with `args`, started (output piped); the caller waits, and
        `stop_started` kills it if the test ended first."""
        process = subprocess.Popen(
            [str(VENV_BIN / "spiris-sync"), *args],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(process)
        return process

    def stop_started(self) -> None:
        """Kill the workers `start_cli` started that still run (a test that failed before waiting for them
        must not leave a worker syncing into the next test's servers)."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.communicate()

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
        return self.control.fiscal_year_ids(self.company_number)

    def truth(self, fiscal_year: int) -> dict[str, Any]:
        return self.control.truth(self.company_number, self.fiscal_year_ids()[fiscal_year])


def run_unconfigured(env: dict[str, str | None]) -> subprocess.CompletedProcess[str]:
    """`spiris-sync run` with a complete but unreachable configuration (``env`` overrides it; a value of
    None removes it): configuration is checked before anything is contacted, so no service is needed."""
    base = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": "postgresql://u:dbsecret@127.0.0.1:9/db",
        "S3_ENDPOINT": "127.0.0.1:9",
        "S3_ACCESS_KEY": "a",
        "S3_SECRET_KEY": "s3secret",
        "S3_BUCKET": "b",
        "SPIRIS_TOKEN_FILE": "/nonexistent/token.json",
        "SPIRIS_CLIENT_ID": "c",
    }
    merged = {k: v for k, v in {**base, **env}.items() if v is not None}
    return subprocess.run(
        [str(VENV_BIN / "spiris-sync"), "run", "--company-key", "k", "--fiscal-year", "2025"],
        env=merged,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write_token(sandbox: SandboxServer, path: Path, *, company: int = 1, **body: Any) -> None:
    with SandboxControl(sandbox.url, timeout=30) as control:
        token = control.tokens(company, **body)
    path.write_text(TokenSet.from_response(token, now=time.time()).to_json())


def summary_of(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON summary line the CLI prints last on stdout."""
    lines = [line for line in completed.stdout.splitlines() if line.strip().startswith("{")]
    assert lines, f"no JSON summary on stdout; stderr: {completed.stderr[-2000:]}"
    return json.loads(lines[-1])  # type: ignore[no-any-return]
