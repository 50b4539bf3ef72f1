"""The chart carries byte-identical copies of crds/ (the source of truth); `charts/sync-crds.sh` refreshes
them.

Helm installs files under a chart's crds/ before the templates and never templates them, so the copies are the
CRDs a Helm user gets; any drift from crds/ would ship an outdated schema.
"""

from __future__ import annotations

import helm_python as helm
import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate
from testkit.chart_render import CHART, KUBE_VERSIONS
from testkit.paths import REPO

pytestmark = pytest.mark.timeout(60)

SOURCE = REPO / "crds"
COPIES = CHART / "crds"
FIX = "run ./charts/sync-crds.sh"


def test_crds_exist_in_the_source_of_truth() -> None:
    assert sorted(SOURCE.glob("*.yaml")), "crds/ holds no CRD"


def test_chart_crds_are_identical_copies() -> None:
    source = {path.name: path.read_bytes() for path in SOURCE.glob("*.yaml")}
    copies = {path.name: path.read_bytes() for path in COPIES.glob("*.yaml")}
    assert sorted(copies) == sorted(source), f"the chart's crds/ lists other files than crds/: {FIX}"
    for name, data in source.items():
        assert copies[name] == data, f"charts/spiris-operator/crds/{name} differs from crds/{name}: {FIX}"


def test_helm_loads_the_crds_the_chart_ships() -> None:
    with helm.Chart.load(CHART) as chart:
        loaded = chart.crds
    kinds = set()
    for crd in loaded:
        for document in yaml.safe_load_all(crd["data"]):
            assert document["kind"] == "CustomResourceDefinition"
            assert document["spec"]["group"] == "spiris.senseworks.io"
            kinds.add(document["spec"]["names"]["kind"])
            for version in KUBE_VERSIONS:
                kubernetes_validate.validate(document, version, strict=True)
    assert kinds == {"SpirisConnection", "FiscalYearSync"}
