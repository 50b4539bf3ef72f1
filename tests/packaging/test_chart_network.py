"""Network exposure: the web's Service, Ingress and NetworkPolicies, and the egress each component is allowed.

The web component is reachable on its port only and serves only its public pages through the Ingress; the
operator accepts metrics scrapes only; sync Jobs accept nothing. Egress is DNS, the Kubernetes API and Spiris
for everyone, plus Postgres and S3 for the operator and the Jobs — never the stores for the web. By default
"Spiris" is public addresses only (never loopback, private, link-local or cloud metadata addresses: a download
link pointing there is refused by the network too) and the stores are their configured endpoints only.
"""

from __future__ import annotations

from typing import Any

import pytest
from testkit.chart_render import load_values, manifests, of_kind, one, required_values

pytestmark = pytest.mark.timeout(60)


def _policies(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (p["metadata"]["namespace"], p["metadata"]["labels"]["app.kubernetes.io/component"]): p
        for p in of_kind(objects, "NetworkPolicy")
    }


def _egress_ports(policy: dict[str, Any]) -> set[tuple[int, str]]:
    return {(port["port"], port["protocol"]) for rule in policy["spec"]["egress"] for port in rule["ports"]}


DNS = {(53, "UDP"), (53, "TCP")}
KUBE_API = {(443, "TCP"), (6443, "TCP")}
POSTGRES = {(5432, "TCP")}
S3 = {(9000, "TCP")}  # the port of s3.endpoint in the required values


def test_default_policies_cover_each_component_with_the_right_ports() -> None:
    policies = _policies(manifests(required_values()))
    assert set(policies) == {
        ("spiris-system", "operator"),
        ("spiris-system", "web"),
        ("spiris-system", "sync"),
        ("spiris-system", "api"),
    }
    operator, web, sync = (policies[("spiris-system", c)] for c in ("operator", "web", "sync"))
    api = policies[("spiris-system", "api")]
    assert _egress_ports(api) == DNS | KUBE_API | POSTGRES | S3  # never Spiris: it reads only the copy
    assert api["spec"]["ingress"] == [{"ports": [{"port": 8080, "protocol": "TCP"}]}]
    for policy in (operator, web, sync):
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert _egress_ports(web) == DNS | KUBE_API  # Spiris is 443 too
    assert _egress_ports(operator) == DNS | KUBE_API | POSTGRES | S3
    assert _egress_ports(sync) == DNS | KUBE_API | POSTGRES | S3
    assert web["spec"]["ingress"] == [{"ports": [{"port": 8080, "protocol": "TCP"}]},
                                      {"ports": [{"port": 9090, "protocol": "TCP"}]}]
    assert operator["spec"]["ingress"] == [{"ports": [{"port": 9090, "protocol": "TCP"}]}]
    assert sync["spec"]["ingress"] == []
    # The sync policy selects the pods of the operator's Jobs (labels fixed in docs/architecture.md).
    assert sync["spec"]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "spiris-sync",
        "app.kubernetes.io/part-of": "spiris",
        "app.kubernetes.io/component": "sync-job",
    }


def test_the_sync_policy_selects_exactly_the_pods_of_the_operators_jobs() -> None:
    from spiris_operator.sync_jobs import JOB_LABELS

    sync = _policies(manifests(required_values()))[("spiris-system", "sync")]
    selector = sync["spec"]["podSelector"]["matchLabels"]
    assert selector.items() <= JOB_LABELS.items()


def test_configured_peers_and_cidrs_restrict_egress_and_ingress() -> None:
    objects = manifests(load_values("watch-namespaces-values"))
    policies = _policies(objects)
    assert {key for key in policies if key[1] == "sync"} == {("clients-a", "sync"), ("clients-b", "sync")}
    operator = policies[("spiris-system", "operator")]
    rules = {
        tuple(sorted(p["port"] for p in rule["ports"])): rule.get("to") for rule in operator["spec"]["egress"]
    }
    assert rules[(6443,)] == [{"ipBlock": {"cidr": "10.0.0.1/32"}}]
    assert rules[(5432,)] == [{"ipBlock": {"cidr": "10.20.0.0/16"}}]
    assert rules[(9000,)] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "storage"}}}
    ]
    assert rules[(53, 53)][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    ingress = _policies(manifests(load_values("ingress-tls-values")))[("spiris-system", "web")]["spec"][
        "ingress"
    ]
    assert ingress[0]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]
    # Narrowing the public port to the ingress controller leaves the metrics port to Prometheus.
    assert ingress[1]["ports"] == [{"port": 9090, "protocol": "TCP"}]
    assert ingress[1].get("from") == load_values("ingress-tls-values")["networkPolicy"].get(
        "metricsIngressFrom")


def test_ingress_serves_the_public_pages_of_the_public_url_with_tls() -> None:
    objects = manifests(load_values("ingress-tls-values"))
    ingress = one(objects, "Ingress", "web")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [
        {"hosts": ["spiris.senseworks.example"], "secretName": "spiris-consent-tls"}
    ]
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] == "spiris.senseworks.example"
    paths = [p["path"] for p in rule["http"]["paths"]]
    assert paths == ["/consent", "/oauth", "/result", "/static"]
    assert "/metrics" not in paths and "/" not in paths
    service = one(objects, "Service", "web")
    for path in rule["http"]["paths"]:
        assert path["backend"]["service"] == {"name": service["metadata"]["name"], "port": {"name": "http"}}
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}


