"""A tiny test-only Kopf operator run with KopfRunner against the real API server: create, status, finalizer,
delete — namespaced and cluster-wide. The handlers of the product are tested the same way, as a process."""

from __future__ import annotations

from functools import partial
from typing import Any

import kopf
import pytest
from kopf.testing import KopfRunner
from spiris_localstack.kube_cluster import LocalKube
from testkit.waiting import wait_for

pytestmark = pytest.mark.timeout(90)
GROUP, VERSION, PLURAL = "test.spiris.local", "v1", "widgets"
FINALIZER = "test.spiris.local/tiny-operator"
WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": PLURAL, "singular": "widget", "shortNames": ["wdg"]},
        "versions": [{
            "name": VERSION, "served": True, "storage": True, "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
        }],
    },
}


def build_registry(
    kube: LocalKube, deleted: list[str]
) -> tuple[kopf.OperatorRegistry, kopf.OperatorSettings]:
    """A private registry, so these handlers never leak into other tests' operators."""
    registry = kopf.OperatorRegistry()
    settings = kopf.OperatorSettings()
    settings.persistence.finalizer = FINALIZER
    settings.watching.server_timeout = 30
    credentials = kube.credentials

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        # Explicit on purpose: the kubernetes client read $KUBECONFIG at import, before the plane existed.
        return kopf.ConnectionInfo(server=credentials.server, ca_path=str(credentials.ca_file),
                                   certificate_path=str(credentials.cert_file),
                                   private_key_path=str(credentials.key_file))

    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    def created(spec: kopf.Spec, patch: kopf.Patch, **_: Any) -> None:
        patch.status["phase"] = "Created"
        patch.status["observedSize"] = spec.get("size")

    @kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)
    def deleting(name: str, **_: Any) -> None:
        deleted.append(name)

    return registry, settings


wait_until = partial(wait_for, timeout=20, interval=0.1)


@pytest.mark.parametrize("scope", ["namespaced", "cluster-wide"])
def test_kopf_handles_create_status_finalizer_and_delete(kube_cluster: LocalKube, kube_namespace: str,
                                                         scope: str) -> None:
    kube_cluster.plane.install_crds_documents([WIDGET_CRD])
    deleted: list[str] = []
    registry, settings = build_registry(kube_cluster, deleted)
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{kube_namespace}/{PLURAL}"

    def current() -> dict[str, Any] | None:
        return next(iter(kube_cluster.json("GET", path)["items"]), None)

    scope_args = ["--namespace", kube_namespace] if scope == "namespaced" else ["--all-namespaces"]
    with KopfRunner(["run", "--standalone", *scope_args], registry=registry,
                    settings=settings, timeout=60) as runner:
        kube_cluster.json("POST", path, {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget",
                                         "metadata": {"name": "gadget"}, "spec": {"size": 4}})
        wait_until(lambda: (current() or {}).get("status", {}).get("phase") == "Created")
        obj = current()
        assert obj is not None
        assert obj["status"]["observedSize"] == 4
        assert FINALIZER in obj["metadata"]["finalizers"]
        kube_cluster.json("DELETE", f"{path}/gadget")
        wait_until(lambda: current() is None)

    assert runner.exception is None
    assert runner.exit_code == 0
    assert deleted == ["gadget"]
    assert "Creation is processed: 1 succeeded; 0 failed" in runner.output
    assert "Deletion is processed: 1 succeeded; 0 failed" in runner.output
    assert "[ERROR" not in runner.output and "Traceback" not in runner.output
