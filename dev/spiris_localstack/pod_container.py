"""One container of a pod as a real podman container of a local image: the node agent's container mode.

A pod container whose image is a local one (``localhost/…``, what ``make image`` tags) runs as a container of
that image rather than as a local process, so the product is tested as it ships: the image's own filesystem,
user and entrypoint. It gets what a kubelet gives it: the volume directories ``pod_volumes`` materialised
(projected service-account token, Secrets, the emptyDir at ``/tmp``) bind-mounted at their mount paths, the
environment ``pod_env`` resolved (handed over through podman's own environment, never on the command line),
and the security context: ``runAsUser``/``runAsGroup``/``fsGroup``, ``readOnlyRootFilesystem`` (without
podman's extra tmpfs mounts), dropped capabilities, ``allowPrivilegeEscalation: false``. Containers share the
host's network, so a pod reaches the API server, Postgres and S3 on 127.0.0.1 and answers its readiness probes
there; the machine's limits need the runc runtime and explicit ulimits (docs/architecture.md, "The image").
``podman run`` stays attached: its exit status is the container's exit code and its output the container log.
Signals reach the container through ``podman kill``; ``close`` removes every container this runtime started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path

from spiris_localstack.kube_client import JsonObj
from spiris_localstack.pod_process import Identity, Mount

#: The machine's settings (podman's defaults fail here: crun, hard rlimits); dev/image/build.sh has them too.
GLOBAL_FLAGS = ("--runtime", "runc")
RUN_FLAGS = ("--network=host", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--pull=never")
LOCAL_IMAGE_PREFIX = "localhost/"
LABEL = "spiris.senseworks.io/node-agent"


def runs_in_container(container: JsonObj) -> bool:
    """True when the container's image is a local podman image (the node agent's container mode)."""
    return str(container.get("image", "")).startswith(LOCAL_IMAGE_PREFIX)


class ContainerProcess(subprocess.Popen[bytes]):
    """The attached ``podman run`` of one container; ``send_signal`` reaches the container itself."""

    def __init__(self, argv: list[str], *, env: Mapping[str, str], log_path: Path, container_name: str,
                 podman: str) -> None:
        self.container_name = container_name
        self.podman = podman
        with open(log_path, "ab") as log:
            super().__init__(argv, env=dict(env), cwd="/", stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)

    def send_signal(self, sig: int) -> None:
        if self.poll() is not None:
            return
        subprocess.run([self.podman, *GLOBAL_FLAGS, "kill", "--signal", signal.Signals(sig).name,
                        self.container_name], capture_output=True, timeout=30, check=False)
        if sig == signal.SIGKILL:
            # The container is gone; make sure the attached client is too.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.wait(timeout=10)
            if self.poll() is None:
                super().send_signal(signal.SIGKILL)


class PodmanContainers:
    """Starts pod containers with podman and removes them all on ``close``."""

    def __init__(self, *, podman: str = "podman", owner: str | None = None) -> None:
        self.podman = podman
        self.owner = owner or uuid.uuid4().hex[:12]
        self.started: set[str] = set()

    def run_argv(self, *, name: str, image: str, command: list[str], args: list[str], env_names: list[str],
                 workdir: str | None, mounts: list[Mount], identity: Identity, pod: JsonObj,
                 container: JsonObj) -> list[str]:
        """The ``podman run`` command line of a container; ``env_names`` take values from podman's env."""
        context = container.get("securityContext") or {}
        pod_context = pod["spec"].get("securityContext") or {}
        argv = [self.podman, *GLOBAL_FLAGS, "run", "--rm", "--name", name, "--label", f"{LABEL}={self.owner}",
                *RUN_FLAGS, "--init=false", "--hostname", str(pod["metadata"]["name"])[:63]]
        if identity.user is not None:
            argv += ["--user", f"{int(identity.user)}:{int(identity.group or 0)}"]
        fs_group = pod_context.get("fsGroup")
        if fs_group is not None:
            argv += ["--group-add", str(int(fs_group))]
        for group in pod_context.get("supplementalGroups") or []:
            argv += ["--group-add", str(int(group))]
        if identity.read_only_root:
            argv += ["--read-only", "--read-only-tmpfs=false"]
        drop = (context.get("capabilities") or {}).get("drop") or []
        argv += [f"--cap-drop={cap}" for cap in drop]
        argv += [f"--cap-add={cap}" for cap in (context.get("capabilities") or {}).get("add") or []]
        if context.get("allowPrivilegeEscalation") is False:
            argv += ["--security-opt", "no-new-privileges"]
        if context.get("privileged"):
            argv += ["--privileged"]
        for mount in mounts:
            options = "ro" if mount.read_only else "rw"
            argv += ["--volume", f"{mount.source}:{mount.target}:{options}"]
        for env_name in env_names:
            if env_name != "PATH":
                argv += ["--env", env_name]
        if workdir:
            argv += ["--workdir", workdir]
        if command:
            argv += ["--entrypoint", command[0]]
            return [*argv, image, *command[1:], *args]
        return [*argv, image, *args]

    def start(self, pod: JsonObj, container: JsonObj, *, env: Mapping[str, str], mounts: list[Mount],
              identity: Identity, log_path: Path) -> ContainerProcess:
        """Run ``container`` of ``pod`` attached; the returned process ends when the container does."""
        meta = pod["metadata"]
        name = "_".join(["k8s", container["name"], meta["name"], meta["namespace"], meta["uid"][:8],
                         uuid.uuid4().hex[:6]])
        argv = self.run_argv(name=name, image=str(container["image"]),
                             command=list(container.get("command") or []),
                             args=list(container.get("args") or []), env_names=sorted(env), mounts=mounts,
                             workdir=container.get("workingDir"), identity=identity, pod=pod,
                             container=container)
        # podman's own environment carries the container's values (`--env NAME` takes them from there); podman
        # itself keeps the node's PATH.
        client_env = {**env, "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")}
        if "PATH" in env:
            argv.insert(argv.index("--name"), f"--env=PATH={env['PATH']}")
        self.started.add(name)
        return ContainerProcess(argv, env=client_env, log_path=log_path, container_name=name,
                                podman=self.podman)

    def remove(self, name: str) -> None:
        subprocess.run([self.podman, *GLOBAL_FLAGS, "rm", "--force", "--ignore", "--time", "0", name],
                       capture_output=True, timeout=60, check=False)

    def close(self) -> None:
        """Remove every container this runtime started that is still there (a node going down)."""
        if not self.started:
            return
        listed = subprocess.run([self.podman, *GLOBAL_FLAGS, "ps", "--all", "--quiet", "--filter",
                                 f"label={LABEL}={self.owner}"], capture_output=True, text=True, timeout=60,
                                check=False)
        for container_id in listed.stdout.split():
            self.remove(container_id)
        self.started.clear()
