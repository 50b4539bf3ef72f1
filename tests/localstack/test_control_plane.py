"""The real control plane: version, the CRDs as the API server judges them, RBAC, admission and controllers.

Everything here is the API server's or the controller manager's own behaviour (nothing of ours answers), so
these tests pin what the rest of the suite relies on: CRDs are structural and Established, every invalid
example is refused by the server with a clear message, CEL rules run server-side, a ServiceAccount can do only
what its Roles allow, `blockOwnerDeletion` needs `update` on the owner's finalizers, and the garbage collector
cascades.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from spiris_localstack.kube_client import KubeCredentials, KubeRequestError, KubeRest
from spiris_localstack.kube_cluster import LocalKube
from testkit.paths import EXAMPLES
from testkit.waiting import wait_for

GROUP = "spiris.senseworks.io"
PLURALS = {"SpirisConnection": "spirisconnections", "FiscalYearSync": "fiscalyearsyncs"}


def _collection(kind: str, namespace: str) -> str:
    return f"/apis/{GROUP}/v1alpha1/namespaces/{namespace}/{PLURALS[kind]}"


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def _kubectl(kube: LocalKube, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(kube.kubectl), "--kubeconfig", kube.admin_kubeconfig, *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_server_and_kubectl_report_the_pinned_release(kube_cluster: LocalKube) -> None:
    version_file = Path(__file__).resolve().parents[2] / "dev" / "kubeplane" / "KUBERNETES_VERSION"
    pinned = version_file.read_text().strip()
    assert kube_cluster.plane.version == pinned
    result = _kubectl(kube_cluster, "version", "-o", "yaml")
    assert result.returncode == 0, result.stderr
    versions = yaml.safe_load(result.stdout)
    assert versions["serverVersion"]["gitVersion"] == pinned
    assert versions["clientVersion"]["gitVersion"] == pinned


def test_both_crds_are_established_and_listed_by_short_names(kube_cluster: LocalKube,
                                                              kube_namespace: str) -> None:
    for name in ("spirisconnections.spiris.senseworks.io", "fiscalyearsyncs.spiris.senseworks.io"):
        crd = kube_cluster.json("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions["Established"] == "True"
        assert conditions["NamesAccepted"] == "True"
        assert conditions.get("NonStructuralSchema", "False") != "True"
    result = _kubectl(kube_cluster, "-n", kube_namespace, "get", "spc,fys")
    assert result.returncode == 0, result.stderr
    assert "No resources found" in result.stderr


# What the server says for a malformed value: the CRDs' CEL rules carry a sentence with a good example where a
# bare `pattern` would print its regular expression.
SENTENCES = {
    "spc-bad-orgnr": "expectedCorporateIdentityNumber must be an organisationsnummer written NNNNNN-NNNN, "
    "e.g. 556677-8899",
    "spc-bad-ttl": "linkTTL must be a duration of whole numbers with the units d, h, m or s, e.g. 7d or 36h",
    "fys-bad-schedule": "schedule must be empty (run once), an interval such as 6h or 1d12h",
}


@pytest.mark.parametrize("path", sorted((EXAMPLES / "invalid").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_invalid_example_is_refused_by_the_api_server(kube_cluster: LocalKube, kube_namespace: str,
                                                            path: Path) -> None:
    document = _load(path)
    collection = _collection(document["kind"], kube_namespace)
    with pytest.raises(KubeRequestError) as refused:
        kube_cluster.rest.call("POST", collection, body=document, params={"fieldValidation": "Strict"})
    # 422 Invalid for schema and CEL rules; 400 for an unknown field under strict field validation.
    assert refused.value.status in (400, 422), refused.value.body
    message = refused.value.body
    assert "is invalid" in message or "unknown field" in message
    if path.stem in SENTENCES:
        assert SENTENCES[path.stem] in message and "should match" not in message
    assert kube_cluster.rest.get(f"{collection}/{document['metadata']['name']}") is None
    # And through kubectl, as a platform team would apply it: refused, with the server's own sentence.
    result = _kubectl(kube_cluster, "-n", kube_namespace, "apply", "-f", str(path))
    assert result.returncode != 0
    assert "invalid" in result.stderr or "unknown field" in result.stderr


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_is_accepted(kube_cluster: LocalKube, kube_namespace: str, path: Path) -> None:
    result = _kubectl(kube_cluster, "-n", kube_namespace, "apply", "-f", str(path))
    assert result.returncode == 0, result.stderr


def test_cel_rules_run_on_the_server(kube_cluster: LocalKube, kube_namespace: str) -> None:
    body = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "FiscalYearSync", "metadata": {"name": "both"},
            "spec": {"connectionRef": {"name": "acme"}, "fiscalYear": 2025, "startDate": "2025-01-01"}}
    with pytest.raises(KubeRequestError) as refused:
        kube_cluster.rest.call("POST", _collection("FiscalYearSync", kube_namespace), body=body)
    assert refused.value.status == 422
    assert "exactly one of fiscalYear and startDate" in refused.value.body


def _account_client(kube: LocalKube, namespace: str, name: str) -> KubeRest:
    kube.json("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts",
              {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
    token = kube.rest.service_account_token(namespace, name)
    return KubeRest(KubeCredentials(server=kube.plane.server, ca_file=kube.plane.ca_file, token=token))


def _grant(kube: LocalKube, namespace: str, account: str, rules: list[dict[str, Any]]) -> None:
    name = f"{account}-{uuid.uuid4().hex[:6]}"
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}"
    kube.json("POST", f"{rbac}/roles", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                       "metadata": {"name": name}, "rules": rules})
    kube.json("POST", f"{rbac}/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]})


def _eventually(call: Any, *, timeout: float = 10) -> Any:
    """RBAC changes reach the authorizer's cache within a moment."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except KubeRequestError as exc:
            if exc.status != 403 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_service_account_can_do_only_what_its_roles_allow(kube_cluster: LocalKube,
                                                            kube_namespace: str) -> None:
    client = _account_client(kube_cluster, kube_namespace, "reader")
    try:
        with pytest.raises(KubeRequestError) as denied:
            client.call("GET", f"/api/v1/namespaces/{kube_namespace}/secrets")
        assert denied.value.status == 403
        assert "system:serviceaccount:" + kube_namespace + ":reader" in denied.value.body
        _grant(kube_cluster, kube_namespace, "reader",
               [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}])
        _eventually(lambda: client.call("GET", f"/api/v1/namespaces/{kube_namespace}/configmaps"))
        with pytest.raises(KubeRequestError) as still:
            client.call("GET", f"/api/v1/namespaces/{kube_namespace}/secrets")
        assert still.value.status == 403
    finally:
        client.close()


