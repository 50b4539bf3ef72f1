"""The local Job runner: env and Secret volumes resolved from the emulator, status like the real controller,
retries, deadlines, deletion, and never running a Job twice."""

from __future__ import annotations

import base64
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from spiris_localstack.job_runner import JobRunner
from spiris_localstack.kube_server import KubeServer
from spiris_localstack.processes import pid_alive

pytestmark = pytest.mark.timeout(60)


def job_manifest(name: str, script: str, *, backoff_limit: int = 0, deadline: int | None = None,
                 env: list[dict[str, Any]] | None = None, args: list[str] | None = None,
                 volumes: list[dict[str, Any]] | None = None, mounts: list[dict[str, Any]] | None = None,
                 **extra_spec: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "backoffLimit": backoff_limit,
        "template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "spiris-operator:local",
                            "command": ["python", "-c", textwrap.dedent(script)], "args": args or [],
                            "env": env or [], "volumeMounts": mounts or []}],
            "volumes": volumes or [],
        }},
        **extra_spec,
    }
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec}


def create_job(server: KubeServer, namespace: str, manifest: dict[str, Any]) -> None:
    server.request("POST", f"/apis/batch/v1/namespaces/{namespace}/jobs", json=manifest)


def read_job(server: KubeServer, namespace: str, name: str) -> dict[str, Any]:
    return server.request("GET", f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}")


def wait_for(check: Callable[[], Any], *, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def condition(job: dict[str, Any]) -> dict[str, Any] | None:
    conditions = (job.get("status") or {}).get("conditions") or []
    done = [c for c in conditions if c["type"] in ("Complete", "Failed") and c["status"] == "True"]
    return done[0] if done else None


def finished(server: KubeServer, namespace: str, name: str) -> dict[str, Any]:
    job: dict[str, Any] = wait_for(lambda: (lambda j: j if condition(j) else None)(read_job(server, namespace,
                                                                                                name)))
    return job


def test_job_with_secret_volume_and_env_refs_succeeds(kube_server: KubeServer, kube_namespace: str,
                                                      job_runner: JobRunner) -> None:
    kube_server.request("POST", f"/api/v1/namespaces/{kube_namespace}/secrets", json={
        "metadata": {"name": "acme-spiris-token"},
        "stringData": {"token.json": '{"access_token": "at-1"}', "client-secret": "s3cret"}})
    kube_server.request("POST", f"/api/v1/namespaces/{kube_namespace}/configmaps", json={
        "metadata": {"name": "settings"}, "data": {"api-url": "http://127.0.0.1:1/v2"}})
    script = """
        import json, os, stat, sys
        token_file = os.environ["SPIRIS_TOKEN_FILE"]
        assert sys.argv[1] == token_file, (sys.argv, token_file)
        assert not token_file.startswith("/var/run/spiris"), token_file
        mode = stat.S_IMODE(os.stat(token_file).st_mode)
        dir_mode = stat.S_IMODE(os.stat(os.path.dirname(token_file)).st_mode)
        assert (mode, dir_mode) == (0o600, 0o700), (oct(mode), oct(dir_mode))
        token = json.load(open(token_file))
        assert os.environ["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)
        assert os.path.isfile(os.environ["KUBECONFIG"])
        assert "OPTIONAL_MISSING" not in os.environ
        print("token", token["access_token"], "secret", os.environ["CLIENT_SECRET"],
              "url", os.environ["SPIRIS_API_URL"], "literal", os.environ["MODE"])
    """
    env = [
        {"name": "MODE", "value": "incremental"},
        {"name": "SPIRIS_TOKEN_FILE", "value": "/var/run/spiris/token/token.json"},
        {"name": "CLIENT_SECRET", "valueFrom": {"secretKeyRef": {"name": "acme-spiris-token",
                                                                 "key": "client-secret"}}},
        {"name": "SPIRIS_API_URL", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "api-url"}}},
        {"name": "OPTIONAL_MISSING", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "x",
                                                                    "optional": True}}},
    ]
    create_job(kube_server, kube_namespace, job_manifest(
        "sync-2024", script, env=env, args=["/var/run/spiris/token/token.json"],
        volumes=[{"name": "token", "secret": {"secretName": "acme-spiris-token"}}],
        mounts=[{"name": "token", "mountPath": "/var/run/spiris/token", "readOnly": True}]))

    job = finished(kube_server, kube_namespace, "sync-2024")
    log = job_runner.log_path(kube_namespace, "sync-2024").read_text()
    assert condition(job) is not None and condition(job)["type"] == "Complete", log  # type: ignore[index]
    status = job["status"]
    assert status["succeeded"] == 1
    assert "failed" not in status and "active" not in status
    assert status["startTime"] <= status["completionTime"]
    assert "token at-1 secret s3cret url http://127.0.0.1:1/v2 literal incremental" in log


