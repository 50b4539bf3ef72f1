"""A tiny test-only Kopf operator run with KopfRunner against the emulator: create, status, finalizer, delete.

This is the proof that the emulator's semantics are enough for Kopf 1.45: its finalizer JSON patch carries a
`test` on the resourceVersion, it writes status through the subresource and it watches with JSON streams.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kopf
import pytest
import yaml
from kopf.testing import KopfRunner
from spiris_localstack.kube_server import KubeServer

from .kube_testing import GROUP, PLURAL, VERSION, ensure_widget_crd, widget

pytestmark = pytest.mark.timeout(90)
FINALIZER = "test.spiris.local/tiny-operator"


def build_registry(kubeconfig: str,
                   deleted: list[str]) -> tuple[kopf.OperatorRegistry, kopf.OperatorSettings]:
    """A private registry, so these handlers never leak into other tests' operators."""
    registry = kopf.OperatorRegistry()
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = FINALIZER
    settings.watching.server_timeout = 30

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        # Explicit on purpose: the kubernetes client read $KUBECONFIG at import, before this file existed.
        config = yaml.safe_load(Path(kubeconfig).read_text())
        return kopf.ConnectionInfo(server=config["clusters"][0]["cluster"]["server"],
                                   token=config["users"][0]["user"]["token"], insecure=True)

    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    def created(spec: dict[str, Any], patch: kopf.Patch, **_: Any) -> None:
        patch.status["phase"] = "Created"
        patch.status["observedSize"] = spec.get("size")

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)
    def deleting(name: str, **_: Any) -> None:
        deleted.append(name)

    return registry, settings


def wait_until(check: Callable[[], bool], *, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.mark.parametrize("scope", ["namespaced", "cluster-wide"])
def test_kopf_handles_create_status_finalizer_and_delete(kube_server: KubeServer, kube_namespace: str,
                                                         scope: str) -> None:
    ensure_widget_crd(kube_server)
    deleted: list[str] = []
    registry, settings = build_registry(kube_server.kubeconfig, deleted)
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{kube_namespace}/{PLURAL}"

    def current() -> dict[str, Any] | None:
        listing = kube_server.request("GET", path)
        return next(iter(listing["items"]), None)

    scope_args = ["--namespace", kube_namespace] if scope == "namespaced" else ["--all-namespaces"]
    with KopfRunner(["run", "--standalone", *scope_args], registry=registry,
                    settings=settings, timeout=60) as runner:
        kube_server.request("POST", path, json=widget("gadget", spec={"size": 4}))
        wait_until(lambda: (current() or {}).get("status", {}).get("phase") == "Created")
        obj = current()
        assert obj is not None
        assert obj["status"]["observedSize"] == 4
        assert FINALIZER in obj["metadata"]["finalizers"]

        kube_server.request("DELETE", f"{path}/gadget")
        wait_until(lambda: current() is None)

    assert runner.exception is None
    assert runner.exit_code == 0
    assert deleted == ["gadget"]
    assert "created' succeeded" in runner.output
    assert "Creation is processed: 1 succeeded; 0 failed" in runner.output
    assert "Deletion is processed: 1 succeeded; 0 failed" in runner.output
    assert "[ERROR" not in runner.output and "Traceback" not in runner.output
