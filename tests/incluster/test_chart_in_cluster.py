"""The chart as a platform team installs it: Helm on the real control plane, pods run the image.

``helm install`` (Helm's own Go SDK) of charts/spiris-operator into the real API server, with the values the
README's install guide gives for a local Postgres, S3, the Spiris sandbox and the web URL; the node agent runs
the operator, the web component and the operator's sync Jobs as podman containers of the built image: the
image's non-root user, read-only root, the chart's ServiceAccounts through projected tokens, in-cluster
configuration. A real Chromium gives consent on the printed link; the connection turns Ready; both fiscal
years are synced by Jobs running the image; the ledger and the documents in Postgres and S3 equal the
sandbox's truth. Then ``helm upgrade`` with changed values rolls the operator, and the documented uninstall
order (connections first, then ``helm uninstall``) leaves no object with a finalizer and the namespaces
deletable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import sys
import time
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from spiris_localstack.consent_browser import CHROMIUM, give_consent
from spiris_localstack.flow_report import compare_with_truth, summarise_year, verify_objects
from spiris_localstack.helm_release import HelmRelease
from spiris_localstack.kube_cluster import LocalKube
from spiris_localstack.node_agent import NodeAgent
from spiris_localstack.postgres import PostgresServer
from spiris_localstack.processes import free_port, start_process, stop_process, wait_until_ready
from spiris_localstack.s3 import S3Server
from spiris_sandbox.cli import CLIENT_SECRET_ENV
from testkit.paths import CHART, REPO
from testkit.sandbox import CLIENT_ID
from testkit.sandbox_control import SandboxControl
from testkit.waiting import wait_for

pytestmark = [pytest.mark.incluster, pytest.mark.image, pytest.mark.browser, pytest.mark.timeout(900)]

GROUP = "spiris.senseworks.io/v1alpha1"
ARTIFACTS = REPO / "test-artifacts" / "incluster"
BIN = Path(sys.executable).parent
VOUCHERS_PER_YEAR = 60


class Sandbox:
    """The Spiris sandbox as a local process (the identity server and the API the chart is pointed at)."""

    def __init__(self, *, redirect_uri: str, client_secret: str, log: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = start_process(
            [str(BIN / "spiris-sandbox"), "--port", str(port), "--seed", "1", "--client-id", CLIENT_ID,
             "--redirect-uri", redirect_uri, "--vouchers", str(VOUCHERS_PER_YEAR)],
            env={"PATH": os.environ["PATH"], "PYTHONUNBUFFERED": "1", CLIENT_SECRET_ENV: client_secret},
            log_path=log)
        wait_until_ready(lambda: httpx.get(f"{self.url}/_sandbox/companies", timeout=2).is_success,
                         timeout=30, what="spiris-sandbox", process=self.process)

        self.control = SandboxControl(self.url, timeout=30)


def _secret(namespace: str, name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque", "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


_wait = partial(wait_for, interval=0.5)


def _condition(obj: dict[str, Any] | None, kind: str) -> str | None:
    for entry in ((obj or {}).get("status") or {}).get("conditions") or []:
        if entry.get("type") == kind:
            return str(entry.get("status"))
    return None


class Timings:
    def __init__(self) -> None:
        self.start = time.monotonic()
        self.marks: list[tuple[str, float]] = []

    def mark(self, what: str) -> None:
        self.marks.append((what, time.monotonic() - self.start))

    def write(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "timings.txt").write_text("".join(f"{t:7.1f}s  {what}\n" for what, t in self.marks))


@pytest.fixture
def install(kube_cluster: LocalKube, pg_server: PostgresServer, s3_server: S3Server, product_image: str,
            tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Namespaces, the Secrets the install guide asks for, the sandbox; the values of the release."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    suffix = uuid.uuid4().hex[:6]
    release_ns, client_ns = f"spiris-system-{suffix}", f"clients-{suffix}"
    for namespace in (release_ns, client_ns):
        kube_cluster.create_namespace(namespace)
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    client_secret = secrets.token_urlsafe(24)
    sandbox = Sandbox(redirect_uri=f"{web_url}/oauth/callback", client_secret=client_secret,
                      log=tmp_path / "sandbox.log")
    database = f"incluster_{suffix}"
    dsn = pg_server.create_database(database)
    roles = pg_server.role_dsns(database)
    bucket = s3_server.create_bucket(f"incluster-{suffix}")
    # A database role per component (README "Database roles"): the owner migrates, the worker's login runs
    # the operator and the sync Jobs (in the client namespace too), the reader's login serves the read API.
    store = {"spiris-worker-database": {"database-url": roles.worker},
             "spiris-s3": {"access-key": s3_server.access_key, "secret-key": s3_server.secret_key}}
    release_secrets = {**store,
                       "spiris-database": {"database-url": roles.owner},
                       "spiris-api-database": {"database-url": roles.reader},
                       "spiris-oauth-client": {"client-id": CLIENT_ID, "client-secret": client_secret},
                       "spiris-link-signing-key": {"signing-key": secrets.token_urlsafe(32)}}
    for namespace, wanted in ((release_ns, release_secrets), (client_ns, store)):
        for name, data in wanted.items():
            kube_cluster.json("POST", f"/api/v1/namespaces/{namespace}/secrets",
                              _secret(namespace, name, data))
    repository, _, tag = product_image.rpartition(":")
    values = {
        "publicUrl": web_url,
        "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
        # Named only: the node uses the local image, but every pod spec, the Jobs' too, must carry it.
        "imagePullSecrets": [{"name": "registry-credentials"}],
        "watchNamespaces": [client_ns],
        "spiris": {"sandbox": True, "apiUrl": f"{sandbox.url}/v2", "identityUrl": sandbox.url,
                   "oauthClient": {"existingSecret": "spiris-oauth-client"}},
        "linkSigningKey": {"existingSecret": "spiris-link-signing-key"},
        "database": {"existingSecret": "spiris-database",
                     "worker": {"existingSecret": "spiris-worker-database"}},
        "s3": {"endpoint": s3_server.endpoint, "secure": False, "bucket": bucket, "region": s3_server.region,
               "existingSecret": "spiris-s3"},
        # One node whose pods share the host's network: one replica each, every port its own.
        "operator": {"replicas": 1, "healthPort": free_port(), "metricsPort": free_port()},
        "web": {"replicas": 1, "port": web_port, "metricsPort": free_port()},
        "api": {"enabled": True, "replicas": 1, "port": free_port(),
                "database": {"existingSecret": "spiris-api-database"}},
    }
    context = {"release_ns": release_ns, "client_ns": client_ns, "values": values, "sandbox": sandbox,
               "dsn": dsn, "bucket": bucket, "web_url": web_url}
    try:
        yield context
    finally:
        sandbox.control.close()
        stop_process(sandbox.process, grace=5)
        for namespace in (client_ns, release_ns):
            kube_cluster.rest.call("DELETE", f"/api/v1/namespaces/{namespace}", allow=(404,))


def _deployment_available(kube: LocalKube, namespace: str, name: str, generation: int | None = None) -> bool:
    found = kube.rest.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}") or {}
    status = found.get("status") or {}
    if generation is not None and status.get("observedGeneration", 0) < generation:
        return False
    return bool(status.get("availableReplicas", 0) >= 1 and status.get("updatedReplicas", 0) >= 1
                and status.get("replicas", 0) == status.get("updatedReplicas", 0))


def _pods(kube: LocalKube, namespace: str, selector: str) -> list[dict[str, Any]]:
    return list(kube.json("GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector={selector}")["items"])


def test_helm_install_consent_sync_upgrade_uninstall(kube_cluster: LocalKube, kube_node: NodeAgent,
                                                     install: dict[str, Any], s3_server: S3Server) -> None:
    try:
        _flow(kube_cluster, kube_node, install, s3_server)
    finally:
        _keep_logs(kube_node, (install["release_ns"], install["client_ns"]))


def _keep_logs(node: NodeAgent, namespaces: tuple[str, ...]) -> None:
    """Every container log of the release's and the client's pods, for reading after a failure."""
    out = ARTIFACTS / "logs"
    out.mkdir(parents=True, exist_ok=True)
    for namespace, pod in list(node.logs):
        if namespace in namespaces:
            (out / f"{pod}.log").write_text(node.pod_log(namespace, pod))


def _flow(kube_cluster: LocalKube, kube_node: NodeAgent, install: dict[str, Any],
          s3_server: S3Server) -> None:
    timings = Timings()
    release_ns, client_ns = install["release_ns"], install["client_ns"]
    sandbox: Sandbox = install["sandbox"]
    release = HelmRelease(chart=CHART, name="spiris", namespace=release_ns,
                          kubeconfig=kube_cluster.admin_kubeconfig)

    # --- helm install, and the chart's Deployments running as containers of the image
    installed = _summary(release.install(install["values"]), "install")
    assert installed["status"] == "deployed", installed
    assert "oauth/callback" in installed["notes"]
    timings.mark("helm install")
    operator, web = "spiris-spiris-operator-operator", "spiris-spiris-operator-web"
    api = "spiris-spiris-operator-api"
    try:
        for name in (operator, web, api):
            _wait(lambda name=name: _deployment_available(kube_cluster, release_ns, name), timeout=180,
                  what=f"Deployment {name}")
    except AssertionError:
        for pod in _pods(kube_cluster, release_ns, "app.kubernetes.io/instance%3Dspiris"):
            print(pod["metadata"]["name"], json.dumps(pod.get("status"))[:1500])
            print(kube_node.pod_log(release_ns, pod["metadata"]["name"])[-3000:])
        raise
    timings.mark("operator and web available")
    for pod in _pods(kube_cluster, release_ns, "app.kubernetes.io/instance%3Dspiris"):
        for status in pod["status"]["containerStatuses"] + pod["status"].get("initContainerStatuses", []):
            assert status["containerID"].startswith("podman://"), status
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True

    # --- a connection, consent in a real browser on the printed link, Ready
    company = sandbox.control.company(1)
    kube_cluster.json("POST", f"/apis/{GROUP}/namespaces/{client_ns}/spirisconnections", {
        "apiVersion": GROUP, "kind": "SpirisConnection", "metadata": {"name": "acme"},
        "spec": {"displayName": company["name"], "expectedCorporateIdentityNumber": company["org_number"],
                 "sync": {"latestFiscalYears": 2}}})
    path = f"/apis/{GROUP}/namespaces/{client_ns}/spirisconnections/acme"
    consent_url = _wait(lambda: ((kube_cluster.rest.get(path) or {}).get("status") or {}).get("consentUrl"),
                        timeout=60, what="the consent link")
    assert consent_url.startswith(install["web_url"] + "/")
    user = sandbox.control.users()[0]
    result = give_consent(consent_url, email=user["email"], password=user["password"], company=1,
                          screenshots=ARTIFACTS)
    assert company["name"] in result.heading
    connection = _wait(lambda: (lambda c: c if _condition(c, "Ready") == "True" else None)(
        kube_cluster.rest.get(path)), timeout=60, what="the connection to be Ready")
    timings.mark("consent given, connection Ready")

    # --- both fiscal years synced by Jobs running the image
    def synced() -> list[dict[str, Any]] | None:
        items = kube_cluster.json("GET", f"/apis/{GROUP}/namespaces/{client_ns}/fiscalyearsyncs")["items"]
        finished = {"Succeeded", "Degraded", "Failed"}
        done = [i for i in items if (i.get("status") or {}).get("phase") in finished]
        return items if len(items) == 2 and len(done) == 2 else None

    syncs = _wait(synced, timeout=300, what="both fiscal years to sync", interval=1.0)
    timings.mark("both fiscal years synced")
    company_key = connection["metadata"]["uid"]
    for fys in syncs:
        assert fys["status"]["phase"] == "Succeeded", fys["status"]
        year = str(fys["status"]["fiscalYearId"])
        summary = summarise_year(install["dsn"], company_key=company_key, fiscal_year_id=year)
        truth = sandbox.control.truth(1, year)
        assert compare_with_truth(summary, truth) == [], fys["metadata"]["name"]
        assert summary.vouchers_with_documents > 0
    assert verify_objects(install["dsn"], s3_server.client(), bucket=install["bucket"],
                          company_key=company_key) == []
    jobs = kube_cluster.json("GET", f"/apis/batch/v1/namespaces/{client_ns}/jobs")["items"]
    assert len(jobs) >= 2
    for job in jobs:
        pod_spec = job["spec"]["template"]["spec"]
        assert pod_spec["imagePullSecrets"] == [{"name": "registry-credentials"}]
        assert pod_spec["containers"][0]["image"] == install["values"]["image"]["repository"] + ":" + \
            install["values"]["image"]["tag"]
    for pod in _pods(kube_cluster, client_ns, "job-name"):
        for status in pod["status"].get("containerStatuses") or []:
            assert status.get("containerID", "podman://").startswith("podman://"), status
    _read_through_the_api(kube_cluster, install, syncs)
    timings.mark("the read API pod served a voucher's document")

    # --- helm upgrade with changed values: the operator rolls to the new settings
    changed = json.loads(json.dumps(install["values"]))
    changed["operator"].update(healthPort=free_port(), metricsPort=free_port(), maxConcurrentJobs=1)
    before = kube_cluster.json("GET", f"/apis/apps/v1/namespaces/{release_ns}/deployments/{operator}")
    upgraded = _summary(release.upgrade(changed), "upgrade")
    assert upgraded["status"] == "deployed" and upgraded["version"] == 2, upgraded
    generation = int(before["metadata"]["generation"]) + 1
    _wait(lambda: _deployment_available(kube_cluster, release_ns, operator, generation), timeout=180,
          what="the upgraded operator")
    selector = "app.kubernetes.io/component%3Doperator"
    [pod] = _wait(lambda: [p for p in _pods(kube_cluster, release_ns, selector)
                           if not p["metadata"].get("deletionTimestamp")] or None, timeout=60,
                  what="one operator pod")
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["SPIRIS_MAX_CONCURRENT_JOBS"] == "1"
    health = f"http://127.0.0.1:{changed['operator']['healthPort']}/healthz"
    _wait(lambda: httpx.get(health, timeout=2).is_success if _reachable(health) else False, timeout=60,
          what="the upgraded operator's health endpoint")
    assert _condition(kube_cluster.rest.get(path), "Ready") == "True"
    timings.mark("helm upgrade rolled the operator")

    # --- uninstall, in the documented order: connections first (the operator removes its finalizers)
    kube_cluster.json("DELETE", path)
    _wait(lambda: kube_cluster.rest.get(path) is None, timeout=60, what="the connection to be deleted")
    syncs_path = f"/apis/{GROUP}/namespaces/{client_ns}/fiscalyearsyncs"
    _wait(lambda: not kube_cluster.json("GET", syncs_path)["items"], timeout=60,
          what="its FiscalYearSyncs to be deleted")
    release.uninstall()
    timings.mark("helm uninstall")
    _wait(lambda: not _pods(kube_cluster, release_ns, "app.kubernetes.io/instance%3Dspiris"), timeout=60,
          what="the release's pods to go")
    roles = kube_cluster.json("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles")["items"]
    assert not [r["metadata"]["name"] for r in roles
                if (r["metadata"].get("labels") or {}).get("app.kubernetes.io/instance") == "spiris"
                and r["metadata"]["name"].startswith("spiris-spiris-operator")]
    for namespace in (client_ns, release_ns):
        kube_cluster.json("DELETE", f"/api/v1/namespaces/{namespace}")
    for namespace in (client_ns, release_ns):
        _wait(lambda namespace=namespace: kube_cluster.rest.get(f"/api/v1/namespaces/{namespace}") is None,
              timeout=90, what=f"namespace {namespace} to be deleted (no stuck finalizers)")
    timings.mark("namespaces deleted")
    timings.write()


def _read_through_the_api(kube: LocalKube, install: dict[str, Any], syncs: list[dict[str, Any]]) -> None:
    """An auditor of the client namespace (the built-in `view` role, which the chart's aggregated role
    extends) reaches a voucher's document through the read API's pod, which reads as the reader role."""
    client_ns = install["client_ns"]
    kube.json("POST", f"/api/v1/namespaces/{client_ns}/serviceaccounts",
              {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "auditor"}})
    kube.json("POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{client_ns}/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "auditor"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "auditor", "namespace": client_ns}]})
    token = kube.rest.service_account_token(client_ns, "auditor")
    base = f"http://127.0.0.1:{install['values']['api']['port']}/api/v1/namespaces/{client_ns}/connections/acme"
    headers = {"Authorization": f"Bearer {token}"}
    year = str(syncs[0]["status"]["fiscalYearId"])
    with psycopg.connect(install["dsn"]) as conn:
        row = conn.execute(
            """SELECT v.id, d.sha256 FROM spiris.vouchers v
            JOIN spiris.voucher_documents vd ON vd.company_key = v.company_key AND vd.voucher_id = v.id
            JOIN spiris.documents d ON d.company_key = vd.company_key AND d.id = vd.document_id
            WHERE v.fiscal_year_id = %s ORDER BY v.number LIMIT 1""", (year,)).fetchone()
    assert row is not None, "the synced year has a voucher with a stored document"
    voucher_id, sha256 = str(row[0]), str(row[1])
    vouchers = partial(httpx.get, f"{base}/fiscal-years/{year}/vouchers", params={"limit": "1"},
                       headers=headers, timeout=10)
    page = _wait(lambda: (lambda r: r if r.status_code == 200 else None)(vouchers()), timeout=60,
                 what="the read API to answer the auditor")
    assert page.json()["total"] > 0
    voucher = httpx.get(f"{base}/vouchers/{voucher_id}", headers=headers, timeout=10).json()
    documents = [d for d in voucher["documents"] if d["sha256"] == sha256]
    assert documents, voucher
    link = httpx.get(f"{base}/documents/{documents[0]['id']}/content", params={"redirect": "false"},
                     headers=headers, timeout=10).json()
    assert hashlib.sha256(httpx.get(link["url"], timeout=10).content).hexdigest() == sha256
    refused = httpx.get(f"{base}/vouchers/{voucher_id}", timeout=10)
    assert refused.status_code == 401, "no token, no ledger"


def _summary(release: dict[str, Any], action: str) -> dict[str, Any]:
    """Status, revision and NOTES of a Helm SDK release answer (kept in test-artifacts for reading)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    kept = {k: v for k, v in release.items() if k not in {"manifest", "chart", "config"}}
    (ARTIFACTS / f"helm-{action}.json").write_text(json.dumps(kept, indent=2, default=str))
    info = release.get("info") or {}
    return {"status": str(info.get("status", release.get("status", ""))),
            "notes": str(info.get("notes", release.get("notes", ""))),
            "version": release.get("version", release.get("revision"))}


def _reachable(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return False
    return True
