"""The chart lints strictly and renders, with its default values (as GitOps pipelines lint a chart as shipped)
and every realistic value set, only manifests a real API server accepts.

Every rendered object is validated with kubernetes-validate in strict mode (unknown fields rejected) against
the oldest Kubernetes the chart supports and the newest the validator knows; the prometheus-operator kinds
against their schemas in `testkit.prometheus_operator_schemas`. An object of a kind no schema covers fails
the test.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import jsonschema
import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate
from testkit.chart_render import (
    CHART,
    KUBE_VERSIONS,
    NAMESPACE,
    lint,
    lint_findings,
    load_values,
    manifests,
    of_kind,
    render,
    required_values,
    value_set_names,
)
from testkit.prometheus_operator_schemas import SCHEMAS

pytestmark = pytest.mark.timeout(60)

CLUSTER_SCOPED = {
    "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
}


def test_the_realistic_value_sets_are_all_there() -> None:
    assert set(value_set_names()) >= {
        "required-values",
        "ingress-tls-values",
        "monitoring-values",
        "watch-namespaces-values",
        "sandbox-values",
        "no-networkpolicy-values",
    }


# The chart's own values.yaml alone (`helm lint --strict` / `helm template` without -f), then the ci/ sets.
DEFAULTS = "(defaults)"


def _values(value_set: str) -> dict[str, Any]:
    return {} if value_set == DEFAULTS else load_values(value_set)


@pytest.mark.parametrize("value_set", [DEFAULTS, *value_set_names()])
def test_lint_is_clean_in_strict_mode(value_set: str) -> None:
    # Strict mode turns warnings into failures; info messages count as findings too.
    assert lint_findings(None if value_set == DEFAULTS else load_values(value_set)) == []


def test_validated_versions_start_at_the_charts_minimum_kubernetes() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["kubeVersion"] == f">={KUBE_VERSIONS[0]}.0-0"


def test_the_default_values_install_and_the_notes_say_what_is_missing() -> None:
    # Nothing needed at render time lacks a default; what a real install must still set is listed in the
    # NOTES (and reported by the operator's conditions and the web's readiness), not refused by the schema.
    assert lint(None)["errors"] == []
    notes = render({})["spiris-operator/templates/NOTES.txt"]
    missing = notes.split("NOT READY YET", 1)[1].split("\n\n", 1)[0]
    assert "- publicUrl: " in missing and "PublicUrlNotSet" in missing
    assert "- s3.endpoint: " in missing
    for secret, value in (
        ("spiris-oauth-client", "spiris.oauthClient.existingSecret"),
        ("spiris-link-signing-key", "linkSigningKey.existingSecret"),
        ("spiris-database", "database.existingSecret"),
        ("spiris-s3", "s3.existingSecret"),
    ):
        assert f"- {secret} ({value})" in notes
    # A complete install has nothing left to set.
    assert "NOT READY YET" not in render(required_values())["spiris-operator/templates/NOTES.txt"]


@pytest.mark.parametrize("value_set", [DEFAULTS, *value_set_names()])
@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_every_manifest_validates_strictly(value_set: str, kube_version: str) -> None:
    objects = manifests(_values(value_set))
    assert objects
    for obj in objects:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] in SCHEMAS:
            jsonschema.validate(obj, SCHEMAS[obj["kind"]])
            continue
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            pytest.fail(
                f"{value_set}: {where} invalid for Kubernetes {kube_version}: {path}: {error.message}"
            )
        except kubernetes_validate.SchemaNotFoundError as error:
            pytest.fail(f"{value_set}: {where}: {error.message}")


@pytest.mark.parametrize("value_set", value_set_names())
def test_objects_are_namespaced_and_unique(value_set: str) -> None:
    objects = manifests(load_values(value_set))
    keys = Counter(
        (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]) for obj in objects
    )
    assert [key for key, count in keys.items() if count > 1] == []
    for obj in objects:
        if obj["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in obj["metadata"]
        else:
            assert obj["metadata"].get("namespace"), (
                f"{obj['kind']}/{obj['metadata']['name']} has no namespace"
            )
        assert len(obj["metadata"]["name"]) <= 63
        assert obj["metadata"]["labels"]["app.kubernetes.io/instance"] == "spiris"
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "spiris"


def test_default_install_renders_the_expected_objects() -> None:
    kinds = Counter(obj["kind"] for obj in manifests(required_values()))
    assert kinds == {
        "Deployment": 3,  # operator, web, api
        "Service": 4,  # web, web metrics, operator metrics, api
        "ServiceAccount": 4,
        # discovery + operator + web + sync (the sync one is bound per namespace only) + api + api reviews
        # + the user roles aggregated into edit and view
        "ClusterRole": 8,
        "ClusterRoleBinding": 5,
        "Role": 1,  # the operator's leader election (one Lease in the release namespace)
        "RoleBinding": 2,  # sync, leader election
        "NetworkPolicy": 4,
        "PodDisruptionBudget": 2,  # web, operator
        # The web's Secret writes narrowed to connections' token Secrets (RBAC cannot limit by name).
        "ValidatingAdmissionPolicy": 1,
        "ValidatingAdmissionPolicyBinding": 1,
    }


def test_optional_objects_appear_only_when_enabled() -> None:
    def kinds(value_set: str) -> set[str]:
        return {obj["kind"] for obj in manifests(load_values(value_set))}

    assert {"Ingress", "ServiceMonitor", "PrometheusRule"}.isdisjoint(kinds("required-values"))
    assert "Ingress" in kinds("ingress-tls-values")
    assert {"ServiceMonitor", "PrometheusRule"} <= kinds("monitoring-values")
    assert {"NetworkPolicy", "PodDisruptionBudget"}.isdisjoint(kinds("no-networkpolicy-values"))


def test_the_release_namespace_is_honoured() -> None:
    objects = manifests(required_values(), namespace="accounting")
    namespaced = [obj for obj in objects if obj["kind"] not in CLUSTER_SCOPED]
    assert {obj["metadata"]["namespace"] for obj in namespaced} == {"accounting"}
    subjects = [s for obj in objects if obj["kind"].endswith("RoleBinding") for s in obj["subjects"]]
    assert {s["namespace"] for s in subjects} == {"accounting"}
    # The admission policy names the web's account in the release namespace.
    [policy] = of_kind(objects, "ValidatingAdmissionPolicy")
    [condition] = policy["spec"]["matchConditions"]
    assert '"system:serviceaccount:accounting:spiris-spiris-operator-web"' in condition["expression"]


def test_notes_tell_the_user_what_to_do_next() -> None:
    notes = render(load_values("watch-namespaces-values"))["spiris-operator/templates/NOTES.txt"]
    assert "https://spiris.consent.example.com/oauth/callback" in notes
    assert "kind: SpirisConnection" in notes
    assert "namespace: clients-a" in notes
    assert "{.status.consentUrl}" in notes
    assert "--for=condition=Ready" in notes
    assert "get fys" in notes
    assert NAMESPACE in notes
    sandbox_notes = render(load_values("sandbox-values"))["spiris-operator/templates/NOTES.txt"]
    assert "sandbox" in sandbox_notes
    # Cluster-wide installs must prepare connection namespaces by hand; the notes say with what.
    cluster_wide = render(required_values())["spiris-operator/templates/NOTES.txt"]
    assert 'ServiceAccount "spiris-sync"' in cluster_wide
    assert 'ClusterRole "spiris-spiris-operator-sync"' in cluster_wide
    assert 'Secrets "spiris-database" and "spiris-s3"' in cluster_wide
