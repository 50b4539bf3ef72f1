"""Offline rendering of the Helm chart for the packaging tests, with the helm-python-sdk (the Helm v4 Go SDK).

The value sets are the chart's own `ci/*.yaml` files (what chart-testing would install), so the tests and a
maintainer's `ct lint` exercise the same realistic configurations. Rendering is cached per value set: the Go
library is fast, but each test reads the same manifests.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from typing import Any

import helm_python as helm
import yaml
from kubernetes_validate import utils as kubernetes_validate

from testkit.paths import CHART

CI_VALUES = CHART / "ci"
RELEASE = "spiris"
NAMESPACE = "spiris-system"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest kubernetes-validate knows.
KUBE_VERSIONS = ("1.30", "1.37")


# kubernetes-validate re-reads and re-parses its multi-megabyte schema files on every call; the files never
# change during a run, so parse each once. Same results, a fraction of the time.
if not hasattr(kubernetes_validate.schema_contents, "cache_info"):
    kubernetes_validate.schema_contents = functools.cache(kubernetes_validate.schema_contents)


def value_set_names() -> list[str]:
    return sorted(path.stem for path in CI_VALUES.glob("*.yaml"))


def load_values(name: str) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CI_VALUES / f"{name}.yaml").read_text())
    return values


def required_values() -> dict[str, Any]:
    """A fresh copy of the smallest valid value set, for tests that change one thing in it."""
    return copy.deepcopy(load_values("required-values"))


@functools.cache
def _render_cached(values_json: str, namespace: str) -> dict[str, str]:
    with helm.Chart.load(CHART) as chart:
        return chart.render(json.loads(values_json), name=RELEASE, namespace=namespace, is_install=True)


def render(values: dict[str, Any], *, namespace: str = NAMESPACE) -> dict[str, str]:
    """Template path → rendered text (NOTES.txt included), as `helm template` would produce."""
    return _render_cached(json.dumps(values, sort_keys=True), namespace)


def manifests(values: dict[str, Any], *, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    """Every Kubernetes object the chart renders for ``values`` (NOTES.txt and empty documents left out)."""
    objects: list[dict[str, Any]] = []
    for path, text in sorted(render(values, namespace=namespace).items()):
        if not path.endswith(".yaml"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str, component: str) -> dict[str, Any]:
    """The single object of ``kind`` labelled with ``component``."""
    found = [
        obj
        for obj in of_kind(objects, kind)
        if obj["metadata"]["labels"].get("app.kubernetes.io/component") == component
    ]
    assert len(found) == 1, f"expected one {kind} of component {component}, found {len(found)}"
    return found[0]


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(workload name, pod spec) for every workload the chart renders."""
    for obj in objects:
        if obj["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Environment variable name → its entry; duplicates would be a chart bug, so they fail here."""
    names = [entry["name"] for entry in container.get("env", [])]
    assert len(names) == len(set(names)), f"duplicate env names in {container['name']}: {names}"
    return {entry["name"]: entry for entry in container.get("env", [])}


def lint(values: dict[str, Any] | None) -> dict[str, Any]:
    return helm.lint(CHART, values, strict=True, namespace=NAMESPACE)


# The one lint finding accepted: the project publishes no icon, and inventing an icon URL would be worse.
NO_ICON = {"severity": 1, "path": "Chart.yaml", "error": "icon is recommended"}


def lint_findings(values: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Strict lint: every error, warning and info message except the missing icon."""
    report = lint(values)
    assert report["total_charts_linted"] == 1
    findings: list[dict[str, Any]] = [m for m in report["messages"] if m != NO_ICON]
    findings.extend({"severity": 3, "path": "", "error": error} for error in report["errors"])
    return findings
