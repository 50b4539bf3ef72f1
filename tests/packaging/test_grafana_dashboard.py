"""The chart's Grafana dashboard (charts/spiris-operator/docs/grafana-dashboard.json) asks only for series the
operator and the web component export, with labels they carry.

The exported names come from the components' own registries (``OperatorMetrics``, ``WebMetrics``), not from a
list written here, so renaming a metric without the dashboard fails this test.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from spiris_operator.metrics import OperatorMetrics
from spiris_web.metrics import WebMetrics
from testkit.chart_render import CHART
from testkit.paths import REPO

pytestmark = pytest.mark.timeout(60)

DASHBOARD = CHART / "docs" / "grafana-dashboard.json"
SERIES = re.compile(r"\bspiris_[a-z0-9_]+")
# Label names a PromQL expression groups or filters by: `by (a, b)` and `{a=~"…"}`.
GROUPED = re.compile(r"\bby \(([^)]*)\)")
MATCHED = re.compile(r"([a-z_]+)\s*(?:=~|!=|!~|=)\s*\"")


def _exported() -> dict[str, set[str]]:
    """Series name → its label names, for every series either component can expose."""
    series: dict[str, set[str]] = {}
    for registry in (OperatorMetrics(CollectorRegistry()).registry, WebMetrics(CollectorRegistry()).registry):
        # The names a registry would expose (its public API yields only families, without label names).
        collectors: dict[str, Any] = registry._names_to_collectors
        for name, collector in collectors.items():
            labels = set(getattr(collector, "_labelnames", ()))
            series[name] = labels | ({"le"} if name.endswith("_bucket") else set())
    return series


def _targets(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_panel_asks_for_exported_series_and_labels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = _exported()
    targets = _targets(dashboard)
    assert targets
    for title, expr in targets:
        names = SERIES.findall(expr)
        assert names, f"{title}: no spiris metric in {expr}"
        for name in names:
            assert name in exported, f"{title}: {name} is exported by neither component"
        known = set().union(*(exported[name] for name in names))
        used = {label.strip() for group in GROUPED.findall(expr) for label in group.split(",")}
        used |= set(MATCHED.findall(expr))
        assert used <= known, f"{title}: labels {sorted(used - known)} are not on {names}"


def test_every_exported_family_has_a_panel() -> None:
    exprs = " ".join(expr for _, expr in _targets(json.loads(DASHBOARD.read_text())))
    families = {re.sub(r"_(bucket|count|sum|created|total)$", "", name) for name in _exported()}
    assert {family for family in families if family not in exprs} == set()


def test_the_dashboard_is_importable_and_documented() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] == "spiris-operator"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert variables == {"datasource", "namespace"}
    assert all(target["datasource"]["uid"] == "${datasource}"
               for panel in dashboard["panels"] for target in panel["targets"])
    assert "charts/spiris-operator/docs/grafana-dashboard.json" in (REPO / "README.md").read_text()
