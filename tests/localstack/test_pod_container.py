"""The node agent's container mode: pods whose image is a local podman image run as containers of it.

The product image (``localhost/spiris-operator:dev``) runs under the real Job controller with what a kubelet
gives a container: the security context's user and read-only root (no tmpfs podman would add), the projected
service-account token and a Secret at their mount paths, the emptyDir at /tmp, env from Secrets and the
downward API, init containers before the app container, exit codes the Job controller acts on, readiness
from an ``httpGet`` probe, and deletion with SIGTERM first. The container reaches the API server with
in-cluster configuration, as in a cluster.
"""

from __future__ import annotations

import subprocess
from functools import partial
from typing import Any

import pytest
from spiris_localstack.kube_cluster import LocalKube
from spiris_localstack.node_agent import NodeAgent
from spiris_localstack.pod_container import GLOBAL_FLAGS, LABEL
from spiris_localstack.processes import free_port
from testkit.waiting import wait_for

pytestmark = [pytest.mark.image, pytest.mark.timeout(180)]

#: Runs in the image: in-cluster configuration of the kubernetes client, as the operator uses it.
IN_CLUSTER = """
import os, pathlib
from kubernetes import client, config
config.load_incluster_config()
ns = pathlib.Path('/var/run/secrets/kubernetes.io/serviceaccount/namespace').read_text()
print('uid', os.getuid(), 'gid', os.getgid(), 'groups', sorted(os.getgroups()))
print('secret', os.environ['PASSWORD'], 'pod', os.environ['POD_NAME'],
      'init', open('/tmp/init').read().strip())
print('token-file', open('/var/run/secrets/spiris/token.json').read())
try:
    open('/opt/spiris/probe', 'w')
except OSError as exc:
    print('root read-only', exc.errno)
try:
    client.CoreV1Api().list_namespaced_pod(ns)
except client.ApiException as exc:
    print('in-cluster api', exc.status)
raise SystemExit(int(os.environ.get('EXIT', '0')))
"""


_wait = partial(wait_for, timeout=90, interval=0.3)


def _run(kube: LocalKube, namespace: str, job: dict[str, Any]) -> dict[str, str]:
    """Create the Job; its True conditions (type -> reason) once it is Complete or Failed."""
    kube.json("POST", f"/apis/batch/v1/namespaces/{namespace}/jobs", job)

    def finished() -> dict[str, str] | None:
        found = kube.rest.get(f"/apis/batch/v1/namespaces/{namespace}/jobs/{job['metadata']['name']}")
        listed = (found or {}).get("status", {}).get("conditions") or []
        conditions = {c["type"]: c.get("reason", "") for c in listed if c["status"] == "True"}
        return conditions if {"Complete", "Failed"} & set(conditions) else None

    result: dict[str, str] = _wait(finished, what=f"job {job['metadata']['name']}")
    return result


def _pods(kube: LocalKube, namespace: str, job: str) -> list[dict[str, Any]]:
    listing = kube.json("GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector=job-name%3D{job}")
    return list(listing["items"])


def _job(name: str, image: str, *, exit_code: int = 0) -> dict[str, Any]:
    security = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    main = {"name": "main", "image": image, "command": ["python", "-c", IN_CLUSTER],
            "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "EXIT", "value": str(exit_code)}],
            "securityContext": security,
            "volumeMounts": [*mounts,
                             {"name": "token", "mountPath": "/var/run/secrets/spiris", "readOnly": True}]}
    init = {"name": "prepare", "image": image, "command": ["sh", "-c", "echo done > /tmp/init"],
            "securityContext": security, "volumeMounts": mounts}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": 0,
                     "podFailurePolicy": {"rules": [{"action": "FailJob", "onExitCodes": {
                         "containerName": "main", "operator": "In", "values": [7]}}]},
                     "template": {"spec": {
                         "restartPolicy": "Never", "securityContext": {"fsGroup": 10001},
                         "initContainers": [init], "containers": [main],
                         "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "token", "secret": {
                             "secretName": "creds", "defaultMode": 0o440,
                             "items": [{"key": "token.json", "path": "token.json"}]}}]}}}}


