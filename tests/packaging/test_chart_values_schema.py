"""values.schema.json rejects bad values before anything reaches a cluster, and accepts every realistic set.

Each bad case changes one thing in the smallest valid value set; Helm must refuse it both when validating the
values and when rendering, and its message must point at the offending key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import helm_python as helm
import jsonschema
import pytest
from packaging_chart import CHART, load_values, render, required_values, value_set_names

pytestmark = pytest.mark.timeout(60)

Change = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Change:
    def change(values: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = values
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value

    return change


def _drop(path: str) -> Change:
    def change(values: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = values
        for key in parents:
            node = node[key]
        del node[leaf]

    return change


BAD_VALUES: dict[str, tuple[Change, str]] = {
    "publicUrl missing": (_drop("publicUrl"), "/publicUrl"),
    "publicUrl plain http": (_set("publicUrl", "http://consent.example.com"), "/publicUrl"),
    "publicUrl trailing slash": (_set("publicUrl", "https://consent.example.com/"), "/publicUrl"),
    "publicUrl with query": (_set("publicUrl", "https://consent.example.com/?next=x"), "/publicUrl"),
    "publicUrl not a URL": (_set("publicUrl", "consent.example.com"), "/publicUrl"),
    "publicUrl javascript": (_set("publicUrl", "javascript:alert(1)"), "/publicUrl"),
    "unknown top-level key": (_set("replicaCount", 3), "replicaCount"),
    "unknown nested key": (_set("web.replicaCount", 3), "replicaCount"),
    "web replicas zero": (_set("web.replicas", 0), "/web/replicas"),
    "web replicas too many": (_set("web.replicas", 50), "/web/replicas"),
    "web replicas as string": (_set("web.replicas", "2"), "/web/replicas"),
    "operator replicas without leader election": (
        _set("operator.leaderElection.enabled", False),
        "/operator/replicas",
    ),
    "operator replicas too many": (_set("operator.replicas", 9), "/operator/replicas"),
    "pull policy enum": (_set("image.pullPolicy", "Sometimes"), "/image/pullPolicy"),
    "digest format": (_set("image.digest", "sha256:xyz"), "/image/digest"),
    "sandbox as string": (_set("spiris.sandbox", "yes"), "/spiris/sandbox"),
    "api URL scheme": (_set("spiris.apiUrl", "ftp://eaccountingapi.vismaonline.com/v2"), "/spiris/apiUrl"),
    "oauth secret missing": (
        _set("spiris.oauthClient.existingSecret", ""),
        "/spiris/oauthClient/existingSecret",
    ),
    "signing key secret missing": (_drop("linkSigningKey.existingSecret"), "/linkSigningKey"),
    "database secret bad name": (_set("database.existingSecret", "Spiris_DB"), "/database/existingSecret"),
    "s3 endpoint with scheme": (_set("s3.endpoint", "https://minio:9000"), "/s3/endpoint"),
    "s3 bucket bad name": (_set("s3.bucket", "Spiris_Documents"), "/s3/bucket"),
    "max jobs zero": (_set("operator.maxConcurrentJobs", 0), "/operator/maxConcurrentJobs"),
    "port out of range": (_set("operator.metricsPort", 70000), "/operator/metricsPort"),
    "privileged web port": (_set("web.port", 80), "/web/port"),
    "watch namespace invalid": (_set("watchNamespaces", ["Clients_A"]), "/watchNamespaces"),
    "watch namespaces duplicated": (_set("watchNamespaces", ["a", "a"]), "/watchNamespaces"),
    "service type enum": (_set("web.service.type", "ExternalName"), "/web/service/type"),
    "ingress tls without secret": (
        _set(
            "web.ingress",
            {"enabled": True, "paths": ["/consent"], "tls": {"enabled": True, "secretName": ""}},
        ),
        "/web/ingress/tls/secretName",
    ),
    "egress cidr malformed": (
        _set("networkPolicy.egress.postgres", {"ports": [5432], "cidrs": ["10.0.0.0"], "peers": []}),
        "/networkPolicy/egress/postgres/cidrs",
    ),
    "egress without ports": (
        _set("networkPolicy.egress.postgres", {"ports": [], "cidrs": [], "peers": []}),
        "/networkPolicy/egress/postgres/ports",
    ),
    "severity enum": (_set("metrics.prometheusRule.severity", "page"), "/metrics/prometheusRule/severity"),
    "stale threshold too small": (
        _set("metrics.prometheusRule.syncStaleAfterSeconds", 10),
        "/metrics/prometheusRule/syncStaleAfterSeconds",
    ),
    "scrape interval format": (
        _set("metrics.serviceMonitor.interval", "30 seconds"),
        "/metrics/serviceMonitor/interval",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_bad_values_are_rejected(case: str) -> None:
    change, where = BAD_VALUES[case]
    values = required_values()
    change(values)
    with helm.Chart.load(CHART) as chart:
        with pytest.raises(helm.HelmValuesError) as validated:
            chart.validate_schema(values)
        assert where in str(validated.value)
    with pytest.raises(helm.HelmError):
        render(values)


@pytest.mark.parametrize("value_set", value_set_names())
def test_realistic_values_are_accepted(value_set: str) -> None:
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(load_values(value_set))


@pytest.mark.parametrize(
    "url", ["https://consent.example.com", "https://consent.example.com:8443", "http://localhost:8080"]
)
def test_public_url_forms_that_are_allowed(url: str) -> None:
    values = required_values()
    values["publicUrl"] = url
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(values)
    render(values)


def test_a_public_url_with_a_path_is_refused_with_a_sentence() -> None:
    # The web serves its pages at the root of its host; a path prefix would break every link and the
    # registered redirect URI, so the chart says so instead of rendering a release that cannot work.
    values = required_values()
    values["publicUrl"] = "https://example.com/spiris"
    with pytest.raises(helm.HelmError) as refused:
        render(values)
    message = str(refused.value)
    assert 'publicUrl "https://example.com/spiris" has a path (/spiris)' in message
    assert "give it a host of its own, e.g. https://consent.example.com" in message


def test_the_schema_itself_is_valid_draft_07() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)


def test_schema_closes_every_object_it_describes() -> None:
    """Every object in the schema lists its keys and refuses others (maps of labels/annotations excepted)."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    open_objects: list[str] = []

    def walk(node: dict[str, Any], path: str) -> None:
        if (
            node.get("type") == "object"
            and "properties" in node
            and node.get("additionalProperties") is not False
        ):
            open_objects.append(path)
        for key, child in node.get("properties", {}).items():
            walk(child, f"{path}/{key}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]")

    walk(schema, "")
    assert open_objects == []


def test_every_default_value_is_described_by_the_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    with helm.Chart.load(CHART) as chart:
        defaults = chart.values

    def walk(value: Any, node: dict[str, Any], path: str) -> None:
        if isinstance(value, dict) and "properties" in node:
            for key, child in value.items():
                assert key in node["properties"], f"{path}.{key} is not in values.schema.json"
                walk(child, node["properties"][key], f"{path}.{key}")

    walk(defaults, schema, "")
