"""Session-wide fixtures: the local stack as real services (PostgreSQL 15, SeaweedFS S3, a real Kubernetes).

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
from spiris_localstack.chart_rbac import ChartAccess, install_chart_rbac
from spiris_localstack.kube_audit import AuditReader, service_account_user
from spiris_localstack.kube_binary import kubeplane_binary
from spiris_localstack.kube_cluster import LocalKube
from spiris_localstack.node_agent import NodeAgent
from spiris_localstack.postgres import PostgresServer, RoleDsns
from spiris_localstack.product_image import product_image as build_product_image
from spiris_localstack.s3 import S3Server
from testkit.paths import CHART, CHART_VALUES, CRDS, IMAGE_BUILD, KUBEPLANE_SOURCE


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
def fresh_role_dsns(pg_server: PostgresServer, fresh_database: str) -> RoleDsns:
    """`fresh_database` as each production role: `.owner` (it is `fresh_database`: migrations, checks),
    `.worker` (a `spiris_writer` login: sync, operator) and `.reader` (a `spiris_reader` login: read API)."""
    return pg_server.role_dsns(fresh_database.rsplit("/", 1)[1])


@pytest.fixture
def fresh_bucket(s3_server: S3Server) -> str:
    """The name of a new, empty bucket on the session's S3 server."""
    return s3_server.create_bucket(f"t-{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def product_image() -> str:
    """The product image (`localhost/spiris-operator:dev`), built by dev/image/build.sh or reused when its
    inputs are unchanged; pods whose image is a `localhost/` one run as podman containers of it."""
    return build_product_image(build_script=IMAGE_BUILD)


@pytest.fixture(scope="session")
def kube_cluster() -> Iterator[LocalKube]:
    """The real control plane (etcd, kube-apiserver, kube-controller-manager; crds/ installed) and the node
    agent running its pods, once per session; `.admin_kubeconfig`, `.rest`, `.kubectl`."""
    binary = kubeplane_binary(source_dir=KUBEPLANE_SOURCE)
    # The audit log records who made each request: tests check components by their ServiceAccount's requests.
    with LocalKube(binary=binary, crd_dir=CRDS, audit=True) as kube:
        yield kube


@pytest.fixture(scope="session")
def kube_node(kube_cluster: LocalKube) -> NodeAgent:
    """The node agent: `.job_log(namespace, job)` has the output of every pod a Job had."""
    assert kube_cluster.node is not None
    return kube_cluster.node


@pytest.fixture
def kube_namespace(kube_cluster: LocalKube) -> Iterator[str]:
    """A new Namespace with its `default` ServiceAccount (pods need it); deleted after the test."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    kube_cluster.create_namespace(name)
    yield name
    kube_cluster.rest.call("DELETE", f"/api/v1/namespaces/{name}", allow=(404,))


@pytest.fixture
def chart_access(
    kube_cluster: LocalKube, kube_namespace: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[ChartAccess]:
    """The chart's ServiceAccounts and RBAC for a release in the test's namespace watching only it, with a
    kubeconfig per component (`.kubeconfig("operator" | "web" | "sync")`): nothing runs as admin. A request
    of any of those accounts that the API server refused (the audit log says so) fails the test, so a verb the
    chart does not grant cannot hide in a log; mark a test `allow_refusals` when refusing is what it tests."""
    audit = AuditReader(kube_cluster.plane.audit_log).mark()
    access = install_chart_rbac(
        rest=kube_cluster.rest, chart=CHART, values={**CHART_VALUES, "watchNamespaces": [kube_namespace]},
        release=f"r{uuid.uuid4().hex[:8]}", namespace=kube_namespace, out_dir=tmp_path / "rbac",
        components=("operator", "web", "sync"),
    )
    yield access
    access.remove_cluster_objects(kube_cluster.rest)
    users = {service_account_user(kube_namespace, name) for name in access.service_accounts.values()}
    refused = audit.refused(users)
    if refused and request.node.get_closest_marker("allow_refusals") is None:
        pytest.fail("the API server refused the chart's ServiceAccounts:\n  " + "\n  ".join(refused[:20]))


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
