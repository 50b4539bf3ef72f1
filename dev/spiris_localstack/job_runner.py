"""The local Job controller: runs `batch/v1` Jobs from the Kubernetes emulator as local processes.

No kubelet exists here, so this plays the Job controller (and, through `job_container`, the kubelet). It lists
and watches Jobs in all namespaces and, for each new Job, runs the first container's `command` + `args` as a
local process (no Pod object is created) with env and Secret volumes resolved from the emulator; the venv's
`bin` comes first on PATH and `KUBECONFIG` points at the emulator. It writes Job status like the real
controller (`startTime`, `active`, `succeeded`, `failed`, `completionTime`, conditions `Complete` / `Failed`
with reasons `BackoffLimitExceeded`, `DeadlineExceeded` or `PodFailurePolicy`), retries up to `backoffLimit`
(the last exit code goes into the Failed message, since no Pod exists to read it from), applies
`podFailurePolicy` exit-code rules (`FailJob`, `Ignore`, `Count`), kills the process group at
`activeDeadlineSeconds` or when the Job is deleted, refreshes Secret volumes while it runs, deletes finished
Jobs after `ttlSecondsAfterFinished` (the TTL controller's part), and appends stdout/stderr to one log file
per Job.

A Job waiting for a missing non-optional Secret/ConfigMap stays pending (its deadline still applies); a
suspended Job (`spec.suspend`) is left alone until it is resumed. Only single-pod Jobs are supported
(`completions`/`parallelism` of 1). A Job is never started twice: a Job that already has a `startTime` but no
finished condition when this runner first sees it was started by an earlier runner whose process is gone, so
it is marked Failed with reason `RunnerRestarted` instead of being rerun.
"""

from __future__ import annotations

import datetime
import json
import logging
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from spiris_localstack.job_container import JobContainer, PendingDependencyError
from spiris_localstack.processes import Service, stop_process

logger = logging.getLogger(__name__)

JsonObj = dict[str, Any]
DEFAULT_BACKOFF_LIMIT = 6


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> float:
    return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC).timestamp()


def _finished(job: JsonObj) -> bool:
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


def _finished_at(job: JsonObj) -> float | None:
    status = job.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return _parse_time(status.get("completionTime") or condition["lastTransitionTime"])
    return None


def match_pod_failure_policy(policy: JsonObj | None, *, container: str,
                             exit_code: int) -> tuple[str, int] | None:
    """The (action, rule index) of the first `onExitCodes` rule matching a failed container, if any."""
    for index, rule in enumerate((policy or {}).get("rules") or []):
        codes = rule.get("onExitCodes")
        if not codes or codes.get("containerName") not in (None, container):
            continue
        listed = exit_code in codes.get("values", [])
        if listed == (codes.get("operator", "In") == "In"):
            return str(rule.get("action", "Count")), index
    return None


@dataclass
class JobRun:
    """What the runner tracks for one Job it owns."""

    uid: str
    namespace: str
    name: str
    job: JsonObj
    work_dir: Path
    log_path: Path
    start_time: str = ""
    failed: int = 0
    process: subprocess.Popen[bytes] | None = None
    retry_at: float = 0.0
    done: bool = False
    container: JobContainer | None = None
    last_refresh: float = 0.0
    pod_name: str = ""


