"""The node: a stand-in for a kubelet that really runs the pods the control plane schedules.

No kubelet runs on these machines, so, as kwok does for status but really running the work, this registers one
Ready Node, binds every unscheduled pod to it (there is no scheduler) and runs each bound pod's containers as
local processes (``pod_process``) with their env (``pod_env``) and volumes (``pod_volumes``) — or, for
containers whose image is a local podman image (``localhost/…``), as real containers of that image
(``pod_container``), so a chart's Deployments and the operator's Jobs run the built product image with
in-cluster configuration. Init containers run first, one after the other. It reports what
a kubelet reports — ``phase``, ``conditions`` (``Ready`` from an ``httpGet`` readiness probe when one is set),
``containerStatuses`` with ``running``/``terminated`` states, exit codes and restart counts — so the real Job,
ReplicaSet and garbage-collector controllers decide what happens next (``podFailurePolicy`` included).
``restartPolicy`` is honoured with a short back-off. Deleting a pod sends SIGTERM, then SIGKILL after its
grace period, then removes the pod object as a kubelet does. Container logs are kept per run and served to
``kubectl logs`` by ``kubelet_logs``. Liveness probes are not run; exec readiness probes count as ready.

All state is in one control thread fed by a pod watch, so nothing here needs a lock beyond the queue.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from spiris_localstack.kube_client import JsonObj, KubeCredentials, KubeRequestError, KubeRest
from spiris_localstack.kubelet_logs import KubeletLogServer
from spiris_localstack.pod_container import ContainerProcess, PodmanContainers, runs_in_container
from spiris_localstack.pod_env import container_env, expand
from spiris_localstack.pod_process import Identity, identity_of, mounts_of, start_container
from spiris_localstack.pod_volumes import PendingDependency, PodVolumes
from spiris_localstack.processes import Service, ServiceStartError

logger = logging.getLogger(__name__)

NODE_NAME = "spiris-local-node"
RESTART_BACKOFF_MAX = 10.0
#: Each pod watch request ends after this long and is made again: the watch thread sees `stop()` within it
#: (a request open at shutdown also holds kube-apiserver's graceful stop until its grace runs out).
POD_WATCH_SECONDS = 5


def now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ContainerRun:
    """One container of a pod: its current process and what it did before."""

    spec: JsonObj
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: str | None = None
    restarts: int = 0
    terminated: JsonObj | None = None
    last_terminated: JsonObj | None = None
    restart_at: float | None = None
    waiting: JsonObj | None = None
    ready: bool = False
    probed_at: float = 0.0

    @property
    def name(self) -> str:
        return str(self.spec["name"])

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class PodRun:
    """A pod on this node and everything the agent holds for it."""

    pod: JsonObj
    root: Path
    volumes: PodVolumes
    containers: list[ContainerRun]
    started: bool = False
    start_time: str | None = None
    kill_at: float | None = None
    terminating: bool = False
    reported: JsonObj | None = None
    refreshed_at: float = 0.0
    deleted: bool = False
    pending_reason: str | None = None
    init_containers: list[ContainerRun] = field(default_factory=list)
    initialized: bool = False

    @property
    def all_containers(self) -> list[ContainerRun]:
        return [*self.init_containers, *self.containers]

    @property
    def key(self) -> tuple[str, str]:
        return self.pod["metadata"]["namespace"], self.pod["metadata"]["name"]


def container_id(process: subprocess.Popen[bytes]) -> str:
    """The containerID a pod status shows: the podman container's name, or the local process's PID."""
    if isinstance(process, ContainerProcess):
        return f"podman://{process.container_name}"
    return f"local://{process.pid}"


def exit_code_of(returncode: int) -> int:
    """A container's exit code as Kubernetes reports it (128 + signal for a killed process)."""
    return 128 - returncode if returncode < 0 else returncode


