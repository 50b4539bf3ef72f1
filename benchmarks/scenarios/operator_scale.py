"""Scenario 6: the operator with many SpirisConnections and FiscalYearSyncs in the local Kubernetes API.

All objects are created first (1,000 connections, two FiscalYearSyncs each), then a real `spiris-operator`
process starts on the populated cluster — the worst case, an operator restart. Measured: the time until every
object shows its steady status (a connection: phase PendingConsent with a consent link; a FiscalYearSync:
phase Pending, Ready=False with reason ConnectionNotReady), the Kubernetes API requests the operator made
until then (and in an idle window after, which shows what the steady state costs), and the operator's peak RSS
(its `VmHWM`, sampled from /proc until it exits). Requests are counted inside the emulator (a wrapper around
its request entry point, in this benchmark process only); the benchmark's own requests carry a User-Agent that
is left out of the count.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx
from context import Context
from harness import BIN, PeakRss
from spiris_localstack.kube_emulator import SpirisKubeEmulator
from spiris_localstack.kube_server import KubeServer
from spiris_localstack.processes import free_port

GROUP_PATH = "/apis/spiris.senseworks.io/v1alpha1"
NAMESPACE = "bench-operator"
DRIVER_AGENT = "spiris-bench-driver"


class RequestCounter:
    """Counts the emulator's requests by (method, resource), except the benchmark driver's own."""

    def __init__(self) -> None:
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def install(self) -> Callable[[], None]:
        original = SpirisKubeEmulator.__call__
        counts = self.counts

        async def counting(emulator: SpirisKubeEmulator, raw: Any) -> Any:
            if raw.headers.get("User-Agent") != DRIVER_AGENT:
                parts = [p for p in raw.path.split("/") if p]
                resource = next((p for p in reversed(parts) if p in RESOURCES), "other")
                method = "WATCH" if raw.query.get("watch") in ("true", "1") else raw.method
                counts[(method, resource)] += 1
            return await original(emulator, raw)

        SpirisKubeEmulator.__call__ = counting

        def uninstall() -> None:
            SpirisKubeEmulator.__call__ = original

        return uninstall

    def total(self) -> int:
        return sum(self.counts.values())

    def snapshot(self) -> dict[str, int]:
        return {f"{m} {r}": n for (m, r), n in sorted(self.counts.items())}


RESOURCES = frozenset({"spirisconnections", "fiscalyearsyncs", "secrets", "jobs", "events", "namespaces",
                       "customresourcedefinitions", "leases", "pods", "configmaps", "status"})


def _steady_connection(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    return status.get("phase") == "PendingConsent" and bool(status.get("consentUrl"))


def _steady_fys(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    ready: dict[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {}
    )
    return status.get("phase") == "Pending" and ready.get("reason") == "ConnectionNotReady"


def _create_objects(client: httpx.Client, *, connections: int, per_connection: int) -> None:
    for n in range(connections):
        name = f"company-{n:05d}"
        client.post(f"{GROUP_PATH}/namespaces/{NAMESPACE}/spirisconnections", json={
            "apiVersion": "spiris.senseworks.io/v1alpha1", "kind": "SpirisConnection",
            "metadata": {"name": name, "namespace": NAMESPACE}, "spec": {"displayName": f"Bolag {n} AB"},
        }).raise_for_status()
        for k in range(per_connection):
            client.post(f"{GROUP_PATH}/namespaces/{NAMESPACE}/fiscalyearsyncs", json={
                "apiVersion": "spiris.senseworks.io/v1alpha1", "kind": "FiscalYearSync",
                "metadata": {"name": f"{name}-{2025 - k}", "namespace": NAMESPACE},
                "spec": {"connectionRef": {"name": name}, "fiscalYear": 2025 - k, "schedule": "6h"},
            }).raise_for_status()


def _steady_counts(client: httpx.Client) -> tuple[int, int]:
    connections = client.get(f"{GROUP_PATH}/namespaces/{NAMESPACE}/spirisconnections").json()["items"]
    syncs = client.get(f"{GROUP_PATH}/namespaces/{NAMESPACE}/fiscalyearsyncs").json()["items"]
    return sum(map(_steady_connection, connections)), sum(map(_steady_fys, syncs))


def _operator_env(kube: KubeServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPIRIS_", "S3_", "DATABASE_URL"))}
    env.update(
        KUBECONFIG=kube.kubeconfig,
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
    counter = RequestCounter()
    uninstall = counter.install()
    kube = KubeServer().start()
    log_path = ctx.services.work_dir / "operator.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        kube.create_namespace(NAMESPACE)
        with httpx.Client(base_url=kube.url, headers={"User-Agent": DRIVER_AGENT}, timeout=30) as client:
            began = time.perf_counter()
            _create_objects(client, connections=connections, per_connection=per_connection)
            create_seconds = time.perf_counter() - began
            counter.counts.clear()
            with log_path.open("wb") as log:
                process = subprocess.Popen([str(BIN / "spiris-operator")], env=_operator_env(kube),
                                           stdout=log, stderr=subprocess.STDOUT)
            rss = PeakRss(process.pid)
            started = time.perf_counter()
            deadline = started + (600 if not ctx.quick else 120)
            steady = (0, 0)
            while time.perf_counter() < deadline:
                steady = _steady_counts(client)
                if steady == (connections, syncs) or process.poll() is not None:
                    break
                time.sleep(0.5)
            steady_seconds = time.perf_counter() - started
            requests_until_steady = counter.snapshot()
            total_until_steady = counter.total()
            idle_window = 10.0 if ctx.quick else 40.0
            time.sleep(idle_window)
            idle_requests = counter.total() - total_until_steady
            idle_by_kind = {k: n - requests_until_steady.get(k, 0) for k, n in counter.snapshot().items()}
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
        uninstall()
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
        "idle_requests_by_kind": {k: n for k, n in idle_by_kind.items() if n},
        "idle_requests_per_object_per_minute": idle_requests / objects / (idle_window / 60.0),
        "peak_rss_bytes": peak_rss,
    }
