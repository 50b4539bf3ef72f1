"""Fixtures of the web component's tests: the real app on uvicorn, the sandbox, the emulator and Chromium.

The web app is served by uvicorn in a thread on a free 127.0.0.1 port (stopped at session end), configured
like production through `WebSettings` but pointing at the Spiris sandbox (interactive login, company picker
and consent) and at the Kubernetes API emulator through its kubeconfig. SpirisConnections are created
directly in the emulator with a consent link issued by `spiris_connection.consent_link`; the operator does
not run. Every log line of the session is captured as JSON so tests can prove no token or code leaks.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from spiris_connection import consent_link
from spiris_connection.token_secret import secret_name
from spiris_localstack.chart_rbac import ChartAccess, install_chart_rbac
from spiris_localstack.consent_browser import CHROMIUM, CHROMIUM_ARGS
from spiris_localstack.kube_cluster import LocalKube
from spiris_localstack.processes import free_port
from spiris_sandbox.seed import generate_user_data
from spiris_sandbox.server import SandboxServer
from spiris_web.app import create_app
from spiris_web.logging_json import JsonFormatter
from spiris_web.settings import WebSettings
from testkit.browser import chromium
from testkit.paths import CHART, CHART_VALUES
from testkit.sandbox import sandbox_server
from testkit.sandbox_control import SandboxControl
from testkit.waiting import wait_for

SIGNING_KEY = "web-test-signing-key-0123456789abcdef"
SANDBOX_SEED = 11
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
CAPTURED_LOGGERS = ("spiris_web", "spiris_client", "httpx", "httpcore", "uvicorn", "kubernetes", "urllib3")
GROUP, VERSION, PLURAL = "spiris.senseworks.io", "v1alpha1", "spirisconnections"


class LogCapture(logging.Handler):
    """Keeps every formatted log line of the session that reaches the root logger."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []
        self._lock_lines = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        with self._lock_lines:
            self.lines.append(line)

    def text(self) -> str:
        with self._lock_lines:
            return "\n".join(self.lines)


@pytest.fixture(scope="session")
def log_capture() -> Iterator[LogCapture]:
    handler = LogCapture()
    root = logging.getLogger()
    root.addHandler(handler)
    # Everything the web process logs or its libraries log about requests, at the most talkative level.
    loggers = [logging.getLogger(name) for name in CAPTURED_LOGGERS]
    previous = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    for logger, level in zip(loggers, previous, strict=True):
        logger.setLevel(level)


@pytest.fixture(scope="session")
def web_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def sandbox(web_port: int) -> Iterator[SandboxServer]:
    with sandbox_server(
        seed=SANDBOX_SEED,
        redirect_uris=(f"http://127.0.0.1:{web_port}/oauth/callback",),
        vouchers_per_year=5,
        fiscal_years=(2025,),
    ) as server:
        yield server


@pytest.fixture(scope="session")
def sandbox_control(sandbox: SandboxServer) -> Iterator[SandboxControl]:
    """The shared sandbox's control API (a test that switches something on switches it back)."""
    with SandboxControl(sandbox.url) as control:
        yield control


@dataclass(frozen=True)
class SeededCompany:
    number: int
    name: str
    org_number: str


@pytest.fixture(scope="session")
def companies() -> dict[str, SeededCompany]:
    """The sandbox's seeded companies by role: full, second, third, readonly, no_module, inactive."""
    world = generate_user_data(SANDBOX_SEED, vouchers_per_year=5, fiscal_years=(2025,))
    roles = {1: "full", 2: "second", 3: "third", 4: "readonly", 5: "no_module", 6: "inactive"}
    return {
        role: SeededCompany(number=n, name=world.profiles[n].name, org_number=world.profiles[n].org_number)
        for n, role in roles.items()
    }


