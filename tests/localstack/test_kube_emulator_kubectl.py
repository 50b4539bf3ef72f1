"""The emulator through /usr/bin/kubectl: get -l, -o yaml, apply, patch (and status), wait, delete --wait."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest
import yaml
from spiris_localstack.kube_server import KubeServer

from .kube_testing import GROUP, PLURAL, VERSION, ensure_widget_crd, widget

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def kubectl_env(kube_server: KubeServer) -> dict[str, str]:
    ensure_widget_crd(kube_server)
    return {**os.environ, "KUBECONFIG": kube_server.kubeconfig}


def kubectl(env: dict[str, str], *args: str, stdin: str | None = None, check: bool = True,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["kubectl", *args], env=env, input=stdin, capture_output=True, text=True,
                            timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result


def apply(env: dict[str, str], namespace: str, manifest: dict[str, object]) -> None:
    kubectl(env, "-n", namespace, "apply", "--validate=false", "-f", "-", stdin=yaml.safe_dump(manifest))


def test_get_with_label_selector_and_yaml(kubectl_env: dict[str, str], kube_namespace: str) -> None:
    apply(kubectl_env, kube_namespace, widget("alpha", labels={"tier": "web"}))
    apply(kubectl_env, kube_namespace, widget("beta", labels={"tier": "db"}))
    names = kubectl(kubectl_env, "-n", kube_namespace, "get", "widgets", "-l", "tier=web",
                    "-o", "name").stdout
    assert names.split() == [f"widget.{GROUP}/alpha"]
    names = kubectl(kubectl_env, "-n", kube_namespace, "get", "wdg", "-l", "tier notin (web)",
                    "-o", "name").stdout
    assert names.split() == [f"widget.{GROUP}/beta"]
    document = yaml.safe_load(kubectl(kubectl_env, "-n", kube_namespace, "get", "widget", "alpha",
                                      "-o", "yaml").stdout)
    assert document["kind"] == "Widget" and document["metadata"]["uid"]
    assert document["spec"] == {"size": 1}


def test_core_resources_and_namespaces(kubectl_env: dict[str, str], kube_namespace: str) -> None:
    namespaces = kubectl(kubectl_env, "get", "namespaces", "-o", "name").stdout.split()
    assert f"namespace/{kube_namespace}" in namespaces
    secret = kubectl(kubectl_env, "-n", kube_namespace, "create", "secret", "generic", "tok",
                     "--from-literal=token.json={}", "--dry-run=client", "-o", "yaml").stdout
    kubectl(kubectl_env, "-n", kube_namespace, "apply", "--validate=false", "-f", "-", stdin=secret)
    listed = json.loads(kubectl(kubectl_env, "-n", kube_namespace, "get", "secrets", "-o", "json").stdout)
    assert [item["metadata"]["name"] for item in listed["items"]] == ["tok"]
    # Applying again patches the live object (kubectl computes the patch from last-applied-configuration).
    updated = secret.replace("token.json: e30=", "token.json: e30K")
    assert updated != secret
    kubectl(kubectl_env, "-n", kube_namespace, "apply", "--validate=false", "-f", "-", stdin=updated)
    data = kubectl(kubectl_env, "-n", kube_namespace, "get", "secret", "tok",
                   "-o", "jsonpath={.data.token\\.json}").stdout
    assert data == "e30K"


def test_patch_main_and_status(kubectl_env: dict[str, str], kube_namespace: str) -> None:
    apply(kubectl_env, kube_namespace, widget("w"))
    kubectl(kubectl_env, "-n", kube_namespace, "patch", "widget", "w", "--type=merge",
            "-p", '{"spec": {"size": 2}, "status": {"phase": "Ignored"}}')
    kubectl(kubectl_env, "-n", kube_namespace, "patch", "widget", "w", "--subresource=status",
            "--type=merge", "-p", '{"status": {"phase": "Ready"}}')
    kubectl(kubectl_env, "-n", kube_namespace, "patch", "widget", "w", "--type=json",
            "-p", '[{"op": "replace", "path": "/spec/size", "value": 3}]')
    got = json.loads(kubectl(kubectl_env, "-n", kube_namespace, "get", "widget", "w", "-o", "json").stdout)
    assert got["spec"] == {"size": 3}
    assert got["status"] == {"phase": "Ready"}
    assert got["metadata"]["generation"] == 3
    failed = kubectl(kubectl_env, "-n", kube_namespace, "patch", "widget", "w", "--type=json",
                     "-p", '[{"op": "test", "path": "/spec/size", "value": 99}]', check=False)
    assert failed.returncode != 0
    assert "The request is invalid: the test operation of the JSON patch failed" in failed.stderr


def test_wait_for_jsonpath(kube_server: KubeServer, kubectl_env: dict[str, str], kube_namespace: str) -> None:
    apply(kubectl_env, kube_namespace, widget("w"))

    def mark_ready_later() -> None:
        time.sleep(0.7)
        kube_server.request(
            "PATCH", f"/apis/{GROUP}/{VERSION}/namespaces/{kube_namespace}/{PLURAL}/w/status",
            json={"status": {"phase": "Ready"}}, headers={"Content-Type": "application/merge-patch+json"})

    marker = threading.Thread(target=mark_ready_later)
    marker.start()
    waited = kubectl(kubectl_env, "-n", kube_namespace, "wait", "widget/w",
                     "--for=jsonpath={.status.phase}=Ready", "--timeout=20s")
    marker.join()
    assert "condition met" in waited.stdout


def test_delete_wait_with_finalizer(kube_server: KubeServer, kubectl_env: dict[str, str],
                                    kube_namespace: str) -> None:
    apply(kubectl_env, kube_namespace, widget("w", finalizers=["test/hold"]))

    def release_later() -> None:
        time.sleep(1.0)
        kube_server.request(
            "PATCH", f"/apis/{GROUP}/{VERSION}/namespaces/{kube_namespace}/{PLURAL}/w",
            json={"metadata": {"finalizers": None}}, headers={"Content-Type": "application/merge-patch+json"})

    releaser = threading.Thread(target=release_later)
    releaser.start()
    started = time.monotonic()
    kubectl(kubectl_env, "-n", kube_namespace, "delete", "widget", "w", "--wait", "--timeout=20s")
    releaser.join()
    assert time.monotonic() - started >= 0.9  # kubectl really waited for the finalizer to go
    gone = kubectl(kubectl_env, "-n", kube_namespace, "get", "widget", "w", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def test_get_prints_the_crd_printer_columns(kube_server: KubeServer, kubectl_env: dict[str, str],
                                            kube_namespace: str) -> None:
    group_version = "spiris.senseworks.io/v1alpha1"
    apply(kubectl_env, kube_namespace, {"apiVersion": group_version, "kind": "SpirisConnection",
                                        "metadata": {"name": "acme"}, "spec": {"displayName": "Acme"}})
    kube_server.request(
        "PATCH", f"/apis/{group_version}/namespaces/{kube_namespace}/spirisconnections/acme/status",
        json={"status": {"phase": "Ready", "company": {"name": "Acme AB", "corporateIdentityNumber": "5566"},
                         "conditions": [{"type": "Synced", "status": "False"},
                                        {"type": "Ready", "status": "True"}]}},
        headers={"Content-Type": "application/merge-patch+json"})
    header, row = kubectl(kubectl_env, "-n", kube_namespace, "get", "spc").stdout.splitlines()
    assert header.split() == ["NAME", "COMPANY", "ORG.NR", "READY", "PHASE", "AGE"]
    assert row.split()[:6] == ["acme", "Acme", "AB", "5566", "True", "Ready"]
    everywhere = kubectl(kubectl_env, "get", "spirisconnections", "-A").stdout
    assert everywhere.split()[0] == "NAMESPACE" and f"{kube_namespace}   acme" in everywhere
