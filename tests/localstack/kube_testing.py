"""Shared bits of the emulator tests: a test-only CRD (Widget) and kubernetes-client construction."""

from __future__ import annotations

from typing import Any

import kubernetes
from spiris_localstack.kube_server import KubeServer

GROUP = "test.spiris.local"
VERSION = "v1"
PLURAL = "widgets"

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


def api_client(server: KubeServer) -> kubernetes.client.ApiClient:
    """A client bound to this server's kubeconfig explicitly ($KUBECONFIG is read only at import)."""
    return kubernetes.config.new_client_from_config(config_file=server.kubeconfig)


def ensure_widget_crd(server: KubeServer) -> None:
    """Register the Widget CRD through the API (idempotent across the session)."""
    crds = server.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    if not any(item["metadata"]["name"] == WIDGET_CRD["metadata"]["name"] for item in crds["items"]):
        server.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=WIDGET_CRD)


def widget(name: str, *, spec: dict[str, Any] | None = None, labels: dict[str, str] | None = None,
           **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget",
            "metadata": {"name": name, "labels": labels or {}, **metadata}, "spec": spec or {"size": 1}}
