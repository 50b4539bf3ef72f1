"""Scenario 6: the operator with many SpirisConnections and FiscalYearSyncs on the real Kubernetes API server.

All objects are created first (1,000 connections, two FiscalYearSyncs each), then a real `spiris-operator`
process starts on the populated cluster — the worst case, an operator restart — authenticated as the chart's
operator ServiceAccount under the chart's RBAC. Measured: the time until every object shows its steady status
(a connection: phase PendingConsent with a consent link; a FiscalYearSync: phase Pending, Ready=False with
reason ConnectionNotReady), the Kubernetes API requests the operator made until then (and in an idle window
after, which shows what the steady state costs), and the operator's peak RSS (its `VmHWM`, sampled from /proc
until it exits). Requests are counted from the API server's own audit log (one line per request, with the user
who made it), so the benchmark driver's requests are left out by identity.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from context import Context
from harness import BIN, PeakRss
from spiris_localstack.chart_rbac import install_chart_rbac
from spiris_localstack.kube_binary import kubeplane_binary
from spiris_localstack.kube_client import KubeRest
from spiris_localstack.kube_cluster import LocalKube
from spiris_localstack.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
GROUP_PATH = "/apis/spiris.senseworks.io/v1alpha1"
NAMESPACE = "bench-operator"
RELEASE_NAMESPACE = "spiris-system"
CHART_VALUES = {
    "publicUrl": "https://consent.example.com",
    "watchNamespaces": [NAMESPACE],
    "spiris": {"oauthClient": {"existingSecret": "spiris-oauth-client"}},
    "linkSigningKey": {"existingSecret": "spiris-link-signing-key"},
    "database": {"existingSecret": "spiris-database"},
    "s3": {"endpoint": "127.0.0.1:9000", "secure": False, "existingSecret": "spiris-s3"},
}


class AuditCounter:
    """Counts one user's requests in the API server's audit log by (verb, resource), from a byte offset on."""

    def __init__(self, path: Path, username: str) -> None:
        self.path = path
        self.username = username
        self.offset = 0

    def mark(self) -> None:
        """Start counting from now."""
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def counts(self) -> collections.Counter[str]:
        found: collections.Counter[str] = collections.Counter()
        with self.path.open("rb") as log:
            log.seek(self.offset)
            for line in log:
                event = json.loads(line)
                if event.get("user", {}).get("username") != self.username:
                    continue
                ref = event.get("objectRef") or {}
                subresource = f"/{ref['subresource']}" if ref.get("subresource") else ""
                resource = ref.get("resource", "other") + subresource
                found[f"{event.get('verb', '?').upper()} {resource}"] += 1
        return found


def _steady_connection(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    return status.get("phase") == "PendingConsent" and bool(status.get("consentUrl"))


def _steady_fys(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    ready: dict[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {}
    )
    return status.get("phase") == "Pending" and ready.get("reason") == "ConnectionNotReady"


def _create_objects(rest: KubeRest, *, connections: int, per_connection: int) -> None:
    for n in range(connections):
        name = f"company-{n:05d}"
        rest.call("POST", f"{GROUP_PATH}/namespaces/{NAMESPACE}/spirisconnections", body={
            "apiVersion": "spiris.senseworks.io/v1alpha1", "kind": "SpirisConnection",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"displayName": f"Bolag {n} AB", "expectedCorporateIdentityNumber": f"55{n:04d}-{n:04d}"},
        })
        for k in range(per_connection):
            rest.call("POST", f"{GROUP_PATH}/namespaces/{NAMESPACE}/fiscalyearsyncs", body={
                "apiVersion": "spiris.senseworks.io/v1alpha1", "kind": "FiscalYearSync",
                "metadata": {"name": f"{name}-{2025 - k}", "namespace": NAMESPACE},
                "spec": {"connectionRef": {"name": name}, "fiscalYear": 2025 - k, "schedule": "6h"},
            })


def _steady_counts(rest: KubeRest) -> tuple[int, int]:
    connections = (rest.get(f"{GROUP_PATH}/namespaces/{NAMESPACE}/spirisconnections") or {}).get("items", [])
    syncs = (rest.get(f"{GROUP_PATH}/namespaces/{NAMESPACE}/fiscalyearsyncs") or {}).get("items", [])
    return sum(map(_steady_connection, connections)), sum(map(_steady_fys, syncs))


def _operator_env(kubeconfig: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPIRIS_", "S3_", "DATABASE_URL"))}
    env.update(
        KUBECONFIG=kubeconfig,
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        SPIRIS_WATCH_NAMESPACES=NAMESPACE,
        SPIRIS_API_URL=f"http://127.0.0.1:{free_port()}/v2",  # nothing answers: no connection has consent
        SPIRIS_IDENTITY_URL=f"http://127.0.0.1:{free_port()}",
        SPIRIS_CLIENT_ID="spiris-bench",
        SPIRIS_CLIENT_SECRET="spiris-bench-secret",
        SPIRIS_REDIRECT_URI="http://127.0.0.1:8080/oauth/callback",
        SPIRIS_WEB_PUBLIC_URL="http://127.0.0.1:8080",
        SPIRIS_LINK_SIGNING_KEY=os.urandom(24).hex(),
        SPIRIS_OPERATOR_BIND_ADDRESS="127.0.0.1",
        SPIRIS_OPERATOR_HEALTH_PORT=str(free_port()),
        SPIRIS_OPERATOR_METRICS_PORT=str(free_port()),
    )
    return env


def run(ctx: Context) -> dict[str, Any]:
    connections = ctx.sizes.connections
    per_connection = max(1, ctx.sizes.fiscal_year_syncs // connections)
    syncs = connections * per_connection
    binary = kubeplane_binary(source_dir=ROOT / "dev" / "kubeplane")
    kube = LocalKube(binary=binary, crd_dir=ROOT / "crds", base_dir=ctx.services.work_dir / "kube",
                     audit=True).start()
    log_path = ctx.services.work_dir / "operator.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        for namespace in (RELEASE_NAMESPACE, NAMESPACE):
            kube.create_namespace(namespace)
        access = install_chart_rbac(rest=kube.rest, chart=ROOT / "charts" / "spiris-operator",
                                    values=CHART_VALUES, release="spiris", namespace=RELEASE_NAMESPACE,
                                    out_dir=ctx.services.work_dir / "rbac", components=("operator",))
        counter = AuditCounter(kube.plane.audit_log,
                               f"system:serviceaccount:{RELEASE_NAMESPACE}:{access.service_accounts['operator']}")
        rest = kube.rest
        began = time.perf_counter()
        _create_objects(rest, connections=connections, per_connection=per_connection)
        create_seconds = time.perf_counter() - began
        counter.mark()
        with log_path.open("wb") as log:
            process = subprocess.Popen([str(BIN / "spiris-operator")],
                                       env=_operator_env(access.kubeconfig("operator")),
                                       stdout=log, stderr=subprocess.STDOUT)
        rss = PeakRss(process.pid)
        started = time.perf_counter()
        deadline = started + (600 if not ctx.quick else 120)
        steady = (0, 0)
        while time.perf_counter() < deadline:
            steady = _steady_counts(rest)
            if steady == (connections, syncs) or process.poll() is not None:
                break
            time.sleep(0.5)
        steady_seconds = time.perf_counter() - started
        requests_until_steady = dict(counter.counts())
        total_until_steady = sum(requests_until_steady.values())
        idle_window = 10.0 if ctx.quick else 40.0
        counter.mark()
        time.sleep(idle_window)
        idle_by_kind = dict(counter.counts())
        idle_requests = sum(idle_by_kind.values())
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        peak_rss = rss.stop()
        process = None
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        kube.stop()
    objects = connections + syncs
    if steady != (connections, syncs):
        raise RuntimeError(f"not steady after {steady_seconds:.0f} s: {steady} of {(connections, syncs)}; "
                           f"operator log tail: {log_path.read_text(errors='replace')[-2000:]}")
    return {
        "connections": connections,
        "fiscal_year_syncs": syncs,
        "objects": objects,
        "create_seconds": create_seconds,
        "steady_seconds": steady_seconds,
        "requests_until_steady": total_until_steady,
        "requests_per_object": total_until_steady / objects,
        "requests_by_kind": requests_until_steady,
        "idle_window_seconds": idle_window,
        "idle_requests": idle_requests,
        "idle_requests_by_kind": idle_by_kind,
        "idle_requests_per_object_per_minute": idle_requests / objects / (idle_window / 60.0),
        "peak_rss_bytes": peak_rss,
    }