class KubeApi:
    """The few synchronous API calls the runner makes, with the kubeconfig's server and token."""

    def __init__(self, kubeconfig: str | Path) -> None:
        config = yaml.safe_load(Path(kubeconfig).read_text())
        context_name = config.get("current-context")
        contexts = {c["name"]: c["context"] for c in config.get("contexts", [])}
        context = contexts.get(context_name) or next(iter(contexts.values()))
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user: JsonObj = next((u["user"] for u in config.get("users", []) if u["name"] == context.get("user")),
                             {})
        headers = {"Authorization": f"Bearer {user['token']}"} if user.get("token") else {}
        self.server = cluster["server"].rstrip("/")
        self.client = httpx.Client(base_url=self.server, headers=headers, timeout=10)

    def get(self, path: str) -> JsonObj | None:
        response = self.client.get(path)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        result: JsonObj = response.json()
        return result

    def patch_status(self, namespace: str, name: str, status: JsonObj) -> None:
        response = self.client.patch(
            f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}/status",
            content=json.dumps({"status": status}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        if response.status_code != 404:  # a Job deleted meanwhile needs no status
            response.raise_for_status()

    def delete(self, path: str) -> None:
        response = self.client.request("DELETE", path, json={"propagationPolicy": "Background"})
        if response.status_code != 404:
            response.raise_for_status()

    def close(self) -> None:
        self.client.close()


class JobRunner(Service):
    """Runs the emulator's Jobs as local processes in a background thread (`start()` / `stop()`)."""

    def __init__(
        self,
        *,
        kubeconfig: str | Path,
        log_dir: str | Path | None = None,
        retry_delay: float = 0.5,
        kill_grace: float = 5.0,
        refresh_interval: float = 1.0,
        tick: float = 0.1,
    ) -> None:
        self.kubeconfig = str(kubeconfig)
        self._own_log_dir = log_dir is None
        self.log_dir = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="spiris-jobs-"))
        self.retry_delay = retry_delay
        self.kill_grace = kill_grace
        self.refresh_interval = refresh_interval
        self.tick = tick
        self._api: KubeApi | None = None
        self._jobs: dict[str, JsonObj] = {}
        self._jobs_lock = threading.Lock()
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._synced = threading.Event()
        self._runs: dict[str, JobRun] = {}
        self._seen: set[str] = set()
        self._expired: set[str] = set()
        self._threads: list[threading.Thread] = []

    # --- public

    def log_path(self, namespace: str, name: str) -> Path:
        """The file collecting stdout/stderr of every attempt of Job `namespace/name`."""
        return self.log_dir / f"{namespace}_{name}.log"

    def running_pids(self) -> list[int]:
        """PIDs of the Job processes currently running (for tests and diagnostics)."""
        return [run.process.pid for run in list(self._runs.values())
                if run.process is not None and run.process.poll() is None]

    def start(self, *, sync_timeout: float = 10.0) -> JobRunner:
        self._api = KubeApi(self.kubeconfig)
        self._stopping = threading.Event()  # a fresh one: a previous watcher may still be winding down
        watcher = threading.Thread(target=self._watch_loop, args=(self._api.server, self._stopping),
                                   name="job-runner-watch", daemon=True)
        self._threads = [threading.Thread(target=self._control_loop, name="job-runner", daemon=True)]
        watcher.start()
        for thread in self._threads:
            thread.start()
        if not self._synced.wait(timeout=sync_timeout):
            self.stop()
            raise RuntimeError("JobRunner could not list Jobs from the API")
        return self

    def stop(self) -> None:
        """Stop watching, kill every running Job process by PID, remove the temp dirs (logs stay)."""
        self._stopping.set()
        self._changed.set()
        # The watcher is not joined: a blocked read ends at the watch's short server timeout, and it then
        # sees its own stop flag. Only the control loop, which owns the processes, must be gone.
        for thread in self._threads:
            thread.join(timeout=self.kill_grace + 15)
        self._threads = []
        for run in list(self._runs.values()):
            self._kill(run)
            shutil.rmtree(run.work_dir, ignore_errors=True)
        self._runs.clear()
        self._seen.clear()
        self._expired.clear()
        with self._jobs_lock:
            self._jobs.clear()
            self._synced.clear()
        if self._api is not None:
            self._api.close()
            self._api = None

    # --- watching (list, then watch from the list's resourceVersion; relist on any break)

    def _watch_loop(self, server: str, stopping: threading.Event) -> None:
        assert self._api is not None
        headers = dict(self._api.client.headers)
        with httpx.Client(base_url=server, headers=headers, timeout=httpx.Timeout(10, read=None)) as client:
            while not stopping.is_set():
                try:
                    listing = client.get("/apis/batch/v1/jobs")
                    listing.raise_for_status()
                    body = listing.json()
                    with self._jobs_lock:
                        if stopping.is_set():
                            return  # a stopped runner's watcher must not touch the next run's cache
                        self._jobs = {job["metadata"]["uid"]: job for job in body["items"]}
                        self._synced.set()
                    self._changed.set()
                    self._stream(client, body["metadata"]["resourceVersion"], stopping)
                except (httpx.HTTPError, ValueError, KeyError) as exc:  # a broken stream means relist
                    if not stopping.is_set():
                        logger.warning("job runner watch interrupted: %s", exc)
                        stopping.wait(0.5)

    def _stream(self, client: httpx.Client, resource_version: str, stopping: threading.Event) -> None:
        params = {"watch": "true", "resourceVersion": resource_version, "timeoutSeconds": "2"}
        while not stopping.is_set():
            with client.stream("GET", "/apis/batch/v1/jobs", params=params) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if not line:
                        continue
                    event = json.loads(line)
                    if event["type"] == "ERROR":
                        return  # e.g. 410 Expired: relist
                    job = event["object"]
                    with self._jobs_lock:
                        if stopping.is_set():
                            return
                        if event["type"] == "DELETED":
                            self._jobs.pop(job["metadata"]["uid"], None)
                        else:
                            self._jobs[job["metadata"]["uid"]] = job
                    params["resourceVersion"] = job["metadata"]["resourceVersion"]
                    self._changed.set()
                    if stopping.is_set():
                        return

    # --- controlling

    def _control_loop(self) -> None:
        while not self._stopping.is_set():
            self._changed.wait(timeout=self.tick)
            self._changed.clear()
            if self._stopping.is_set() or not self._synced.is_set():
                continue
            try:
                self._reconcile()
            except Exception:  # one bad Job or API hiccup must not stop the controller
                logger.exception("job runner reconcile failed")

    def _reconcile(self) -> None:
        with self._jobs_lock:
            jobs = dict(self._jobs)
        for uid, run in list(self._runs.items()):
            job = jobs.get(uid)
            if job is None or job["metadata"].get("deletionTimestamp"):
                self._kill(run)
                shutil.rmtree(run.work_dir, ignore_errors=True)
                del self._runs[uid]
            else:
                run.job = job
        for uid, job in jobs.items():
            if uid not in self._seen and not (job.get("spec") or {}).get("suspend"):
                self._seen.add(uid)
                self._adopt(job)
        for run in list(self._runs.values()):
            if not run.done:
                self._advance(run)
        for uid, job in jobs.items():
            self._expire(uid, job)

    def _expire(self, uid: str, job: JsonObj) -> None:
        """The TTL-after-finished controller: delete a finished Job once its TTL has passed."""
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        finished_at = _finished_at(job)
        if ttl is None or finished_at is None or uid in self._expired or time.time() < finished_at + ttl:
            return
        assert self._api is not None
        self._expired.add(uid)
        meta = job["metadata"]
        self._api.delete(f"/apis/batch/v1/namespaces/{meta['namespace']}/jobs/{meta['name']}")

    def _adopt(self, job: JsonObj) -> None:
        meta = job["metadata"]
        if _finished(job) or meta.get("deletionTimestamp"):
            return
        status = job.get("status") or {}
        if status.get("startTime") or status.get("active"):
            self._write_status_failed(meta["namespace"], meta["name"], status, reason="RunnerRestarted",
                                      message="The local job runner restarted while this Job was running; "
                                              "it is not run twice")
            return
        work_dir = Path(tempfile.mkdtemp(prefix=f"spiris-job-{meta['name'][:40]}-"))
        work_dir.chmod(0o700)
        run = JobRun(uid=meta["uid"], namespace=meta["namespace"], name=meta["name"], job=job,
                     work_dir=work_dir, log_path=self.log_path(meta["namespace"], meta["name"]),
                     start_time=_now())
        self._runs[run.uid] = run
        self._write_status(run, active=0)

    def _advance(self, run: JobRun) -> None:
        spec = run.job.get("spec") or {}
        deadline = spec.get("activeDeadlineSeconds")
        if deadline is not None and time.time() - _parse_time(run.start_time) >= float(deadline):
            was_running = run.process is not None and run.process.poll() is None
            self._kill(run)
            if was_running:
                run.failed += 1
            self._finish(run, failed_reason="DeadlineExceeded",
                         message="Job was active longer than specified deadline")
            return
        if run.process is not None:
            code = run.process.poll()
            if code is None:
                if time.monotonic() - run.last_refresh >= self.refresh_interval:
                    self._refresh_volumes(run)
                return
            run.process = None
            self._append_log(run, f"--- exited with code {code} at {_now()}\n")
            if code == 0:
                self._finish(run)
            else:
                self._attempt_failed(run, exit_code=code)
            return
        if time.monotonic() >= run.retry_at:
            self._launch(run)

    # --- processes

    def _attempt_failed(self, run: JobRun, *, exit_code: int | None) -> None:
        """One pod's worth of failure: podFailurePolicy first, then the backoff limit, else a retry."""
        spec = run.job.get("spec") or {}
        containers = (spec.get("template") or {}).get("spec", {}).get("containers") or [{}]
        container = str(containers[0].get("name", ""))
        matched = None
        if exit_code is not None:
            matched = match_pod_failure_policy(spec.get("podFailurePolicy"), container=container,
                                               exit_code=exit_code)
        action = matched[0] if matched else "Count"
        if action != "Ignore":
            run.failed += 1
        if matched and action == "FailJob":
            self._finish(run, failed_reason="PodFailurePolicy", message=(
                f"Container {container} for pod {run.namespace}/{run.pod_name} failed with exit code "
                f"{exit_code} matching FailJob rule at index {matched[1]}"))
        elif run.failed > int(spec.get("backoffLimit", DEFAULT_BACKOFF_LIMIT)):
            last = f"exit code {exit_code}" if exit_code is not None else "the container could not start"
            self._finish(run, failed_reason="BackoffLimitExceeded",
                         message=f"Job has reached the specified backoff limit (last attempt: {last})")
        else:
            run.retry_at = time.monotonic() + self.retry_delay
            self._write_status(run, active=0)

    def _launch(self, run: JobRun) -> None:
        run.pod_name = f"{run.name}-{secrets.token_hex(3)[:5]}"
        try:
            argv, env, cwd = self._container(run).prepare(pod_name=run.pod_name)
            self._append_log(run, f"--- attempt {run.failed + 1} at {_now()}: {' '.join(argv)}\n")
            with open(run.log_path, "ab") as log:
                run.process = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True)
        except PendingDependencyError as exc:
            if run.retry_at == 0.0:
                self._append_log(run, f"--- waiting: {exc}\n")
            run.retry_at = time.monotonic() + self.retry_delay
            return
        except (OSError, ValueError) as exc:  # what a kubelet reports as a failed container start
            self._append_log(run, f"--- cannot start: {exc}\n")
            self._attempt_failed(run, exit_code=None)
            return
        run.last_refresh = time.monotonic()
        self._write_status(run, active=1)

    def _kill(self, run: JobRun) -> None:
        process = run.process
        if process is None or process.poll() is not None:
            return
        grace = (run.job.get("spec") or {}).get("template", {}).get("spec", {}).get(
            "terminationGracePeriodSeconds")
        grace = min(float(grace), self.kill_grace) if grace is not None else self.kill_grace
        stop_process(process, grace=grace)
        self._append_log(run, f"--- killed at {_now()}\n")

    def _append_log(self, run: JobRun, text: str) -> None:
        with open(run.log_path, "a") as log:
            log.write(text)

    def _read(self, run: JobRun, plural: str, name: str) -> JsonObj | None:
        assert self._api is not None
        return self._api.get(f"/api/v1/namespaces/{run.namespace}/{plural}/{name}")

    def _container(self, run: JobRun) -> JobContainer:
        if run.container is None:
            run.container = JobContainer(
                run.job, namespace=run.namespace, name=run.name, work_dir=run.work_dir,
                read=lambda plural, name: self._read(run, plural, name), kubeconfig=self.kubeconfig)
        return run.container

    def _refresh_volumes(self, run: JobRun) -> None:
        run.last_refresh = time.monotonic()
        try:
            self._container(run).materialise_volumes()
        except (PendingDependencyError, httpx.HTTPError) as exc:
            logger.info("keeping the old volume contents of %s/%s: %s", run.namespace, run.name, exc)

    # --- status

    def _base_status(self, run: JobRun, *, active: int) -> JsonObj:
        # Zero counts are omitted (null deletes them in a merge patch), as the real API does.
        return {"startTime": run.start_time, "active": active or None, "failed": run.failed or None}

    def _write_status(self, run: JobRun, *, active: int) -> None:
        assert self._api is not None
        self._api.patch_status(run.namespace, run.name, self._base_status(run, active=active))

    def _finish(self, run: JobRun, *, failed_reason: str | None = None, message: str = "") -> None:
        assert self._api is not None
        run.done = True
        now = _now()
        status = self._base_status(run, active=0)
        if failed_reason is None:
            status.update(succeeded=1, completionTime=now, conditions=[{
                "type": "Complete", "status": "True", "lastProbeTime": now, "lastTransitionTime": now}])
        else:
            status["conditions"] = [{"type": "Failed", "status": "True", "reason": failed_reason,
                                     "message": message, "lastProbeTime": now, "lastTransitionTime": now}]
        self._api.patch_status(run.namespace, run.name, status)
        shutil.rmtree(run.work_dir, ignore_errors=True)

    def _write_status_failed(self, namespace: str, name: str, status: JsonObj, *, reason: str,
                             message: str) -> None:
        assert self._api is not None
        now = _now()
        self._api.patch_status(namespace, name, {
            "active": None,
            "failed": int(status.get("failed") or 0) + 1,
            "conditions": [{"type": "Failed", "status": "True", "reason": reason, "message": message,
                            "lastProbeTime": now, "lastTransitionTime": now}],
        })
