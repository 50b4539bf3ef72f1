"""The README's install guide stays true: its values reference lists every chart value with its real type
and default, its example values install cleanly, and the resources it (and the chart's NOTES.txt) tells
users to apply are valid against the CRDs.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import pytest
import yaml
from testkit.chart_render import (
    CHART,
    lint,
    lint_findings,
    load_values,
    manifests,
    of_kind,
    render,
    required_values,
)
from testkit.paths import REPO

pytestmark = pytest.mark.timeout(60)

DOC = REPO / "README.md"
TYPES = {bool: "bool", int: "int", str: "string", list: "list", dict: "object"}
# Maps of free-form settings documented as one row each.
WHOLE = {"operator.resources", "web.resources", "api.resources"}


def _leaves(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value and path not in WHOLE:
            found.update(_leaves(value, path))
        else:
            found[path] = value
    return found


def _reference_rows() -> dict[str, tuple[str, Any, str]]:
    text = DOC.read_text()
    section = text.split("## Values reference", 1)[1]
    rows: dict[str, tuple[str, Any, str]] = {}
    for match in re.finditer(r"^\| `([^`]+)` \| (\w+) \| `([^`]*)` \| (.+) \|$", section, re.MULTILINE):
        path, kind, default, meaning = match.groups()
        assert path not in rows, f"{path} is documented twice"
        rows[path] = (kind, json.loads(default), meaning)
    return rows


def _crd_schemas() -> dict[str, dict[str, Any]]:
    schemas = {}
    for path in sorted((REPO / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        [version] = [v for v in crd["spec"]["versions"] if v.get("storage")]
        schemas[crd["spec"]["names"]["kind"]] = version["schema"]["openAPIV3Schema"]
    return schemas


def _heredocs(text: str) -> list[dict[str, Any]]:
    blocks = re.findall(r"cat <<'YAML' \| kubectl apply -f -\n(.*?)\n\s*YAML\n", text, re.DOTALL)
    return [yaml.safe_load(textwrap.dedent(block)) for block in blocks]


def test_values_reference_lists_every_value_with_type_and_default() -> None:
    with helm.Chart.load(CHART) as chart:
        defaults = _leaves(chart.values)
    rows = _reference_rows()
    assert sorted(rows) == sorted(defaults)
    for path, default in defaults.items():
        kind, documented, meaning = rows[path]
        assert kind == TYPES[type(default)], path
        assert documented == default, path
        assert len(meaning) > 10, path


def test_what_a_real_install_sets_is_marked_and_listed_by_the_notes() -> None:
    rows = _reference_rows()
    marked = {path for path, row in rows.items() if row[2].startswith("**Set for a real install.**")}
    assert marked == {"publicUrl", "s3.endpoint"}
    # The chart as shipped lints; its NOTES list exactly the marked values as still to set.
    assert lint(None)["errors"] == []
    notes = render({})["spiris-operator/templates/NOTES.txt"]
    missing = notes.split("NOT READY YET", 1)[1].split("\n\n", 1)[0]
    assert set(re.findall(r"^  - ([\w.]+): ", missing, re.MULTILINE)) == marked


def test_the_guides_example_values_install_cleanly() -> None:
    [block] = re.findall(r"```yaml\n# my-values.yaml\n(.*?)```", DOC.read_text(), re.DOTALL)
    values = yaml.safe_load(block)
    assert lint_findings(values) == []
    ingress = of_kind(manifests(values), "Ingress")
    assert ingress[0]["spec"]["rules"][0]["host"] == "spiris.example.com"


def test_applied_resources_are_valid_for_the_crds() -> None:
    schemas = _crd_schemas()
    notes = render(load_values("watch-namespaces-values"))["spiris-operator/templates/NOTES.txt"]
    resources = _heredocs(DOC.read_text()) + _heredocs(notes)
    assert {r["kind"] for r in resources} == {"SpirisConnection", "FiscalYearSync"}
    for resource in resources:
        jsonschema.validate(resource, schemas[resource["kind"]])
        assert resource["apiVersion"] == "spiris.senseworks.io/v1alpha1"


def test_cluster_wide_instructions_name_the_rendered_sync_cluster_role() -> None:
    roles = {r["metadata"]["name"] for r in of_kind(manifests(required_values()), "ClusterRole")}
    [named] = re.findall(r"--clusterrole=(\S+)", DOC.read_text())
    assert named in roles
    assert named.endswith("-sync")


def test_the_guide_says_ci_builds_the_image_and_follows_it_in_a_cluster() -> None:
    text = DOC.read_text()
    assert "This guide is what CI runs" in text and "make image" in text
    assert (REPO / "tests" / "incluster" / "test_chart_in_cluster.py").is_file()
    # The uninstall order the in-cluster tier follows: connections first, then the release.
    uninstall = text.split("### Uninstalling", 1)[1].split("###", 1)[0]
    assert uninstall.index("kubectl delete spc") < uninstall.index("helm uninstall")
    assert Path(REPO / "charts" / "sync-crds.sh").is_file() and "./charts/sync-crds.sh" in text
