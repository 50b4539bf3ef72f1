"""The chart's user roles on the real API server: a namespace user bound to the built-in `edit` or `view` role
may manage or read SpirisConnections and FiscalYearSyncs there through aggregation, and nothing more.

The aggregation itself is the kube-controller-manager's (clusterrole-aggregation controller), so this waits
for the built-in roles to pick the chart's rules up and asks the API server (SubjectAccessReview) what each
user may do.
"""

from __future__ import annotations

import uuid

import pytest
from spiris_localstack.chart_rbac import ChartAccess
from spiris_localstack.kube_cluster import LocalKube
from testkit.waiting import wait_for

pytestmark = pytest.mark.timeout(180)

GROUP = "spiris.senseworks.io"
AGGREGATED_WITHIN = 60.0


def _bind(kube: LocalKube, namespace: str, role: str, user: str) -> None:
    kube.json("POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": f"{user}-{role}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    })


def _allowed(kube: LocalKube, user: str, namespace: str, verb: str, resource: str,
             subresource: str = "", group: str = GROUP) -> bool:
    review = kube.json("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": user, "resourceAttributes": {
            "namespace": namespace, "verb": verb, "group": group, "resource": resource,
            "subresource": subresource}},
    })
    return bool(review["status"].get("allowed"))


def _eventually(kube: LocalKube, user: str, namespace: str, verb: str, resource: str) -> None:
    wait_for(lambda: _allowed(kube, user, namespace, verb, resource), timeout=AGGREGATED_WITHIN, interval=0.5,
             what=f"{user} to get {verb} {resource} through aggregation")


def test_edit_and_view_users_get_the_chart_rules_by_aggregation(
    kube_cluster: LocalKube, kube_namespace: str, chart_access: ChartAccess
) -> None:
    editor, viewer = f"editor-{uuid.uuid4().hex[:6]}", f"viewer-{uuid.uuid4().hex[:6]}"
    _bind(kube_cluster, kube_namespace, "edit", editor)
    _bind(kube_cluster, kube_namespace, "view", viewer)
    _eventually(kube_cluster, editor, kube_namespace, "create", "spirisconnections")
    _eventually(kube_cluster, viewer, kube_namespace, "list", "fiscalyearsyncs")
    for verb in ("get", "list", "watch", "create", "update", "patch", "delete"):
        for resource in ("spirisconnections", "fiscalyearsyncs"):
            assert _allowed(kube_cluster, editor, kube_namespace, verb, resource), (verb, resource)
            assert _allowed(kube_cluster, viewer, kube_namespace, verb, resource) is (
                verb in {"get", "list", "watch"}), (verb, resource)
    # Status is the operator's to write; the users read it.
    for user in (editor, viewer):
        assert _allowed(kube_cluster, user, kube_namespace, "get", "spirisconnections", "status")
        assert not _allowed(kube_cluster, user, kube_namespace, "update", "fiscalyearsyncs", "status")
    # Only in the namespace they were bound in.
    assert not _allowed(kube_cluster, editor, "default", "create", "spirisconnections")
