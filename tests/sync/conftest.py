"""Fixtures for the sync worker's tests: `make_stack` builds `testkit.sync_stack.SyncStack`s (a sandbox, a
database migrated by its owner and synced as the worker's `spiris_writer` login, a bucket and a token file)
and stops what it started.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from spiris_localstack.postgres import PostgresServer
from spiris_localstack.s3 import S3Server
from spiris_sandbox.server import SandboxServer
from spiris_store.migrate import migrate
from testkit.sandbox import start_sandbox
from testkit.sync_stack import SyncStack, write_token


@pytest.fixture
def make_stack(
    pg_server: PostgresServer, s3_server: S3Server, tmp_path: Path
) -> Iterator[Callable[..., SyncStack]]:
    """Build stacks: `make_stack(vouchers_per_year=..., company=1, **SandboxConfig fields)`."""
    started: list[SandboxServer] = []
    stacks: list[SyncStack] = []
    databases: list[str] = []
    buckets: list[tuple[S3Server, str]] = []

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
            sandbox = start_sandbox(**config)
            started.append(sandbox)
        if database_url is None:
            name = f"sync_{os.urandom(6).hex()}"
            migrate(pg_server.create_database(name))
            databases.append(name)
            # Migrated by the owner, synced by the worker's role, as the chart wires them.
            database_url = pg_server.role_dsns(name).worker
        store = s3 or s3_server
        bucket = store.create_bucket(f"sync-{os.urandom(6).hex()}")
        buckets.append((store, bucket))
        token_file = tmp_path / f"token-{company}-{os.urandom(3).hex()}.json"
        write_token(sandbox, token_file, company=company)
        stack = SyncStack(
            sandbox=sandbox,
            database_url=database_url,
            s3=store,
            bucket=bucket,
            token_file=token_file,
            company_number=company,
            company_key=f"company-{company}",
        )
        stacks.append(stack)
        return stack

    yield build
    for stack in stacks:
        stack.stop_started()
        stack.control.close()
    for sandbox in started:
        sandbox.stop()
    for store, bucket in buckets:
        # A test's own server may be down by now; the session's server is removed at exit.
        with contextlib.suppress(Exception):
            store.delete_bucket(bucket)
    for name in databases:
        # A test's own server may have been restarted; the session cleans up at exit.
        with contextlib.suppress(Exception):
            pg_server.drop_database(name)
