"""The node agent against the real control plane: the Job controller decides, the agent runs and reports.

Jobs are created as a platform team would; the real Job controller makes the pods, the agent binds and runs
them as local processes, and the Job's own conditions (Complete, Failed with BackoffLimitExceeded or
PodFailurePolicy) come from the controller reading the exit codes the agent reported. Env and volumes are the
kubelet's: `valueFrom`, Secret/ConfigMap/emptyDir/projected service-account token at their mount paths, the
security context's user and read-only root, a pod waiting for a missing Secret, deletion with SIGTERM first.
"""

from __future__ import annotations

import subprocess
from functools import partial
from typing import Any

import pytest
from spiris_localstack.kube_cluster import LocalKube
from spiris_localstack.node_agent import NodeAgent
from testkit.waiting import wait_for

pytestmark = pytest.mark.timeout(120)


_wait = partial(wait_for, timeout=60, interval=0.2)


def _job(name: str, script: str, *, backoff: int = 0, extra_container: dict[str, Any] | None = None,
         volumes: list[dict[str, Any]] | None = None, pod: dict[str, Any] | None = None) -> dict[str, Any]:
    container = {"name": "main", "image": "local", "command": ["/bin/sh", "-c", script],
                 **(extra_container or {})}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": backoff,
                     "podFailurePolicy": {"rules": [{"action": "FailJob", "onExitCodes": {
                         "containerName": "main", "operator": "In", "values": [3]}}]},
                     "template": {"spec": {"restartPolicy": "Never", "containers": [container],
                                           "volumes": volumes or [], **(pod or {})}}}}


def _finished(kube: LocalKube, namespace: str, name: str) -> dict[str, str] | None:
    job = kube.rest.get(f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}")
    conditions = {c["type"]: c.get("reason", "")
                  for c in (job or {}).get("status", {}).get("conditions") or []
                  if c["status"] == "True"}
    return conditions if {"Complete", "Failed"} & set(conditions) else None


def _run(kube: LocalKube, namespace: str, job: dict[str, Any]) -> dict[str, str]:
    kube.json("POST", f"/apis/batch/v1/namespaces/{namespace}/jobs", job)
    result: dict[str, str] = _wait(lambda: _finished(kube, namespace, job["metadata"]["name"]),
                                   what=f"job {job['metadata']['name']}")
    return result


def _pods(kube: LocalKube, namespace: str, job: str) -> list[dict[str, Any]]:
    listing = kube.json("GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector=job-name%3D{job}")
    return list(listing["items"])


