"""ServiceMonitors and alert rules: the right ports are scraped; alerts use metrics the operator exports.

The metric names and labels are taken from a live `OperatorMetrics` registry (the operator's own code), so a
renamed metric or label breaks this test instead of silently muting an alert in production.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from prometheus_client.metrics import MetricWrapperBase
from testkit.chart_render import load_values, manifests, of_kind, one

pytestmark = pytest.mark.timeout(60)

ALERTS = {
    "SpirisOperatorDown",
    "SpirisConnectionNotReady",
    "SpirisTokenRefreshFailing",
    "SpirisAccessTokenExpired",
    "SpirisSyncStale",
    "SpirisSyncJobsFailing",
}


def _exported() -> dict[str, set[str]]:
    """Sample name → label names of every metric the operator exports."""
    from spiris_operator.metrics import OperatorMetrics

    metrics = OperatorMetrics()
    for attribute in vars(metrics).values():
        if isinstance(attribute, MetricWrapperBase) and attribute._labelnames:
            attribute.labels(*["x"] * len(attribute._labelnames))
    exported: dict[str, set[str]] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            exported.setdefault(sample.name, set()).update(sample.labels)
    return exported


def _rules() -> list[dict[str, Any]]:
    rule = one(manifests(load_values("monitoring-values")), "PrometheusRule", "operator")
    rules: list[dict[str, Any]] = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    return rules


def test_the_four_required_alerts_and_operator_down_are_there() -> None:
    rules = _rules()
    assert {r["alert"] for r in rules} == ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] == "critical"
        assert rule["annotations"]["summary"]


def test_alerts_use_only_exported_metrics_and_labels() -> None:
    exported = _exported()
    for rule in _rules():
        names = set(re.findall(r"\bspiris_[a-z_]+\b", rule["expr"]))
        assert names <= set(exported), f"{rule['alert']} uses unknown metrics {names - set(exported)}"
        labels = set().union(*(exported[name] for name in names)) if names else {"job", "instance"}
        used = set(re.findall(r"\$labels\.(\w+)", " ".join(rule["annotations"].values())))
        used |= {
            label for group in re.findall(r"on \(([^)]*)\)", rule["expr"]) for label in group.split(", ")
        }
        used |= set(re.findall(r"(\w+)=", rule["expr"])) - {"job"}
        assert used <= labels, f"{rule['alert']} uses labels {used - labels} the metrics do not carry"


def test_thresholds_follow_the_values() -> None:
    by_name = {r["alert"]: r for r in _rules()}
    assert by_name["SpirisConnectionNotReady"]["for"] == "1h"
    assert by_name["SpirisSyncStale"]["expr"].endswith("> 86400")
    assert "86400 seconds" in by_name["SpirisSyncStale"]["annotations"]["description"]


def test_operator_down_watches_the_service_the_service_monitor_scrapes() -> None:
    objects = manifests(load_values("monitoring-values"))
    service = one(objects, "Service", "operator")
    monitor = one(objects, "ServiceMonitor", "operator")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"] == "metrics"
    down = next(r for r in _rules() if r["alert"] == "SpirisOperatorDown")
    # Prometheus Operator names the job after the scraped Service.
    assert f'job="{service["metadata"]["name"]}"' in down["expr"]


def test_service_monitors_scrape_metrics_of_operator_and_web() -> None:
    objects = manifests(load_values("monitoring-values"))
    monitors = of_kind(objects, "ServiceMonitor")
    assert len(monitors) == 2
    for monitor in monitors:
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["spiris-system"]}
        [endpoint] = monitor["spec"]["endpoints"]
        assert endpoint["path"] == "/metrics"
        assert endpoint["interval"] == "15s"
    # The web is scraped on its metrics Service (its own port), never through the public one.
    web_service = one(objects, "Service", "web-metrics")
    web_monitor = one(objects, "ServiceMonitor", "web")
    assert web_monitor["spec"]["selector"]["matchLabels"].items() <= web_service["metadata"]["labels"].items()
    assert not web_monitor["spec"]["selector"]["matchLabels"].items() <= (
        one(objects, "Service", "web")["metadata"]["labels"].items())
    assert web_monitor["spec"]["endpoints"][0]["port"] == web_service["spec"]["ports"][0]["name"] == "metrics"
    assert web_service["spec"]["type"] == "ClusterIP"
