"""The whole product on one machine: every real service of the local flow, started in order, stopped by PID.

`LocalStack` starts PostgreSQL, SeaweedFS S3, the real Kubernetes control plane with the node agent that runs
its pods (the sync Jobs), the Spiris sandbox, the web component and the operator — the last three as real
processes talking real HTTP to each other, configured through the same environment variables a cluster gives
them (docs/architecture.md). The operator and the web authenticate as the chart's ServiceAccounts under the
chart's RBAC (``chart_rbac``), never as admin. It also prepares the namespace the way an installer would (the
database and S3 Secrets the sync Jobs reference), runs the schema migration, and applies a SpirisConnection.
`make run`, `make demo` and the end-to-end test all use it, so what the test proves is what a person runs.
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from spiris_localstack import read_side
from spiris_localstack.chart_rbac import ChartAccess, install_chart_rbac
from spiris_localstack.kube_cluster import LocalKube
from spiris_localstack.postgres import PostgresServer
from spiris_localstack.processes import (
    ServiceStartError,
    free_port,
    kill_group,
    log_tail,
    start_process,
    stop_process,
    wait_until_ready,
)
from spiris_localstack.s3 import S3Server

T = TypeVar("T")

__all__ = ["LocalStack", "StackOptions"]

GROUP = "spiris.senseworks.io"
VERSION = "v1alpha1"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class StackOptions:
    """What the local flow is started with; the defaults are the README's `make run`."""

    namespace: str = "spiris-demo"
    seed: int = 1
    vouchers_per_year: int = 300
    company: int = 1
    #: Skip the sandbox's login/company/consent pages (headless runs that do not drive them).
    auto_approve: bool = False
    sandbox_rate_limit: int = 600
    bucket: str = "spiris-documents"
    connection_name: str = "demo-company"
    latest_fiscal_years: int = 2
    #: Re-sync schedule of the FiscalYearSyncs the connection creates (an interval or cron).
    schedule: str = "6h"
    #: The operator's safety resync (it is event driven: work is scheduled when it is due, not polled).
    reconcile_interval: float = 600.0
    #: Fraction of the schedule interval added as jitter (0 makes scheduled runs exactly on time).
    schedule_jitter: float = 0.1
    max_concurrent_jobs: int = 2
    web_port: int = 0
    work_dir: Path | None = None
    #: The repository parts the stack is given (never found by walking up from this file).
    crd_dir: Path = Path("crds")
    chart_dir: Path = Path("charts/spiris-operator")
    kubeplane: Path | None = None
    #: Where the chart's operator and web ServiceAccounts live, as in a real install.
    release_namespace: str = "spiris-system"
    #: PostgreSQL commits survive a SIGKILL of the server (the soak test kills it; slower).
    postgres_durable_commits: bool = False


@dataclass
class _Process:
    name: str
    log_path: Path
    process: subprocess.Popen[bytes]
    argv: list[str]
    env: dict[str, str]
    ready: Callable[[], bool]
    timeout: float