def test_a_job_completes_with_env_and_volumes_at_their_mount_paths(
    kube_cluster: LocalKube, kube_node: NodeAgent, kube_namespace: str
) -> None:
    ns = kube_namespace
    kube_cluster.json("POST", f"/api/v1/namespaces/{ns}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
        "stringData": {"password": "s3cr3t", "token.json": '{"a": 1}'}})
    kube_cluster.json("POST", f"/api/v1/namespaces/{ns}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf"}, "data": {"mode": "fast"}})
    script = ("echo user=$(id -u); echo pw=$PASSWORD mode=$MODE pod=$POD_NAME ns=$POD_NS;"
              "echo api=$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT;"
              "cat /var/run/secrets/spiris/token.json; echo;"
              "test -s /var/run/secrets/kubernetes.io/serviceaccount/token && echo sa-token;"
              "cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo;"
              "touch /tmp/scratch && echo tmp-writable;"
              " touch /etc/spiris-probe 2>/dev/null || echo root-read-only")
    job = _job("env-and-volumes", script, extra_container={
        "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "conf", "key": "mode"}}},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
        "securityContext": {"runAsUser": 10001, "runAsGroup": 10001, "readOnlyRootFilesystem": True},
        "volumeMounts": [{"name": "token", "mountPath": "/var/run/secrets/spiris", "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}]},
        volumes=[{"name": "token", "secret": {"secretName": "creds", "items": [
            {"key": "token.json", "path": "token.json"}], "defaultMode": 0o400}},
            {"name": "tmp", "emptyDir": {}}],
        pod={"securityContext": {"fsGroup": 10001}})
    result = _run(kube_cluster, ns, job)
    log = kube_node.job_log(ns, "env-and-volumes")
    assert "Complete" in result, log
    pod = _pods(kube_cluster, ns, "env-and-volumes")[0]["metadata"]["name"]
    for expected in ("user=10001", "pw=s3cr3t mode=fast", f"pod={pod} ns={ns}",
                     f"api=127.0.0.1:{kube_cluster.plane.port}", '{"a": 1}', "sa-token", ns, "tmp-writable",
                     "root-read-only"):
        assert expected in log, log


def test_exit_codes_drive_the_job_controller(kube_cluster: LocalKube, kube_namespace: str) -> None:
    # A listed exit code fails the Job at once through podFailurePolicy, whatever the backoff limit.
    assert _run(kube_cluster, kube_namespace, _job("final", "exit 3", backoff=4)).get("Failed") == \
        "PodFailurePolicy"
    assert len(_pods(kube_cluster, kube_namespace, "final")) == 1
    # Any other failure is retried up to the backoff limit.
    assert _run(kube_cluster, kube_namespace, _job("retried", "exit 1", backoff=1)).get("Failed") == \
        "BackoffLimitExceeded"
    assert len(_pods(kube_cluster, kube_namespace, "retried")) == 2
    statuses = [p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"]
                for p in _pods(kube_cluster, kube_namespace, "retried")]
    assert statuses == [1, 1]


def test_a_pod_waits_for_its_secret(kube_cluster: LocalKube, kube_namespace: str) -> None:
    ns = kube_namespace
    job = _job("waits", "echo $VALUE", extra_container={
        "env": [{"name": "VALUE", "valueFrom": {"secretKeyRef": {"name": "later", "key": "v"}}}]})
    kube_cluster.json("POST", f"/apis/batch/v1/namespaces/{ns}/jobs", job)

    def waiting() -> str | None:
        pods = _pods(kube_cluster, ns, "waits")
        statuses = pods[0].get("status", {}).get("containerStatuses") if pods else None
        reason: str | None = (statuses or [{}])[0].get("state", {}).get("waiting", {}).get("reason")
        return reason

    assert _wait(waiting, what="the pod to wait for its Secret") == "CreateContainerConfigError"
    kube_cluster.json("POST", f"/api/v1/namespaces/{ns}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "later"}, "stringData": {"v": "now"}})
    assert "Complete" in _wait(lambda: _finished(kube_cluster, ns, "waits"), what="the Job after the Secret")


def test_deleting_a_pod_sends_sigterm_then_removes_it(kube_cluster: LocalKube, kube_node: NodeAgent,
                                                      kube_namespace: str) -> None:
    ns = kube_namespace
    script = "trap 'echo got-term; exit 0' TERM; echo started; while true; do sleep 0.1; done"
    kube_cluster.json("POST", f"/api/v1/namespaces/{ns}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper"},
        "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 20,
                 "containers": [{"name": "main", "image": "local", "command": ["/bin/sh", "-c", script]}]}})
    _wait(lambda: (kube_cluster.rest.get(f"/api/v1/namespaces/{ns}/pods/sleeper") or {})
          .get("status", {}).get("phase") == "Running", what="the pod to run")
    _wait(lambda: "started" in kube_node.pod_log(ns, "sleeper"), what="the container's output")
    kube_cluster.json("DELETE", f"/api/v1/namespaces/{ns}/pods/sleeper")
    _wait(lambda: kube_cluster.rest.get(f"/api/v1/namespaces/{ns}/pods/sleeper") is None, timeout=15,
          what="the pod to be removed")
    assert "got-term" in kube_node.pod_log(ns, "sleeper")


def test_kubectl_logs_reads_the_container_output(kube_cluster: LocalKube, kube_namespace: str) -> None:
    _run(kube_cluster, kube_namespace, _job("talks", "echo hello from the pod"))
    result = subprocess.run([str(kube_cluster.kubectl), "--kubeconfig", kube_cluster.admin_kubeconfig,
                             "-n", kube_namespace, "logs", "job/talks"],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello from the pod"


def test_a_deployment_becomes_ready_through_its_readiness_probe(kube_cluster: LocalKube,
                                                                kube_namespace: str) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = f"exec python3 -m http.server {port} --bind 127.0.0.1"
    kube_cluster.json("POST", f"/apis/apps/v1/namespaces/{kube_namespace}/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                     "name": "web", "image": "local", "command": ["/bin/sh", "-c", server],
                     "ports": [{"name": "http", "containerPort": port}],
                     "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1}}]}}}})

    def available() -> bool:
        deployment = kube_cluster.json("GET", f"/apis/apps/v1/namespaces/{kube_namespace}/deployments/web")
        return bool(deployment.get("status", {}).get("availableReplicas") == 1)

    _wait(available, what="the Deployment to be available")
    kube_cluster.json("DELETE", f"/apis/apps/v1/namespaces/{kube_namespace}/deployments/web")
