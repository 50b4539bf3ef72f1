"""RBAC of the chart: separate ServiceAccounts, no wildcards, and exactly the verbs each component needs.

The intended permissions are written out here once, per component, as (apiGroup, resource) → verbs; the
rendered Roles/ClusterRoles must grant exactly that — nothing missing (the component would fail) and nothing
extra (least privilege). Secret access is checked separately because it is the one that matters most.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from testkit.chart_render import load_values, manifests, of_kind, required_values, value_set_names

pytestmark = pytest.mark.timeout(60)

GROUP = "spiris.senseworks.io"
INTENDED: dict[str, dict[tuple[str, str], set[str]]] = {
    "operator": {
        (GROUP, "spirisconnections"): {"get", "list", "watch", "update", "patch"},
        (GROUP, "fiscalyearsyncs"): {"get", "list", "watch", "create", "update", "patch", "delete"},
        (GROUP, "spirisconnections/status"): {"get", "update", "patch"},
        (GROUP, "fiscalyearsyncs/status"): {"get", "update", "patch"},
        # blockOwnerDeletion on the children it owns (OwnerReferencesPermissionEnforcement).
        (GROUP, "spirisconnections/finalizers"): {"update"},
        (GROUP, "fiscalyearsyncs/finalizers"): {"update"},
        ("", "secrets"): {"get", "list", "watch", "update"},
        ("batch", "jobs"): {"get", "list", "watch", "create", "delete"},
        ("", "events"): {"create", "patch"},
    },
    # Leader election between the operator's replicas: one Lease in the release namespace.
    "operator-election": {
        ("coordination.k8s.io", "leases"): {"get", "create", "update"},
    },
    "operator-discovery": {
        ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
        ("", "namespaces"): {"list", "watch"},
    },
    # Namespaced installs only: the web's readiness check lists connections cluster-wide.
    "web-readiness": {
        (GROUP, "spirisconnections"): {"list"},
    },
    "web": {
        (GROUP, "spirisconnections"): {"get", "list"},
        (GROUP, "spirisconnections/finalizers"): {"update"},
        ("", "secrets"): {"get", "create", "update"},
        # A consent refused after Spiris granted it leaves a Warning Event on the connection.
        ("", "events"): {"create"},
    },
    "sync": {
        (GROUP, "fiscalyearsyncs/status"): {"patch"},
    },
    # The read API: ask the API server who a caller is and what they may do; read the resources it serves.
    "api-reviews": {
        ("authentication.k8s.io", "tokenreviews"): {"create"},
        ("authorization.k8s.io", "subjectaccessreviews"): {"create"},
    },
    "api": {
        (GROUP, "spirisconnections"): {"get"},
        (GROUP, "fiscalyearsyncs"): {"get", "list"},
    },
    # Aggregated into the built-in edit/admin and view roles (never bound by the chart): namespace users.
    "edit": {
        (GROUP, "spirisconnections"): {"get", "list", "watch", "create", "update", "patch", "delete",
                                      "deletecollection"},
        (GROUP, "fiscalyearsyncs"): {"get", "list", "watch", "create", "update", "patch", "delete",
                                    "deletecollection"},
        (GROUP, "spirisconnections/status"): {"get"},
        (GROUP, "fiscalyearsyncs/status"): {"get"},
    },
    "view": {
        (GROUP, "spirisconnections"): {"get", "list", "watch"},
        (GROUP, "fiscalyearsyncs"): {"get", "list", "watch"},
        (GROUP, "spirisconnections/status"): {"get", "list", "watch"},
        (GROUP, "fiscalyearsyncs/status"): {"get", "list", "watch"},
    },
}
AGGREGATED = {
    "edit": {"rbac.authorization.k8s.io/aggregate-to-edit", "rbac.authorization.k8s.io/aggregate-to-admin"},
    "view": {"rbac.authorization.k8s.io/aggregate-to-view"},
}
SECRET_VERBS = {
    "operator": {"get", "list", "watch", "update"},
    "web": {"get", "create", "update"},
    "sync": set(),
    "api": set(),
}


def _role_key(role: dict[str, Any]) -> str:
    """Which component a Role/ClusterRole is for, from its name suffix."""
    name = role["metadata"]["name"]
    keys = ("operator-discovery", "operator-election", "operator", "web-readiness", "web", "sync")
    keys += ("api-reviews", "api", "edit", "view")
    for key in keys:
        if name.endswith(f"-{key}"):
            return key
    raise AssertionError(f"role {name} belongs to no known component")


def _grants(rules: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    granted: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted[(group, resource)] |= set(rule["verbs"])
    return dict(granted)


def _roles(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return of_kind(objects, "Role") + of_kind(objects, "ClusterRole")


@pytest.mark.parametrize("value_set", value_set_names())
def test_no_wildcards_and_no_resource_names_tricks(value_set: str) -> None:
    for role in _roles(manifests(load_values(value_set))):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert all("*" not in item for item in rule[field]), f"wildcard in {role['metadata']['name']}"
            assert "nonResourceURLs" not in rule
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])
        assert "aggregationRule" not in role


@pytest.mark.parametrize("value_set", value_set_names())
def test_each_component_gets_exactly_the_intended_rules(value_set: str) -> None:
    roles = _roles(manifests(load_values(value_set)))
    seen = set()
    for role in roles:
        key = _role_key(role)
        seen.add(key)
        assert _grants(role["rules"]) == INTENDED[key], role["metadata"]["name"]
    values = load_values(value_set)
    namespaced = bool(values.get("watchNamespaces"))
    elected = (values.get("operator") or {}).get("leaderElection", {}).get("enabled", True)
    absent = (set() if namespaced else {"web-readiness"}) | (set() if elected else {"operator-election"})
    assert seen == set(INTENDED) - absent


@pytest.mark.parametrize("value_set", value_set_names())
def test_secret_verbs_per_service_account(value_set: str) -> None:
    objects = manifests(load_values(value_set))
    roles = {
        (role["kind"], role["metadata"].get("namespace"), role["metadata"]["name"]): role
        for role in _roles(objects)
    }
    secret_verbs: dict[str, set[str]] = defaultdict(set)
    for binding in of_kind(objects, "RoleBinding") + of_kind(objects, "ClusterRoleBinding"):
        ref = binding["roleRef"]
        role_namespace = binding["metadata"].get("namespace") if ref["kind"] == "Role" else None
        role = roles[(ref["kind"], role_namespace, ref["name"])]
        verbs = _grants(role["rules"]).get(("", "secrets"), set())
        for subject in binding["subjects"]:
            assert subject["kind"] == "ServiceAccount"
            secret_verbs[subject["name"]] |= verbs
    by_component = {
        "operator": secret_verbs["spiris-spiris-operator-operator"],
        "web": secret_verbs["spiris-spiris-operator-web"],
        "sync": secret_verbs["spiris-sync"],
        "api": secret_verbs["spiris-spiris-operator-api"],
    }
    assert by_component == SECRET_VERBS


def test_cluster_wide_install_binds_the_sync_role_per_namespace_only() -> None:
    objects = manifests(required_values())
    cluster_bound = {b["roleRef"]["name"] for b in of_kind(objects, "ClusterRoleBinding")}
    assert not any(name.endswith("-sync") for name in cluster_bound)
    # The one Role is the operator's leader election, in the release namespace.
    [election] = of_kind(objects, "Role")
    assert election["metadata"]["name"].endswith("-operator-election")
    assert election["metadata"]["namespace"] == "spiris-system"
    [sync_binding] = [b for b in of_kind(objects, "RoleBinding") if b["roleRef"]["kind"] == "ClusterRole"]
    assert sync_binding["metadata"]["namespace"] == "spiris-system"
    assert sync_binding["roleRef"]["kind"] == "ClusterRole"
    assert sync_binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "spiris-sync", "namespace": "spiris-system"}
    ]


def test_watch_namespaces_get_namespaced_roles_and_a_sync_service_account_each() -> None:
    objects = manifests(load_values("watch-namespaces-values"))
    # Only read-only listing is cluster-wide: Kopf's discovery and the web's readiness check.
    cluster_roles = {r["metadata"]["name"]: r for r in of_kind(objects, "ClusterRole")}
    assert sorted(cluster_roles) == [
        "spiris-spiris-operator-api-reviews",
        "spiris-spiris-operator-edit",
        "spiris-spiris-operator-operator-discovery",
        "spiris-spiris-operator-view",
        "spiris-spiris-operator-web-readiness",
    ]
    # Reviews are questions to the API server (create-only, cluster-scoped); the user roles are bound by
    # namespace users' own edit/view bindings; everything else only lists.
    listing = [r for name, r in cluster_roles.items()
               if not name.endswith(("-api-reviews", "-edit", "-view"))]
    assert all(set(rule["verbs"]) <= {"list", "watch"} for r in listing for rule in r["rules"])
    for namespace in ("clients-a", "clients-b"):
        roles = {
            r["metadata"]["name"] for r in of_kind(objects, "Role") if r["metadata"]["namespace"] == namespace
        }
        assert roles == {f"spiris-spiris-operator-{c}" for c in ("operator", "web", "sync", "api")}
        accounts = {
            a["metadata"]["name"]
            for a in of_kind(objects, "ServiceAccount")
            if a["metadata"]["namespace"] == namespace
        }
        assert accounts == {"spiris-sync"}
    release_roles = [r for r in of_kind(objects, "Role") if r["metadata"]["namespace"] == "spiris-system"]
    assert [r["metadata"]["name"] for r in release_roles] == ["spiris-spiris-operator-operator-election"]


def test_user_roles_aggregate_into_the_built_in_roles_and_are_never_bound() -> None:
    objects = manifests(required_values())
    roles = {_role_key(r): r for r in of_kind(objects, "ClusterRole")}
    for key, labels in AGGREGATED.items():
        aggregation = {k for k, v in roles[key]["metadata"]["labels"].items() if v == "true"}
        assert aggregation == labels, key
    bindings = of_kind(objects, "RoleBinding") + of_kind(objects, "ClusterRoleBinding")
    bound = {b["roleRef"]["name"] for b in bindings}
    assert not bound & {roles["edit"]["metadata"]["name"], roles["view"]["metadata"]["name"]}
    values = required_values()
    values["userRoles"] = {"enabled": False}
    assert not {"edit", "view"} & {_role_key(r) for r in of_kind(manifests(values), "ClusterRole")}


def test_separate_service_accounts_per_component() -> None:
    objects = manifests(required_values())
    deployments = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in of_kind(objects, "Deployment")
    }
    operator_sa = deployments["operator"]["spec"]["template"]["spec"]["serviceAccountName"]
    web_sa = deployments["web"]["spec"]["template"]["spec"]["serviceAccountName"]
    api_sa = deployments["api"]["spec"]["template"]["spec"]["serviceAccountName"]
    accounts = {a["metadata"]["name"] for a in of_kind(objects, "ServiceAccount")}
    assert accounts == {operator_sa, web_sa, api_sa, "spiris-sync"}
    assert len({operator_sa, web_sa, api_sa, "spiris-sync"}) == 4
    # The operator hands the sync ServiceAccount's name to the Jobs it creates.
    env = {e["name"]: e for e in deployments["operator"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SPIRIS_SYNC_SERVICE_ACCOUNT"]["value"] == "spiris-sync"
