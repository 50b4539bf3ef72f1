"""The real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver and kube-controller-manager.

All three come from the one ``kubeplane`` binary built from Kubernetes' own Go modules (``dev/kubeplane``), so
the tests and ``make run`` meet what a cluster does: CRD schema validation and CEL rules, admission (with
``OwnerReferencesPermissionEnforcement`` as OpenShift runs it), RBAC with ``Node,RBAC`` authorization, service
account tokens, the Job controller, the garbage collector and the namespace controller. Each component listens
on a free loopback port, is waited for until ready and is stopped by PID. There is no kubelet: ``node_agent``
stands in for one. ``ControlPlane.admin_kubeconfig`` is a client-certificate (``system:masters``) kubeconfig
that kubectl, the kubernetes client and Kopf all accept.
"""

from __future__ import annotations

import copy
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

from spiris_localstack.kube_certs import PlanePki, make_pki
from spiris_localstack.processes import (
    Service,
    ServiceStartError,
    free_port,
    log_tail,
    start_process,
    stop_process,
    wait_until_ready,
)

SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
# The controllers a cluster's Jobs, Deployments, owner references and service accounts depend on, and the
# aggregation of the chart's user roles into the built-in edit/admin/view ClusterRoles.
CONTROLLERS = (
    "job-controller", "garbage-collector-controller", "namespace-controller", "serviceaccount-controller",
    "serviceaccount-token-controller", "root-ca-certificate-publisher-controller",
    "pod-garbage-collector-controller", "ttl-after-finished-controller", "deployment-controller",
    "replicaset-controller", "disruption-controller", "clusterrole-aggregation-controller",
)
ADMISSION_PLUGINS = ("NamespaceLifecycle", "ServiceAccount", "NodeRestriction",
                     "OwnerReferencesPermissionEnforcement", "DefaultStorageClass",
                     "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook", "MutatingAdmissionWebhook",
                     "PodSecurity")


