"""The chart's own ServiceAccounts and RBAC installed on the local control plane, and a kubeconfig per
component.

Locally the operator and the web run as processes rather than pods, but never as admin: this renders the Helm
chart (``helm-python-sdk``, the Helm Go SDK) with the given values, applies exactly its ServiceAccounts,
Roles, ClusterRoles, bindings and its ValidatingAdmissionPolicy on the web's Secret writes, and mints each
component's token through the TokenRequest API, so every call the operator or the web makes is authorised by
the chart's rules and nothing else — a missing verb fails here as it would in a cluster. The sync Jobs run
as pods under the chart's sync ServiceAccount through the node agent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from spiris_localstack.kube_client import KubeCredentials, KubeRequestError, KubeRest
from spiris_localstack.kube_plane import kubeconfig_document, write_kubeconfig

ADMISSION = "/apis/admissionregistration.k8s.io/v1"
RBAC_KINDS = {
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    # The chart's admission policy on the web's Secret writes is part of its access control.
    "ValidatingAdmissionPolicy": (ADMISSION, "validatingadmissionpolicies", False),
    "ValidatingAdmissionPolicyBinding": (ADMISSION, "validatingadmissionpolicybindings", False),
}
COMPONENT_LABEL = "app.kubernetes.io/component"
TOKEN_SECONDS = 48 * 3600


def render_chart(
    chart: Path, values: dict[str, Any], *, release: str, namespace: str
) -> list[dict[str, Any]]:
    """Every object the chart renders for ``values``, as ``helm template`` would."""
    import helm_python as helm

    with helm.Chart.load(chart) as loaded:
        rendered: dict[str, str] = loaded.render(json.loads(json.dumps(values)), name=release,
                                                 namespace=namespace, is_install=True)
    objects: list[dict[str, Any]] = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".yaml"):
            objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def object_path(obj: dict[str, Any], *, namespace: str) -> str:
    """The collection path of an RBAC kind (namespaced ones in their namespace, else ``namespace``)."""
    prefix, plural, namespaced = RBAC_KINDS[obj["kind"]]
    if namespaced:
        return f"{prefix}/namespaces/{obj['metadata'].get('namespace') or namespace}/{plural}"
    return f"{prefix}/{plural}"


def apply(rest: KubeRest, obj: dict[str, Any], *, namespace: str) -> None:
    """Create ``obj``, or replace the existing one (idempotent across runs)."""
    collection = object_path(obj, namespace=namespace)
    created = rest.call("POST", collection, body=obj, allow=(409,))
    if created is None:
        current = rest.get(f"{collection}/{obj['metadata']['name']}")
        if current is not None:
            obj = {**obj, "metadata": {**obj["metadata"],
                                       "resourceVersion": current["metadata"]["resourceVersion"]}}
        rest.call("PUT", f"{collection}/{obj['metadata']['name']}", body=obj)


@dataclass
class ChartAccess:
    """The chart's RBAC as installed: the component ServiceAccounts and a kubeconfig file for each."""

    release: str
    namespace: str
    service_accounts: dict[str, str]
    kubeconfigs: dict[str, Path]
    cluster_objects: list[tuple[str, str]]

    def kubeconfig(self, component: str) -> str:
        return str(self.kubeconfigs[component])

    def remove_cluster_objects(self, rest: KubeRest) -> None:
        """Delete the release's cluster-scoped roles and bindings.

        Namespaced ones go with their namespace.
        """
        for collection, name in self.cluster_objects:
            try:
                rest.call("DELETE", f"{collection}/{name}", allow=(404,))
            except KubeRequestError:
                continue


def install_chart_rbac(
    *,
    rest: KubeRest,
    chart: Path,
    values: dict[str, Any],
    release: str,
    namespace: str,
    out_dir: Path,
    components: tuple[str, ...] = ("operator", "web"),
) -> ChartAccess:
    """Apply the chart's RBAC for ``values``.

    Also write ``out_dir/<component>.kubeconfig`` for each of ``components``.
    """
    objects = [obj for obj in render_chart(chart, values, release=release, namespace=namespace)
               if obj["kind"] in RBAC_KINDS]
    cluster_objects = []
    # ServiceAccounts and roles before the bindings that name them.
    order = ("ServiceAccount", "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding",
             "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
    for kind in order:
        for obj in objects:
            if obj["kind"] != kind:
                continue
            apply(rest, obj, namespace=namespace)
            if not RBAC_KINDS[kind][2]:
                cluster_objects.append((object_path(obj, namespace=namespace), obj["metadata"]["name"]))
    # The operator's and the web's accounts live in the release namespace, the sync account in each namespace
    # whose Jobs it runs (the same name everywhere).
    homes = {
        obj["metadata"]["labels"][COMPONENT_LABEL]: (obj["metadata"].get("namespace") or namespace,
                                                      obj["metadata"]["name"])
        for obj in objects
        if obj["kind"] == "ServiceAccount" and COMPONENT_LABEL in (obj["metadata"].get("labels") or {})
    }
    accounts = {component: name for component, (_, name) in homes.items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    kubeconfigs = {}
    credentials: KubeCredentials = rest.credentials
    for component in components:
        home, account = homes[component]
        token = rest.service_account_token(home, account, expiration_seconds=TOKEN_SECONDS)
        kubeconfigs[component] = write_kubeconfig(
            out_dir / f"{component}.kubeconfig",
            kubeconfig_document(server=credentials.server, ca_file=credentials.ca_file, user={"token": token},
                                name=f"spiris-{component}", namespace=namespace))
    return ChartAccess(release=release, namespace=namespace, service_accounts=accounts,
                       kubeconfigs=kubeconfigs, cluster_objects=cluster_objects)
