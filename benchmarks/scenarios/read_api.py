"""Scenario 7: the read API's latency for a voucher with documents, in a year of the main size.

The main sandbox's year is synced (unthrottled, unmeasured) into a fresh database under the company key of a
real SpirisConnection on the real control plane; `spiris-api` runs as a subprocess with the chart's own
ServiceAccount and a read-only database role, exactly as `make run` starts it. A caller with `get` on the
connection then asks, one request at a time over a kept-alive connection, for randomly chosen vouchers that
have documents (`GET …/vouchers/{id}`: the voucher, its rows, its documents), for their first document's
presigned link and for filtered list pages. Authentication and authorization are real (TokenReview and
SubjectAccessReview answers cached for 10 s, so the run includes their refreshes). Figures: p50/p95/p99.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from context import SYNC_YEAR, Context
from harness import BIN, UNLIMITED, require_ok, run_worker
from psycopg import sql
from spiris_localstack.chart_rbac import install_chart_rbac
from spiris_localstack.kube_binary import kubeplane_binary
from spiris_localstack.kube_cluster import LocalKube
from spiris_localstack.processes import free_port, start_process, stop_process, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "bench-read"
RELEASE_NAMESPACE = "spiris-system"
CHART_VALUES: dict[str, Any] = {
    "publicUrl": "https://consent.example.com",
    "spiris": {"oauthClient": {"existingSecret": "spiris-oauth-client"}},
    "linkSigningKey": {"existingSecret": "spiris-link-signing-key"},
    "database": {"existingSecret": "spiris-database"},
    "s3": {"endpoint": "127.0.0.1:9000", "secure": False, "existingSecret": "spiris-s3"},
    "watchNamespaces": [NAMESPACE],
}
READER = "spiris_api_bench"


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50_ms": cut[49] * 1000,
        "p95_ms": cut[94] * 1000,
        "p99_ms": cut[98] * 1000,
        "max_ms": ordered[-1] * 1000,
        "requests": len(ordered),
    }


def _reader_dsn(ctx: Context) -> str:
    postgres = ctx.services.postgres
    assert postgres is not None
    with postgres.superuser_connection() as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'spiris_reader'").fetchone() is None:
            conn.execute("CREATE ROLE spiris_reader NOLOGIN")
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER,)).fetchone() is None:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'bench' IN ROLE spiris_reader").format(
                    sql.Identifier(READER)
                )
            )
    return f"postgresql://{READER}:bench@{postgres.host}:{postgres.port}/"


def _caller_token(kube: LocalKube) -> str:
    rest = kube.rest
    rest.call(
        "POST",
        f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts",
        body={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "auditor"}},
    )
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NAMESPACE}"
    rest.call(
        "POST",
        f"{rbac}/roles",
        body={
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "auditor"},
            "rules": [
                {"apiGroups": ["spiris.senseworks.io"], "resources": ["spirisconnections"], "verbs": ["get"]}
            ],
        },
    )
    rest.call(
        "POST",
        f"{rbac}/rolebindings",
        body={
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "auditor"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "auditor"},
            "subjects": [{"kind": "ServiceAccount", "name": "auditor", "namespace": NAMESPACE}],
        },
    )
    return rest.service_account_token(NAMESPACE, "auditor", expiration_seconds=3600)


def run(ctx: Context) -> dict[str, Any]:
    main = ctx.main_year()
    requests_per_kind = 300 if ctx.quick else 2_000
    reader_base = _reader_dsn(ctx)  # before the database exists, so its migration grants the role SELECT
    kube = LocalKube(
        binary=kubeplane_binary(source_dir=ROOT / "dev" / "kubeplane"),
        crd_dir=ROOT / "crds",
        base_dir=ctx.services.work_dir / "kube-read",
    ).start()
    api: subprocess.Popen[bytes] | None = None
    try:
        for namespace in (RELEASE_NAMESPACE, NAMESPACE):
            kube.create_namespace(namespace)
        access = install_chart_rbac(
            rest=kube.rest,
            chart=ROOT / "charts" / "spiris-operator",
            values=CHART_VALUES,
            release="spiris",
            namespace=RELEASE_NAMESPACE,
            out_dir=ctx.services.work_dir / "rbac-read",
            components=("api",),
        )
        created = kube.rest.call(
            "POST",
            f"/apis/spiris.senseworks.io/v1alpha1/namespaces/{NAMESPACE}/spirisconnections",
            body={
                "apiVersion": "spiris.senseworks.io/v1alpha1",
                "kind": "SpirisConnection",
                "metadata": {"name": "bench-company"},
                "spec": {"expectedCorporateIdentityNumber": "556677-0001"},
            },
        )
        assert created is not None
        uid = str(created["metadata"]["uid"])
        target = dataclasses.replace(
            main.target,
            company_key=uid,
            rate_limit=UNLIMITED,
            database_url=ctx.services.fresh_database(),
            bucket=ctx.services.fresh_bucket(),
        )
        main.sandbox.set_rate_limit(UNLIMITED)
        require_ok(run_worker(target, year=SYNC_YEAR, mode="full"), "read-API setup sync")
        main.sandbox.set_rate_limit(ctx.sizes.scaled_limit)
        port = free_port()
        env = {
            **target.env(),
            "DATABASE_URL": reader_base + target.database_url.rsplit("/", 1)[1],
            "KUBECONFIG": access.kubeconfig("api"),
            "SPIRIS_API_LINK_KEY": "bench",
        }
        api = start_process(
            [str(BIN / "spiris-api"), "--port", str(port)],
            env=env,
            log_path=ctx.services.work_dir / "spiris-api.log",
        )
        base_url = f"http://127.0.0.1:{port}"
        wait_until_ready(
            lambda: httpx.get(f"{base_url}/healthz", timeout=2).is_success,
            timeout=30,
            what="spiris-api",
            process=api,
        )
        token = _caller_token(kube)
        prefix = f"/api/v1/namespaces/{NAMESPACE}/connections/bench-company"
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            ids: list[str] = []
            cursor = None
            while True:
                page = client.get(
                    f"{prefix}/fiscal-years/{SYNC_YEAR}/vouchers",
                    params={"hasDocuments": "true", "limit": "500", **({"cursor": cursor} if cursor else {})},
                ).json()
                ids += [item["id"] for item in page["items"]]
                cursor = page["nextCursor"]
                if cursor is None:
                    break
            total = client.get(f"{prefix}/fiscal-years/{SYNC_YEAR}/vouchers", params={"limit": "1"}).json()[
                "total"
            ]
            chooser = random.Random(7)
            for voucher_id in chooser.sample(ids, min(50, len(ids))):  # warm-up: pool, caches
                client.get(f"{prefix}/vouchers/{voucher_id}")
            voucher_times: list[float] = []
            link_times: list[float] = []
            page_times: list[float] = []
            for _ in range(requests_per_kind):
                voucher_id = chooser.choice(ids)
                began = time.perf_counter()
                response = client.get(f"{prefix}/vouchers/{voucher_id}")
                voucher_times.append(time.perf_counter() - began)
                response.raise_for_status()
                document = response.json()["documents"][0]["id"]
                began = time.perf_counter()
                client.get(
                    f"{prefix}/documents/{document}/content", params={"redirect": "false"}
                ).raise_for_status()
                link_times.append(time.perf_counter() - began)
                began = time.perf_counter()
                client.get(
                    f"{prefix}/fiscal-years/{SYNC_YEAR}/vouchers",
                    params={"hasDocuments": "true", "limit": "50", "account": "1930"},
                ).raise_for_status()
                page_times.append(time.perf_counter() - began)
    finally:
        if api is not None:
            stop_process(api, grace=5.0)
        kube.stop()
    return {
        "vouchers_in_year": total,
        "vouchers_with_documents": len(ids),
        "voucher_with_documents": _percentiles(voucher_times),
        "document_link": _percentiles(link_times),
        "filtered_page": _percentiles(page_times),
    }