class NodeAgent(Service):
    """Registers Node ``node_name`` and runs the pods bound to it until stopped."""

    def __init__(
        self,
        *,
        credentials: KubeCredentials,
        serving_cert: Path,
        serving_key: Path,
        node_name: str = NODE_NAME,
        work_dir: Path | None = None,
        path_prefix: str | None = None,
        enforce_security_context: bool = True,
        refresh_interval: float = 2.0,
        containers: PodmanContainers | None = None,
    ) -> None:
        self.credentials = credentials
        self.serving_cert = serving_cert
        self.serving_key = serving_key
        self.node_name = node_name
        self.requested_dir = work_dir
        self.work_dir: Path | None = None
        self.volume_root: Path | None = None
        # The local-process mode runs the venv's console scripts where an image would have them on PATH.
        self.path_prefix = path_prefix if path_prefix is not None else str(Path(sys.executable).parent)
        self.enforce_security_context = enforce_security_context
        self.refresh_interval = refresh_interval
        # The container mode's runtime; it touches podman only when a pod's image is a local one.
        self.containers = containers or PodmanContainers()
        self.runs: dict[str, PodRun] = {}
        self.logs: dict[tuple[str, str], list[tuple[str, Path]]] = {}
        self._events: queue.Queue[JsonObj] = queue.Queue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._rest: KubeRest | None = None
        self._log_server: KubeletLogServer | None = None
        self._synced = threading.Event()
        self.errors: list[str] = []

    # --- lifecycle

    def start(self) -> NodeAgent:
        self.work_dir = self.requested_dir or Path(tempfile.mkdtemp(prefix="spiris-node-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        # Volumes live outside /tmp whatever the work dir: pods mount their emptyDir over /tmp, which would
        # hide the sources of their other volumes from the bind mounts that follow.
        self.volume_root = Path(tempfile.mkdtemp(prefix="spiris-node-volumes-", dir="/var/tmp"))
        self._rest = KubeRest(self.credentials)
        self._log_server = KubeletLogServer(lookup=self._log_lookup, cert=self.serving_cert,
                                            key=self.serving_key, ca=self.credentials.ca_file).start()
        self._register_node()
        for target, name in ((self._watch_loop, "node-watch"), (self._control_loop, "node-control")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        if not self._synced.wait(timeout=30):
            self.stop()
            raise ServiceStartError("node agent: the first pod list did not arrive within 30 s")
        return self

    def stop(self) -> None:
        """Stop every container (SIGTERM, then SIGKILL) and the agent's threads, as a node going down."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=15)
        self._threads = []
        for run in list(self.runs.values()):
            for container in run.all_containers:
                self._signal(container, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for run in list(self.runs.values()):
            for container in run.all_containers:
                if container.process is not None:
                    try:
                        container.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        self._signal(container, signal.SIGKILL)
                        container.process.wait(timeout=5)
        self.runs.clear()
        self.containers.close()
        if self._log_server is not None:
            self._log_server.stop()
            self._log_server = None
        if self._rest is not None:
            self._rest.close()
            self._rest = None
        if self.work_dir is not None and self.requested_dir is None:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        if self.volume_root is not None:
            shutil.rmtree(self.volume_root, ignore_errors=True)
        self.work_dir = self.volume_root = None

    # --- what tests and tools read

    def running_pids(self) -> list[int]:
        return [c.process.pid for r in self.runs.values() for c in r.all_containers
                if c.running and c.process]

    def pod_log(self, namespace: str, pod: str) -> str:
        """Every run of every container of the pod, in order."""
        return "".join(path.read_text(errors="replace") for _, path in self.logs.get((namespace, pod), [])
                       if path.exists())

    def job_log(self, namespace: str, job: str) -> str:
        """The logs of every pod the Job had (kept after the pods are gone), oldest first."""
        prefix = f"{job}-"
        pods = sorted((name for ns, name in self.logs if ns == namespace and name.startswith(prefix)),
                      key=lambda name: min(p.stat().st_mtime for _, p in self.logs[(namespace, name)]
                                           if p.exists()) if any(p.exists() for _, p in
                                                                 self.logs[(namespace, name)]) else 0)
        return "".join(f"--- pod {name}\n{self.pod_log(namespace, name)}" for name in pods)

    # --- the Node

    def _register_node(self) -> None:
        rest = self._api()
        body = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.node_name,
                             "labels": {"kubernetes.io/hostname": self.node_name,
                                        "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                                        "spiris.senseworks.io/local-node": "true"}}}
        rest.call("POST", "/api/v1/nodes", body=body, allow=(409,))
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 1024
        resources = {"cpu": str(os.cpu_count() or 1), "memory": f"{memory}Ki", "pods": "250",
                     "ephemeral-storage": "100Gi"}
        assert self._log_server is not None
        status = {
            "capacity": resources, "allocatable": resources,
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": self.node_name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self._log_server.port}},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "spiris-local node agent is running pods as local processes",
                            "lastHeartbeatTime": now(), "lastTransitionTime": now()}],
            "nodeInfo": {"kubeletVersion": "spiris-local", "kubeProxyVersion": "", "operatingSystem": "linux",
                         "architecture": "amd64", "containerRuntimeVersion": "local-process://1",
                         "osImage": "Debian", "kernelVersion": os.uname().release, "machineID": "",
                         "systemUUID": "", "bootID": ""},
        }
        rest.merge_patch(f"/api/v1/nodes/{self.node_name}/status", {"status": status}, allow=())

    # --- the watch

    def _watch_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                listing = self._api().call("GET", "/api/v1/pods")
                assert listing is not None
                for pod in listing.get("items") or []:
                    self._events.put({"type": "SYNC", "object": pod})
                self._events.put({"type": "LISTED"})
                version = listing["metadata"]["resourceVersion"]
                while not self._stopping.is_set():
                    events = self._api().watch("/api/v1/pods", resource_version=version,
                                               timeout_seconds=POD_WATCH_SECONDS)
                    for event in events:
                        if event["type"] == "ERROR":
                            raise KubeRequestError("WATCH", "/api/v1/pods",
                                                   int(event["object"].get("code", 0)),
                                                   str(event["object"].get("message")))
                        version = event["object"]["metadata"]["resourceVersion"]
                        if event["type"] != "BOOKMARK":
                            self._events.put(event)
                        if self._stopping.is_set():
                            return
            except (httpx.HTTPError, KubeRequestError, OSError) as exc:
                if self._stopping.is_set():
                    return
                logger.debug("pod watch restarts: %s", exc)
                self._stopping.wait(0.5)

    # --- the control loop

    def _control_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                event = self._events.get(timeout=0.2)
            except queue.Empty:
                event = None
            try:
                while event is not None:
                    self._handle(event)
                    event = self._events.get_nowait()
            except queue.Empty:
                pass
            except Exception as exc:  # a bad pod must not stop the node
                logger.exception("node agent event failed")
                self.errors.append(repr(exc))
            for run in list(self.runs.values()):
                try:
                    self._advance(run)
                except Exception as exc:
                    logger.exception("node agent: pod %s/%s", *run.key)
                    self.errors.append(repr(exc))

    def _handle(self, event: JsonObj) -> None:
        if event["type"] == "LISTED":
            self._synced.set()
            return
        pod = event["object"]
        uid = pod["metadata"]["uid"]
        run = self.runs.get(uid)
        if event["type"] == "DELETED":
            if run is not None:
                run.deleted = True
                for container in run.all_containers:
                    self._signal(container, signal.SIGKILL)
            return
        if run is not None:
            run.pod = pod
            run.volumes.pod = pod
            return
        spec = pod["spec"]
        if not spec.get("nodeName"):
            if spec.get("schedulerName", "default-scheduler") == "default-scheduler" and \
                    not pod["metadata"].get("deletionTimestamp"):
                self._bind(pod)
            return
        if spec["nodeName"] != self.node_name:
            return
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            if pod["metadata"].get("deletionTimestamp"):
                self._remove_pod(pod)
            return
        if event["type"] == "SYNC" and self._was_started_elsewhere(pod):
            self._report_lost(pod)
            return
        self.runs[uid] = self._new_run(pod)

    def _bind(self, pod: JsonObj) -> None:
        meta = pod["metadata"]
        body = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": meta["name"], "uid": meta["uid"]},
                "target": {"apiVersion": "v1", "kind": "Node", "name": self.node_name}}
        self._api().call("POST", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/binding",
                         body=body, allow=(404, 409))

    def _was_started_elsewhere(self, pod: JsonObj) -> bool:
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        return any("running" in (s.get("state") or {}) for s in statuses)

    def _report_lost(self, pod: JsonObj) -> None:
        """A pod an earlier agent was running: its processes died with that agent, like a node reboot."""
        containers = [{"name": c["name"], "ready": False, "restartCount": 0, "image": c.get("image", ""),
                       "imageID": "", "started": False,
                       "state": {"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown",
                                                "message": "the node agent restarted while it ran",
                                                "finishedAt": now()}}}
                      for c in pod["spec"]["containers"]]
        meta = pod["metadata"]
        self._api().merge_patch(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
                                {"status": {"phase": "Failed", "reason": "NodeAgentRestarted",
                                            "containerStatuses": containers}})

    def _new_run(self, pod: JsonObj) -> PodRun:
        meta = pod["metadata"]
        pod_dir = f"{meta['namespace']}_{meta['name']}_{meta['uid'][:8]}"
        root = self._work() / "pods" / pod_dir
        root.mkdir(parents=True, exist_ok=True)
        assert self.volume_root is not None
        volumes_dir = self.volume_root / pod_dir
        volumes_dir.mkdir(parents=True, exist_ok=True)
        volumes_dir.chmod(0o711)
        identity = self._identity(pod, pod["spec"]["containers"][0])
        owner = None
        if identity.user is not None:
            fs_group = (pod["spec"].get("securityContext") or {}).get("fsGroup")
            owner = (int(identity.user), int(fs_group if fs_group is not None else identity.group or 0))
        runs: dict[str, list[ContainerRun]] = {"initContainers": [], "containers": []}
        for kind, listed in runs.items():
            for spec in pod["spec"].get(kind) or []:
                log_path = root / f"{spec['name']}.log"
                self.logs.setdefault((meta["namespace"], meta["name"]), []).append((spec["name"], log_path))
                listed.append(ContainerRun(spec=spec, log_path=log_path))
        volumes = PodVolumes(pod, rest=self._api(), root=volumes_dir, owner=owner)
        return PodRun(pod=pod, root=root, volumes=volumes, containers=runs["containers"],
                      init_containers=runs["initContainers"], initialized=not runs["initContainers"])

    def _identity(self, pod: JsonObj, container: JsonObj) -> Identity:
        if not self.enforce_security_context:
            return Identity(user=None, group=None, read_only_root=False)
        return identity_of(pod, container)

    # --- one pod's progress

    def _advance(self, run: PodRun) -> None:
        if run.deleted:
            self._finish_removed(run)
            return
        meta = run.pod["metadata"]
        if meta.get("deletionTimestamp") and not run.terminating:
            self._begin_termination(run)
        if not run.started and not run.terminating:
            self._try_start(run)
        elif (run.started and not run.terminating
              and time.monotonic() - run.refreshed_at >= self.refresh_interval):
            run.refreshed_at = time.monotonic()
            with contextlib.suppress(KubeRequestError, httpx.HTTPError):
                run.volumes.refresh()
        if run.started and not run.initialized and not run.terminating:
            self._advance_init(run)
        for container in run.containers:
            self._advance_container(run, container)
        if run.terminating and run.kill_at is not None and time.monotonic() >= run.kill_at:
            for container in run.all_containers:
                self._signal(container, signal.SIGKILL)
            run.kill_at = None
        self._report(run)
        if run.terminating and not any(c.running for c in run.all_containers):
            self._remove_pod(run.pod)
            self._finish_removed(run)

    def _try_start(self, run: PodRun) -> None:
        try:
            dirs = run.volumes.materialise()
            commands = [(container, self._env(run, container)) for container in run.all_containers]
        except PendingDependency as exc:
            run.pending_reason = str(exc)
            for container in run.all_containers:
                container.waiting = {"reason": "CreateContainerConfigError", "message": str(exc)}
            return
        run.started = True
        run.start_time = now()
        run.refreshed_at = time.monotonic()
        # With init containers, the first of them starts now and the app containers after the last one.
        for container, env in commands[:1] if run.init_containers else commands:
            self._launch(run, container, env, dirs)

    def _advance_init(self, run: PodRun) -> None:
        """Init containers one at a time, each to exit 0; then the app containers start."""
        for init in run.init_containers:
            if init.terminated is not None and init.terminated["exitCode"] == 0 and not init.running:
                continue
            if init.process is None and init.terminated is None and init.restart_at is None:
                try:
                    self._launch(run, init, self._env(run, init), run.volumes.dirs)
                except PendingDependency as exc:
                    init.waiting = {"reason": "CreateContainerConfigError", "message": str(exc)}
                    return
            self._advance_container(run, init, init=True)
            return
        run.initialized = True
        for container in run.containers:
            try:
                self._launch(run, container, self._env(run, container), run.volumes.dirs)
            except PendingDependency as exc:
                container.waiting = {"reason": "CreateContainerConfigError", "message": str(exc)}
                container.restart_at = time.monotonic() + RESTART_BACKOFF_MAX

    def _env(self, run: PodRun, container: ContainerRun) -> dict[str, str]:
        """The container's environment; an image keeps its own PATH, HOME and TMPDIR in container mode."""
        return container_env(run.pod, container.spec, rest=self._api(),
                             base={} if runs_in_container(container.spec) else self._base_env(),
                             api_host="127.0.0.1", api_port=int(self.credentials.server.rsplit(":", 1)[1]))

    def _launch(self, run: PodRun, container: ContainerRun, env: dict[str, str],
                dirs: dict[str, Path]) -> None:
        spec = container.spec
        argv = [*(spec.get("command") or []), *(spec.get("args") or [])]
        argv = [expand(part, env) for part in argv]
        if container.log_path.exists() and container.log_path.stat().st_size:
            previous = container.log_path.with_name(f"{container.name}.previous.log")
            container.log_path.replace(previous)
        if runs_in_container(spec):
            expanded = {**spec, "command": [expand(part, env) for part in spec.get("command") or []],
                        "args": [expand(part, env) for part in spec.get("args") or []]}
            container.process = self.containers.start(
                run.pod, expanded, env=env, mounts=mounts_of(spec, dirs),
                identity=self._identity(run.pod, spec), log_path=container.log_path)
        elif not argv:
            container.waiting = {
                "reason": "CreateContainerError",
                "message": "no command: this node runs local processes, not image entrypoints",
            }
            container.terminated = {"exitCode": 128, "reason": "CreateContainerError", "finishedAt": now()}
            return
        else:
            container.process = start_container(
                argv, env=env, cwd=spec.get("workingDir") or "/", mounts=mounts_of(spec, dirs),
                identity=self._identity(run.pod, spec), log_path=container.log_path)
        container.started_at = now()
        container.terminated = None
        container.waiting = None
        container.ready = not spec.get("readinessProbe")

    def _advance_container(self, run: PodRun, container: ContainerRun, *, init: bool = False) -> None:
        if container.process is not None and container.process.poll() is not None:
            code = exit_code_of(container.process.returncode)
            container.terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                    "startedAt": container.started_at, "finishedAt": now(),
                                    "containerID": container_id(container.process)}
            container.process = None
            container.ready = False
            policy = run.pod["spec"].get("restartPolicy", "Always")
            # An init container is restarted only when it failed (and the pod may restart at all).
            restart = (code != 0 and policy != "Never") if init else (
                policy == "Always" or (policy == "OnFailure" and code != 0))
            if not run.terminating and restart:
                container.restart_at = time.monotonic() + min(RESTART_BACKOFF_MAX, 2.0 ** container.restarts)
        if (container.restart_at is not None and time.monotonic() >= container.restart_at
                and not run.terminating):
            container.restart_at = None
            container.last_terminated = container.terminated
            container.restarts += 1
            try:
                env = self._env(run, container)
            except PendingDependency as exc:
                container.restart_at = time.monotonic() + RESTART_BACKOFF_MAX
                container.waiting = {"reason": "CreateContainerConfigError", "message": str(exc)}
                return
            self._launch(run, container, env, run.volumes.dirs)
        if container.running and not container.ready:
            self._probe(container)

    def _probe(self, container: ContainerRun) -> None:
        probe = container.spec.get("readinessProbe") or {}
        period = min(float(probe.get("periodSeconds", 10)), 1.0)
        if time.monotonic() - container.probed_at < period:
            return
        container.probed_at = time.monotonic()
        http = probe.get("httpGet")
        if http is None:
            container.ready = True
            return
        port = http.get("port")
        if isinstance(port, str):
            port = next((p["containerPort"] for p in container.spec.get("ports") or []
                         if p.get("name") == port), None)
        scheme = str(http.get("scheme", "HTTP")).lower()
        try:
            response = httpx.get(f"{scheme}://127.0.0.1:{port}{http.get('path', '/')}", timeout=1.0,
                                 verify=False)  # noqa: S501 - a kubelet does not verify probe TLS either
            container.ready = 200 <= response.status_code < 400
        except httpx.HTTPError:
            container.ready = False

    def _begin_termination(self, run: PodRun) -> None:
        run.terminating = True
        grace = run.pod["metadata"].get("deletionGracePeriodSeconds")
        if grace is None:
            grace = run.pod["spec"].get("terminationGracePeriodSeconds", 30)
        run.kill_at = time.monotonic() + float(grace)
        for container in run.all_containers:
            container.restart_at = None
            self._signal(container, signal.SIGTERM if grace else signal.SIGKILL)

    def _signal(self, container: ContainerRun, sig: signal.Signals) -> None:
        if isinstance(container.process, ContainerProcess):
            container.process.send_signal(sig)  # podman kill: the container's own process gets it
            return
        if container.running and container.process is not None:
            try:
                os.killpg(container.process.pid, sig)
            except (ProcessLookupError, PermissionError):
                with contextlib.suppress(ProcessLookupError):
                    container.process.send_signal(sig)

    def _remove_pod(self, pod: JsonObj) -> None:
        meta = pod["metadata"]
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                "preconditions": {"uid": meta["uid"]}}
        self._api().call("DELETE", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}", body=body,
                         allow=(404, 409))

    def _finish_removed(self, run: PodRun) -> None:
        if any(c.running for c in run.all_containers):
            return
        for container in run.all_containers:
            if container.process is not None:
                container.process.wait(timeout=5)
        with contextlib.suppress(OSError):
            run.volumes.remove()
        self.runs.pop(run.pod["metadata"]["uid"], None)

    # --- status

    def _report(self, run: PodRun) -> None:
        status = self._status(run)
        if status == run.reported or run.deleted:
            return
        meta = run.pod["metadata"]
        try:
            self._api().merge_patch(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
                                    {"status": status})
            run.reported = status
        except (KubeRequestError, httpx.HTTPError) as exc:
            logger.debug("status of %s/%s not written yet: %s", *run.key, exc)

    @staticmethod
    def _container_status(container: ContainerRun) -> JsonObj:
        state: JsonObj
        if container.running:
            state = {"running": {"startedAt": container.started_at}}
        elif container.terminated is not None and container.restart_at is None:
            state = {"terminated": container.terminated}
        elif container.terminated is not None:
            state = {"waiting": {"reason": "CrashLoopBackOff",
                                 "message": f"back-off restarting failed container {container.name}"}}
        else:
            state = {"waiting": container.waiting or {"reason": "ContainerCreating"}}
        entry: JsonObj = {"name": container.name, "state": state,
                          "ready": container.ready and container.running,
                          "restartCount": container.restarts, "image": container.spec.get("image", ""),
                          "imageID": "", "started": container.running}
        if container.process is not None:
            entry["containerID"] = container_id(container.process)
        elif container.terminated is not None and "containerID" in container.terminated:
            entry["containerID"] = container.terminated["containerID"]
        if container.last_terminated is not None:
            entry["lastState"] = {"terminated": container.last_terminated}
        return entry

    def _status(self, run: PodRun) -> JsonObj:
        statuses = [self._container_status(container) for container in run.containers]
        finished = [c for c in run.containers if c.terminated is not None and c.restart_at is None
                    and not c.running]
        init_failed = any(c.terminated is not None and c.terminated["exitCode"] != 0 and c.restart_at is None
                          and not c.running for c in run.init_containers)
        if init_failed:
            phase = "Failed"
        elif run.started and not run.initialized and not run.terminating:
            phase = "Pending"
        elif run.started and len(finished) == len(run.containers) and (
                run.terminating or run.pod["spec"].get("restartPolicy", "Always") != "Always"):
            succeeded = all(c.terminated and c.terminated["exitCode"] == 0 for c in finished)
            phase = "Succeeded" if succeeded else "Failed"
        elif run.started:
            phase = "Running"
        else:
            phase = "Pending"
        ready = phase == "Running" and all(c.ready and c.running for c in run.containers)
        transition = run.start_time or now()
        conditions = [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": transition},
            {"type": "Initialized", "status": "True" if run.initialized else "False",
             "lastTransitionTime": transition},
            {"type": "ContainersReady", "status": "True" if ready else "False",
             "lastTransitionTime": transition},
            {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": transition},
        ]
        status: JsonObj = {"phase": phase, "conditions": conditions, "containerStatuses": statuses,
                           "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}]}
        if run.init_containers:
            status["initContainerStatuses"] = [self._container_status(c) for c in run.init_containers]
        if run.started:
            status.update(podIP="127.0.0.1", podIPs=[{"ip": "127.0.0.1"}], startTime=run.start_time)
        if run.pending_reason and not run.started:
            status["message"] = run.pending_reason
        return status

    # --- helpers

    def _base_env(self) -> dict[str, str]:
        return {"PATH": os.pathsep.join([self.path_prefix, "/usr/local/bin:/usr/bin:/bin"]),
                "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8"}

    def _log_lookup(self, namespace: str, pod: str, container: str,
                    previous: bool) -> tuple[Path, bool] | None:
        for name, path in self.logs.get((namespace, pod), []):
            if name == container:
                if previous:
                    path = path.with_name(f"{container}.previous.log")
                running = any(c.running for r in self.runs.values() if r.key == (namespace, pod)
                              for c in r.all_containers if c.name == container)
                return path, running and not previous
        return None

    def _api(self) -> KubeRest:
        if self._rest is None:
            raise RuntimeError("NodeAgent is not started")
        return self._rest

    def _work(self) -> Path:
        if self.work_dir is None:
            raise RuntimeError("NodeAgent is not started")
        return self.work_dir
