"""The CRDs as files and as the API server applies them: names, columns, defaults and the org-number pattern.

Validation itself is the API server's (tests/localstack/test_control_plane.py applies every example and every
invalid example to it); here the CRD files' shape is pinned and the server's defaulting and pattern checks of
the fields the product relies on are shown on real objects.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from spiris_localstack.kube_client import KubeRequestError
from spiris_localstack.kube_cluster import LocalKube

ROOT = Path(__file__).resolve().parents[2]
CRDS = {
    doc["spec"]["names"]["kind"]: doc
    for doc in (yaml.safe_load(p.read_text()) for p in (ROOT / "crds").glob("*.yaml"))
}
CONNECTIONS = "/apis/spiris.senseworks.io/v1alpha1/namespaces/{ns}/spirisconnections"


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
                "Ready",
                "Phase",
                "Priority",
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


def test_the_server_prints_the_fiscal_year_syncs_ready_condition(
    kube_cluster: LocalKube, kube_namespace: str
) -> None:
    """`kubectl get fys` shows Ready from the condition the operator writes (fiscal_year_reconciler)."""
    document = yaml.safe_load((ROOT / "examples" / "fiscalyearsync.yaml").read_text())
    document["metadata"] = {"name": f"fy-{uuid.uuid4().hex[:6]}"}
    path = f"/apis/spiris.senseworks.io/v1alpha1/namespaces/{kube_namespace}/fiscalyearsyncs"
    created = kube_cluster.json("POST", path, document)
    name = created["metadata"]["name"]
    created["status"] = {"phase": "Succeeded", "year": 2025, "conditions": [
        {"type": "Ready", "status": "True", "reason": "Synced", "message": "synced",
         "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    kube_cluster.json("PUT", f"{path}/{name}/status", created)
    table = subprocess.run(
        [str(kube_cluster.kubectl), "--kubeconfig", str(kube_cluster.admin_kubeconfig), "-n", kube_namespace,
         "get", "fiscalyearsyncs", name], capture_output=True, text=True, timeout=60, check=True,
    ).stdout.splitlines()
    row = dict(zip(table[0].split(), table[1].split(), strict=False))
    assert row["READY"] == "True" and row["PHASE"] == "Succeeded"


def test_defaults_are_applied_by_the_server(kube_cluster: LocalKube, kube_namespace: str) -> None:
    minimal = yaml.safe_load((ROOT / "examples" / "spirisconnection-minimal.yaml").read_text())
    created = kube_cluster.json("POST", CONNECTIONS.format(ns=kube_namespace), minimal)
    assert created["spec"]["deletionPolicy"] == "Retain"
    assert created["spec"]["consent"] == {"linkTTL": "7d"}
    assert "offline_access" in created["spec"]["scopes"]
    assert created["spec"]["sync"]["latestFiscalYears"] == 0


@pytest.mark.parametrize(
    ("orgnr", "ok"),
    [("556677-8899", True), ("5566778899", False), ("556677-889", False), ("55667a-8899", False)],
)
def test_org_number_pattern(kube_cluster: LocalKube, kube_namespace: str, orgnr: str, ok: bool) -> None:
    document = {
        "apiVersion": "spiris.senseworks.io/v1alpha1",
        "kind": "SpirisConnection",
        "metadata": {"name": f"x-{uuid.uuid4().hex[:6]}"},
        "spec": {"expectedCorporateIdentityNumber": orgnr},
    }
    try:
        kube_cluster.json("POST", CONNECTIONS.format(ns=kube_namespace), document)
        accepted = True
    except KubeRequestError as exc:
        assert exc.status == 422 and "expectedCorporateIdentityNumber" in exc.body
        accepted = False
    assert accepted is ok
