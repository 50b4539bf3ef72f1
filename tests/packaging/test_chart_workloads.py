"""The chart's workloads: hardened security contexts, probes, resources, a writable /tmp, the env contract.

Every container (init containers included) runs non-root with a read-only root filesystem, no privilege
escalation, all capabilities dropped and the RuntimeDefault seccomp profile. Secrets reach the processes only
through `secretKeyRef`, and every environment variable the chart sets is one the code actually reads.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from testkit.chart_render import (
    containers,
    env_of,
    load_values,
    manifests,
    one,
    pod_specs,
    required_values,
    value_set_names,
)
from testkit.paths import REPO

pytestmark = pytest.mark.timeout(60)

SECRET_ENV = {
    "SPIRIS_CLIENT_SECRET",
    "SPIRIS_LINK_SIGNING_KEY",
    "DATABASE_URL",
    "S3_ACCESS_KEY",
    "S3_SECRET_KEY",
}


@pytest.mark.parametrize("value_set", value_set_names())
def test_every_pod_and_container_is_hardened(value_set: str) -> None:
    workloads = list(pod_specs(manifests(load_values(value_set))))
    assert len(workloads) == 3  # operator, web, api
    for name, pod in workloads:
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert (
            pod.get("hostNetwork") is not True
            and pod.get("hostPID") is not True
            and pod.get("hostIPC") is not True
        )
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes["tmp"]
        for container in containers(pod):
            where = f"{name}/{container['name']}"
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, where
            assert context["runAsUser"] == 10001, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context.get("privileged", False) is False, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], where
            assert container["resources"]["requests"]["memory"], where
            assert container["resources"]["limits"]["memory"], where
            for entry in container.get("env", []):
                if entry["name"] in SECRET_ENV:
                    assert set(entry) == {"name", "valueFrom"}, (
                        f"{where}: {entry['name']} must be a secretKeyRef"
                    )
                    assert set(entry["valueFrom"]) == {"secretKeyRef"}, where


def test_operator_is_two_replicas_one_active_by_lease_with_kopf_liveness() -> None:
    objects = manifests(required_values())
    operator = one(objects, "Deployment", "operator")
    assert operator["spec"]["replicas"] == 2
    # The new pod waits as a standby until the old one releases the Lease: a surge is safe.
    assert operator["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    pdb = one(objects, "PodDisruptionBudget", "operator")
    assert pdb["spec"]["selector"] == operator["spec"]["selector"]
    assert pdb["spec"]["maxUnavailable"] == 1
    pod = operator["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["command"] == ["spiris-operator"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"health": 8080, "metrics": 9090}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    env = env_of(container)
    assert env["SPIRIS_OPERATOR_HEALTH_PORT"]["value"] == "8080"
    assert env["SPIRIS_OPERATOR_METRICS_PORT"]["value"] == "9090"
    assert env["SPIRIS_LEADER_ELECTION_NAMESPACE"]["value"] == "spiris-system"
    [migrate] = pod["initContainers"]
    assert migrate["command"] == ["spiris-sync", "migrate"]
    assert "DATABASE_URL" in env_of(migrate)


def test_web_runs_two_replicas_with_health_and_readiness_probes() -> None:
    objects = manifests(required_values())
    web = one(objects, "Deployment", "web")
    assert web["spec"]["replicas"] == 2
    [container] = web["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["spiris-web"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                                  {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]
    env = env_of(container)
    # The web never touches the stores: no database or S3 credentials in its pods.
    assert not {"DATABASE_URL", "S3_ACCESS_KEY", "S3_SECRET_KEY"} & set(env)
    assert env["SPIRIS_REDIRECT_URI"]["value"] == "https://consent.example.com/oauth/callback"
    service = one(objects, "Service", "web")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
    pdb = one(objects, "PodDisruptionBudget", "web")
    assert pdb["spec"]["selector"] == web["spec"]["selector"]
    assert pdb["spec"]["maxUnavailable"] == 1


def test_images_come_from_values_and_jobs_use_the_same_image() -> None:
    default = manifests(required_values())
    operator = one(default, "Deployment", "operator")["spec"]["template"]["spec"]
    assert operator["containers"][0]["image"] == "ghcr.io/senseworks/spiris-operator:0.1.0"
    pinned = manifests(load_values("sandbox-values"))
    for _, pod in pod_specs(pinned):
        assert pod["imagePullSecrets"] == [{"name": "registry-credentials"}]
        for container in containers(pod):
            assert container["image"] == (
                "registry.example.com/senseworks/spiris-operator@sha256:"
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            )
            assert container["imagePullPolicy"] == "Always"
    env = env_of(one(pinned, "Deployment", "operator")["spec"]["template"]["spec"]["containers"][0])
    assert env["SPIRIS_SYNC_IMAGE"]["value"].endswith("@sha256:" + "0123456789abcdef" * 4)
    assert env["SPIRIS_SYNC_IMAGE_PULL_POLICY"]["value"] == "Always"


def test_secret_references_follow_the_values() -> None:
    objects = manifests(load_values("sandbox-values"))
    operator = env_of(one(objects, "Deployment", "operator")["spec"]["template"]["spec"]["containers"][0])
    assert operator["SPIRIS_CLIENT_ID"]["valueFrom"]["secretKeyRef"] == {
        "name": "spiris-sandbox-client",
        "key": "id",
    }
    assert operator["SPIRIS_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "spiris-sandbox-client",
        "key": "secret",
    }
    assert operator["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "spiris-database", "key": "url"}
    assert operator["S3_SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "spiris-s3",
        "key": "AWS_SECRET_ACCESS_KEY",
    }
    # The Jobs' references: the operator passes names and keys on, never values.
    assert operator["SPIRIS_SYNC_DATABASE_SECRET"]["value"] == "spiris-database"
    assert operator["SPIRIS_SYNC_DATABASE_SECRET_KEY"]["value"] == "url"
    assert operator["SPIRIS_SYNC_S3_SECRET"]["value"] == "spiris-s3"
    assert operator["SPIRIS_SYNC_S3_ACCESS_KEY_KEY"]["value"] == "AWS_ACCESS_KEY_ID"
    assert operator["SPIRIS_SYNC_S3_SECRET_KEY_KEY"]["value"] == "AWS_SECRET_ACCESS_KEY"
    web = env_of(one(objects, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0])
    assert web["SPIRIS_SANDBOX"]["value"] == "true"
    for env in (web, operator):
        assert env["SPIRIS_API_URL"]["value"] == "https://eaccountingapi-sandbox.test.vismaonline.com/v2"
        assert env["SPIRIS_IDENTITY_URL"]["value"] == "https://identity-sandbox.test.vismaonline.com"
    assert "SPIRIS_SANDBOX" not in operator


def test_with_the_default_values_the_web_starts_without_its_secrets() -> None:
    # A default install has no Secrets yet: the web starts not-configured and reports instead of the kubelet
    # waiting on "secret not found"; the operator only without the link-signing key (LinkSigningKeyNotSet).
    objects = manifests({})
    web = env_of(one(objects, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0])
    assert web["SPIRIS_WEB_PUBLIC_URL"]["value"] == ""
    for name, secret, key in (
        ("SPIRIS_CLIENT_ID", "spiris-oauth-client", "client-id"),
        ("SPIRIS_CLIENT_SECRET", "spiris-oauth-client", "client-secret"),
        ("SPIRIS_LINK_SIGNING_KEY", "spiris-link-signing-key", "signing-key"),
    ):
        assert web[name]["valueFrom"]["secretKeyRef"] == {"name": secret, "key": key, "optional": True}
    operator = env_of(one(objects, "Deployment", "operator")["spec"]["template"]["spec"]["containers"][0])
    assert operator["SPIRIS_LINK_SIGNING_KEY"]["valueFrom"]["secretKeyRef"]["optional"] is True
    for required in ("SPIRIS_CLIENT_ID", "SPIRIS_CLIENT_SECRET", "DATABASE_URL"):
        assert "optional" not in operator[required]["valueFrom"]["secretKeyRef"]


def test_watch_namespaces_and_job_cap_reach_the_operator() -> None:
    objects = manifests(load_values("watch-namespaces-values"))
    env = env_of(one(objects, "Deployment", "operator")["spec"]["template"]["spec"]["containers"][0])
    assert env["SPIRIS_WATCH_NAMESPACES"]["value"] == "clients-a,clients-b"
    assert env["SPIRIS_MAX_CONCURRENT_JOBS"]["value"] == "10"
    assert env["SPIRIS_WEB_PUBLIC_URL"]["value"] == "https://spiris.consent.example.com"
    default_env = env_of(
        one(manifests(required_values()), "Deployment", "operator")["spec"]["template"]["spec"]["containers"][
            0
        ]
    )
    assert default_env["SPIRIS_WATCH_NAMESPACES"]["value"] == ""  # all namespaces
    assert default_env["SPIRIS_API_URL"]["value"] == "https://eaccountingapi.vismaonline.com/v2"
    assert default_env["SPIRIS_IDENTITY_URL"]["value"] == "https://identity.vismaonline.com"


def test_explicit_spiris_urls_win_over_the_sandbox_switch() -> None:
    values = load_values("sandbox-values")
    values["spiris"].update(
        apiUrl="https://spiris-proxy.internal/v2", identityUrl="https://identity-proxy.internal"
    )
    env = env_of(one(manifests(values), "Deployment", "web")["spec"]["template"]["spec"]["containers"][0])
    assert env["SPIRIS_API_URL"]["value"] == "https://spiris-proxy.internal/v2"
    assert env["SPIRIS_IDENTITY_URL"]["value"] == "https://identity-proxy.internal"


def _sources(*packages: str) -> str:
    return "\n".join(
        path.read_text() for package in packages for path in sorted((REPO / package).rglob("*.py"))
    )


def _documented_env() -> set[str]:
    text = (REPO / "docs" / "architecture.md").read_text()
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", text))


@pytest.mark.parametrize(
    ("component", "packages"),
    [("operator", ("operator/spiris_operator",)), ("web", ("web/spiris_web",)),
     ("api", ("operator/spiris_read", "operator/spiris_store"))],
)
def test_every_env_var_the_chart_sets_is_documented_and_read_by_the_code(
    component: str, packages: tuple[str, ...]
) -> None:
    deployment = one(manifests(required_values()), "Deployment", component)
    names = set(env_of(deployment["spec"]["template"]["spec"]["containers"][0]))
    assert names - _documented_env() == set(), "undocumented in docs/architecture.md"
    code = _sources(*packages)
    unread = {name for name in names if f'"{name}"' not in code}
    assert unread == set(), f"the {component} code never reads these"


def test_every_pod_mounts_only_what_it_declares() -> None:
    for _, pod in pod_specs(manifests(required_values())):
        declared = {volume["name"] for volume in pod["volumes"]}
        mounted = {m["name"] for c in containers(pod) for m in c.get("volumeMounts", [])}
        assert mounted <= declared
        assert all(
            Path(m["mountPath"]).is_absolute() for c in containers(pod) for m in c.get("volumeMounts", [])
        )