def test_ingress_host_drops_the_port_of_the_public_url() -> None:
    values = load_values("ingress-tls-values")
    values["publicUrl"] = "https://consent.example.com:8443"
    [rule] = one(manifests(values), "Ingress", "web")["spec"]["rules"]
    assert rule["host"] == "consent.example.com"


def test_network_policies_can_be_turned_off() -> None:
    assert of_kind(manifests(load_values("no-networkpolicy-values")), "NetworkPolicy") == []


def _rules(policy: dict[str, Any]) -> dict[tuple[int, ...], Any]:
    return {
        tuple(sorted(p["port"] for p in rule["ports"])): rule.get("to") for rule in policy["spec"]["egress"]
    }


def test_default_egress_is_spiris_public_hosts_and_the_configured_stores_only() -> None:
    policies = _policies(manifests(required_values()))
    for component in ("operator", "sync", "web"):
        [public] = _rules(policies[("spiris-system", component)])[(443,)]
        assert public["ipBlock"]["cidr"] == "0.0.0.0/0"
        for blocked in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"):
            assert blocked in public["ipBlock"]["except"], (component, blocked)
    for component in ("operator", "sync", "api"):
        rules = _rules(policies[("spiris-system", component)])
        # s3.endpoint is minio.storage.svc.cluster.local:9000: that namespace, that port, nothing else.
        assert rules[(9000,)] == [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "storage"}}}
        ]
        # No Postgres endpoint configured: private addresses only, never the internet.
        assert rules[(5432,)] == [
            {"ipBlock": {"cidr": c}} for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
        ]
        for rule in policies[("spiris-system", component)]["spec"]["egress"]:
            ports = tuple(sorted(p["port"] for p in rule["ports"]))
            assert rule.get("to") or ports in {(53, 53), (443, 6443)}, (component, ports)


@pytest.mark.parametrize(
    ("endpoint", "secure", "port", "peers"),
    [
        ("10.1.2.3:9000", False, 9000, [{"ipBlock": {"cidr": "10.1.2.3/32"}}]),
        ("s3.eu-north-1.amazonaws.com", True, 443, "public"),
        ("minio.objects.svc", False, 80, [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "objects"}}}
        ]),
    ],
)
def test_store_egress_follows_the_configured_endpoints(
    endpoint: str, secure: bool, port: int, peers: Any
) -> None:
    values = required_values()
    values["s3"].update(endpoint=endpoint, secure=secure)
    values.setdefault("networkPolicy", {}).setdefault("egress", {})["postgres"] = {
        "ports": [5432], "cidrs": [], "peers": [], "endpoint": "192.168.7.9:5432",
    }
    operator = _policies(manifests(values))[("spiris-system", "operator")]
    rules = _rules(operator)
    assert rules[(5432,)] == [{"ipBlock": {"cidr": "192.168.7.9/32"}}]
    if peers == "public":  # S3 on 443 like Spiris: both rules public addresses only
        on_443 = [r["to"] for r in operator["spec"]["egress"] if [p["port"] for p in r["ports"]] == [443]]
        assert len(on_443) == 2 and all(to[0]["ipBlock"]["cidr"] == "0.0.0.0/0" for to in on_443)
    else:
        assert rules[(port,)] == peers


def test_worker_settings_reach_the_operator_and_its_jobs() -> None:
    from spiris_operator.settings import DOWNLOAD_ENV

    values = required_values()
    values["sync"] = {
        **values.get("sync", {}), "downloadAllowedHosts": ["*.vismaonline.com", "files.example.com"],
        "downloadMaxBytes": 1048576, "lockWaitSeconds": 60,
    }
    values["operator"] = {**values.get("operator", {}), "tokenRefreshTimeoutSeconds": 45}
    objects = manifests(values)
    operator = one(objects, "Deployment", "operator")
    env = {e["name"]: e.get("value") for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SPIRIS_DOWNLOAD_ALLOWED_HOSTS"] == "*.vismaonline.com,files.example.com"
    assert env["SPIRIS_DOWNLOAD_MAX_BYTES"] == "1048576"
    assert env["SPIRIS_SYNC_LOCK_WAIT_SECONDS"] == "60"
    assert env["SPIRIS_TOKEN_REFRESH_TIMEOUT_SECONDS"] == "45"
    # The operator copies the worker's ones into every Job.
    copied = {"SPIRIS_DOWNLOAD_ALLOWED_HOSTS", "SPIRIS_DOWNLOAD_MAX_BYTES", "SPIRIS_SYNC_LOCK_WAIT_SECONDS"}
    assert copied <= set(DOWNLOAD_ENV)
    web = one(objects, "Deployment", "web")
    [previous] = [e for e in web["spec"]["template"]["spec"]["containers"][0]["env"]
                  if e["name"] == "SPIRIS_LINK_PREVIOUS_SIGNING_KEYS"]
    assert previous["valueFrom"]["secretKeyRef"]["optional"] is True
    assert "SPIRIS_LINK_PREVIOUS_SIGNING_KEYS" not in env, "only the web verifies"