@dataclass
class WebUnderTest:
    """The running web component plus handles on the emulator it writes to."""

    url: str
    settings: WebSettings
    api_client: k8s.ApiClient
    custom: k8s.CustomObjectsApi = field(init=False)
    core: k8s.CoreV1Api = field(init=False)

    def __post_init__(self) -> None:
        self.custom = k8s.CustomObjectsApi(self.api_client)
        self.core = k8s.CoreV1Api(self.api_client)

    def secret(self, namespace: str, connection: str) -> Any:
        try:
            return self.core.read_namespaced_secret(secret_name(connection), namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def token_json(self, namespace: str, connection: str) -> dict[str, Any]:
        secret = self.secret(namespace, connection)
        return dict(json.loads(base64.b64decode(secret.data["token.json"])))

    def connection(self, namespace: str, name: str) -> dict[str, Any]:
        return dict(self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name))

    def set_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, PLURAL, name, {"status": status}
        )

    def mark_ready(self, namespace: str, name: str) -> None:
        """Play the operator turning the connection Ready after it verified the token."""
        status = self.connection(namespace, name).get("status") or {}
        self.set_status(namespace, name, {**status, "phase": "Connected", "conditions": [
            {"type": "Ready", "status": "True", "reason": "Connected", "message": "token verified",
             "lastTransitionTime": "2026-01-01T00:00:00Z"},
        ]})

    def issue_link(
        self, namespace: str, name: str, *, uid: str | None = None, ttl: timedelta = timedelta(days=7),
        now: datetime | None = None, publish: bool = True,
    ) -> consent_link.ConsentLink:
        """Issue a link for the connection (as the operator would) and publish it in its status."""
        uid = uid or self.connection(namespace, name)["metadata"]["uid"]
        link = consent_link.issue(
            signing_key=SIGNING_KEY, public_url=self.url, uid=uid, namespace=namespace, name=name, ttl=ttl,
            now=now,
        )
        if publish:
            self.set_status(namespace, name, {
                "phase": "PendingConsent",
                "consentUrl": link.url,
                "consentExpiresAt": link.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            })
        return link

    def create_connection(
        self, namespace: str, *, display_name: str, orgnr: str | None, name: str | None = None,
        allow_any_company: bool = False,
    ) -> tuple[str, consent_link.ConsentLink]:
        """A connection bound to ``orgnr`` (None: bound to nothing, unless ``allow_any_company``)."""
        name = name or f"conn-{uuid.uuid4().hex[:8]}"
        spec: dict[str, Any] = {"displayName": display_name}
        if orgnr is not None:
            spec["expectedCorporateIdentityNumber"] = orgnr
        if allow_any_company:
            spec["allowAnyCompany"] = True
        self.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "SpirisConnection",
            "metadata": {"name": name},
            "spec": spec,
        })
        return name, self.issue_link(namespace, name)


@pytest.fixture(scope="session")
def web_access(kube_cluster: LocalKube, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartAccess]:
    """The chart's cluster-wide RBAC (no watchNamespaces) for a release in its own namespace: the web under
    test authenticates as the chart's web ServiceAccount, never as admin."""
    namespace = "spiris-web-tests"
    kube_cluster.create_namespace(namespace)
    access = install_chart_rbac(
        rest=kube_cluster.rest, chart=CHART, values=CHART_VALUES, release="webtests", namespace=namespace,
        out_dir=tmp_path_factory.mktemp("web-rbac"), components=("web",),
    )
    yield access
    access.remove_cluster_objects(kube_cluster.rest)


@pytest.fixture(scope="session")
def web(
    kube_cluster: LocalKube, web_access: ChartAccess, sandbox: SandboxServer, web_port: int,
    log_capture: LogCapture,
) -> Iterator[WebUnderTest]:
    config = sandbox.config
    settings = WebSettings(
        public_url=f"http://127.0.0.1:{web_port}",
        client_id=config.client_id,
        client_secret=config.client_secret,
        link_signing_key=SIGNING_KEY,
        identity_url=sandbox.url,
        api_url=f"{sandbox.url}/v2",
        sandbox=True,
        kubeconfig=web_access.kubeconfig("web"),
    )
    server = uvicorn.Server(uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=web_port, log_config=None, access_log=False,
        lifespan="off",
    ))
    thread = threading.Thread(target=server.run, name="spiris-web-under-test", daemon=True)
    thread.start()
    wait_for(lambda: server.started or not thread.is_alive(), timeout=15, interval=0.02, what="the web")
    if not server.started:
        raise RuntimeError("the web component did not start")
    try:
        yield WebUnderTest(
            url=settings.public_url,
            settings=settings,
            api_client=k8s_config.new_client_from_config(config_file=kube_cluster.admin_kubeconfig),
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    with chromium(CHROMIUM, CHROMIUM_ARGS) as instance:
        yield instance


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page, desktop size."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15000)
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
