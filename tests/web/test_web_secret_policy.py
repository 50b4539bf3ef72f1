"""The chart's admission policy on the web's Secret writes, on the real API server.

A cluster-wide install (no watchNamespaces) binds the web's Role with a ClusterRoleBinding: RBAC lets the
internet-facing web create and update every Secret in the cluster, because RBAC cannot limit by name. The
chart's ValidatingAdmissionPolicy narrows that to connections' token Secrets; this installs the chart's RBAC
and the policy exactly as rendered and writes as the web's ServiceAccount.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from spiris_client.oauth import TokenSet
from spiris_connection import token_secret
from spiris_localstack.chart_rbac import install_chart_rbac
from spiris_localstack.kube_cluster import LocalKube
from testkit.paths import CHART, CHART_VALUES
from testkit.waiting import wait_for

pytestmark = pytest.mark.timeout(240)

GROUP, VERSION, PLURAL = "spiris.senseworks.io", "v1alpha1", "spirisconnections"
# The policy takes effect once the API server's informers have it; a few seconds at most.
POLICY_ACTIVE_WITHIN = 30.0


def _token() -> TokenSet:
    return TokenSet(access_token="access-abcdef", refresh_token="refresh-abcdef", token_type="Bearer",
                    expires_in=3600, expires_at=int(time.time()) + 3600)


def _plain_secret(name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, **extra},
            "type": "Opaque", "stringData": {"k": "v"}}


def _refused(call: Any) -> ApiException:
    with pytest.raises(ApiException) as caught:
        call()
    assert caught.value.status in (403, 422), caught.value
    return caught.value


class Cluster:
    """Admin and web clients of a cluster-wide release in its own namespace, and a client namespace."""

    def __init__(self, kube: LocalKube, release_ns: str, client_ns: str, web_kubeconfig: str) -> None:
        self.client_ns = client_ns
        admin = k8s_config.new_client_from_config(config_file=kube.admin_kubeconfig)
        # Any: the bodies here are plain manifests, which the client accepts as well as its models.
        self.admin: Any = k8s.CoreV1Api(admin)
        self.custom: Any = k8s.CustomObjectsApi(admin)
        self.web: Any = k8s.CoreV1Api(k8s_config.new_client_from_config(config_file=web_kubeconfig))

    def connection(self) -> dict[str, Any]:
        name = f"conn-{uuid.uuid4().hex[:8]}"
        created: dict[str, Any] = self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.client_ns, PLURAL,
            {"apiVersion": f"{GROUP}/{VERSION}", "kind": "SpirisConnection", "metadata": {"name": name},
             "spec": {"displayName": "Policy test AB", "allowAnyCompany": True}})
        return created


@pytest.fixture
def cluster(kube_cluster: LocalKube, kube_namespace: str, tmp_path: Any) -> Iterator[Cluster]:
    client_ns = f"c-{uuid.uuid4().hex[:10]}"
    kube_cluster.create_namespace(client_ns)
    access = install_chart_rbac(
        rest=kube_cluster.rest, chart=CHART, values=CHART_VALUES, release=f"p{uuid.uuid4().hex[:8]}",
        namespace=kube_namespace, out_dir=tmp_path / "rbac", components=("web",),
    )
    try:
        cluster = Cluster(kube_cluster, kube_namespace, client_ns, access.kubeconfig("web"))
        _wait_for_policy(cluster)
        yield cluster
    finally:
        access.remove_cluster_objects(kube_cluster.rest)
        kube_cluster.rest.call("DELETE", f"/api/v1/namespaces/{client_ns}", allow=(404,))


def _policy_refuses(cluster: Cluster) -> bool:
    """Whether a dry-run write of a foreign Secret by the web is refused (admission runs on dry runs too)."""
    try:
        cluster.web.create_namespaced_secret(cluster.client_ns, _plain_secret("probe"), dry_run="All")
    except ApiException as exc:
        if exc.status == 403 and "token Secret" in str(exc.body):
            return True
        raise
    return False


def _wait_for_policy(cluster: Cluster) -> None:
    wait_for(
        lambda: _policy_refuses(cluster),
        timeout=POLICY_ACTIVE_WITHIN,
        interval=0.5,
        what="the chart's admission policy to take effect",
    )


def test_web_writes_a_connections_token_secret_and_replaces_it(cluster: Cluster) -> None:
    connection = cluster.connection()
    manifest = token_secret.build_manifest(connection=connection, token=_token())
    created = cluster.web.create_namespaced_secret(cluster.client_ns, manifest)
    # Re-consent: read it and replace it at that version (what the web's consent does).
    current = cluster.web.read_namespaced_secret(created.metadata.name, cluster.client_ns)
    replacement = token_secret.build_manifest(connection=connection, token=_token(),
                                              resource_version=current.metadata.resource_version)
    cluster.web.replace_namespaced_secret(created.metadata.name, cluster.client_ns, replacement)


@pytest.mark.allow_refusals
def test_web_cannot_write_any_other_secret(cluster: Cluster) -> None:
    connection = cluster.connection()
    name = connection["metadata"]["name"]
    good = token_secret.build_manifest(connection=connection, token=_token())
    ns = cluster.client_ns
    # A Secret that is not a token Secret, in a client namespace and in kube-system.
    for namespace in (ns, "kube-system"):
        _refused(lambda namespace=namespace: cluster.web.create_namespaced_secret(
            namespace, _plain_secret("db-credentials")))
    # A token Secret's name without its label, a label naming another connection, no owner, another type.
    unlabelled = {**good, "metadata": {**good["metadata"], "labels": {}}}
    mislabelled = {**good, "metadata": {**good["metadata"],
                                        "labels": {token_secret.CONNECTION_LABEL: "other"}}}
    unowned = {**good, "metadata": {k: v for k, v in good["metadata"].items() if k != "ownerReferences"}}
    # A service-account-token Secret would have the token controller mint a token for another account.
    account = {"kubernetes.io/service-account.name": "default"}
    minted = {**good, "type": "kubernetes.io/service-account-token",
              "metadata": {**good["metadata"], "annotations": account}}
    for body in (unlabelled, mislabelled, unowned, minted):
        message = _refused(lambda body=body: cluster.web.create_namespaced_secret(ns, body))
        assert "web component" in str(message.body)  # the policy's sentence, not RBAC
    # Replacing an existing Secret that is not this connection's token Secret, even relabelled as one.
    cluster.admin.create_namespaced_secret(ns, _plain_secret("app-config"))
    cluster.admin.create_namespaced_secret(ns, _plain_secret(token_secret.secret_name(name)))
    for existing in ("app-config", token_secret.secret_name(name)):
        current = cluster.admin.read_namespaced_secret(existing, ns)
        if existing == "app-config":
            body = _plain_secret(existing, resourceVersion=current.metadata.resource_version)
        else:
            body = token_secret.build_manifest(connection=connection, token=_token(),
                                               resource_version=current.metadata.resource_version)
        _refused(lambda existing=existing, body=body:
                 cluster.web.replace_namespaced_secret(existing, ns, body))
    # RBAC: no listing, watching or deleting Secrets at all.
    _refused(lambda: cluster.web.list_namespaced_secret(ns))
    _refused(lambda: cluster.web.list_secret_for_all_namespaces())
    _refused(lambda: cluster.web.delete_namespaced_secret("app-config", ns))
    # The policy is the web's only: an administrator's writes are untouched.
    cluster.admin.create_namespaced_secret(ns, _plain_secret("admin-made"))
