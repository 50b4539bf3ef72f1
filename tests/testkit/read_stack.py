"""A synced copy behind a running read API, on the real control plane, for the read side's tests.

Two namespaces: `home` holds the SpirisConnection `demo-company` (company 1 of a sandbox, two fiscal years
synced in full by the real worker into a fresh database and bucket, its company key the connection's uid),
`other` holds `other-company`. The chart's RBAC is installed for both with the API's own ServiceAccount; the
API runs in a thread with that account's kubeconfig and a read-only database role (`spiris_reader`), so
every request it answers is authorised by the chart's rules and the migration's grants and nothing else;
the worker syncs as its `spiris_writer` login, the owner only migrates.
Callers are ServiceAccounts with tokens from the TokenRequest API: `auditor` (may get connections in
`home`), `stranger` (may get connections in `other` only) and `nobody` (no rights).
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from spiris_localstack.chart_rbac import ChartAccess, install_chart_rbac
from spiris_localstack.kube_cluster import LocalKube
from spiris_localstack.postgres import PostgresServer
from spiris_localstack.processes import free_port
from spiris_localstack.s3 import S3Server
from spiris_read.settings import ApiSettings
from spiris_read.wiring import build_app
from spiris_sandbox.server import SandboxServer
from spiris_store.migrate import migrate

from testkit.paths import CHART, CHART_VALUES
from testkit.sandbox import start_sandbox
from testkit.sandbox_control import SandboxControl
from testkit.sync_stack import SyncStack, write_token
from testkit.waiting import wait_for

GROUP_PATH = "/apis/spiris.senseworks.io/v1alpha1"
LINK_KEY = "viewer-link-test-key"
YEARS = (2024, 2025)


@dataclasses.dataclass
class ReadStack:
    kube: LocalKube
    sandbox: SandboxServer
    s3: S3Server
    bucket: str
    owner_dsn: str
    reader_dsn: str
    home: str
    other: str
    connection_uid: str
    other_uid: str
    access: ChartAccess
    api_url: str
    tokens: dict[str, str]
    server: uvicorn.Server
    thread: threading.Thread
    control: SandboxControl

    def get(self, path: str, *, token: str | None = "auditor", **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[token]}"} if token else {}
        return httpx.get(self.api_url + path, headers=headers, timeout=60, **kwargs)

    def post(self, path: str, *, token: str | None = "auditor") -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[token]}"} if token else {}
        return httpx.post(self.api_url + path, headers=headers, timeout=60)

    def base(self, name: str = "demo-company", namespace: str | None = None) -> str:
        return f"/api/v1/namespaces/{namespace or self.home}/connections/{name}"

    def truth(self, year: int) -> dict[str, Any]:
        return self.control.truth(1, self.control.fiscal_year_ids(1)[year])

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.control.close()
        self.sandbox.stop()
        self.access.remove_cluster_objects(self.kube.rest)
        for namespace in (self.home, self.other):
            self.kube.rest.call("DELETE", f"/api/v1/namespaces/{namespace}", allow=(404,))


def _connection(rest: Any, namespace: str, name: str, org: str) -> str:
    body = {
        "apiVersion": "spiris.senseworks.io/v1alpha1",
        "kind": "SpirisConnection",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"expectedCorporateIdentityNumber": org, "displayName": name},
    }
    created = rest.call("POST", f"{GROUP_PATH}/namespaces/{namespace}/spirisconnections", body=body)
    status = {
        "status": {
            "phase": "Connected",
            "company": {"name": "Demo AB", "corporateIdentityNumber": org},
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Connected",
                    "message": "test",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ],
        }
    }
    rest.call(
        "PATCH",
        f"{GROUP_PATH}/namespaces/{namespace}/spirisconnections/{name}/status",
        body=status,
        content_type="application/merge-patch+json",
    )
    return str(created["metadata"]["uid"])


def _caller(rest: Any, namespace: str, name: str, *, may_get_in: str | None) -> str:
    rest.call(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts",
        body={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
    )
    if may_get_in is not None:
        role = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": f"{name}-reads"},
            "rules": [
                {"apiGroups": ["spiris.senseworks.io"], "resources": ["spirisconnections"], "verbs": ["get"]}
            ],
        }
        rest.call("POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{may_get_in}/roles", body=role)
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{name}-reads"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{name}-reads"},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        }
        rest.call(
            "POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{may_get_in}/rolebindings", body=binding
        )
    return str(rest.service_account_token(namespace, name, expiration_seconds=7200))


def build_read_stack(
    *,
    kube: LocalKube,
    pg: PostgresServer,
    s3: S3Server,
    work: Path,
    vouchers_per_year: int = 120,
    api_env: dict[str, str] | None = None,
) -> ReadStack:
    database = f"read_{uuid.uuid4().hex[:10]}"
    pg.create_database(database)
    roles = pg.role_dsns(database)
    owner_dsn, reader_dsn = roles.owner, roles.reader
    migrate(owner_dsn)
    bucket = s3.create_bucket(f"read-{uuid.uuid4().hex[:10]}")
    sandbox = start_sandbox(
        vouchers_per_year=vouchers_per_year, rate_limit_per_minute=100000, fiscal_years=YEARS
    )
    control = SandboxControl(sandbox.url, timeout=30)
    home, other = f"r-{uuid.uuid4().hex[:8]}", f"o-{uuid.uuid4().hex[:8]}"
    for namespace in (home, other):
        kube.create_namespace(namespace)
    rest = kube.rest
    org = control.company(1)["org_number"]
    uid = _connection(rest, home, "demo-company", org)
    other_uid = _connection(rest, other, "other-company", "556677-9999")
    token_file = work / "token.json"
    write_token(sandbox, token_file, company=1)
    # The real worker, in-process, with the environment the operator gives its Jobs (testkit.sync_stack).
    worker = SyncStack(
        sandbox=sandbox,
        database_url=roles.worker,
        s3=s3,
        bucket=bucket,
        token_file=token_file,
        company_key=uid,
    )
    try:
        for year in YEARS:
            worker.run_in_process(year, mode="full", document_workers=4)
    finally:
        worker.control.close()
    access = install_chart_rbac(
        rest=rest,
        chart=CHART,
        values={**CHART_VALUES, "watchNamespaces": [home, other]},
        release=f"r{uuid.uuid4().hex[:8]}",
        namespace=home,
        out_dir=work / "rbac",
        components=("api",),
    )
    tokens = {
        "auditor": _caller(rest, home, "auditor", may_get_in=home),
        "stranger": _caller(rest, other, "stranger", may_get_in=other),
        "nobody": _caller(rest, home, "nobody", may_get_in=None),
    }
    api_settings = ApiSettings.from_env(
        {
            "DATABASE_URL": reader_dsn,
            "S3_ENDPOINT": s3.endpoint,
            "S3_ACCESS_KEY": s3.access_key,
            "S3_SECRET_KEY": s3.secret_key,
            "S3_BUCKET": bucket,
            "S3_REGION": s3.region,
            "S3_SECURE": "false",
            "SPIRIS_API_LINK_KEY": LINK_KEY,
            "KUBECONFIG": access.kubeconfig("api"),
            **(api_env or {}),
        }
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(api_settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, name="spiris-api", daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=20, interval=0.05, what="spiris-api to start")
    return ReadStack(
        kube=kube,
        sandbox=sandbox,
        s3=s3,
        bucket=bucket,
        owner_dsn=owner_dsn,
        reader_dsn=reader_dsn,
        home=home,
        other=other,
        connection_uid=uid,
        other_uid=other_uid,
        access=access,
        api_url=f"http://127.0.0.1:{port}",
        tokens=tokens,
        server=server,
        thread=thread,
        control=control,
    )
