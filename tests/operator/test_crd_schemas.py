"""The CRDs: examples validate against the openAPIV3 schemas, invalid examples are rejected.

The emulator does not validate CRs, so this is where the schemas are checked: structural validation with
jsonschema (types, enums, patterns, required, additionalProperties), and every CEL rule evaluated by a small
Python equivalent kept beside it here (a rule without an equivalent fails the test, so none is forgotten).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CRDS = {
    doc["spec"]["names"]["kind"]: doc
    for doc in (yaml.safe_load(p.read_text()) for p in (ROOT / "crds").glob("*.yaml"))
}


def _has(obj: Any, key: str) -> bool:
    return isinstance(obj, dict) and key in obj


# The CEL rules of the CRDs, each with its Python equivalent (self = the object the rule is attached to).
CEL: dict[str, Callable[[Any], bool]] = {
    "'ea:api' in self && 'offline_access' in self": lambda s: "ea:api" in s and "offline_access" in s,
    (
        "!has(self.sync) || !has(self.sync.schedule) || self.sync.schedule == '' "
        "|| self.sync.latestFiscalYears > 0"
    ): (
        lambda s: (
            not _has(s, "sync")
            or not _has(s["sync"], "schedule")
            or s["sync"]["schedule"] == ""
            or s["sync"].get("latestFiscalYears", 0) > 0
        )
    ),
    "has(self.fiscalYear) != has(self.startDate)": lambda s: _has(s, "fiscalYear") != _has(s, "startDate"),
    "!has(self.ledger) || self.ledger || !has(self.documents) || self.documents": (
        lambda s: not _has(s, "ledger") or s["ledger"] or not _has(s, "documents") or s["documents"]
    ),
}


def _schema(kind: str) -> dict[str, Any]:
    return CRDS[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def _apply_defaults(schema: dict[str, Any], obj: Any) -> Any:
    """Structural defaulting like the API server (defaults of absent properties, recursively)."""
    if not isinstance(obj, dict) or schema.get("type") != "object":
        return obj
    for key, sub in (schema.get("properties") or {}).items():
        if key not in obj and "default" in sub:
            obj[key] = copy.deepcopy(sub["default"])
        if key in obj:
            obj[key] = _apply_defaults(sub, obj[key])
    return obj


def _cel_violations(schema: dict[str, Any], obj: Any, path: str = "") -> Iterator[str]:
    for rule in schema.get("x-kubernetes-validations") or []:
        check = CEL.get(rule["rule"])
        assert check is not None, f"CEL rule at {path or '.'} has no Python equivalent: {rule['rule']}"
        if not check(obj):
            yield f"{path or '.'}: {rule['message']}"
    if isinstance(obj, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key in obj:
                yield from _cel_violations(sub, obj[key], f"{path}.{key}")
    if isinstance(obj, list) and "items" in schema:
        for index, item in enumerate(obj):
            yield from _cel_violations(schema["items"], item, f"{path}[{index}]")


def validate(document: dict[str, Any]) -> list[str]:
    """Errors of one CR instance (empty when valid)."""
    kind = document["kind"]
    schema = _schema(kind)
    defaulted = _apply_defaults(schema, copy.deepcopy(document))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(defaulted)]
    return errors + list(_cel_violations(schema, defaulted))


def _documents(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.yaml"))


@pytest.mark.parametrize("path", _documents(ROOT / "examples"), ids=lambda p: p.name)
def test_valid_examples_pass(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    assert validate(document) == []


@pytest.mark.parametrize("path", _documents(ROOT / "examples" / "invalid"), ids=lambda p: p.name)
def test_invalid_examples_are_rejected(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    assert validate(document), f"{path.name} should be rejected"


def test_every_cel_rule_is_checked() -> None:
    found: list[str] = []

    def walk(schema: dict[str, Any]) -> None:
        found.extend(r["rule"] for r in schema.get("x-kubernetes-validations") or [])
        for sub in (schema.get("properties") or {}).values():
            walk(sub)
        if "items" in schema:
            walk(schema["items"])

    for kind in CRDS:
        walk(_schema(kind))
    assert sorted(found) == sorted(CEL)


def test_crds_are_structurally_sound() -> None:
    for kind, crd in CRDS.items():
        spec = crd["spec"]
        assert spec["group"] == "spiris.senseworks.io" and spec["scope"] == "Namespaced"
        assert spec["names"]["categories"] == ["spiris"]
        version = spec["versions"][0]
        assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
        assert "status" in version["schema"]["openAPIV3Schema"]["properties"]
        columns = [c["name"] for c in version["additionalPrinterColumns"]]
        expected = {
            "SpirisConnection": ["Company", "Org.nr", "Ready", "Phase", "Age"],
            "FiscalYearSync": [
                "Connection",
                "Year",
                "Phase",
                "Progress",
                "Vouchers",
                "Documents",
                "Last Sync",
                "Age",
            ],
        }[kind]
        assert columns == expected
    assert CRDS["SpirisConnection"]["spec"]["names"]["shortNames"] == ["spc"]
    assert CRDS["FiscalYearSync"]["spec"]["names"]["shortNames"] == ["fys"]


def test_crds_pass_kubernetes_validate() -> None:
    import kubernetes_validate

    for crd in CRDS.values():
        kubernetes_validate.validate(crd, "1.31", strict=True)


def test_defaults_are_applied() -> None:
    minimal = yaml.safe_load((ROOT / "examples" / "spirisconnection-minimal.yaml").read_text())
    defaulted = _apply_defaults(_schema("SpirisConnection"), minimal)
    assert defaulted["spec"]["deletionPolicy"] == "Retain"
    assert defaulted["spec"]["consent"] == {"linkTTL": "7d"}
    assert "offline_access" in defaulted["spec"]["scopes"]
    assert defaulted["spec"]["sync"]["latestFiscalYears"] == 0


@pytest.mark.parametrize(
    ("orgnr", "ok"),
    [("556677-8899", True), ("5566778899", False), ("556677-889", False), ("55667a-8899", False)],
)
def test_org_number_pattern(orgnr: str, ok: bool) -> None:
    document = {
        "apiVersion": "spiris.senseworks.io/v1alpha1",
        "kind": "SpirisConnection",
        "metadata": {"name": "x"},
        "spec": {"expectedCorporateIdentityNumber": orgnr},
    }
    assert (validate(document) == []) is ok
