"""Session-wide fixtures: the local stack as real services (PostgreSQL 15, SeaweedFS S3, Kubernetes emulator).

Each server starts once per test session on 127.0.0.1 and a free port and is stopped by PID at the end, even
when tests fail. Function-scoped helpers hand every test its own database, bucket or namespace so tests never
collide. See docs/architecture.md, "Test fixtures".
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
from spiris_localstack.job_runner import JobRunner
from spiris_localstack.kube_server import KubeServer
from spiris_localstack.postgres import PostgresServer
from spiris_localstack.s3 import S3Server


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    # A SIGTERM (CI cancel, `timeout`) would end Python without teardown and leave the servers running:
    # turn it into an interrupt so every fixture still stops what it started.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


@pytest.fixture
def fresh_database(pg_server: PostgresServer) -> Iterator[str]:
    """The DSN of a new, empty database owned by the app role (dropped after the test)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = pg_server.create_database(name)
    yield dsn
    pg_server.drop_database(name)


@pytest.fixture
def fresh_bucket(s3_server: S3Server) -> str:
    """The name of a new, empty bucket on the session's S3 server."""
    return s3_server.create_bucket(f"t-{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def kube_server() -> Iterator[KubeServer]:
    """The Kubernetes API emulator serving the repository's crds/; `.url`, `.kubeconfig` (file path)."""
    with KubeServer() as server:
        yield server


@pytest.fixture
def kube_namespace(kube_server: KubeServer) -> str:
    """The name of a new Namespace, already created in the emulator."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    kube_server.create_namespace(name)
    return name


@pytest.fixture
def job_runner(kube_server: KubeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobRunner]:
    """The local Job controller for this test: runs the emulator's Jobs as processes; stopped (and every
    process it started killed) after the test. `.log_path(namespace, name)` has each Job's output."""
    with JobRunner(kubeconfig=kube_server.kubeconfig, log_dir=tmp_path_factory.mktemp("job-logs")) as runner:
        yield runner


def pytest_sessionstart(session: pytest.Session) -> None:
    """Test modules live in plain folders (rootdir-relative imports), so two files with one basename would
    shadow each other at collection; fail at once with the names instead of a confusing import mismatch."""
    seen: dict[str, Path] = {}
    clashes = []
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        if path.name in {"conftest.py", "__init__.py"}:
            continue
        if path.name in seen:
            clashes.append(f"{seen[path.name]} and {path}")
        seen.setdefault(path.name, path)
    if clashes:
        raise pytest.UsageError("test modules need unique basenames: " + "; ".join(clashes))
