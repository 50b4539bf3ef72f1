"""Fixtures for the operator's end-to-end tests: the operator process, the sandbox, the Kubernetes client.

Every process and server is started on 127.0.0.1 and free ports and stopped at teardown (the operator by its
PID), even when a test fails.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from spiris_localstack.chart_rbac import ChartAccess
from spiris_localstack.kube_cluster import LocalKube
from spiris_localstack.postgres import RoleDsns
from spiris_localstack.processes import free_port
from spiris_localstack.s3 import S3Server
from spiris_operator.kube_api import KubeApi, connect
from spiris_sandbox.server import SandboxServer
from testkit.operator_stack import BIN, SANDBOX_CONFIG, SIGNING_KEY, WEB_REDIRECT_URI, OperatorProcess
from testkit.sandbox import CLIENT_ID, CLIENT_SECRET, sandbox_server
from testkit.sandbox_control import SandboxControl


@pytest.fixture
def kube(kube_cluster: LocalKube) -> Iterator[KubeApi]:
    """The test's own client: the platform team's admin kubeconfig (the operator never gets it)."""
    api = connect(kube_cluster.admin_kubeconfig)
    yield api
    api.close()


@pytest.fixture
def operator_env(chart_access: ChartAccess, kube_namespace: str) -> dict[str, str]:
    """The environment of an operator watching only the test's namespace, authenticated as the chart's
    operator ServiceAccount under the chart's RBAC. Event driven, no fast resync: a missed event fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPIRIS_", "S3_", "DATABASE_URL"))}
    env.update(
        KUBECONFIG=chart_access.kubeconfig("operator"),
        SPIRIS_SYNC_SERVICE_ACCOUNT=chart_access.service_accounts["sync"],
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        SPIRIS_WATCH_NAMESPACES=kube_namespace,
        SPIRIS_CLIENT_ID=CLIENT_ID,
        SPIRIS_CLIENT_SECRET=CLIENT_SECRET,
        SPIRIS_REDIRECT_URI=WEB_REDIRECT_URI,
        SPIRIS_WEB_PUBLIC_URL="http://127.0.0.1:8080",
        SPIRIS_LINK_SIGNING_KEY=SIGNING_KEY,
        SPIRIS_OPERATOR_BIND_ADDRESS="127.0.0.1",
        SPIRIS_OPERATOR_HEALTH_PORT=str(free_port()),
        SPIRIS_OPERATOR_METRICS_PORT=str(free_port()),
        SPIRIS_SYNC_RETRY_BASE_SECONDS="1",
    )
    return env


@pytest.fixture
def start_operator(operator_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., OperatorProcess]]:
    """Start the operator (extra env as keyword arguments); every process is stopped at teardown."""
    started: list[OperatorProcess] = []

    def start(**extra: str) -> OperatorProcess:
        process = OperatorProcess(
            env={**operator_env, **extra}, log_path=tmp_path / f"operator-{len(started)}.log"
        )
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A fresh Spiris sandbox per test (revoking tokens in one test must not touch another)."""
    with sandbox_server(**SANDBOX_CONFIG) as server:
        yield server


@pytest.fixture
def sandbox_control(sandbox: SandboxServer) -> Iterator[SandboxControl]:
    """The control API of the test's `sandbox` (a module's own `sandbox` fixture included)."""
    with SandboxControl(sandbox.url) as control:
        yield control


@pytest.fixture
def spiris_env(sandbox: SandboxServer) -> dict[str, str]:
    """Operator environment pointing at the sandbox."""
    return {"SPIRIS_API_URL": sandbox.api_url, "SPIRIS_IDENTITY_URL": sandbox.url}


__all__ = ["SIGNING_KEY"]


@pytest.fixture
def sync_stack(
    fresh_role_dsns: RoleDsns, fresh_bucket: str, s3_server: S3Server, kube: KubeApi, kube_namespace: str
) -> dict[str, str]:
    """Postgres (migrated by its owner) and S3 for sync Jobs: the Secrets the Jobs reference, and the
    operator's env; Jobs and operator use the worker's role, as the chart wires them."""
    subprocess.run(
        [str(BIN / "spiris-sync"), "migrate", "--database-url", fresh_role_dsns.owner], check=True, timeout=60
    )
    for name, data in (
        ("spiris-database", {"database-url": fresh_role_dsns.worker}),
        ("spiris-s3", {"access-key": s3_server.access_key, "secret-key": s3_server.secret_key}),
    ):
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}
        kube.core.create_namespaced_secret(kube_namespace, body)
    return {
        "DATABASE_URL": fresh_role_dsns.worker,
        "S3_ENDPOINT": s3_server.endpoint,
        "S3_ACCESS_KEY": s3_server.access_key,
        "S3_SECRET_KEY": s3_server.secret_key,
        "S3_BUCKET": fresh_bucket,
        "S3_REGION": s3_server.region,
        "SPIRIS_SYNC_JOB_TTL_SECONDS": "3600",
    }
