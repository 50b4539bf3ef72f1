"""One container of a pod as a local process in a mount namespace of its own.

A kubelet gives each container its volumes at their ``mountPath`` and its security context. Here the process
is started under ``unshare --mount`` (private propagation, so nothing leaks to the host): every volume
directory is bind-mounted at its ``mountPath`` (read-only where the mount says so, ``subPath`` honoured), the
root filesystem is remounted read-only when ``readOnlyRootFilesystem`` is set, and the command runs as the
``runAsUser``/``runAsGroup`` of the security context through ``setpriv`` with every capability dropped. The
product therefore reads its service-account token from ``/var/run/secrets/kubernetes.io/serviceaccount`` and
writes only to its ``/tmp`` emptyDir, exactly as in a cluster. Mount points missing on the host are created as
empty directories (or files), as a container runtime creates them inside an image.
"""

from __future__ import annotations

import hashlib
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from spiris_localstack.kube_client import JsonObj
from spiris_localstack.processes import start_process


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    read_only: bool


@dataclass(frozen=True)
class Identity:
    """Who the process runs as; None fields keep the runner's own (root)."""

    user: int | None
    group: int | None
    read_only_root: bool


def identity_of(pod: JsonObj, container: JsonObj) -> Identity:
    """The effective user, group and root-filesystem mode (container settings override the pod's)."""
    pod_context = pod["spec"].get("securityContext") or {}
    context = container.get("securityContext") or {}
    user = context.get("runAsUser", pod_context.get("runAsUser"))
    group = context.get("runAsGroup", pod_context.get("runAsGroup"))
    if user is not None and group is None:
        group = user
    return Identity(user=user, group=group, read_only_root=bool(context.get("readOnlyRootFilesystem")))


def mounts_of(container: JsonObj, volume_dirs: Mapping[str, Path]) -> list[Mount]:
    """The container's volume mounts as bind mounts, outermost first."""
    mounts = []
    for mount in container.get("volumeMounts") or []:
        source = volume_dirs[mount["name"]]
        if mount.get("subPath"):
            source = source / mount["subPath"]
        mounts.append(Mount(source=source, target=mount["mountPath"], read_only=bool(mount.get("readOnly"))))
    return sorted(mounts, key=lambda m: m.target.rstrip("/").count("/"))


def _prepare_mount_point(mount: Mount) -> None:
    target = Path(mount.target)
    if target.exists():
        return
    if mount.source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()


KEEP_STAGE = Path("/var/tmp/spiris-pod-keep")


def _runtime_paths() -> set[str]:
    """Where this Python runs from: its prefix, its path, and the sources of editable installs (setuptools'
    editable finders map each package to its source folder)."""
    paths = {sys.prefix, *(p for p in sys.path if p and Path(p).is_dir())}
    for name, module in list(sys.modules.items()):
        if name.startswith("__editable__") and name.endswith("_finder"):
            paths.update(str(path) for path in getattr(module, "MAPPING", {}).values())
    return paths


def hidden_runtime_paths(mounts: list[Mount]) -> list[str]:
    """The runner's own Python (its venv and the editable sources) that a pod's mounts would hide.

    The local-process mode runs the venv's console scripts; a checkout under /tmp disappears behind the pod's
    /tmp emptyDir unless it is brought back on top of it. Each hidden path is kept itself, not an ancestor:
    the folders above it (a private mktemp dir, say) are made anew and traversable inside the pod.
    """
    targets = [m.target.rstrip("/") for m in mounts]
    kept: list[str] = []
    for path in sorted(_runtime_paths(), key=len):
        hidden = any(path.startswith(target + "/") for target in targets)
        if hidden and not any(path == k or path.startswith(k + "/") for k in kept):
            kept.append(path)
    return kept


def _stage(path: str) -> str:
    return str(KEEP_STAGE / hashlib.sha256(path.encode()).hexdigest()[:16])


def launcher_script(mounts: list[Mount], identity: Identity, workdir: str, keep: Sequence[str] = ()) -> str:
    """The shell run inside the new mount namespace before it execs the container's command."""
    lines = ["set -e"]
    # Runtime paths the volumes would hide are bound aside first and put back on top afterwards, read-only.
    lines += [f"mount --bind {shlex.quote(path)} {shlex.quote(_stage(path))}" for path in keep]
    for mount in mounts:
        lines.append(f"mount --bind {shlex.quote(str(mount.source))} {shlex.quote(mount.target)}")
        if mount.read_only:
            lines.append(f"mount -o remount,bind,ro {shlex.quote(mount.target)}")
    for path in keep:
        quoted = shlex.quote(path)
        lines += [f"mkdir -p {quoted}", f"mount --bind {shlex.quote(_stage(path))} {quoted}",
                  f"mount -o remount,bind,ro {quoted}"]
    if identity.read_only_root:
        lines.append("mount -o remount,bind,ro /")
    lines.append(f"cd {shlex.quote(workdir)}")
    if identity.user is not None:
        lines.append(f'exec setpriv --reuid {int(identity.user)} --regid {int(identity.group or 0)} '
                     '--clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"')
    else:
        lines.append('exec "$@"')
    return "\n".join(lines)


def start_container(argv: list[str], *, env: Mapping[str, str], cwd: str, mounts: list[Mount],
                    identity: Identity, log_path: Path) -> subprocess.Popen[bytes]:
    """Start the container's process (its own session, output appended to ``log_path``)."""
    for mount in mounts:
        _prepare_mount_point(mount)
    keep = hidden_runtime_paths(mounts)
    for path in keep:
        Path(_stage(path)).mkdir(parents=True, exist_ok=True)
    script = launcher_script(mounts, identity, cwd, keep)
    return start_process(["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script,
                          "container", *argv], env=env, cwd="/", log_path=log_path)
