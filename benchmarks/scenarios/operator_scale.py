"""Scenario 6: the operator with many SpirisConnections and FiscalYearSyncs on the real Kubernetes API server.

All objects are created first (1,000 connections, two FiscalYearSyncs each), then a real `spiris-operator`
process starts on the populated cluster — the worst case, an operator restart — authenticated as the chart's
operator ServiceAccount under the chart's RBAC. Measured: the time until every object shows its steady status
(a connection: phase PendingConsent with a consent link; a FiscalYearSync: phase Pending, Ready=False with
reason ConnectionNotReady), the Kubernetes API requests the operator made until then (and in an idle window
after, which shows what the steady state costs), and the operator's peak RSS (its `VmHWM`, sampled from /proc
until it exits). Requests are counted from the API server's own audit log (one line per request, with the user
who made it), so the benchmark driver's requests are left out by identity.

The operator runs as the chart runs it, with leader election. After the idle window come a **storm** (random
spec and annotation changes on a tenth of the objects, at once) — measured: the seconds until every object's
status answers its spec again (observedGeneration, handled consent-link rotations), and how many do not
within 120 s — and a **failover**: a second replica stands by, the leader gets SIGKILL, a connection's spec
is changed at that moment, and the seconds until the new leader has reconciled it are the failover time.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from context import Context
from harness import BIN, PeakRss
from spiris_localstack.chart_rbac import install_chart_rbac
from spiris_localstack.kube_audit import AuditReader, service_account_user
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


ROTATE = "spiris.senseworks.io/rotate-consent-link"


def _storm(rest: KubeRest, *, connections: int, per_connection: int, share: float = 0.1) -> list[str]:
    """Random spec and annotation changes on ``share`` of the objects; the paths of the objects changed."""
    rng = random.Random(17)
    changed = []
    base = f"{GROUP_PATH}/namespaces/{NAMESPACE}"
    for n in rng.sample(range(connections), max(1, int(connections * share))):
        name = f"company-{n:05d}"
        patch: dict[str, Any] = {"spec": {"displayName": f"Bolag {n} AB ({rng.randrange(10**6)})"}}
        if rng.random() < 0.5:
            patch["metadata"] = {"annotations": {ROTATE: f"storm-{rng.randrange(10**6)}"}}
        rest.call("PATCH", f"{base}/spirisconnections/{name}", body=patch,
                  content_type="application/merge-patch+json")
        changed.append(f"{base}/spirisconnections/{name}")
    syncs = connections * per_connection
    for n in rng.sample(range(syncs), max(1, int(syncs * share))):
        name = f"company-{n // per_connection:05d}-{2025 - n % per_connection}"
        spec = {"schedule": rng.choice(["1h", "12h", "24h"])} if rng.random() < 0.5 else {"suspend": True}
        rest.call("PATCH", f"{base}/fiscalyearsyncs/{name}", body={"spec": spec},
                  content_type="application/merge-patch+json")
        changed.append(f"{base}/fiscalyearsyncs/{name}")
    return changed


def _answers_spec(obj: dict[str, Any]) -> bool:
    metadata, status = obj.get("metadata") or {}, obj.get("status") or {}
    if status.get("observedGeneration") != metadata.get("generation"):
        return False
    rotate = (metadata.get("annotations") or {}).get(ROTATE)
    return not rotate or status.get("handledRotation") == rotate


def _mismatched(rest: KubeRest) -> int:
    base = f"{GROUP_PATH}/namespaces/{NAMESPACE}"
    objects = [*(rest.get(f"{base}/spirisconnections") or {}).get("items", []),
               *(rest.get(f"{base}/fiscalyearsyncs") or {}).get("items", [])]
    return sum(not _answers_spec(obj) for obj in objects)


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
        SPIRIS_LEADER_ELECTION_NAMESPACE=RELEASE_NAMESPACE,
    )
    return env


def _leader_pid(rest: KubeRest) -> int | None:
    lease = rest.get(f"/apis/coordination.k8s.io/v1/namespaces/{RELEASE_NAMESPACE}/leases/"
                     "spiris-operator-leader")
    holder = str(((lease or {}).get("spec") or {}).get("holderIdentity") or "")
    return int(holder.rsplit("-", 1)[1]) if "-" in holder else None


def run(ctx: Context) -> dict[str, Any]:
    connections = ctx.sizes.connections
    per_connection = max(1, ctx.sizes.fiscal_year_syncs // connections)
    syncs = connections * per_connection
    binary = kubeplane_binary(source_dir=ROOT / "dev" / "kubeplane")
    kube = LocalKube(binary=binary, crd_dir=ROOT / "crds", base_dir=ctx.services.work_dir / "kube",
                     audit=True).start()
    log_path = ctx.services.work_dir / "operator.log"
    process: subprocess.Popen[bytes] | None = None
    standby: subprocess.Popen[bytes] | None = None
    try:
        for namespace in (RELEASE_NAMESPACE, NAMESPACE):
            kube.create_namespace(namespace)
        access = install_chart_rbac(rest=kube.rest, chart=ROOT / "charts" / "spiris-operator",
                                    values=CHART_VALUES, release="spiris", namespace=RELEASE_NAMESPACE,
                                    out_dir=ctx.services.work_dir / "rbac", components=("operator",))
        operator = {service_account_user(RELEASE_NAMESPACE, access.service_accounts["operator"])}
        audit = AuditReader(kube.plane.audit_log)
        rest = kube.rest
        began = time.perf_counter()
        _create_objects(rest, connections=connections, per_connection=per_connection)
        create_seconds = time.perf_counter() - began
        audit.mark()
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
        requests_until_steady = dict(audit.counts(operator))
        total_until_steady = sum(requests_until_steady.values())
        idle_window = 10.0 if ctx.quick else 40.0
        audit.mark()
        time.sleep(idle_window)
        idle_by_kind = dict(audit.counts(operator))
        idle_requests = sum(idle_by_kind.values())
        storm_began = time.perf_counter()
        storm = _storm(rest, connections=connections, per_connection=per_connection)
        mismatched = len(storm)
        while time.perf_counter() < storm_began + 120:
            mismatched = _mismatched(rest)
            if mismatched == 0:
                break
            time.sleep(1.0)
        storm_seconds = time.perf_counter() - storm_began
        # Failover: a standby (own ports, as in its own pod), SIGKILL of the leader, a change at that moment.
        standby_env = {**_operator_env(access.kubeconfig("operator")),
                       "SPIRIS_OPERATOR_HEALTH_PORT": str(free_port()),
                       "SPIRIS_OPERATOR_METRICS_PORT": str(free_port())}
        standby_log = ctx.services.work_dir / "operator-standby.log"
        with standby_log.open("wb") as log:
            standby = subprocess.Popen([str(BIN / "spiris-operator")], env=standby_env,
                                       stdout=log, stderr=subprocess.STDOUT)
        while b"standing by" not in standby_log.read_bytes() and time.perf_counter() < deadline + 120:
            time.sleep(0.5)
        peak_rss = rss.stop()
        failover_seconds: float | None = None
        if _leader_pid(rest) == process.pid:
            killed = time.perf_counter()
            process.kill()
            process.wait(timeout=10)
            path = f"{GROUP_PATH}/namespaces/{NAMESPACE}/spirisconnections/company-00000"
            rest.call("PATCH", path, body={"spec": {"displayName": "Bolag 0 AB (after failover)"}},
                      content_type="application/merge-patch+json")
            while time.perf_counter() < killed + 120:
                if _answers_spec(rest.get(path) or {}):
                    failover_seconds = time.perf_counter() - killed
                    break
                time.sleep(0.25)
        process = None
        standby.send_signal(signal.SIGTERM)
        standby.wait(timeout=30)
        standby = None
    finally:
        for proc in (process, standby):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
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
        "storm_objects_changed": len(storm),
        "storm_seconds_until_status_answers_spec": storm_seconds,
        "storm_objects_not_answering_spec": mismatched,
        "failover_seconds": failover_seconds,
    }