def test_failing_job_retries_backoff_limit_times(kube_server: KubeServer, kube_namespace: str,
                                                 job_runner: JobRunner) -> None:
    create_job(kube_server, kube_namespace, job_manifest("fails", "import sys; print('boom'); sys.exit(3)",
                                                         backoff_limit=2))
    job = finished(kube_server, kube_namespace, "fails")
    failed = condition(job)
    assert failed is not None and (failed["type"], failed["reason"]) == ("Failed", "BackoffLimitExceeded")
    assert job["status"]["failed"] == 3
    assert "succeeded" not in job["status"] and "completionTime" not in job["status"]
    assert "exit code 3" in failed["message"]  # no Pod to read it from: the message carries it
    log = job_runner.log_path(kube_namespace, "fails").read_text()
    assert log.count("\nboom\n") == 3 and log.count("exited with code 3") == 3


def test_deadline_kills_the_process(kube_server: KubeServer, kube_namespace: str,
                                    job_runner: JobRunner) -> None:
    create_job(kube_server, kube_namespace, job_manifest("slow", "import time; time.sleep(60)", deadline=2,
                                                         backoff_limit=5))
    pids = wait_for(job_runner.running_pids)
    job = finished(kube_server, kube_namespace, "slow")
    assert condition(job)["reason"] == "DeadlineExceeded"  # type: ignore[index]
    assert job["status"]["failed"] == 1 and "active" not in job["status"]
    assert not any(pid_alive(pid) for pid in pids)  # killed before the status was written
    assert "--- killed" in job_runner.log_path(kube_namespace, "slow").read_text()


def test_deleting_the_job_kills_the_process(kube_server: KubeServer, kube_namespace: str,
                                            job_runner: JobRunner) -> None:
    create_job(kube_server, kube_namespace, job_manifest("doomed", "import time; time.sleep(60)"))
    pids = wait_for(job_runner.running_pids)
    wait_for(lambda: read_job(kube_server, kube_namespace, "doomed").get("status", {}).get("active") == 1)
    kube_server.request("DELETE", f"/apis/batch/v1/namespaces/{kube_namespace}/jobs/doomed")
    wait_for(lambda: not any(pid_alive(pid) for pid in pids), timeout=15)
    assert job_runner.running_pids() == []


def test_secret_volume_is_refreshed_while_running(kube_server: KubeServer, kube_namespace: str,
                                                  job_runner: JobRunner) -> None:
    kube_server.request("POST", f"/api/v1/namespaces/{kube_namespace}/secrets", json={
        "metadata": {"name": "tok"}, "stringData": {"token.json": "old"}})
    script = """
        import sys, time
        deadline = time.time() + 20
        while time.time() < deadline:
            if open(sys.argv[1]).read() == "rotated":
                print("saw rotation"); sys.exit(0)
            time.sleep(0.1)
        sys.exit(1)
    """
    create_job(kube_server, kube_namespace, job_manifest(
        "watcher", script, args=["/var/run/spiris/token/token.json"],
        volumes=[{"name": "token", "secret": {"secretName": "tok"}}],
        mounts=[{"name": "token", "mountPath": "/var/run/spiris/token"}]))
    wait_for(job_runner.running_pids)
    rotated = base64.b64encode(b"rotated").decode()
    kube_server.request("PATCH", f"/api/v1/namespaces/{kube_namespace}/secrets/tok", json={
        "data": {"token.json": rotated}}, headers={"Content-Type": "application/merge-patch+json"})
    job = finished(kube_server, kube_namespace, "watcher")
    assert condition(job)["type"] == "Complete"  # type: ignore[index]


def test_a_restarted_runner_never_runs_a_job_twice(kube_server: KubeServer, kube_namespace: str,
                                                   tmp_path: Path) -> None:
    with JobRunner(kubeconfig=kube_server.kubeconfig, log_dir=tmp_path) as first:
        create_job(kube_server, kube_namespace, job_manifest("once", "import time; time.sleep(60)"))
        pids = wait_for(first.running_pids)
    assert not any(pid_alive(pid) for pid in pids)  # stopping the runner killed its process

    with JobRunner(kubeconfig=kube_server.kubeconfig, log_dir=tmp_path) as second:
        job = finished(kube_server, kube_namespace, "once")
        assert condition(job)["reason"] == "RunnerRestarted"  # type: ignore[index]
        time.sleep(0.5)
        assert second.running_pids() == []
    assert (tmp_path / f"{kube_namespace}_once.log").read_text().count("--- attempt") == 1


def final_exit_codes_policy(action: str, codes: list[int]) -> dict[str, Any]:
    return {"rules": [{"action": "Count", "onExitCodes": {"containerName": "other", "operator": "In",
                                                          "values": codes}},
                      {"action": action, "onExitCodes": {"containerName": "main", "operator": "In",
                                                         "values": codes}}]}


