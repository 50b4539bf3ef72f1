"""The examples under examples/ applied to the API as a user would, with the operator running."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from spiris_operator.kube_api import KubeApi
from testkit.operator_stack import condition
from testkit.waiting import wait_for

pytestmark = pytest.mark.timeout(60)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PLURALS = {"SpirisConnection": "spirisconnections", "FiscalYearSync": "fiscalyearsyncs"}


def test_examples_are_reconciled(kube: KubeApi, kube_namespace: str, start_operator, spiris_env) -> None:
    operator = start_operator(**spiris_env)
    documents = [yaml.safe_load(path.read_text()) for path in sorted(EXAMPLES.glob("*.yaml"))]
    for document in documents:
        kube.custom.create_namespaced_custom_object(
            "spiris.senseworks.io", "v1alpha1", kube_namespace, PLURALS[document["kind"]], document
        )
    for document in documents:
        name, plural = document["metadata"]["name"], PLURALS[document["kind"]]
        obj = wait_for(
            lambda n=name, p=plural: (
                condition(kube.get_custom(p, kube_namespace, n), "Ready")
                and kube.get_custom(p, kube_namespace, n)
            ),
            what=f"{plural}/{name} reconciled",
        )
        if document["kind"] == "SpirisConnection":
            assert obj["status"]["phase"] == "PendingConsent" and obj["status"]["consentUrl"]
        else:
            assert condition(obj, "Ready")["reason"] == "ConnectionNotReady"
    assert "Traceback" not in operator.output
    health = httpx.get(f"http://127.0.0.1:{operator.env['SPIRIS_OPERATOR_HEALTH_PORT']}/healthz", timeout=5)
    assert health.is_success
