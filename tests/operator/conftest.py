"""Fixtures for the operator's end-to-end tests: a real ``spiris-operator`` process against the Kubernetes API
emulator, the Spiris sandbox, and tokens obtained through the sandbox's real consent flow.

The operator runs as a subprocess (its own event loop, its own ``KUBECONFIG``), started on free ports, its
output captured to a file that the tests scan for tokens, and stopped by PID even when a test fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from spiris_client.oauth import SpirisOAuth, TokenSet
from spiris_connection import token_secret
from spiris_localstack.kube_server import KubeServer
from spiris_localstack.processes import free_port
from spiris_operator.kube_api import KubeApi, connect

REDIRECT_URI = "http://127.0.0.1:8080/oauth/callback"
CLIENT_ID = "operator-tests"
CLIENT_SECRET = "operator-tests-secret"
SIGNING_KEY = "operator-tests-link-signing-key-0123456789"
BIN = Path(sys.executable).parent


def wait_for(
    check: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.2, what: str = "condition"
) -> Any:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


class OperatorProcess:
    """One ``spiris-operator`` subprocess; ``output`` is everything it logged (across restarts)."""

    def __init__(self, *, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> OperatorProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "spiris-operator")], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def kill(self) -> None:
        """An abrupt crash (SIGKILL): no cleanup, like a node failure."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def kube(kube_server: KubeServer) -> Iterator[KubeApi]:
    api = connect(kube_server.kubeconfig)
    yield api
    api.close()


@pytest.fixture
def operator_env(kube_server: KubeServer, kube_namespace: str) -> dict[str, str]:
    """The environment of an operator watching only the test's namespace, with fast timers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPIRIS_", "S3_", "DATABASE_URL"))}
    env.update(
        KUBECONFIG=kube_server.kubeconfig,
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        SPIRIS_WATCH_NAMESPACES=kube_namespace,
        SPIRIS_CLIENT_ID=CLIENT_ID,
        SPIRIS_CLIENT_SECRET=CLIENT_SECRET,
        SPIRIS_REDIRECT_URI=REDIRECT_URI,
        SPIRIS_WEB_PUBLIC_URL="http://127.0.0.1:8080",
        SPIRIS_LINK_SIGNING_KEY=SIGNING_KEY,
        SPIRIS_OPERATOR_RECONCILE_INTERVAL="0.5",
        SPIRIS_OPERATOR_HEALTH_PORT=str(free_port()),
        SPIRIS_OPERATOR_METRICS_PORT=str(free_port()),
        SPIRIS_SYNC_RETRY_BASE_SECONDS="1",
    )
    return env


@pytest.fixture
def start_operator(operator_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., OperatorProcess]]:
    """Start the operator (extra env as keyword arguments); every process is stopped at teardown."""
    started: list[OperatorProcess] = []

    def start(**extra: str) -> OperatorProcess:
        process = OperatorProcess(
            env={**operator_env, **extra}, log_path=tmp_path / f"operator-{len(started)}.log"
        )
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


def spiris_oauth(sandbox_url: str) -> SpirisOAuth:
    return SpirisOAuth(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, identity_url=sandbox_url, sandbox=True)


def consent_token(sandbox_url: str) -> TokenSet:
    """Walk the sandbox's consent flow (auto-approving) and exchange the code, as the web component does."""
    oauth = spiris_oauth(sandbox_url)
    url = oauth.authorization_url(state=uuid.uuid4().hex, code_verifier=None)
    response = httpx.get(url, follow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), response.text[:200]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(response.headers["location"]).query)
    return oauth.exchange_code(query["code"][0])


def create_connection(
    kube: KubeApi, namespace: str, name: str, spec: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = {
        "apiVersion": "spiris.senseworks.io/v1alpha1",
        "kind": "SpirisConnection",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec or {},
    }
    kube.custom.create_namespaced_custom_object(
        "spiris.senseworks.io", "v1alpha1", namespace, "spirisconnections", body
    )
    created = kube.get_custom("spirisconnections", namespace, name)
    assert created is not None
    return created


def store_consent(kube: KubeApi, connection: dict[str, Any], token: TokenSet) -> None:
    """Write the token Secret the way the web component does after a consent."""
    token_secret.write_consented_token(kube.core, connection=connection, token=token)
