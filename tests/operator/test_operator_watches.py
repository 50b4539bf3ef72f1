"""What the operator asks the API server for, read from the server's audit log by the operator's identity.

The operator runs as the chart's ServiceAccount, so every request it makes is attributed to that account in
the audit log: its Secret list and watch carry the token Secrets' label selector (the API server filters; no
other Secret of the namespace ever reaches the operator), and it never reads an unrelated Secret.
"""

from __future__ import annotations

import json
import time
import urllib.parse

from spiris_localstack.chart_rbac import ChartAccess
from spiris_localstack.kube_cluster import LocalKube
from spiris_operator.kube_api import KubeApi
from testkit.operator_stack import create_connection
from testkit.waiting import wait_for


def _requests_by(kube_cluster: LocalKube, username: str) -> list[dict]:
    found = []
    with kube_cluster.plane.audit_log.open() as log:
        for line in log:
            event = json.loads(line)
            if event.get("user", {}).get("username") == username:
                found.append(event)
    return found


def test_the_secret_watch_is_filtered_by_the_api_server(
    kube: KubeApi, kube_cluster: LocalKube, kube_namespace: str, chart_access: ChartAccess, start_operator,
    spiris_env,
) -> None:
    kube.core.create_namespaced_secret(kube_namespace, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "unrelated"}, "stringData": {"k": "v"}})
    start_operator(**spiris_env)
    create_connection(kube, kube_namespace, "acme")
    wait_for(lambda: (kube.get_custom("spirisconnections", kube_namespace, "acme") or {})
             .get("status", {}).get("consentUrl"), what="the consent link")
    operator = f"system:serviceaccount:{kube_namespace}:{chart_access.service_accounts['operator']}"
    time.sleep(1)
    secret_calls = [e for e in _requests_by(kube_cluster, operator)
                    if (e.get("objectRef") or {}).get("resource") == "secrets"]
    listings = [e for e in secret_calls if e["verb"] in ("list", "watch")]
    assert listings, "the operator never listed or watched Secrets"
    for event in listings:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(event["requestURI"]).query)
        assert "spiris.senseworks.io/connection" in query.get("labelSelector", [""])[0], event["requestURI"]
    assert not [e for e in secret_calls if (e.get("objectRef") or {}).get("name") == "unrelated"]