def test_a_job_runs_the_image_with_the_pods_volumes_env_and_security_context(
    kube_cluster: LocalKube, kube_node: NodeAgent, kube_namespace: str, product_image: str
) -> None:
    ns = kube_namespace
    kube_cluster.json("POST", f"/api/v1/namespaces/{ns}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
        "stringData": {"password": "s3cr3t", "token.json": '{"a": 1}'}})
    result = _run(kube_cluster, ns, _job("in-image", product_image))
    log = kube_node.job_log(ns, "in-image")
    assert "Complete" in result, log
    [pod] = _pods(kube_cluster, ns, "in-image")
    status = pod["status"]
    assert status["containerStatuses"][0]["state"]["terminated"]["containerID"].startswith("podman://")
    assert status["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    name = pod["metadata"]["name"]
    for expected in ("uid 10001 gid 10001 groups [10001]", f"secret s3cr3t pod {name} init done",
                     'token-file {"a": 1}', "root read-only 30",
                     # the default ServiceAccount may not list pods: the API server answered, authenticated.
                     "in-cluster api 403"):
        assert expected in log, log
    # An exit code listed in podFailurePolicy fails the Job at once, as the sync worker's final codes do.
    failed = _run(kube_cluster, ns, _job("final", product_image, exit_code=7))
    assert failed.get("Failed") == "PodFailurePolicy", kube_node.job_log(ns, "final")


def test_a_web_pod_of_the_image_becomes_ready_and_stops_on_sigterm(
    kube_cluster: LocalKube, kube_node: NodeAgent, kube_namespace: str, product_image: str
) -> None:
    ns = kube_namespace
    port = free_port()
    env = {"SPIRIS_WEB_PUBLIC_URL": f"http://127.0.0.1:{port}", "SPIRIS_CLIENT_ID": "c",
           "SPIRIS_CLIENT_SECRET": "s", "SPIRIS_LINK_SIGNING_KEY": "k" * 32, "SPIRIS_WEB_HOST": "127.0.0.1",
           "SPIRIS_WEB_PORT": str(port)}
    kube_cluster.json("POST", f"/api/v1/namespaces/{ns}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
        "spec": {"restartPolicy": "Always", "terminationGracePeriodSeconds": 20,
                 "containers": [{"name": "web", "image": product_image, "command": ["spiris-web"],
                                 "env": [{"name": k, "value": v} for k, v in env.items()],
                                 "ports": [{"name": "http", "containerPort": port}],
                                 "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                                 "securityContext": {"readOnlyRootFilesystem": True},
                                 "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}],
                 "volumes": [{"name": "tmp", "emptyDir": {}}]}})

    def ready() -> bool:
        pod = kube_cluster.rest.get(f"/api/v1/namespaces/{ns}/pods/web") or {}
        return any(c["type"] == "Ready" and c["status"] == "True"
                   for c in pod.get("status", {}).get("conditions") or [])

    try:
        _wait(ready, timeout=60, what="the web pod to be Ready")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {kube_node.pod_log(ns, 'web')[-2000:]}") from None
    kube_cluster.json("DELETE", f"/api/v1/namespaces/{ns}/pods/web")
    _wait(lambda: kube_cluster.rest.get(f"/api/v1/namespaces/{ns}/pods/web") is None, timeout=30,
          what="the pod to be removed")
    log = kube_node.pod_log(ns, "web")
    assert "Traceback" not in log, log
    assert "Shutting down" in log or "shutdown" in log.lower(), log
    left = subprocess.run(["podman", *GLOBAL_FLAGS, "ps", "-a", "-q", "--filter",
                           f"label={LABEL}={kube_node.containers.owner}", "--filter", "name=_web_"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert left.stdout.strip() == "", "the container was not removed"