@dataclass
class LocalStack:
    """The started services; use as a context manager or call `start()` and `stop()`."""

    options: StackOptions = field(default_factory=StackOptions)
    announce: Callable[[str], None] = lambda message: None
    postgres: PostgresServer | None = None
    s3: S3Server | None = None
    kube: LocalKube | None = None
    access: ChartAccess | None = None
    work_dir: Path = field(default_factory=Path)
    client_id: str = "spiris-local"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    link_signing_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    sandbox_url: str = ""
    web_url: str = ""
    operator_health_url: str = ""
    operator_metrics_url: str = ""
    api_url: str = ""
    _processes: list[_Process] = field(default_factory=list)

    # --- lifecycle

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        options = self.options
        self.work_dir = options.work_dir or Path(tempfile.mkdtemp(prefix="spiris-local-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.announce("starting PostgreSQL 15")
        self.postgres = PostgresServer(durable_commits=options.postgres_durable_commits).start()
        self.announce("starting SeaweedFS (S3)")
        self.s3 = S3Server().start()
        self.s3.create_bucket(options.bucket)
        self.announce("starting Kubernetes (etcd, kube-apiserver, kube-controller-manager, the node agent)")
        if options.kubeplane is None:
            raise ServiceStartError("no kubeplane binary given (make builds it; see dev/kubeplane/build.sh)")
        self.kube = LocalKube(binary=options.kubeplane, crd_dir=options.crd_dir,
                              base_dir=self.work_dir / "kube").start()
        for namespace in (options.release_namespace, options.namespace):
            self.kube.create_namespace(namespace)
        self.access = install_chart_rbac(
            rest=self.kube.rest, chart=options.chart_dir, values=self.chart_values(),
            release="spiris", namespace=options.release_namespace, out_dir=self.work_dir / "rbac",
            components=("operator", "web", "api"))
        self._install_namespace_secrets()
        # PostgresServer made the worker's and the reader's roles first, so the migrations grant them.
        self.announce("migrating the ledger schema")
        self._migrate()

        web_port = options.web_port or free_port()
        self.web_url = f"http://127.0.0.1:{web_port}"
        sandbox_port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        self.announce("starting the Spiris sandbox")
        self._spawn(
            "sandbox",
            [
                str(BIN / "spiris-sandbox"),
                "--port",
                str(sandbox_port),
                "--seed",
                str(options.seed),
                "--client-id",
                self.client_id,
                "--redirect-uri",
                f"{self.web_url}/oauth/callback",
                "--vouchers",
                str(options.vouchers_per_year),
                "--rate-limit",
                str(options.sandbox_rate_limit),
                *(["--auto-approve", str(options.company)] if options.auto_approve else []),
            ],
            # The sandbox's --client-secret, through its environment: off the process list, and a secret that
            # starts with '-' is not taken for an option.
            env={**self._base_env(), "SPIRIS_SANDBOX_CLIENT_SECRET": self.client_secret},
            ready=lambda: httpx.get(f"{self.sandbox_url}/_sandbox/companies", timeout=2).is_success,
        )
        self.announce("starting the web component")
        self._spawn(
            "web",
            [str(BIN / "spiris-web"), "--host", "127.0.0.1", "--port", str(web_port)],
            env=self.web_env(),
            ready=lambda: httpx.get(f"{self.web_url}/healthz", timeout=2).is_success,
        )
        self.announce("starting the operator")
        health_port, metrics_port = free_port(), free_port()
        self.operator_health_url = f"http://127.0.0.1:{health_port}/healthz"
        self.operator_metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        self._spawn(
            "operator",
            [str(BIN / "spiris-operator")],
            env={
                **self.operator_env(),
                "SPIRIS_OPERATOR_HEALTH_PORT": str(health_port),
                "SPIRIS_OPERATOR_METRICS_PORT": str(metrics_port),
            },
            ready=lambda: httpx.get(self.operator_health_url, timeout=2).is_success,
            timeout=60.0,
        )
        self.announce("starting the read API")
        api_port = free_port()
        self.api_url = f"http://127.0.0.1:{api_port}"
        self._spawn(
            "api",
            [str(BIN / "spiris-api"), "--host", "127.0.0.1", "--port", str(api_port)],
            env={**self._base_env(), **read_side.api_env(self, link_key=self.link_signing_key + "-viewer")},
            ready=lambda: httpx.get(f"{self.api_url}/healthz", timeout=2).is_success,
        )
        read_side.auditor_kubeconfig(self)

    def stop(self) -> None:
        """Stop everything this stack started, newest first, each by its PID."""
        for proc in reversed(self._processes):
            stop_process(proc.process, grace=10.0)
        self._processes.clear()
        for service in (self.kube, self.s3, self.postgres):
            if service is not None:
                service.stop()
        self.kube = self.s3 = self.postgres = None

    # --- environments (the same variables the Helm chart sets)

    def _base_env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("SPIRIS_", "S3_", "DATABASE_URL"))}
        keep["PATH"] = f"{BIN}{os.pathsep}{keep.get('PATH', '')}"
        keep["PYTHONUNBUFFERED"] = "1"
        return keep

    def chart_values(self) -> dict[str, Any]:
        """The chart values of this local install (only its ServiceAccounts and RBAC are applied)."""
        return {
            "publicUrl": self.web_url or "http://127.0.0.1:8080",
            "watchNamespaces": [self.options.namespace],
            "spiris": {"oauthClient": {"existingSecret": "spiris-oauth-client"}},
            "linkSigningKey": {"existingSecret": "spiris-link-signing-key"},
            "database": {"existingSecret": "spiris-database"},
            "s3": {"endpoint": "127.0.0.1:9000", "secure": False, "existingSecret": "spiris-s3"},
        }

    def _spiris_env(self) -> dict[str, str]:
        return {
            "SPIRIS_API_URL": f"{self.sandbox_url}/v2",
            "SPIRIS_IDENTITY_URL": self.sandbox_url,
            "SPIRIS_SANDBOX": "true",
            "SPIRIS_CLIENT_ID": self.client_id,
            "SPIRIS_CLIENT_SECRET": self.client_secret,
            "SPIRIS_REDIRECT_URI": f"{self.web_url}/oauth/callback",
            "SPIRIS_WEB_PUBLIC_URL": self.web_url,
            "SPIRIS_LINK_SIGNING_KEY": self.link_signing_key,
        }

    def store_env(self) -> dict[str, str]:
        """The Postgres and S3 settings of the worker and the operator (as the worker's role)."""
        assert self.postgres is not None and self.s3 is not None
        return {
            "DATABASE_URL": self.postgres.dsns.worker,
            "S3_ENDPOINT": self.s3.endpoint,
            "S3_ACCESS_KEY": self.s3.access_key,
            "S3_SECRET_KEY": self.s3.secret_key,
            "S3_BUCKET": self.options.bucket,
            "S3_REGION": self.s3.region,
            "S3_SECURE": "false",
        }

    def web_env(self) -> dict[str, str]:
        assert self.access is not None
        return {**self._base_env(), **self._spiris_env(), "KUBECONFIG": self.access.kubeconfig("web")}

    def operator_env(self) -> dict[str, str]:
        options = self.options
        assert self.access is not None
        return {
            **self._base_env(),
            **self._spiris_env(),
            **self.store_env(),
            "KUBECONFIG": self.access.kubeconfig("operator"),
            "SPIRIS_SYNC_SERVICE_ACCOUNT": self.access.service_accounts["sync"],
            "SPIRIS_WATCH_NAMESPACES": options.namespace,
            "SPIRIS_MAX_CONCURRENT_JOBS": str(options.max_concurrent_jobs),
            "SPIRIS_OPERATOR_RECONCILE_INTERVAL": str(options.reconcile_interval),
            "SPIRIS_SYNC_RETRY_BASE_SECONDS": "5",
            "SPIRIS_SYNC_SCHEDULE_JITTER": str(options.schedule_jitter),
            "SPIRIS_SYNC_IMAGE": "spiris-operator:local",
            # A pod binds all interfaces; on a developer's machine the probes stay on loopback.
            "SPIRIS_OPERATOR_BIND_ADDRESS": "127.0.0.1",
        }

    # --- preparing the cluster as an installer would

    def _install_namespace_secrets(self) -> None:
        assert self.kube is not None and self.postgres is not None and self.s3 is not None
        namespace = self.options.namespace

        def secret(name: str, data: dict[str, str]) -> dict[str, Any]:
            return {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": namespace},
                "type": "Opaque",
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
            }

        for body in (
            secret("spiris-database", {"database-url": self.postgres.dsns.worker}),
            secret("spiris-s3", {"access-key": self.s3.access_key, "secret-key": self.s3.secret_key}),
        ):
            self.kube.json("POST", f"/api/v1/namespaces/{namespace}/secrets", body)

    def _migrate(self) -> None:
        assert self.postgres is not None
        result = subprocess.run(
            [str(BIN / "spiris-sync"), "migrate"],
            # The owner role: the only one allowed DDL (the chart gives its init container the same).
            env={**self._base_env(), **self.store_env(), "DATABASE_URL": self.postgres.dsn},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceStartError(f"spiris-sync migrate failed: {result.stderr.strip()[-500:]}")

    def _spawn(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str],
        ready: Callable[[], bool],
        timeout: float = 30.0,
    ) -> None:
        log_path = self.work_dir / f"{name}.log"
        proc = _Process(name=name, log_path=log_path, process=start_process(argv, env=env, log_path=log_path),
                        argv=argv, env=env, ready=ready, timeout=timeout)
        self._processes.append(proc)
        wait_until_ready(ready, timeout=timeout, what=name, process=proc.process)

    def kill_process(self, name: str) -> int:
        """SIGKILL one of the stack's own processes (`sandbox`, `web`, `operator`) and its process group, as
        a crash; returns the killed PID. `restart_process` starts it again."""
        proc = self._process(name)
        pid = proc.process.pid
        kill_group(proc.process)
        return pid

    def restart_process(self, name: str) -> int:
        """Start `name` again with the same command, environment and ports (killing it first if it still
        runs) and wait until it is ready; returns the new PID. Its log continues in the same file."""
        proc = self._process(name)
        kill_group(proc.process)
        proc.process = start_process(proc.argv, env=proc.env, log_path=proc.log_path)
        wait_until_ready(proc.ready, timeout=proc.timeout, what=name, process=proc.process)
        return proc.process.pid

    def _process(self, name: str) -> _Process:
        for proc in self._processes:
            if proc.name == name:
                return proc
        raise KeyError(f"the stack runs no process {name!r}")

    def pids(self) -> dict[str, int]:
        """PIDs of the processes this stack started (for the run banner and leak checks)."""
        found = {p.name: p.process.pid for p in self._processes}
        if self.postgres is not None and self.postgres.pid is not None:
            found["postgres"] = self.postgres.pid
        if self.s3 is not None and self.s3.pid is not None:
            found["s3"] = self.s3.pid
        if self.kube is not None:
            found.update(self.kube.plane.pids())
        return found

    # --- the sandbox's seeded truth and the Kubernetes objects of the flow

    def sandbox_json(self, path: str) -> Any:
        response = httpx.get(f"{self.sandbox_url}{path}", timeout=30)
        response.raise_for_status()
        return response.json()

    def sandbox_post(self, path: str, body: dict[str, Any]) -> Any:
        response = httpx.post(f"{self.sandbox_url}{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def apply_connection(
        self, *, company_number: int | None = None, name: str | None = None
    ) -> dict[str, Any]:
        """Create the example SpirisConnection for the sandbox company this run connects (or for
        `company_number`, named `name`: the soak test connects several)."""
        assert self.kube is not None
        options = self.options
        company = self.sandbox_json(f"/_sandbox/companies/{company_number or options.company}")
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "SpirisConnection",
            "metadata": {"name": name or options.connection_name, "namespace": options.namespace},
            "spec": {
                "displayName": company.get("name") or "Demo company",
                "expectedCorporateIdentityNumber": company["org_number"],
                "sync": {"latestFiscalYears": options.latest_fiscal_years, "schedule": options.schedule},
                "deletionPolicy": "Retain",
            },
        }
        return self.kube.json(
            "POST", f"/apis/{GROUP}/{VERSION}/namespaces/{options.namespace}/spirisconnections", body
        )

    def get_object(self, plural: str, name: str) -> dict[str, Any] | None:
        assert self.kube is not None
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{self.options.namespace}/{plural}/{name}"
        return self.kube.rest.get(path)

    def list_objects(
        self, plural: str, *, group: str = GROUP, version: str = VERSION
    ) -> list[dict[str, Any]]:
        assert self.kube is not None
        prefix = "/api/v1" if group == "" else f"/apis/{group}/{version}"
        listed = self.kube.json("GET", f"{prefix}/namespaces/{self.options.namespace}/{plural}")
        return list(listed.get("items") or [])

    def wait_for(self, check: Callable[[], T | None], *, timeout: float, what: str,
                 interval: float = 0.5) -> T:
        """Poll `check` until it is truthy; a stopped component fails fast with its log's tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self._processes:
                if proc.process.poll() is not None:
                    tail = log_tail(proc.log_path, chars=1500)
                    raise ServiceStartError(f"{proc.name} exited while waiting for {what}:\n{tail}")
            value = check()
            if value:
                return value
            time.sleep(interval)
        raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
