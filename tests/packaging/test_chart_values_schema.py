"""Bad values are refused before anything reaches a cluster, every realistic set is accepted.

Each bad case changes one thing in the smallest valid value set. values.schema.json refuses wrong types,
enums, ranges and unknown keys (Helm's messages for those point at the key and read well); every format rule
is a check in templates/checks.yaml whose refusal is a sentence naming the value, what is wrong and a good
example, because Helm prints a failed schema `pattern` as the raw regular expression.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import helm_python as helm
import jsonschema
import pytest
from testkit.chart_render import CHART, load_values, render, required_values, value_set_names

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


BAD_VALUES: dict[str, tuple[Change, str]] = {
    "publicUrl not a string": (_set("publicUrl", 8080), "/publicUrl"),
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
    "sandbox as string": (_set("spiris.sandbox", "yes"), "/spiris/sandbox"),
    # null deletes a default in Helm: the Secret's name is then missing altogether.
    "signing key secret removed": (_set("linkSigningKey.existingSecret", None), "/linkSigningKey"),
    "max jobs zero": (_set("operator.maxConcurrentJobs", 0), "/operator/maxConcurrentJobs"),
    "port out of range": (_set("operator.metricsPort", 70000), "/operator/metricsPort"),
    "privileged web port": (_set("web.port", 80), "/web/port"),
    "watch namespaces duplicated": (_set("watchNamespaces", ["a", "a"]), "/watchNamespaces"),
    "service type enum": (_set("web.service.type", "ExternalName"), "/web/service/type"),
    "ingress tls without secret": (
        _set(
            "web.ingress",
            {"enabled": True, "paths": ["/consent"], "tls": {"enabled": True, "secretName": ""}},
        ),
        "/web/ingress/tls/secretName",
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


_EGRESS = {"ports": [5432], "cidrs": [], "peers": []}
# value path (as the refusal names it), the change, and what the sentence says about it. One row per format
# rule the schema used to express as a `pattern`.
FORMAT_REFUSALS: list[tuple[str, Change, str]] = [
    ("publicUrl", _set("publicUrl", "http://consent.example.com"), "is not the web's public base URL"),
    ("publicUrl", _set("publicUrl", "https://consent.example.com/"), "without a trailing slash"),
    ("publicUrl", _set("publicUrl", "https://consent.example.com/?next=x"), "query or fragment"),
    ("publicUrl", _set("publicUrl", "javascript:alert(1)"), "e.g. https://consent.example.com."),
    ("image.repository", _set("image.repository", "GHCR.io/Senseworks"), "is not an image repository"),
    ("image.tag", _set("image.tag", "-dev"), "is not an image tag"),
    ("image.digest", _set("image.digest", "sha256:xyz"), "is not an image digest"),
    (
        "imagePullSecrets[1].name",
        _set("imagePullSecrets", [{"name": "ok"}, {"name": "Bad_Name"}]),
        "is not a Kubernetes object name",
    ),
    ("nameOverride", _set("nameOverride", "Spiris"), "cannot be part of resource names"),
    ("fullnameOverride", _set("fullnameOverride", "spiris-"), "cannot be part of resource names"),
    ("watchNamespaces[0]", _set("watchNamespaces", ["Clients_A"]), "is not a namespace name"),
    (
        "spiris.apiUrl",
        _set("spiris.apiUrl", "ftp://eaccountingapi.vismaonline.com/v2"),
        "is not an http(s) URL",
    ),
    ("spiris.identityUrl", _set("spiris.identityUrl", "https://identity.example/?x=1"), "without a query"),
    (
        "spiris.oauthClient.existingSecret",
        _set("spiris.oauthClient.existingSecret", ""),
        "is not a Kubernetes object name",
    ),
    (
        "spiris.oauthClient.clientIdKey",
        _set("spiris.oauthClient.clientIdKey", "client id"),
        "is not a key of a Secret",
    ),
    (
        "spiris.oauthClient.clientSecretKey",
        _set("spiris.oauthClient.clientSecretKey", ""),
        "is not a key of a Secret",
    ),
    (
        "linkSigningKey.existingSecret",
        _set("linkSigningKey.existingSecret", "Signing"),
        "is not a Kubernetes object name",
    ),
    ("linkSigningKey.key", _set("linkSigningKey.key", "a/b"), "is not a key of a Secret"),
    (
        "linkSigningKey.previousKeysKey",
        _set("linkSigningKey.previousKeysKey", "old keys"),
        "is not a key of a Secret",
    ),
    (
        "database.existingSecret",
        _set("database.existingSecret", "Spiris_DB"),
        "is not a Kubernetes object name",
    ),
    ("database.key", _set("database.key", "url!"), "is not a key of a Secret"),
    ("s3.endpoint", _set("s3.endpoint", "https://minio:9000"), "without a scheme or path"),
    ("s3.bucket", _set("s3.bucket", "Spiris_Documents"), "is not an S3 bucket name"),
    ("s3.region", _set("s3.region", "EU North"), "is not an S3 region"),
    ("s3.existingSecret", _set("s3.existingSecret", "-s3"), "is not a Kubernetes object name"),
    ("s3.accessKeyKey", _set("s3.accessKeyKey", "access key"), "is not a key of a Secret"),
    ("s3.secretKeyKey", _set("s3.secretKeyKey", "secret:key"), "is not a key of a Secret"),
    ("web.ingress.paths[0]", _set("web.ingress.paths", ["consent"]), "is not an ingress path"),
    (
        "api.database.existingSecret",
        _set("api.database.existingSecret", "API"),
        "is not a Kubernetes object name",
    ),
    ("api.database.key", _set("api.database.key", "url url"), "is not a key of a Secret"),
    ("api.publicUrl", _set("api.publicUrl", "spiris-api.example.com"), "is not an http(s) URL"),
    (
        "api.linkKey.existingSecret",
        _set("api.linkKey.existingSecret", "Link_Key"),
        "is not a Kubernetes object name",
    ),
    ("api.linkKey.key", _set("api.linkKey.key", "link key"), "is not a key of a Secret"),
    (
        "sync.serviceAccount.name",
        _set("sync.serviceAccount.name", "Spiris_Sync"),
        "is not a Kubernetes object name",
    ),
    (
        "sync.downloadAllowedHosts[0]",
        _set("sync.downloadAllowedHosts", ["https://files.example"]),
        "is not a host name or a '*.' wildcard",
    ),
    *(
        (
            f"networkPolicy.egress.{target}.cidrs[0]",
            _set(f"networkPolicy.egress.{target}", {**_EGRESS, "cidrs": ["10.0.0.0"]}),
            "is not a CIDR",
        )
        for target in ("dns", "kubernetesApi", "spiris", "postgres", "s3")
    ),
    (
        "networkPolicy.egress.spiris.exceptCidrs[0]",
        _set("networkPolicy.egress.spiris", {**_EGRESS, "exceptCidrs": ["private"]}),
        "is not a CIDR",
    ),
    (
        "networkPolicy.egress.postgres.endpoint",
        _set("networkPolicy.egress.postgres", {**_EGRESS, "endpoint": "postgres://db:5432"}),
        "is not host[:port]",
    ),
    (
        "metrics.serviceMonitor.interval",
        _set("metrics.serviceMonitor.interval", "30 seconds"),
        "is not a Prometheus duration",
    ),
    (
        "metrics.serviceMonitor.scrapeTimeout",
        _set("metrics.serviceMonitor.scrapeTimeout", "10"),
        "is not a Prometheus duration",
    ),
    (
        "metrics.prometheusRule.notReadyFor",
        _set("metrics.prometheusRule.notReadyFor", "1 h"),
        "is not a Prometheus duration",
    ),
]


@pytest.mark.parametrize(
    ("path", "change", "says"), FORMAT_REFUSALS, ids=[f"{r[0]}:{r[2]}" for r in FORMAT_REFUSALS]
)
def test_a_malformed_value_is_refused_with_a_sentence(path: str, change: Change, says: str) -> None:
    values = required_values()
    change(values)
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(values)  # the format is no schema matter any more
    with pytest.raises(helm.HelmError) as refused:
        render(values)
    message = str(refused.value)
    # "<path> "<value>" <what is wrong>, e.g. <a good value>." — never a regular expression.
    assert f"{path} " in message and says in message
    assert ", e.g. " in message and message.rstrip().endswith(".")
    assert "^" not in message and "[a-z" not in message


def test_every_former_schema_pattern_has_its_sentence() -> None:
    # The schema keeps types, enums and ranges; a `pattern` would bring back a raw regular expression.
    text = (CHART / "values.schema.json").read_text()
    assert '"pattern"' not in text
    assert len({row[0] for row in FORMAT_REFUSALS}) >= 42


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