def kubeconfig_document(*, server: str, ca_file: Path, user: dict[str, str], name: str = "spiris-local",
                        namespace: str = "default") -> dict[str, Any]:
    """A one-context kubeconfig for ``server`` authenticating as ``user`` (client cert or token fields)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority": str(ca_file)}}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}],
        "current-context": name,
    }


def write_kubeconfig(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)
    return path


class ControlPlane(Service):
    """etcd + kube-apiserver + kube-controller-manager from ``binary``; ``.server``, ``.admin_kubeconfig``."""

    def __init__(self, *, binary: str | Path, crd_dir: str | Path | None = None,
                 base_dir: str | Path | None = None, start_timeout: float = 180.0,
                 audit: bool = False) -> None:
        self.binary = Path(binary)
        self.crd_dir = Path(crd_dir) if crd_dir is not None else None
        self.requested_dir = Path(base_dir) if base_dir is not None else None
        self.start_timeout = start_timeout
        #: Write the API server's audit log (one JSON line per request, who and what): benchmarks count
        #: with it.
        self.audit = audit
        self.base_dir: Path | None = None
        self.pki: PlanePki | None = None
        self.etcd_port = 0
        self.port = 0
        self.controller_manager_port = 0
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.ready_seconds: float | None = None
        self.version = ""

    # --- addresses and credentials

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def admin_kubeconfig(self) -> str:
        return str(self._base() / "kubeconfig")

    @property
    def ca_file(self) -> Path:
        return self._pki().ca.cert

    @property
    def audit_log(self) -> Path:
        return self._base() / "audit.log"

    def log_path(self, component: str) -> Path:
        return self._base() / f"{component}.log"

    def ssl_context(self) -> ssl.SSLContext:
        """A TLS context trusting the plane's CA and presenting the admin certificate."""
        pki = self._pki()
        context = ssl.create_default_context(cafile=str(pki.ca.cert))
        context.load_cert_chain(str(pki.admin.cert), str(pki.admin.key))
        return context

    def request(self, method: str, path: str, *, json: Any = None, timeout: float = 30.0) -> httpx.Response:
        """One API call as the admin; the response is returned whatever its status."""
        with httpx.Client(base_url=self.server, verify=self.ssl_context(), timeout=timeout) as client:
            return client.request(method, path, json=json)

    # --- lifecycle

    def start(self) -> ControlPlane:
        if not self.binary.is_file():
            raise ServiceStartError(f"kubeplane binary not found at {self.binary}: build it with "
                                    "`bash dev/kubeplane/build.sh` (make does this)")
        if self.requested_dir is not None:
            self.requested_dir.mkdir(parents=True, exist_ok=True)
            self.base_dir = self.requested_dir
        else:
            self.base_dir = Path(tempfile.mkdtemp(prefix="spiris-kube-"))
        started = time.monotonic()
        try:
            self.pki = make_pki(self.base_dir / "pki")
            self._start_etcd()
            self._start_apiserver()
            write_kubeconfig(Path(self.admin_kubeconfig), kubeconfig_document(
                server=self.server, ca_file=self.pki.ca.cert,
                user={"client-certificate": str(self.pki.admin.cert), "client-key": str(self.pki.admin.key)}))
            # CRDs first: the garbage collector's first discovery then already watches the custom resources
            # (otherwise it learns of them at its next resync, up to 30 s later, and cascades wait for it).
            if self.crd_dir is not None:
                self.install_crds(sorted(self.crd_dir.glob("*.yaml")))
            self._start_controller_manager()
        except BaseException:
            self.stop()
            raise
        self.ready_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        for name in ("kube-controller-manager", "kube-apiserver", "etcd"):
            process = self.processes.pop(name, None)
            if process is not None:
                stop_process(process, grace=10)
        if self.base_dir is not None and self.requested_dir is None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = None

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}

    # --- components

    def _spawn(self, component: str, args: Sequence[str]) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        process = start_process([str(self.binary), component, *args], env=env, cwd=self._base(),
                                log_path=self.log_path(component))
        self.processes[component] = process
        return process

    def _wait(self, component: str, check: Callable[[], bool]) -> None:
        try:
            wait_until_ready(check, timeout=self.start_timeout, what=component,
                             process=self.processes[component], interval=0.2)
        except ServiceStartError as exc:
            tail = log_tail(self.log_path(component))
            raise ServiceStartError(f"{exc}\n--- {component} log (tail) ---\n{tail}") from exc

    def _start_etcd(self) -> None:
        self.etcd_port = free_port()
        url = f"http://127.0.0.1:{self.etcd_port}"
        self._spawn("etcd", [
            f"--data-dir={self._base() / 'etcd'}", "--unsafe-no-fsync", "--log-level=warn",
            f"--listen-client-urls={url}", f"--advertise-client-urls={url}",
            "--listen-peer-urls=http://127.0.0.1:0", "--listen-metrics-urls=",
            "--quota-backend-bytes=2147483648", "--auto-compaction-retention=1h",
        ])

        def healthy() -> bool:
            return bool(httpx.get(f"{url}/health", timeout=2).json().get("health") == "true")

        self._wait("etcd", healthy)

    def _start_apiserver(self) -> None:
        pki = self._pki()
        self.port = free_port()
        self._spawn("kube-apiserver", [
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.port}",
            f"--cert-dir={self._base() / 'apiserver-certs'}",
            f"--tls-cert-file={pki.serving.cert}", f"--tls-private-key-file={pki.serving.key}",
            f"--client-ca-file={pki.ca.cert}",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}", f"--api-audiences={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={pki.service_account_public}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            "--authorization-mode=Node,RBAC",
            f"--enable-admission-plugins={','.join(ADMISSION_PLUGINS)}",
            "--endpoint-reconciler-type=none", "--allow-privileged=true", "--profiling=false",
            f"--kubelet-client-certificate={pki.kubelet_client.cert}",
            f"--kubelet-client-key={pki.kubelet_client.key}",
            f"--kubelet-certificate-authority={pki.ca.cert}",
            "--kubelet-preferred-address-types=InternalIP",
            "--event-ttl=1h", "--v=0",
            *self._audit_flags(),
        ])

        def ready() -> bool:
            return self.request("GET", "/readyz", timeout=3).status_code == 200

        self._wait("kube-apiserver", ready)
        self.version = str(self.request("GET", "/version").json()["gitVersion"])

    def _audit_flags(self) -> list[str]:
        if not self.audit:
            return []
        policy = self._base() / "audit-policy.yaml"
        policy.write_text(yaml.safe_dump({
            "apiVersion": "audit.k8s.io/v1", "kind": "Policy",
            "omitStages": ["RequestReceived", "ResponseStarted"], "rules": [{"level": "Metadata"}]}))
        return [f"--audit-policy-file={policy}", f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json", "--audit-log-mode=blocking", "--audit-log-maxsize=0"]

    def _start_controller_manager(self) -> None:
        pki = self._pki()
        config = write_kubeconfig(self._base() / "controller-manager.kubeconfig", kubeconfig_document(
            server=self.server, ca_file=pki.ca.cert, name="controller-manager", namespace="kube-system",
            user={"client-certificate": str(pki.controller_manager.cert),
                  "client-key": str(pki.controller_manager.key)}))
        self.controller_manager_port = free_port()
        self._spawn("kube-controller-manager", [
            f"--kubeconfig={config}", f"--authentication-kubeconfig={config}",
            f"--authorization-kubeconfig={config}",
            "--bind-address=127.0.0.1", f"--secure-port={self.controller_manager_port}",
            f"--cert-dir={self._base() / 'controller-manager-certs'}",
            "--leader-elect=false", "--use-service-account-credentials=true",
            f"--controllers={','.join(CONTROLLERS)}",
            f"--service-account-private-key-file={pki.service_account_key}", f"--root-ca-file={pki.ca.cert}",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            "--concurrent-job-syncs=10", "--concurrent-gc-syncs=10", "--profiling=false", "--v=0",
        ])

        def healthy() -> bool:
            url = f"https://127.0.0.1:{self.controller_manager_port}/healthz"
            return httpx.get(url, verify=False, timeout=2).status_code == 200  # noqa: S501 - its own self-signed cert

        self._wait("kube-controller-manager", healthy)
        # Pods are refused in a namespace until its `default` ServiceAccount exists: the controller is up when
        # it has made the one of `default`.
        self._wait("kube-controller-manager", lambda: self.request(
            "GET", "/api/v1/namespaces/default/serviceaccounts/default", timeout=3).status_code == 200)

    # --- conveniences

    def install_crds(self, files: Sequence[Path]) -> None:
        """Create (or replace) each CRD in ``files`` and wait until every one is Established."""
        self.install_crds_documents([
            document
            for path in files
            for document in yaml.safe_load_all(path.read_text())
            if document and document.get("kind") == "CustomResourceDefinition"
        ])

    def install_crds_documents(self, documents: Sequence[dict[str, Any]]) -> None:
        """Create (or replace) each CRD document and wait until every one is Established."""
        names = []
        for document in documents:
            document = copy.deepcopy(dict(document))
            name = document["metadata"]["name"]
            names.append(name)
            base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
            response = self.request("POST", base, json=document)
            if response.status_code == 409:
                current = self.request("GET", f"{base}/{name}").json()
                document["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                response = self.request("PUT", f"{base}/{name}", json=document)
            if response.status_code >= 300:
                raise ServiceStartError(f"CRD {name} refused by the API server: {response.text[:500]}")
        for name in names:
            def established(crd: str = name) -> bool:
                response = self.request(
                    "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd}")
                status = response.json().get("status", {})
                return any(c.get("type") == "Established" and c.get("status") == "True"
                           for c in status.get("conditions") or [])

            wait_until_ready(established, timeout=30, what=f"CRD {name} Established")

    def create_namespace(self, name: str, *, labels: dict[str, str] | None = None,
                         wait_service_account: bool = True) -> None:
        """Create Namespace ``name`` and wait until its ``default`` ServiceAccount exists (pods need it)."""
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}
        response = self.request("POST", "/api/v1/namespaces", json=body)
        if response.status_code not in (201, 409):
            raise ServiceStartError(f"namespace {name}: {response.status_code} {response.text[:300]}")
        if wait_service_account:
            wait_until_ready(lambda: self.request(
                "GET", f"/api/v1/namespaces/{name}/serviceaccounts/default", timeout=3).status_code == 200,
                timeout=30, what=f"ServiceAccount {name}/default")

    def _base(self) -> Path:
        if self.base_dir is None:
            raise RuntimeError("ControlPlane is not started")
        return self.base_dir

    def _pki(self) -> PlanePki:
        if self.pki is None:
            raise RuntimeError("ControlPlane is not started")
        return self.pki