def test_block_owner_deletion_needs_update_on_the_owners_finalizers(kube_cluster: LocalKube,
                                                                     kube_namespace: str) -> None:
    """OwnerReferencesPermissionEnforcement: the rule that the chart's operator and web Roles must satisfy."""
    owner = kube_cluster.json("POST", _collection("SpirisConnection", kube_namespace), {
        "apiVersion": f"{GROUP}/v1alpha1", "kind": "SpirisConnection", "metadata": {"name": "owner"},
        "spec": {}})
    client = _account_client(kube_cluster, kube_namespace, "creator")
    _grant(kube_cluster, kube_namespace, "creator",
           [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}])
    reference = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "SpirisConnection", "name": "owner",
                 "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}

    def child(name: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "ownerReferences": [reference]}}

    try:
        with pytest.raises(KubeRequestError) as refused:
            _eventually(lambda: client.call("POST", f"/api/v1/namespaces/{kube_namespace}/configmaps",
                                            body=child("refused")))
        assert refused.value.status == 403
        assert "cannot set blockOwnerDeletion" in refused.value.body
        _grant(kube_cluster, kube_namespace, "creator",
               [{"apiGroups": [GROUP], "resources": ["spirisconnections/finalizers"], "verbs": ["update"]}])
        _eventually(lambda: client.call("POST", f"/api/v1/namespaces/{kube_namespace}/configmaps",
                                        body=child("allowed")))
    finally:
        client.close()


def test_deleting_an_owner_cascades_through_the_garbage_collector(kube_cluster: LocalKube,
                                                                   kube_namespace: str) -> None:
    owner = kube_cluster.json("POST", _collection("SpirisConnection", kube_namespace), {
        "apiVersion": f"{GROUP}/v1alpha1", "kind": "SpirisConnection", "metadata": {"name": "parent"},
        "spec": {}})
    reference = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "SpirisConnection", "name": "parent",
                 "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
    kube_cluster.json("POST", f"/api/v1/namespaces/{kube_namespace}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "child", "ownerReferences": [reference]},
        "stringData": {"k": "v"}})
    kube_cluster.json("DELETE", f"{_collection('SpirisConnection', kube_namespace)}/parent")
    wait_for(lambda: kube_cluster.rest.get(f"/api/v1/namespaces/{kube_namespace}/secrets/child") is None,
             timeout=30, what="the garbage collector to delete the owned Secret")


def test_new_namespaces_get_their_service_account_and_root_ca(kube_cluster: LocalKube,
                                                               kube_namespace: str) -> None:
    assert kube_cluster.rest.get(f"/api/v1/namespaces/{kube_namespace}/serviceaccounts/default") is not None
    root_ca = f"/api/v1/namespaces/{kube_namespace}/configmaps/kube-root-ca.crt"
    wait_for(lambda: kube_cluster.rest.get(root_ca), timeout=30,
             what="root-ca-cert-publisher to publish kube-root-ca.crt")