def test_pod_failure_policy_fail_job_stops_retries(kube_server: KubeServer, kube_namespace: str,
                                                   job_runner: JobRunner) -> None:
    create_job(kube_server, kube_namespace, job_manifest(
        "consent", "import sys; sys.exit(3)", backoff_limit=5,
        podFailurePolicy=final_exit_codes_policy("FailJob", [2, 3, 6])))
    job = finished(kube_server, kube_namespace, "consent")
    failed = condition(job)
    assert failed is not None and failed["reason"] == "PodFailurePolicy"
    assert "failed with exit code 3 matching FailJob rule at index 1" in failed["message"]
    assert failed["message"].startswith(f"Container main for pod {kube_namespace}/consent-")
    assert job["status"]["failed"] == 1


def test_pod_failure_policy_ignore_does_not_count(kube_server: KubeServer, kube_namespace: str,
                                                  job_runner: JobRunner, tmp_path: Path) -> None:
    marker = tmp_path / "first-attempt-done"
    script = f"""
        import pathlib, sys
        marker = pathlib.Path({str(marker)!r})
        if not marker.exists():
            marker.touch(); sys.exit(4)
    """
    create_job(kube_server, kube_namespace, job_manifest(
        "flaky", script, backoff_limit=0, podFailurePolicy=final_exit_codes_policy("Ignore", [4])))
    job = finished(kube_server, kube_namespace, "flaky")
    assert condition(job)["type"] == "Complete"  # type: ignore[index]
    assert "failed" not in job["status"]
    assert job_runner.log_path(kube_namespace, "flaky").read_text().count("--- attempt") == 2


def test_finished_jobs_are_deleted_after_their_ttl(kube_server: KubeServer, kube_namespace: str,
                                                   job_runner: JobRunner) -> None:
    create_job(kube_server, kube_namespace, job_manifest("short-lived", "pass", ttlSecondsAfterFinished=1))
    path = f"/apis/batch/v1/namespaces/{kube_namespace}/jobs"
    wait_for(lambda: kube_server.request("GET", path)["items"] == [], timeout=15)


def test_missing_secret_keeps_the_job_pending_until_it_exists(kube_server: KubeServer, kube_namespace: str,
                                                              job_runner: JobRunner) -> None:
    env = [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
           {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
           {"name": "LATE", "valueFrom": {"secretKeyRef": {"name": "late", "key": "value"}}}]
    create_job(kube_server, kube_namespace, job_manifest(
        "waits", "import os; print('got', os.environ['LATE'], os.environ['NS'], os.environ['POD'])", env=env))
    time.sleep(1.0)
    job = read_job(kube_server, kube_namespace, "waits")
    assert condition(job) is None and "active" not in job["status"] and job_runner.running_pids() == []
    kube_server.request("POST", f"/api/v1/namespaces/{kube_namespace}/secrets", json={
        "metadata": {"name": "late"}, "stringData": {"value": "finally"}})
    job = finished(kube_server, kube_namespace, "waits")
    assert condition(job)["type"] == "Complete"  # type: ignore[index]
    log = job_runner.log_path(kube_namespace, "waits").read_text()
    assert "waiting: secret 'late' key 'value' not found" in log
    assert f"got finally {kube_namespace} waits-" in log


def test_a_container_that_cannot_start_fails_the_job(kube_server: KubeServer, kube_namespace: str,
                                                     job_runner: JobRunner) -> None:
    manifest = job_manifest("no-binary", "pass", backoff_limit=1)
    manifest["spec"]["template"]["spec"]["containers"][0]["command"] = ["no-such-binary-4711"]
    create_job(kube_server, kube_namespace, manifest)
    job = finished(kube_server, kube_namespace, "no-binary")
    failed = condition(job)
    assert failed is not None and failed["reason"] == "BackoffLimitExceeded"
    assert "the container could not start" in failed["message"] and job["status"]["failed"] == 2


def test_a_suspended_job_starts_when_resumed(kube_server: KubeServer, kube_namespace: str,
                                             job_runner: JobRunner) -> None:
    create_job(kube_server, kube_namespace, job_manifest("paused", "print('resumed run')", suspend=True))
    time.sleep(0.8)
    assert "startTime" not in (read_job(kube_server, kube_namespace, "paused").get("status") or {})
    kube_server.request("PATCH", f"/apis/batch/v1/namespaces/{kube_namespace}/jobs/paused",
                        json={"spec": {"suspend": False}},
                        headers={"Content-Type": "application/merge-patch+json"})
    job = finished(kube_server, kube_namespace, "paused")
    assert condition(job)["type"] == "Complete"  # type: ignore[index]
